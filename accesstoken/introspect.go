package accesstoken

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ciamkit/userinfo"
)

// DefaultIntrospectionCacheMaxAge is the default of
// [IntrospectionConfig.CacheMaxAge].
const DefaultIntrospectionCacheMaxAge = time.Minute

// maxIntrospectionBytes bounds an introspection response.
const maxIntrospectionBytes = 1 << 20

// IntrospectionConfig configures [NewIntrospectionVerifier].
type IntrospectionConfig struct {
	// Endpoint is the authorization server's introspection endpoint
	// (RFC 7662 §2). Required.
	Endpoint string
	// ClientID and ClientSecret authenticate this resource server to the
	// endpoint with HTTP Basic (RFC 6749 §2.3.1). Required.
	ClientID     string
	ClientSecret string
	// HTTPClient sends the requests. Its redirect policy is not used:
	// redirects are never followed (a redirected request would carry the
	// token and the credentials to another URL), and are answered as
	// endpoint failures. Default: a client with a 10-second timeout.
	HTTPClient *http.Client

	// Issuer, when set, must equal the response's "iss". It is optional:
	// the endpoint is the authorization server's own, and RFC 7662 §2.2
	// makes "iss" optional, so that without Issuer a response without
	// "iss" is accepted.
	Issuer string
	// Audience must share a value with the response's "aud": an
	// authorization server answers "active" for tokens it issued to any
	// resource server. Required, unless SkipAudienceCheck is set.
	Audience []string
	// SkipAudienceCheck accepts tokens for any audience, and responses
	// without "aud". It is dangerous: a token the authorization server
	// issued for another resource server passes here. It MUST NOT be set
	// unless this server is the only resource server of the authorization
	// server. Setting it together with Audience is an error.
	SkipAudienceCheck bool

	// CacheMaxAge is the longest a [Cache] in front of the verifier reuses
	// an active answer, whatever the Cache's own MaxAge; it never reuses one
	// past its "exp". A token revoked at the authorization server is
	// therefore honoured for at most this long. The verifier itself caches
	// nothing: without a Cache, every request asks the endpoint. Default:
	// DefaultIntrospectionCacheMaxAge (1 minute).
	CacheMaxAge time.Duration

	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// IntrospectionVerifier is a [userinfo.TokenVerifier] of opaque (reference)
// tokens: it asks the authorization server's RFC 7662 introspection
// endpoint. A response with "active": true, a "sub", an "exp" (when present)
// in the future, and the configured "iss" and "aud", yields a principal
// whose Claims are the response's members; any other answer is an error
// wrapping [userinfo.ErrInvalidToken]. When the endpoint cannot be reached,
// answers an HTTP error or something that is not a JSON object, the error
// does not wrap ErrInvalidToken (the [userinfo.Authenticator] answers 503): a
// failure never lets a token pass.
//
// It caches nothing. Put it behind [NewCache] to ask the endpoint once per
// token and [IntrospectionConfig.CacheMaxAge]; the Cache learns that limit
// from [IntrospectionVerifier.MaxAge].
//
// An IntrospectionVerifier is safe for concurrent use.
type IntrospectionVerifier struct {
	endpoint string
	clientID string
	secret   string
	client   *http.Client
	rules    claimRules
	maxAge   time.Duration
	now      func() time.Time
}

// NewIntrospectionVerifier returns a verifier for cfg, or an error when cfg
// is unusable: no endpoint or client id, or no audience (unless skipped by
// name).
func NewIntrospectionVerifier(cfg IntrospectionConfig) (*IntrospectionVerifier, error) {
	if err := checkFetchURL(cfg.Endpoint); err != nil {
		return nil, fmt.Errorf("accesstoken: IntrospectionConfig.Endpoint: %w", err)
	}
	if cfg.ClientID == "" {
		return nil, errors.New("accesstoken: IntrospectionConfig.ClientID is required")
	}
	if err := checkAudience(cfg.Audience, cfg.SkipAudienceCheck, "IntrospectionConfig"); err != nil {
		return nil, err
	}
	v := &IntrospectionVerifier{
		endpoint: cfg.Endpoint,
		clientID: cfg.ClientID,
		secret:   cfg.ClientSecret,
		client:   cfg.HTTPClient,
		rules:    claimRules{issuer: cfg.Issuer, audience: slices.Clone(cfg.Audience)},
		maxAge:   cfg.CacheMaxAge,
		now:      cfg.Now,
	}
	if v.client == nil {
		v.client = &http.Client{Timeout: 10 * time.Second}
	}
	// A redirect must not carry the token and the credentials elsewhere:
	// a 307 or 308 would post them again, to wherever it points. The
	// redirect is answered as what it is, an error.
	c := *v.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	v.client = &c
	if v.maxAge <= 0 {
		v.maxAge = DefaultIntrospectionCacheMaxAge
	}
	if v.now == nil {
		v.now = time.Now
	}
	return v, nil
}

// MaxAge implements [MaxAger]: it is [IntrospectionConfig.CacheMaxAge], the
// longest a [Cache] may reuse an answer of the endpoint.
func (v *IntrospectionVerifier) MaxAge() time.Duration { return v.maxAge }

// errIntrospection is the cause of every failure to get an answer from the
// endpoint. It is not an ErrInvalidToken.
var errIntrospection = errors.New("accesstoken: introspection failed")

// VerifyToken implements [userinfo.TokenVerifier].
func (v *IntrospectionVerifier) VerifyToken(ctx context.Context, token string) (*userinfo.Principal, error) {
	now := v.now()
	claims, err := v.introspect(ctx, token)
	if err != nil {
		return nil, err
	}
	return v.principal(claims, now)
}

// introspect posts the token to the endpoint and returns the response's
// members. Every error is an endpoint failure, never userinfo.ErrInvalidToken.
func (v *IntrospectionVerifier) introspect(ctx context.Context, token string) (map[string]any, error) {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errIntrospection, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(v.clientID), url.QueryEscape(v.secret))
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errIntrospection, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIntrospectionBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errIntrospection, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: status %d", errIntrospection, resp.StatusCode)
	}
	if len(body) > maxIntrospectionBytes {
		return nil, fmt.Errorf("%w: response too large", errIntrospection)
	}
	var claims map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&claims); err != nil || claims == nil {
		return nil, fmt.Errorf("%w: response is not a JSON object", errIntrospection)
	}
	return claims, nil
}

// principal checks an introspection response.
func (v *IntrospectionVerifier) principal(claims map[string]any, now time.Time) (*userinfo.Principal, error) {
	if active, _ := claims["active"].(bool); !active {
		return nil, errTokenInactive
	}
	// RFC 7662 §2.2: token_type, when given, says what the token is; an
	// authorization server that also answers for refresh tokens must not
	// turn them into bearer tokens here.
	if raw, ok := claims["token_type"]; ok {
		tt, _ := raw.(string)
		if !strings.EqualFold(tt, "access_token") && !strings.EqualFold(tt, "Bearer") {
			return nil, errTokenNotAccess
		}
	}
	var expiry time.Time // RFC 7662 §2.2: "exp" is optional
	if raw, ok := claims["exp"]; ok {
		exp, ok := raw.(float64)
		if !ok || exp <= 0 {
			return nil, errTokenExpMissing
		}
		expiry = numericDate(exp)
		if !now.Before(expiry) {
			return nil, errTokenExpired
		}
	}
	if raw, ok := claims["nbf"]; ok {
		if nbf, ok := raw.(float64); !ok || numericDate(nbf).After(now) {
			return nil, errTokenNotYetValid
		}
	}
	return v.rules.principal(claims, expiry)
}
