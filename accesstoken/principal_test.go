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
		{name: "scope split at U+0020 alone: tab and no-break space are part of a token", claims: base(map[string]any{"scope": "openid\tprofile email\u00a0phone openid"}), wantScopes: []string{"openid\tprofile", "email\u00a0phone", "openid"}},
		{name: "openid after a tab is not openid", claims: base(map[string]any{"scope": "profile\topenid"}), wantScopes: []string{"profile\topenid"}},
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

// TestPrincipalStepUpAndBinding: auth_time, acr and cnf.jkt reach the
// principal, and a binding of the wrong shape refuses the token rather than
// letting it pass as unbound.
func TestPrincipalStepUpAndBinding(t *testing.T) {
	rules := claimRules{}
	tests := []struct {
		name     string
		claims   map[string]any
		wantErr  error
		wantAuth time.Time
		wantACR  string
		wantJKT  string
	}{
		{"all three", map[string]any{"sub": "u1", "auth_time": 1795886488.0, "acr": "mfa", "cnf": map[string]any{"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}},
			nil, time.Unix(1795886488, 0).UTC(), "mfa", "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"},
		{"none", map[string]any{"sub": "u1"}, nil, time.Time{}, "", ""},
		{"cnf without jkt (x5t#S256)", map[string]any{"sub": "u1", "cnf": map[string]any{"x5t#S256": "abc"}}, nil, time.Time{}, "", ""},
		{"acr not a string is ignored", map[string]any{"sub": "u1", "acr": 2.0}, nil, time.Time{}, "", ""},
		{"auth_time a string", map[string]any{"sub": "u1", "auth_time": "1795886488"}, errTokenClaimType, time.Time{}, "", ""},
		{"cnf a string", map[string]any{"sub": "u1", "cnf": "K1"}, errTokenClaimType, time.Time{}, "", ""},
		{"jkt a number", map[string]any{"sub": "u1", "cnf": map[string]any{"jkt": 1.0}}, errTokenClaimType, time.Time{}, "", ""},
		{"jkt empty", map[string]any{"sub": "u1", "cnf": map[string]any{"jkt": ""}}, errTokenClaimType, time.Time{}, "", ""},
	}
	for _, tt := range tests {
		p, err := rules.principal(tt.claims, time.Time{})
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.wantErr)
			continue
		}
		if err == nil && (!p.AuthTime.Equal(tt.wantAuth) || p.ACR != tt.wantACR || p.JKT != tt.wantJKT) {
			t.Errorf("%s: got auth_time %v acr %q jkt %q, want %v %q %q", tt.name, p.AuthTime, p.ACR, p.JKT, tt.wantAuth, tt.wantACR, tt.wantJKT)
		}
	}
}
