package userinfo_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/accesstoken"
	"github.com/go-chi/chi/v5"
)

// The issuer's public JWK Set and two of its access tokens for user u1, both
// valid until 2100: one with the openid scope, one without.
const (
	exampleJWKS        = `{"keys":[{"alg":"EdDSA","crv":"Ed25519","kid":"example-key","kty":"OKP","use":"sig","x":"2u5zCh0-czfv3_R85Zb2Izx08Qpqd_OPedrxN32w5Io"}]}`
	exampleToken       = "eyJhbGciOiJFZERTQSIsImtpZCI6ImV4YW1wbGUta2V5IiwidHlwIjoiYXQrand0In0.eyJhdWQiOiJodHRwczovL2FwaS5leGFtcGxlIiwiY2xpZW50X2lkIjoid2ViIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3NjcyMjU2MDAsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJzY29wZSI6Im9wZW5pZCBwcm9maWxlIiwic3ViIjoidTEifQ.X5WB9tp3BjKO1B2Vc6wsGeY7oFf4tGPuVAASNGTwcKdrgMgauEZpsE4kWDCrZlTMZZ6XF29-lIu4w8q__L-cAw"
	exampleTokenNoOIDC = "eyJhbGciOiJFZERTQSIsImtpZCI6ImV4YW1wbGUta2V5IiwidHlwIjoiYXQrand0In0.eyJhdWQiOiJodHRwczovL2FwaS5leGFtcGxlIiwiY2xpZW50X2lkIjoid2ViIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3NjcyMjU2MDAsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJzY29wZSI6InByb2ZpbGUiLCJzdWIiOiJ1MSJ9.h4fh6SeNMJZQNufXkicA0VS94Ck_Bxn105Hq1Iaj-PbqAgm6UZeHO91WiGRCTWJqCVpjDJcCvHJdx6pJIToOBA"
)

// exampleAuthenticator builds the Authenticator of the examples. A server
// would load its keys with accesstoken.ReadKeySetFile or
// accesstoken.NewRemoteKeySet (a JWK Set URL, or OIDC discovery from the
// issuer) instead.
func exampleAuthenticator() *userinfo.Authenticator {
	keys, err := accesstoken.NewStaticKeySet([]byte(exampleJWKS))
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{
		Keys:         keys,
		Issuer:       "https://issuer.example",
		Audience:     []string{"https://api.example"},
		RequireATJWT: true,
		Now:          func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		log.Fatal(err)
	}
	// Repeated requests with one token skip the signature check.
	cached := accesstoken.NewCache(verifier, accesstoken.CacheConfig{})
	return &userinfo.Authenticator{Verifier: cached, Realm: "example"}
}

// hello answers with the authenticated subject.
func hello(w http.ResponseWriter, r *http.Request) {
	p, _ := userinfo.PrincipalFromContext(r.Context())
	fmt.Fprintf(w, "hello %s (client %s, scopes %s)\n", p.Subject, p.ClientID, strings.Join(p.Scopes, " "))
}

// get sends GET path with the Authorization value (none when empty) and
// prints the answer.
func get(h http.Handler, path, authorization string) {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if c := w.Header().Get("WWW-Authenticate"); c != "" {
		fmt.Println(w.Code, c)
	} else {
		fmt.Println(w.Code)
	}
	fmt.Print(w.Body.String())
}

// The middleware on an http.ServeMux route with a Go 1.22 method pattern.
func ExampleAuthenticator_Middleware() {
	auth := exampleAuthenticator()
	mux := http.NewServeMux()
	mux.Handle("GET /hello", auth.Middleware(http.HandlerFunc(hello)))

	get(mux, "/hello", "Bearer "+exampleToken)
	get(mux, "/hello", "")
	get(mux, "/hello", "Bearer "+exampleToken[:len(exampleToken)-2])
	get(mux, "/hello", "Bearer "+exampleTokenNoOIDC)
	// Output:
	// 200
	// hello u1 (client web, scopes openid profile)
	// 400 Bearer realm="example", error="invalid_request", error_description="Bearer token not found in the request", error_uri="https://tools.ietf.org/html/rfc6750#section-3.1"
	// {"error":"invalid_request","error_description":"Bearer token not found in the request"}
	// 401 Bearer realm="example", error="invalid_token", error_description="Error decoding JWT", error_uri="https://tools.ietf.org/html/rfc6750#section-3.1"
	// {"error":"invalid_token","error_description":"Error decoding JWT"}
	// 403 Bearer realm="example", error="insufficient_scope", error_description="The request requires higher privileges than provided by the access token.", error_uri="https://tools.ietf.org/html/rfc6750#section-3.1", scope="openid"
	// {"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token."}
}

// The same middleware in a chi router: Use for a group of routes. Echo and
// gin take it through their adapters (echo.WrapMiddleware; gin.WrapH around
// auth.Middleware(handler)).
func ExampleAuthenticator_Middleware_chi() {
	auth := exampleAuthenticator()
	r := chi.NewRouter()
	r.Get("/health", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	r.Group(func(r chi.Router) {
		r.Use(auth.Middleware)
		r.Get("/hello", hello)
	})

	get(r, "/health", "")
	get(r, "/hello", "bearer "+exampleToken)
	get(r, "/hello", "Basic dTE6cHc=")
	// Output:
	// 200
	// ok
	// 200
	// hello u1 (client web, scopes openid profile)
	// 400 Bearer realm="example", error="invalid_request", error_description="Bearer token not found in the request", error_uri="https://tools.ietf.org/html/rfc6750#section-3.1"
	// {"error":"invalid_request","error_description":"Bearer token not found in the request"}
}

// Authenticate verifies a request without middleware, e.g. inside a handler
// that serves both public and private content.
func ExampleAuthenticator_Authenticate() {
	auth := exampleAuthenticator()
	r := httptest.NewRequest(http.MethodGet, "/userinfo", nil)
	r.Header.Set("Authorization", "Bearer "+exampleToken)
	p, err := auth.Authenticate(r)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Subject, p.HasScope("openid"), p.Expiry.Year())
	// Output:
	// u1 true 2100
}
