package userinfo

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
)

// ErrInvalidToken is what a [TokenVerifier] returns, wrapped or not, for a
// token that is not valid: undecodable, badly signed, expired, for another
// issuer or audience, without a subject. The handler answers it 401
// invalid_token. A verifier that cannot decide (no key set, introspection
// endpoint down) returns another error, answered 503 temporarily_unavailable.
var ErrInvalidToken = errors.New("userinfo: invalid access token")

// Causes of refused requests that carry more than one token, for logs.
var (
	errTwoAuthorizationHeaders = errors.New("more than one Authorization header")
	errTwoTokenMethods         = errors.New("a token in the Authorization header and in the query")
)

// Principal is the verified identity behind an access token.
type Principal struct {
	// Subject is the token's "sub": the user.
	Subject string
	// ClientID is the OAuth client the token was issued to ("client_id",
	// else "azp"), or empty.
	ClientID string
	// Scopes are the token's scopes, from a space-separated "scope" claim or
	// a "scp" array.
	Scopes []string
	// Expiry is the token's "exp".
	Expiry time.Time
	// Claims holds every claim of the token.
	Claims map[string]any
}

// HasScope reports whether p was granted scope.
func (p *Principal) HasScope(scope string) bool {
	return p != nil && slices.Contains(p.Scopes, scope)
}

// TokenVerifier verifies an access token and returns its principal.
type TokenVerifier interface {
	// VerifyToken returns the principal of token, or an error wrapping
	// ErrInvalidToken when the token is not valid. Scopes are not checked
	// here.
	VerifyToken(ctx context.Context, token string) (*Principal, error)
}

// TokenVerifierFunc adapts a function to [TokenVerifier].
type TokenVerifierFunc func(ctx context.Context, token string) (*Principal, error)

// VerifyToken calls f(ctx, token).
func (f TokenVerifierFunc) VerifyToken(ctx context.Context, token string) (*Principal, error) {
	return f(ctx, token)
}

type principalKey struct{}

// contextWithPrincipal returns a copy of ctx that carries p. It is
// unexported so that only [Authenticator.Middleware], which verified p,
// can put a principal there.
func contextWithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the principal that [Authenticator.Middleware]
// stored in ctx.
func PrincipalFromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// Authenticator authenticates requests by their RFC 6750 bearer token.
type Authenticator struct {
	// Verifier verifies the tokens. Required.
	Verifier TokenVerifier
	// Scope is the scope every token must carry. Default: "openid".
	Scope string
	// Realm, when set, is sent as the realm of WWW-Authenticate challenges.
	Realm string
	// Logger receives the failures of Middleware as [Endpoint] logs them.
	// Default: no logging.
	Logger *slog.Logger
}

// bearerError returns a bearer-challenge error.
func (a *Authenticator) bearerError(status int, code, description string, cause error) *Error {
	return &Error{Status: status, Code: code, Description: description, Bearer: true,
		Realm: a.Realm, URI: rfc6750ErrorURI, Err: cause}
}

// extractToken returns the bearer token of r. Only the Authorization header is
// read (RFC 6750 §2.1); a token in the query or a form body is not accepted,
// and one sent together with a header token is an error.
func (a *Authenticator) extractToken(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	if len(values) > 1 {
		// The contract answers these as it answers a missing token, with
		// the same challenge; the cause tells them apart in logs.
		return "", a.bearerError(http.StatusBadRequest, CodeInvalidRequest, descBearerTokenNotFound, errTwoAuthorizationHeaders)
	}
	if len(values) == 0 {
		return "", a.bearerError(http.StatusBadRequest, CodeInvalidRequest, descBearerTokenNotFound, nil)
	}
	if r.URL != nil && r.URL.Query().Has("access_token") {
		return "", a.bearerError(http.StatusBadRequest, CodeInvalidRequest, descBearerTokenNotFound, errTwoTokenMethods)
	}
	scheme, token, ok := strings.Cut(strings.TrimLeft(values[0], " "), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", a.bearerError(http.StatusBadRequest, CodeInvalidRequest, descBearerTokenNotFound, nil)
	}
	token = strings.Trim(token, " ")
	if token == "" {
		return "", a.bearerError(http.StatusBadRequest, CodeInvalidRequest, descBearerTokenNotFound, nil)
	}
	if !isB64Token(token) {
		return "", a.bearerError(http.StatusUnauthorized, CodeInvalidToken, descInvalidTokenGeneric, nil)
	}
	return token, nil
}

// isB64Token reports whether s matches RFC 6750's b64token.
func isB64Token(s string) bool {
	end := len(s)
	for end > 0 && s[end-1] == '=' {
		end--
	}
	if end == 0 {
		return false
	}
	for i := 0; i < end; i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}

// Authenticate returns the principal of r's bearer token, or an *Error for
// the RFC 6750 §3 answer, each with a WWW-Authenticate: Bearer challenge
// (realm when set, error, error_description, error_uri):
//
//   - 400 invalid_request when no token was sent (the seed's departure from
//     RFC 6750, which answers 401 without an error code), when the
//     Authorization header is repeated, or when a token also comes in the
//     query;
//   - 401 invalid_token when the token is malformed or the verifier refuses
//     it ([ErrInvalidToken]);
//   - 403 insufficient_scope, with scope, when it lacks a.Scope.
//
// A verifier error that is not ErrInvalidToken (no key set, introspection
// endpoint down) is 503 temporarily_unavailable without a challenge; an
// *Error from the verifier is returned as it is. Descriptions are fixed
// texts: the token is never echoed.
func (a *Authenticator) Authenticate(r *http.Request) (*Principal, error) {
	token, err := a.extractToken(r)
	if err != nil {
		return nil, err
	}
	if a.Verifier == nil {
		return nil, errServer(errors.New("userinfo: Authenticator.Verifier is nil"))
	}
	p, err := a.Verifier.VerifyToken(r.Context(), token)
	switch {
	case err == nil && (p == nil || p.Subject == ""):
		return nil, a.bearerError(http.StatusUnauthorized, CodeInvalidToken, descInvalidTokenGeneric, errors.New("token has no subject"))
	case err == nil:
	case errors.Is(err, ErrInvalidToken):
		return nil, a.bearerError(http.StatusUnauthorized, CodeInvalidToken, descInvalidTokenGeneric, err)
	default:
		var e *Error
		if errors.As(err, &e) {
			return nil, err
		}
		return nil, errUnavailable(err)
	}
	scope := a.requiredScope()
	if !p.HasScope(scope) {
		e := a.bearerError(http.StatusForbidden, CodeInsufficientScope, descInsufficientScope, nil)
		e.Scope = scope
		return nil, e
	}
	return p, nil
}

// Middleware authenticates every request and calls next with the principal in
// the request's context ([PrincipalFromContext]); a request that fails is
// answered by [WriteError] and does not reach next. A panic in the verifier
// or in next is answered as an [Endpoint] answers it. It is a plain
// func(http.Handler) http.Handler, so it fits http.ServeMux, chi's Use and
// With, and other routers through their adapters (echo.WrapMiddleware, gin
// via gin.WrapH around the wrapped handler).
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveGuarded(a.Logger, w, r, func(w http.ResponseWriter, r *http.Request) error {
			p, err := a.Authenticate(r)
			if err != nil {
				return err
			}
			next.ServeHTTP(w, r.WithContext(contextWithPrincipal(r.Context(), p)))
			return nil
		})
	})
}

// requiredScope returns the scope every token must carry.
func (a *Authenticator) requiredScope() string {
	if a.Scope == "" {
		return "openid"
	}
	return a.Scope
}
