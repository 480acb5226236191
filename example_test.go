package userinfo_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/ciamkit/userinfo"
)

// exampleTokens verifies the examples' access tokens: JWTs of the issuer
// whose JWK Set is exampleJWKS (see bearer_example_test.go). exampleToken is
// one of user u1, of client "web", with the scopes openid and profile.
var exampleTokens = exampleAuthenticator().Verifier

func patch(h http.Handler, body string) {
	r := httptest.NewRequest(http.MethodPatch, "/userinfo", strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+exampleToken)
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
	registry, err := userinfo.NewRegistry(userinfo.RegistryConfig{Attributes: []userinfo.Attribute{
		{Name: "employee_id", Type: "string", Pattern: "E[0-9]{6}"},
		{Name: "department", Type: "string", Enum: []any{"eng", "sales", "ops"}},
		{Name: "vip_level", Type: "integer", Mutable: new(bool)},
		{Name: "bio", Type: "string", MaxLength: &max},
	}})
	if err != nil {
		panic(err)
	}
	h, err := userinfo.New(userinfo.Config{
		Tokens:   exampleTokens,
		Store:    store,
		Registry: registry,
		Policy:   userinfo.StaticClaims("employee_id", "department"),
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
		if access == userinfo.ReleaseClaim {
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

// An audit log through OnUpdate: it sees what changed and what it replaced,
// never a code or a token.
func ExampleConfig_onUpdate() {
	store := userinfo.NewMemoryStore()
	_, _ = store.Put(context.Background(), "u1", map[string]any{"nickname": "old"})
	h, err := userinfo.New(userinfo.Config{
		Tokens: exampleTokens,
		Store:  store,
		Policy: userinfo.StaticClaims("nickname"),
		OnUpdate: func(_ context.Context, e userinfo.UpdateEvent) {
			fmt.Printf("audit: %s via %s set %v (was %v), removed %v\n", e.Subject, e.ClientID, e.Set, e.Previous, e.Removed)
		},
	})
	if err != nil {
		panic(err)
	}
	patch(h, `{"nickname":"new","locale":"en-US","zoneinfo":null}`)
	// Output:
	// audit: u1 via web set map[locale:en-US nickname:new] (was map[nickname:old]), removed [zoneinfo]
	// 200 {"nickname":"new","sub":"u1"}
}

// The memory store's contract, as every UserStore keeps it: conditional
// updates and email addresses unique ignoring case.
func ExampleMemoryStore() {
	ctx := context.Background()
	store := userinfo.NewMemoryStore()
	a, _ := store.Put(ctx, "a", map[string]any{"email": "a@example.com"})
	_, _ = store.Put(ctx, "b", map[string]any{"email": "b@example.com"})

	_, err := store.UpdateUser(ctx, userinfo.Update{Subject: "b", Set: map[string]any{"email": "A@Example.com"}, Now: time.Now()})
	fmt.Println(errors.Is(err, userinfo.ErrDuplicateEmail))

	next, _ := store.UpdateUser(ctx, userinfo.Update{Subject: "a", IfVersion: a.Version, Set: map[string]any{"nickname": "A"}, Now: time.Now()})
	_, err = store.UpdateUser(ctx, userinfo.Update{Subject: "a", IfVersion: a.Version, Set: map[string]any{"nickname": "stale"}, Now: time.Now()})
	fmt.Println(next.Version > a.Version, errors.Is(err, userinfo.ErrVersionConflict))
	// Output:
	// true
	// true true
}
