package userinfo_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/internal/bearertest"
)

// TestBearerRealm checks that a realm leads every challenge.
func TestBearerRealm(t *testing.T) {
	a := &userinfo.Authenticator{Verifier: userinfo.TokenVerifierFunc(func(context.Context, string) (*userinfo.Principal, error) {
		return nil, userinfo.ErrInvalidToken
	}), Realm: "userinfo"}
	bearertest.Check(t, bearertest.Serve(a, "/"), 400, "invalid_request", `Bearer realm="userinfo", `+bearertest.ChallengeMissing[len("Bearer "):])
	bearertest.Check(t, bearertest.Serve(a, "/", "Bearer abc"), 401, "invalid_token", `Bearer realm="userinfo", `+bearertest.ChallengeInvalidToken[len("Bearer "):])
}

// TestBearerVerifierOutcomes checks how Authenticate maps what a verifier
// returns.
func TestBearerVerifierOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		p          *userinfo.Principal
		err        error
		wantStatus int
		wantCode   string
		wantChal   string
	}{
		{name: "principal", p: &userinfo.Principal{Subject: "u1", Scopes: []string{"openid"}}, wantStatus: 200},
		{name: "wrapped ErrInvalidToken", err: &wrapped{userinfo.ErrInvalidToken}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "no key set", err: errors.New("no key set available"), wantStatus: 503, wantCode: "temporarily_unavailable"},
		{name: "context canceled", err: context.Canceled, wantStatus: 503, wantCode: "temporarily_unavailable"},
		{name: "an *Error passes through", err: &userinfo.Error{Status: 429, Code: "slow_down"}, wantStatus: 429, wantCode: "slow_down"},
		{name: "nil principal", wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "principal without subject", p: &userinfo.Principal{Scopes: []string{"openid"}}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &userinfo.Authenticator{Verifier: userinfo.TokenVerifierFunc(func(context.Context, string) (*userinfo.Principal, error) {
				return tt.p, tt.err
			})}
			bearertest.Check(t, bearertest.Serve(a, "/", "Bearer abc"), tt.wantStatus, tt.wantCode, tt.wantChal)
		})
	}
	t.Run("nil verifier", func(t *testing.T) {
		bearertest.Check(t, bearertest.Serve(&userinfo.Authenticator{}, "/", "Bearer abc"), 500, "server_error", "")
	})
}

// wrapped wraps an error, as a verifier's own error type would.
type wrapped struct{ err error }

func (w *wrapped) Error() string { return "wrapped: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }
