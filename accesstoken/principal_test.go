package accesstoken

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
)

// TestPrincipal covers the one function that turns verified claims into a
// principal, for JWTs and introspection alike.
func TestPrincipal(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	rules := claimRules{issuer: "https://issuer.example", audience: []string{"api", "other"}}
	base := func(edit map[string]any) map[string]any {
		c := map[string]any{"iss": "https://issuer.example", "aud": "api", "sub": "u1"}
		for k, v := range edit {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	tests := []struct {
		name       string
		noRules    bool // no issuer or audience required
		claims     map[string]any
		wantErr    error
		wantClient string
		wantScopes []string
	}{
		{name: "minimal", claims: base(nil), wantScopes: nil},
		{name: "scope string", claims: base(map[string]any{"scope": "openid profile"}), wantScopes: []string{"openid", "profile"}},
		{name: "scope string, repeated spaces and duplicates", claims: base(map[string]any{"scope": " openid  openid profile "}), wantScopes: []string{"openid", "profile"}},
		{name: "scp array", claims: base(map[string]any{"scp": []any{"openid", "", 7, "email"}}), wantScopes: []string{"openid", "email"}},
		{name: "scope then scp, each once", claims: base(map[string]any{"scope": "openid profile", "scp": []any{"email", "openid"}}), wantScopes: []string{"openid", "profile", "email"}},
		{name: "scope not a string", claims: base(map[string]any{"scope": []any{"openid"}}), wantScopes: []string{"openid"}},
		{name: "scope a number", claims: base(map[string]any{"scope": 1.0})},
		{name: "client_id", claims: base(map[string]any{"client_id": "web", "azp": "spa"}), wantClient: "web"},
		{name: "azp without client_id", claims: base(map[string]any{"azp": "spa"}), wantClient: "spa"},
		{name: "empty client_id falls back to azp", claims: base(map[string]any{"client_id": "", "azp": "spa"}), wantClient: "spa"},
		{name: "client_id not a string", claims: base(map[string]any{"client_id": 3.0})},
		{name: "aud array", claims: base(map[string]any{"aud": []any{"x", "other"}})},
		{name: "no rules, no iss or aud", noRules: true, claims: base(map[string]any{"iss": nil, "aud": nil})},

		{name: "iss differs", claims: base(map[string]any{"iss": "https://evil.example"}), wantErr: errTokenIssuer},
		{name: "iss missing", claims: base(map[string]any{"iss": nil}), wantErr: errTokenIssuer},
		{name: "aud differs", claims: base(map[string]any{"aud": "else"}), wantErr: errTokenAudience},
		{name: "aud array without ours", claims: base(map[string]any{"aud": []any{"a", 1}}), wantErr: errTokenAudience},
		{name: "sub missing", claims: base(map[string]any{"sub": nil}), wantErr: errTokenSubject},
		{name: "sub empty", claims: base(map[string]any{"sub": ""}), wantErr: errTokenSubject},
		{name: "sub a number", claims: base(map[string]any{"sub": 42.0}), wantErr: errTokenSubject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rules
			if tt.noRules {
				r = claimRules{}
			}
			p, err := r.principal(tt.claims, exp)
			if tt.wantErr != nil {
				if err != tt.wantErr || !errors.Is(err, userinfo.ErrInvalidToken) {
					t.Fatalf("err = %v, want %v (an ErrInvalidToken)", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Subject != "u1" || p.ClientID != tt.wantClient || !slices.Equal(p.Scopes, tt.wantScopes) || !p.Expiry.Equal(exp) {
				t.Errorf("principal = %+v, want subject u1, client %q, scopes %q, expiry %v", p, tt.wantClient, tt.wantScopes, exp)
			}
			if p.Claims["sub"] != "u1" {
				t.Errorf("Claims = %v, want the claims", p.Claims)
			}
		})
	}
}
