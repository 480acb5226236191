package userinfo

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultStepUpSkew is the clock skew [StepUp] allows by default.
const DefaultStepUpSkew = time.Minute

// StepUp is a step-up authentication policy (RFC 9470): a stolen access
// token must not be enough to move an account's email address or phone
// number. When it is set, a PATCH that would redeem a code (it carries OTP
// fields), a PATCH that sends a custom attribute marked step_up (null
// included), and POST /otp/send ([RequireStepUp]) need a token whose
// auth_time is at most MaxAge old and, with ACRValues, whose acr is one of
// them. Otherwise the answer is 401 insufficient_user_authentication with a
// challenge that names max_age and acr_values, before any code is spent.
// It is judged on every request, from the token's claims, also when the
// token's verification came from a cache.
type StepUp struct {
	// MaxAge is the oldest authentication (auth_time) that may make those
	// changes. 0: no limit of age.
	MaxAge time.Duration
	// ACRValues, when not empty, are the authentication context classes
	// (acr) of which the token's must be one.
	ACRValues []string
	// ClockSkew is the tolerance of the auth_time comparison, also for an
	// auth_time in the future, which makes the token invalid. Default:
	// DefaultStepUpSkew.
	ClockSkew time.Duration
}

// Enabled reports whether s asks for anything.
func (s StepUp) Enabled() bool { return s.MaxAge > 0 || len(s.ACRValues) > 0 }

func (s StepUp) skew() time.Duration {
	if s.ClockSkew <= 0 {
		return DefaultStepUpSkew
	}
	return s.ClockSkew
}

// check returns the 401 insufficient_user_authentication for au when its
// token does not satisfy the policy.
func (s StepUp) check(au *authn) error {
	if !s.Enabled() {
		return nil
	}
	p := au.p
	recent := s.MaxAge <= 0 || (!p.AuthTime.IsZero() && !au.a.now().After(p.AuthTime.Add(s.MaxAge+s.skew())))
	classOK := len(s.ACRValues) == 0 || slices.Contains(s.ACRValues, p.ACR)
	if recent && classOK {
		return nil
	}
	e := au.a.challengeError(au.scheme, http.StatusUnauthorized, CodeInsufficientUserAuthentication, descStepUp, nil)
	e.URI = ""
	if s.MaxAge > 0 {
		e.Params = append(e.Params, ChallengeParam{"max_age", strconv.FormatInt(int64(s.MaxAge/time.Second), 10)})
	}
	if len(s.ACRValues) > 0 {
		e.Params = append(e.Params, ChallengeParam{"acr_values", strings.Join(s.ACRValues, " ")})
	}
	return e
}

// RequireStepUp returns nil when the principal that
// [Authenticator.Middleware] stored in r's context satisfies that
// Authenticator's StepUp policy, and otherwise the *Error to answer: 401
// insufficient_user_authentication, in the scheme the token came with, or
// 401 invalid_token when r carries no principal. Handlers behind the
// middleware that spend a user's codes or allowances call it first; the
// send handler of package otp does.
func RequireStepUp(r *http.Request) error {
	au, _ := r.Context().Value(authnKey{}).(*authn)
	if au == nil {
		return &Error{Status: http.StatusUnauthorized, Code: CodeInvalidToken, Challenge: SchemeBearer,
			Description: "The request is not authenticated."}
	}
	return au.a.StepUp.check(au)
}
