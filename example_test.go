package userinfo_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ciamkit/userinfo"
)

// exampleTokens stands in for a real verifier (see NewJWTVerifier): it knows
// one token, of user u1 with the openid scope.
var exampleTokens = userinfo.TokenVerifierFunc(func(_ context.Context, token string) (*userinfo.Principal, error) {
	if token != "TOKEN_OF_U1" {
		return nil, userinfo.ErrInvalidToken
	}
	return &userinfo.Principal{Subject: "u1", ClientID: "web", Scopes: []string{"openid", "profile"}}, nil
})

func patch(h http.Handler, body string) {
	r := httptest.NewRequest(http.MethodPatch, "/userinfo", strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer TOKEN_OF_U1")
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Body.String())
}

// Mounting the handler on a Go 1.22 ServeMux with method patterns, and
// changing a nickname.
func ExampleNew() {
	store := userinfo.NewMemoryStore()
	_, _ = store.Put(context.Background(), "u1", map[string]any{"nickname": "old", "locale": "zh-CN"})

	h, err := userinfo.New(userinfo.Config{
		Tokens: exampleTokens,
		Store:  store,
		Policy: userinfo.StaticClaims("nickname", "locale"),
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /userinfo", h)
	mux.Handle("PATCH /userinfo", h)
	mux.Handle("GET /userinfo/schema", h.SchemaHandler())

	patch(mux, `{"nickname":"MOCK_NICKNAME"}`)
	patch(mux, `{"nickname":"x","shoe_size":42}`)
	// Output:
	// 200 {"locale":"zh-CN","nickname":"MOCK_NICKNAME","sub":"u1"}
	// 400 {"error":"invalid_request","error_description":"Unknown attribute(s) found."}
}

// Custom attributes built in Go: a pattern, an enum and an immutable level.
func ExampleNew_customAttributes() {
	store := userinfo.NewMemoryStore()
	_, _ = store.Put(context.Background(), "u1", map[string]any{"vip_level": 3})
	max := 9
	h, err := userinfo.New(userinfo.Config{
		Tokens: exampleTokens,
		Store:  store,
		Attributes: []userinfo.Attribute{
			{Name: "employee_id", Type: "string", Pattern: "E[0-9]{6}"},
			{Name: "department", Type: "string", Enum: []any{"eng", "sales", "ops"}},
			{Name: "vip_level", Type: "integer", Mutable: new(bool)},
			{Name: "bio", Type: "string", MaxLength: &max},
		},
		Policy: userinfo.StaticClaims("employee_id", "department"),
	})
	if err != nil {
		panic(err)
	}
	patch(h, `{"employee_id":"E123456","department":"eng"}`)
	patch(h, `{"employee_id":"E12"}`)
	patch(h, `{"vip_level":9}`)
	// Output:
	// 200 {"department":"eng","employee_id":"E123456","sub":"u1"}
	// 400 {"error":"illegal_parameter_value","error_description":"Invalid value for attribute \"employee_id\"."}
	// 400 {"error":"invalid_request","error_description":"Unsupported user attribute(s) found."}
}

// A custom ClaimsPolicy: every client reads every claim, but only the
// "account" client may write, and never the "name".
func ExampleClaimsPolicyFunc() {
	policy := userinfo.ClaimsPolicyFunc(func(_ context.Context, p *userinfo.Principal, access userinfo.Access, claim string) bool {
		if access == userinfo.Read {
			return true
		}
		return p.ClientID == "account" && claim != "name"
	})
	store := userinfo.NewMemoryStore()
	_, _ = store.Put(context.Background(), "u1", map[string]any{"name": "Jane"})
	h, err := userinfo.New(userinfo.Config{Tokens: exampleTokens, Store: store, Policy: policy})
	if err != nil {
		panic(err)
	}
	patch(h, `{"nickname":"jj"}`) // the example token's client is "web"
	// Output:
	// 400 {"error":"invalid_request","error_description":"Unsupported user attribute(s) found."}
}
