package userinfotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"time"

	"github.com/ciamkit/userinfo/internal/testkeys"
)

// Defaults of [IssuerConfig].
const (
	// DefaultIssuerAudience is the "aud" of an [Issuer]'s tokens.
	DefaultIssuerAudience = "https://userinfo.test"
	// DefaultIssuerSubject is the "sub" of an [Issuer]'s tokens.
	DefaultIssuerSubject = "u1"
	// DefaultIssuerTokenTTL is how long an [Issuer]'s tokens live.
	DefaultIssuerTokenTTL = time.Hour
)

// defaultIssuerAlgorithms are the keys an Issuer makes by default.
var defaultIssuerAlgorithms = []string{"RS256", "ES256", "EdDSA"}

// IssuerConfig configures [NewIssuer]. The zero value of each field is its
// default.
type IssuerConfig struct {
	// Algorithms are the JWS algorithms of the issuer's keys, one key each,
	// from RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 and
	// EdDSA. [Issuer.Token] signs with the first. Default: RS256, ES256,
	// EdDSA.
	Algorithms []string
	// Audience is the default "aud" of tokens. Default:
	// DefaultIssuerAudience.
	Audience string
	// Subject is the default "sub" of tokens. Default:
	// DefaultIssuerSubject ("u1").
	Subject string
	// TokenTTL is the default lifetime of tokens: "exp" is "iat" plus
	// TokenTTL. Default: DefaultIssuerTokenTTL (1 hour).
	TokenTTL time.Duration
	// Now is the clock of "iat" and "exp", e.g. the Now of the verifier
	// under test. Default: time.Now.
	Now func() time.Time
}

// Issuer is an OAuth 2.0 authorization server for tests, as go-oidc's
// oidctest: it holds signing keys, publishes their JWK Set and an OpenID
// Connect discovery document on an [httptest.Server] (on loopback, so tests
// stay offline), and issues JWT access tokens (RFC 9068, header "typ":
// "at+jwt") with whatever claims a test needs. Point a verifier at it to test
// the wiring of a server with real tokens: its key set at
// [Issuer.JWKSURL] (or [Issuer.JWKS], for a static one), or discovery from
// [Issuer.URL]; its issuer [Issuer.URL] and its audience [Issuer.Audience].
//
// The keys are made by NewIssuer and tokens are signed with the standard
// library alone, so that they check a JOSE library's verifier independently.
// It is not for production: the keys live in memory and are not protected.
//
// An Issuer is safe for concurrent use. Typical usage inside a test:
//
//	iss, err := userinfotest.NewIssuer(userinfotest.IssuerConfig{})
//	if err != nil {
//		t.Fatal(err)
//	}
//	defer iss.Close()
//	// … a verifier with iss.JWKSURL(), iss.URL() and iss.Audience() …
//	token, err := iss.Token(map[string]any{"scope": "openid profile"})
type Issuer struct {
	srv      *httptest.Server
	keys     []*testkeys.Key
	jwks     []byte
	audience string
	subject  string
	ttl      time.Duration
	now      func() time.Time
}

// NewIssuer makes the keys of cfg and starts the issuer's server, which
// serves:
//
//   - GET /.well-known/openid-configuration: {"issuer": URL, "jwks_uri":
//     JWKSURL} (OpenID Connect Discovery 1.0);
//   - GET /jwks.json: the JWK Set of the public keys, each with "kid",
//     "alg" and "use": "sig".
//
// Call Close when done.
func NewIssuer(cfg IssuerConfig) (*Issuer, error) {
	algs := cfg.Algorithms
	if len(algs) == 0 {
		algs = defaultIssuerAlgorithms
	}
	iss := &Issuer{audience: cfg.Audience, subject: cfg.Subject, ttl: cfg.TokenTTL, now: cfg.Now}
	if iss.audience == "" {
		iss.audience = DefaultIssuerAudience
	}
	if iss.subject == "" {
		iss.subject = DefaultIssuerSubject
	}
	if iss.ttl <= 0 {
		iss.ttl = DefaultIssuerTokenTTL
	}
	if iss.now == nil {
		iss.now = time.Now
	}
	for _, alg := range algs {
		k, err := testkeys.New(alg)
		if err != nil {
			return nil, fmt.Errorf("userinfotest: issuer key: %w", err)
		}
		iss.keys = append(iss.keys, k)
	}
	iss.jwks = testkeys.JWKS(iss.keys...)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": iss.URL(), "jwks_uri": iss.JWKSURL()})
	})
	mux.HandleFunc("GET /jwks.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(iss.jwks)
	})
	iss.srv = httptest.NewServer(mux)
	return iss, nil
}

// Close shuts the issuer's server down. Tokens it issued stay valid for a
// verifier that already holds its keys.
func (iss *Issuer) Close() { iss.srv.Close() }

// URL returns the issuer identifier, the "iss" of its tokens: the base URL
// of its server, e.g. "http://127.0.0.1:41234". Discovery from it finds the
// JWK Set.
func (iss *Issuer) URL() string { return iss.srv.URL }

// JWKSURL returns the address of the issuer's JWK Set.
func (iss *Issuer) JWKSURL() string { return iss.srv.URL + "/jwks.json" }

// JWKS returns the JSON of the issuer's JWK Set, for a verifier that loads
// keys from bytes or a file. The caller may modify the returned slice.
func (iss *Issuer) JWKS() []byte { return slices.Clone(iss.jwks) }

// Audience returns the default "aud" of the issuer's tokens.
func (iss *Issuer) Audience() string { return iss.audience }

// Algorithms returns the algorithms of the issuer's keys, in the order of
// [IssuerConfig.Algorithms].
func (iss *Issuer) Algorithms() []string {
	algs := make([]string, len(iss.keys))
	for i, k := range iss.keys {
		algs[i] = k.Alg
	}
	return algs
}

// Token returns an access token signed with the issuer's first key. Its
// claims are the defaults, with claims applied over them (a member whose
// value is nil removes that claim):
//
//	"iss": URL, "aud": Audience, "sub": the default subject,
//	"iat": now, "exp": now + TokenTTL, "scope": "openid"
//
// Any other claim ("client_id", "scp", "nbf", custom ones) is added as
// given. The error is that of encoding a claim to JSON.
func (iss *Issuer) Token(claims map[string]any) (string, error) {
	return iss.sign(iss.keys[0], claims)
}

// TokenWithAlg is [Issuer.Token] signed with the issuer's key for alg, one
// of [Issuer.Algorithms]; another alg is an error.
func (iss *Issuer) TokenWithAlg(alg string, claims map[string]any) (string, error) {
	for _, k := range iss.keys {
		if k.Alg == alg {
			return iss.sign(k, claims)
		}
	}
	return "", fmt.Errorf("userinfotest: the issuer has no %s key", alg)
}

// sign signs the default claims with claims applied over them.
func (iss *Issuer) sign(k *testkeys.Key, claims map[string]any) (string, error) {
	now := iss.now()
	c := map[string]any{
		"iss":   iss.URL(),
		"aud":   iss.audience,
		"sub":   iss.subject,
		"iat":   now.Unix(),
		"exp":   now.Add(iss.ttl).Unix(),
		"scope": "openid",
	}
	for name, v := range claims {
		if v == nil {
			delete(c, name)
		} else {
			c[name] = v
		}
	}
	tok, err := k.Sign(c)
	if err != nil {
		return "", fmt.Errorf("userinfotest: sign: %w", err)
	}
	return tok, nil
}
