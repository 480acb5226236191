package userinfo

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// stepUpTokens are principals of u1 that authenticated at various times
// before testNow.
var stepUpTokens = map[string]*Principal{
	"tok-fresh":  {Subject: "u1", Scopes: []string{"openid"}, AuthTime: testNow.Add(-time.Minute), ACR: "mfa"},
	"tok-old":    {Subject: "u1", Scopes: []string{"openid"}, AuthTime: testNow.Add(-time.Hour), ACR: "mfa"},
	"tok-noauth": {Subject: "u1", Scopes: []string{"openid"}},
	"tok-pwd":    {Subject: "u1", Scopes: []string{"openid"}, AuthTime: testNow.Add(-time.Minute), ACR: "pwd"},
	"tok-edge":   {Subject: "u1", Scopes: []string{"openid"}, AuthTime: testNow.Add(-10*time.Minute - 59*time.Second)},
	"tok-future": {Subject: "u1", Scopes: []string{"openid"}, AuthTime: testNow.Add(2 * time.Minute)},
	"tok-skewed": {Subject: "u1", Scopes: []string{"openid"}, AuthTime: testNow.Add(30 * time.Second)},
}

func stepUpVerifier(ctx context.Context, token string) (*Principal, error) {
	if p, ok := stepUpTokens[token]; ok {
		c := *p
		return &c, nil
	}
	return testVerifier(ctx, token)
}

func newStepUpHarness(t *testing.T, policy StepUp) *harness {
	t.Helper()
	hs := newHarness(t, func(c *Config) {
		c.Tokens = TokenVerifierFunc(stepUpVerifier)
		c.StepUp = policy
		c.Registry = mustRegistry(t, RegistryConfig{Attributes: append(testAttributes,
			Attribute{Name: "recovery_hint", Type: "string", StepUp: true})})
	})
	hs.h.store = hs.mem // a RedeemingStore: codes left unspent are visible
	return hs
}

const stepUpChallenge = `Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required.", max_age="600"`

// TestStepUp is the attack table of step-up: a token whose authentication
// is old, absent or of another class cannot change addresses or step_up
// attributes, and spends nothing trying.
func TestStepUp(t *testing.T) {
	const newEmail = `{"email":"new@example.com","email_otp_token":"t-new","email_otp":"111111"}`
	tests := []struct {
		name, token, body string
		ifMatch           string
		acr               []string
		wantStatus        int
		wantCode          string
		wantChallenge     string
		wantSpent         bool
	}{
		{"fresh token changes the email", "tok-fresh", newEmail, "", nil, 200, "", "", true},
		{"old token", "tok-old", newEmail, "", nil, 401, CodeInsufficientUserAuthentication, stepUpChallenge, false},
		{"no auth_time", "tok-noauth", newEmail, "", nil, 401, CodeInsufficientUserAuthentication, stepUpChallenge, false},
		{"at the edge, inside max age plus skew", "tok-edge", newEmail, "", nil, 200, "", "", true},
		{"old token, current email with OTP fields", "tok-old",
			`{"email":"one@example.com","email_otp_token":"t-new","email_otp":"111111"}`, "", nil, 401, CodeInsufficientUserAuthentication, stepUpChallenge, false},
		{"old token, current email without OTP fields", "tok-old", `{"email":"one@example.com"}`, "", nil, 200, "", "", false},
		{"old token, nickname", "tok-old", `{"nickname":"x"}`, "", nil, 200, "", "", false},
		{"old token, step_up attribute", "tok-old", `{"recovery_hint":"x"}`, "", nil, 401, CodeInsufficientUserAuthentication, stepUpChallenge, false},
		{"old token, step_up attribute removed", "tok-old", `{"recovery_hint":null}`, "", nil, 401, CodeInsufficientUserAuthentication, stepUpChallenge, false},
		{"fresh token, step_up attribute", "tok-fresh", `{"recovery_hint":"x"}`, "", nil, 200, "", "", false},
		{"checks 1 to 5 come first", "tok-old", `{"email":"not an address","email_otp_token":"t-new","email_otp":"111111"}`, "", nil, 400, CodeMalformedEmail, "", false},
		{"unknown keys come first", "tok-old", `{"recovery_hint":"x","shoe":1}`, "", nil, 400, CodeInvalidRequest, "", false},
		{"before If-Match", "tok-old", newEmail, `"999"`, nil, 401, CodeInsufficientUserAuthentication, stepUpChallenge, false},
		{"acr not among the required", "tok-pwd", newEmail, "", []string{"mfa", "hwk"}, 401, CodeInsufficientUserAuthentication,
			stepUpChallenge + `, acr_values="mfa hwk"`, false},
		{"acr among the required", "tok-fresh", newEmail, "", []string{"mfa", "hwk"}, 200, "", "", true},
		{"auth_time in the future", "tok-future", `{"nickname":"x"}`, "", nil, 401, CodeInvalidToken,
			`Bearer error="invalid_token", error_description="Error decoding JWT", error_uri="` + rfc6750ErrorURI + `"`, false},
		{"auth_time within the skew ahead", "tok-skewed", newEmail, "", nil, 200, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newStepUpHarness(t, StepUp{MaxAge: 10 * time.Minute, ACRValues: tt.acr})
			hs.otp.issue("t-new", issuedOTP{"u1", ChannelEmail, targetOf(tt.body), "111111"})
			before := hs.user(t, "u1")
			r := newRequest(http.MethodPatch, tt.token, tt.body)
			if tt.ifMatch != "" {
				r.Header.Set("If-Match", tt.ifMatch)
			}
			w := hs.serve(r)
			if tt.wantStatus != 200 {
				checkError(t, w, tt.wantStatus, tt.wantCode, "*")
				if after := hs.user(t, "u1"); after.Version != before.Version {
					t.Errorf("refused, yet the user was written")
				}
			} else if w.Code != 200 {
				t.Fatalf("status %d: %s", w.Code, w.Body.String())
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.wantChallenge {
				t.Errorf("WWW-Authenticate = %q\nwant %q", got, tt.wantChallenge)
			}
			if spent := !hs.otp.redeemable("t-new"); spent != tt.wantSpent {
				t.Errorf("code spent: %v, want %v", spent, tt.wantSpent)
			}
		})
	}
}

// targetOf returns the email of a PATCH body of the table, for its code.
func targetOf(body string) string {
	if m, err := decodeObject([]byte(body)); err == nil {
		if s, ok := m["email"].(string); ok {
			return s
		}
	}
	return ""
}

// Without a policy nothing is gated; with one, only age or only acr.
func TestStepUpPolicies(t *testing.T) {
	tests := []struct {
		name          string
		policy        StepUp
		token         string
		wantStatus    int
		wantChallenge string
	}{
		{"off", StepUp{}, "tok-old", 200, ""},
		{"acr only", StepUp{ACRValues: []string{"mfa"}}, "tok-pwd", 401,
			`Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required.", acr_values="mfa"`},
		{"acr only, old but of the class", StepUp{ACRValues: []string{"mfa"}}, "tok-old", 200, ""},
		{"custom skew", StepUp{MaxAge: 10 * time.Minute, ClockSkew: time.Second}, "tok-edge", 401, stepUpChallenge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newStepUpHarness(t, tt.policy)
			w := hs.serve(newRequest(http.MethodPatch, tt.token, `{"recovery_hint":"x"}`))
			if w.Code != tt.wantStatus || w.Header().Get("WWW-Authenticate") != tt.wantChallenge {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Header().Get("WWW-Authenticate"), tt.wantStatus, tt.wantChallenge)
			}
		})
	}
}

// The served schema says which attributes need a step-up.
func TestStepUpInSchema(t *testing.T) {
	hs := newStepUpHarness(t, StepUp{MaxAge: time.Minute})
	var doc struct {
		Properties map[string]struct {
			Description string `json:"description"`
		} `json:"properties"`
	}
	if err := jsonUnmarshal(hs.h.Registry().Schema(), &doc); err != nil {
		t.Fatal(err)
	}
	const note = "Changing it requires a recent authentication (step-up)."
	if got := doc.Properties["recovery_hint"].Description; got != note {
		t.Errorf("recovery_hint description = %q, want %q", got, note)
	}
	if got := doc.Properties["nickname"].Description; got == note {
		t.Errorf("nickname is marked step_up")
	}
}

func TestNewStepUpAndDPoPConfig(t *testing.T) {
	base := Config{Tokens: TokenVerifierFunc(testVerifier), Store: NewMemoryStore()}
	for _, tt := range []struct {
		name string
		edit func(*Config)
	}{
		{"RequireDPoP without DPoP", func(c *Config) { c.RequireDPoP = true }},
		{"DPoP without PublicURL", func(c *Config) { c.DPoP = &fakeProofs{} }},
		{"negative max age", func(c *Config) { c.StepUp.MaxAge = -time.Second }},
	} {
		cfg := base
		tt.edit(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded", tt.name)
		}
	}
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
