package userinfo

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/codes"
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
	// AuthTime is the token's "auth_time", when the user last
	// authenticated (OpenID Connect Core §2, RFC 9470), or zero.
	AuthTime time.Time
	// ACR is the token's "acr", the authentication context class, or empty.
	ACR string
	// JKT is the token's "cnf"."jkt" (RFC 9449 §6): the thumbprint of the
	// key the token is bound to, or empty for an unbound token. A bound
	// token is only accepted with a DPoP proof of that key.
	JKT string
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

// authn is the outcome of one authentication: the principal and how the
// token came, for the answers that follow.
type authn struct {
	p      *Principal
	scheme string // SchemeBearer or SchemeDPoP
	a      *Authenticator
}

type authnKey struct{}

// contextWithPrincipal returns a copy of ctx that carries au. It is
// unexported so that only [Authenticator.Middleware], which verified the
// principal, can put one there.
func contextWithPrincipal(ctx context.Context, au *authn) context.Context {
	return context.WithValue(ctx, authnKey{}, au)
}

// PrincipalFromContext returns the principal that [Authenticator.Middleware]
// stored in ctx.
func PrincipalFromContext(ctx context.Context) (*Principal, bool) {
	au, ok := ctx.Value(authnKey{}).(*authn)
	return au.principal(), ok && au != nil
}

func (au *authn) principal() *Principal {
	if au == nil {
		return nil
	}
	return au.p
}

// Authenticator authenticates requests by their access token: an RFC 6750
// bearer token or, with DPoP set, an RFC 9449 DPoP-bound token and its
// proof. The zero value of every optional field is its default; an
// Authenticator must not be changed once in use.
type Authenticator struct {
	// Verifier verifies the tokens. Required.
	Verifier TokenVerifier
	// Scope is the scope every token must carry. Default: "openid".
	Scope string
	// Realm, when set, is sent as the realm of WWW-Authenticate challenges.
	Realm string

	// DPoP checks DPoP proofs; accesstoken.NewDPoPVerifier is one. When nil, the
	// DPoP scheme is not accepted (such a request has no token this
	// server understands: 400) and a token bound to a key (cnf.jkt) is
	// refused.
	DPoP ProofVerifier
	// RequireDPoP refuses Bearer tokens: they are answered 401 with a DPoP
	// challenge. It needs DPoP.
	RequireDPoP bool
	// PublicURL is the URL clients reach the server by, up to the path
	// below which the handler is mounted: scheme, host and any path prefix
	// that a proxy or http.StripPrefix adds, such as
	// "https://id.example.com/api". A proof's htu must equal it joined with
	// the request's path as it was sent (r.URL.EscapedPath()). Required with DPoP: the request's
	// Host header is the client's word, not the server's.
	PublicURL string

	// StepUp is the step-up authentication policy (RFC 9470) that
	// [RequireStepUp] and the handler's changes of addresses and step_up
	// attributes apply. Default: off.
	StepUp StepUp

	// Logger receives the failures of Middleware as [Endpoint] logs them.
	// Default: no logging.
	Logger *slog.Logger
	// Now is the clock of step-up and auth_time checks. Default: time.Now.
	Now func() time.Time

	// tel is the telemetry of the handler that made this Authenticator
	// (Handler.Authenticator); nil: the global providers.
	tel *telemetry
}

// telemetry returns the telemetry of a.
func (a *Authenticator) telemetry() *telemetry {
	if a.tel != nil {
		return a.tel
	}
	return defaultTelemetry()
}

// challengeError returns an error with a challenge of scheme; DPoP
// challenges name the accepted algorithms.
func (a *Authenticator) challengeError(scheme string, status int, code, description string, cause error) *Error {
	e := &Error{Status: status, Code: code, Description: description, Challenge: scheme,
		Realm: a.Realm, URI: rfc6750ErrorURI, Err: cause}
	if scheme == SchemeDPoP {
		e.URI = ""
		if a.DPoP != nil {
			e.Params = append(e.Params, ChallengeParam{"algs", strings.Join(a.DPoP.Algorithms(), " ")})
		}
	}
	return e
}

// bearerError returns an error with a Bearer challenge.
func (a *Authenticator) bearerError(status int, code, description string, cause error) *Error {
	return a.challengeError(SchemeBearer, status, code, description, cause)
}

// credentials are the token of a request and how it came.
type credentials struct {
	scheme, token string
}

// extractToken returns the access token of r and its scheme. Only the
// Authorization header is read (RFC 6750 §2.1); a token in the query or a
// form body is not accepted, and one sent together with a header token is an
// error.
func (a *Authenticator) extractToken(r *http.Request) (credentials, error) {
	values := r.Header.Values("Authorization")
	if len(values) > 1 {
		// The contract answers these as it answers a missing token, with
		// the same challenge; the cause tells them apart in logs.
		return credentials{}, a.bearerError(http.StatusBadRequest, CodeInvalidRequest, descBearerTokenNotFound, errTwoAuthorizationHeaders)
	}
	if len(values) == 0 {
		return credentials{}, a.bearerError(http.StatusBadRequest, CodeInvalidRequest, descBearerTokenNotFound, nil)
	}
	if r.URL != nil && r.URL.Query().Has("access_token") {
		return credentials{}, a.bearerError(http.StatusBadRequest, CodeInvalidRequest, descBearerTokenNotFound, errTwoTokenMethods)
	}
	scheme, token, ok := strings.Cut(strings.TrimLeft(values[0], " "), " ")
	switch {
	case ok && strings.EqualFold(scheme, SchemeBearer):
		scheme = SchemeBearer
	case ok && a.DPoP != nil && strings.EqualFold(scheme, SchemeDPoP):
		scheme = SchemeDPoP
	default:
		return credentials{}, a.bearerError(http.StatusBadRequest, CodeInvalidRequest, descBearerTokenNotFound, nil)
	}
	token = strings.Trim(token, " ")
	if token == "" {
		return credentials{}, a.bearerError(http.StatusBadRequest, CodeInvalidRequest, descBearerTokenNotFound, nil)
	}
	if !isB64Token(token) {
		return credentials{}, a.challengeError(scheme, http.StatusUnauthorized, CodeInvalidToken, descInvalidTokenGeneric, nil)
	}
	return credentials{scheme: scheme, token: token}, nil
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

// Authenticate returns the principal of r's access token, or an *Error for
// the RFC 6750 §3 and RFC 9449 §7.1 answers, each with a WWW-Authenticate
// challenge (realm when set, error, error_description, error_uri; algs for
// DPoP) in the scheme the token came with:
//
//   - 400 invalid_request when no token was sent (the seed's departure from
//     RFC 6750, which answers 401 without an error code), when the
//     Authorization header is repeated, or when a token also comes in the
//     query;
//   - 401 invalid_token when the token is malformed or the verifier refuses
//     it ([ErrInvalidToken]), when its auth_time lies in the future (beyond
//     the step-up clock skew), when a token bound to a key (cnf.jkt) comes
//     as a Bearer token, and when RequireDPoP refuses a Bearer token (with
//     a DPoP challenge);
//   - 401 invalid_dpop_proof when the DPoP header is missing, repeated, or
//     its proof is refused or not of the token's key; 401 use_dpop_nonce
//     with DPoP-Nonce when the proof needs a server nonce;
//   - 403 insufficient_scope, with scope, when it lacks a.Scope.
//
// A verifier error that is not ErrInvalidToken (no key set, introspection
// endpoint down, replay store down) is 503 temporarily_unavailable without
// a challenge; an *Error from the verifier is returned as it is.
// Descriptions are fixed texts: the token is never echoed. Step-up is not
// judged here: see [RequireStepUp].
func (a *Authenticator) Authenticate(r *http.Request) (*Principal, error) {
	au, err := a.authenticate(r)
	return au.principal(), err
}

// authenticate is Authenticate with the scheme of the token.
func (a *Authenticator) authenticate(r *http.Request) (*authn, error) {
	c, err := a.extractToken(r)
	if err != nil {
		return nil, err
	}
	if a.Verifier == nil {
		return nil, errServer(errors.New("userinfo: Authenticator.Verifier is nil"))
	}
	if a.DPoP != nil && a.PublicURL == "" {
		return nil, errServer(errors.New("userinfo: Authenticator.PublicURL is required with DPoP"))
	}
	if c.scheme == SchemeBearer && a.RequireDPoP {
		return nil, a.challengeError(SchemeDPoP, http.StatusUnauthorized, CodeInvalidToken, descDPoPRequired, nil)
	}
	invalid := func(cause error) *Error {
		return a.challengeError(c.scheme, http.StatusUnauthorized, CodeInvalidToken, descInvalidTokenGeneric, cause)
	}
	vctx, span := a.telemetry().start(r.Context(), "userinfo.verify_token")
	p, err := a.Verifier.VerifyToken(vctx, c.token)
	if err != nil {
		// The cause may name what the verifier saw: the span only says
		// that it refused.
		span.SetStatus(codes.Error, "token refused")
	}
	span.End()
	switch {
	case err == nil && (p == nil || p.Subject == ""):
		return nil, invalid(errors.New("token has no subject"))
	case err == nil:
	case errors.Is(err, ErrInvalidToken):
		return nil, invalid(err)
	default:
		var e *Error
		if errors.As(err, &e) {
			return nil, err
		}
		return nil, errUnavailable(err)
	}
	if !p.AuthTime.IsZero() && p.AuthTime.After(a.now().Add(a.StepUp.skew())) {
		return nil, invalid(errors.New("auth_time is in the future"))
	}
	switch {
	case c.scheme == SchemeBearer && p.JKT != "":
		return nil, invalid(errors.New("a DPoP-bound token sent as a Bearer token"))
	case c.scheme == SchemeDPoP:
		if err := a.checkProof(r, c.token, p); err != nil {
			return nil, err
		}
	}
	scope := a.requiredScope()
	if !p.HasScope(scope) {
		e := a.challengeError(c.scheme, http.StatusForbidden, CodeInsufficientScope, descInsufficientScope, nil)
		e.Scope = scope
		return nil, e
	}
	return &authn{p: p, scheme: c.scheme, a: a}, nil
}

// checkProof checks the DPoP proof of a request whose token, verified, is
// p's.
func (a *Authenticator) checkProof(r *http.Request, token string, p *Principal) error {
	bad := func(cause error) *Error {
		return a.challengeError(SchemeDPoP, http.StatusUnauthorized, CodeInvalidDPoPProof, descInvalidDPoPProof, cause)
	}
	proofs := r.Header.Values("DPoP")
	if len(proofs) != 1 {
		return bad(fmt.Errorf("%d DPoP headers", len(proofs)))
	}
	jkt, err := a.DPoP.VerifyProof(r.Context(), DPoPProof{
		Proof: proofs[0], Method: r.Method, URI: strings.TrimSuffix(a.PublicURL, "/") + r.URL.EscapedPath(), AccessToken: token,
	})
	var nonce *NonceError
	switch {
	case errors.As(err, &nonce):
		e := a.challengeError(SchemeDPoP, http.StatusUnauthorized, CodeUseDPoPNonce, descUseDPoPNonce, err)
		e.Header = http.Header{"Dpop-Nonce": {nonce.Nonce}}
		return e
	case errors.Is(err, ErrInvalidDPoPProof):
		return bad(err)
	case err != nil:
		return errUnavailable(err)
	case p.JKT == "" || subtle.ConstantTimeCompare([]byte(jkt), []byte(p.JKT)) != 1:
		return bad(errors.New("the proof's key is not the one the token is bound to"))
	}
	return nil
}

// Middleware authenticates every request and calls next with the principal in
// the request's context ([PrincipalFromContext]); a request that fails is
// answered by [WriteError] and does not reach next. A panic in the verifier
// or in next is answered as an [Endpoint] answers it. It is a plain
// func(http.Handler) http.Handler, so it fits http.ServeMux, chi's Use and
// With, and other routers through their adapters (echo.WrapMiddleware, gin
// via gin.WrapH around the wrapped handler).
//
// Each request gets a server span and is counted as [Handler.ServeHTTP]'s
// are (see Config.TracerProvider and Config.MeterProvider), under the
// http.route of the http.ServeMux pattern that matched (r.Pattern), if any.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.telemetry().serve(w, r, patternRoute(r.Pattern), func(w http.ResponseWriter, r *http.Request) {
			serveGuarded(a.Logger, w, r, func(w http.ResponseWriter, r *http.Request) error {
				au, err := a.authenticate(r)
				if err != nil {
					return err
				}
				next.ServeHTTP(w, r.WithContext(contextWithPrincipal(r.Context(), au)))
				return nil
			})
		})
	})
}

// patternRoute returns the path of an http.ServeMux pattern, "[METHOD
// ][HOST]/PATH", or "" for none.
func patternRoute(pattern string) string {
	if i := strings.IndexByte(pattern, '/'); i >= 0 {
		return pattern[i:]
	}
	return ""
}

// requiredScope returns the scope every token must carry.
func (a *Authenticator) requiredScope() string {
	if a.Scope == "" {
		return "openid"
	}
	return a.Scope
}

func (a *Authenticator) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}
