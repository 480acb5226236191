package accesstoken

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ciamkit/userinfo"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// Defaults of [JWTConfig].
const (
	DefaultClockSkew    = time.Minute
	DefaultMaxTokenSize = 8 << 10
)

// defaultAlgorithms are the asymmetric algorithms allowed by default.
var defaultAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

var hmacAlgorithms = []string{"HS256", "HS384", "HS512"}

// JWTConfig configures [NewJWTVerifier]. The zero value of each optional
// field is its default.
type JWTConfig struct {
	// Keys holds the public keys of the issuer. Required unless HMACSecret
	// is set. A token's "kid" selects the key; the token's own "jwk", "jku",
	// "x5u" and "x5c" headers are never used.
	Keys KeySet

	// HMACSecret, when set, also allows HS256, HS384 and HS512 tokens signed
	// with this secret (at least 32 bytes). HMAC is never allowed otherwise,
	// so a token "signed" with a public key as HMAC secret is refused.
	HMACSecret []byte

	// Algorithms is the allow-list of JWS algorithms. Default: RS256, RS384,
	// RS512, PS256, PS384, PS512, ES256, ES384, ES512 and EdDSA when Keys is
	// set, and HS256, HS384 and HS512 when HMACSecret is set. "none" is never allowed. A key
	// whose JWK names an "alg" verifies that algorithm only.
	Algorithms []string

	// Issuer, when set, must equal the token's "iss".
	Issuer string

	// Audience, when set, must share a value with the token's "aud" (a
	// string or an array of strings).
	Audience []string

	// RequireATJWT requires the RFC 9068 header "typ": "at+jwt" (or
	// "application/at+jwt"), which tells access tokens apart from ID tokens
	// and other JWTs of the same issuer. Default: any "typ" is accepted.
	RequireATJWT bool

	// ClockSkew is the leeway for "exp", "nbf" and "iat". Default:
	// DefaultClockSkew (1 minute); negative means none.
	ClockSkew time.Duration

	// MaxTokenSize is the longest token, in bytes, that is parsed at all;
	// longer ones are refused unread. Default: DefaultMaxTokenSize (8 KiB).
	MaxTokenSize int

	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// JWTVerifier is a [userinfo.TokenVerifier] of JWT access tokens (RFC 7519,
// RFC 9068) in the JWS compact serialisation. It checks, in order: the size; the
// shape (three base64url segments: a JWE, the JSON serialisation and padding
// are refused); the protected header (an allowed "alg"; no "crit", "b64",
// "cty" (nested tokens) or "enc"; "typ" when required); the signature, with
// the key named by "kid" whose own algorithm must match; then the claims:
// "exp" required and a number, "nbf" and "iat" numbers when present, all
// within the clock skew; "iss" and "aud" when configured; "sub" a non-empty
// string.
//
// Every refusal wraps [userinfo.ErrInvalidToken]. When the key set is
// unavailable it returns the key set's error instead (the
// [userinfo.Authenticator] answers 503).
// A JWTVerifier is safe for concurrent use.
type JWTVerifier struct {
	keys         KeySet
	secret       []byte
	verifiers    map[string]jws.Verifier2
	rules        claimRules
	requireATJWT bool
	skew         time.Duration
	maxSize      int
	now          func() time.Time
}

// NewJWTVerifier returns a verifier for cfg, or an error when cfg is
// unusable: no keys, an unknown or unsupported algorithm, "none", an HMAC
// algorithm without a secret, or a secret under 32 bytes.
func NewJWTVerifier(cfg JWTConfig) (*JWTVerifier, error) {
	if cfg.Keys == nil && cfg.HMACSecret == nil {
		return nil, errors.New("accesstoken: JWTConfig.Keys is required")
	}
	if cfg.HMACSecret != nil && len(cfg.HMACSecret) < 32 {
		return nil, errors.New("accesstoken: JWTConfig.HMACSecret must have at least 32 bytes")
	}
	algs := cfg.Algorithms
	if len(algs) == 0 {
		if cfg.Keys != nil {
			algs = defaultAlgorithms
		}
		if cfg.HMACSecret != nil {
			algs = append(slices.Clip(algs), hmacAlgorithms...)
		}
	}
	v := &JWTVerifier{
		keys:         cfg.Keys,
		secret:       bytes.Clone(cfg.HMACSecret),
		verifiers:    make(map[string]jws.Verifier2, len(algs)),
		rules:        claimRules{issuer: cfg.Issuer, audience: slices.Clone(cfg.Audience)},
		requireATJWT: cfg.RequireATJWT,
		skew:         cfg.ClockSkew,
		maxSize:      cfg.MaxTokenSize,
		now:          cfg.Now,
	}
	if v.skew == 0 {
		v.skew = DefaultClockSkew
	} else if v.skew < 0 {
		v.skew = 0
	}
	if v.maxSize <= 0 {
		v.maxSize = DefaultMaxTokenSize
	}
	if v.now == nil {
		v.now = time.Now
	}
	for _, alg := range algs {
		isHMAC := slices.Contains(hmacAlgorithms, alg)
		switch {
		case isHMAC && cfg.HMACSecret == nil:
			return nil, fmt.Errorf("accesstoken: algorithm %s needs JWTConfig.HMACSecret", alg)
		case !isHMAC && !slices.Contains(defaultAlgorithms, alg):
			return nil, fmt.Errorf("accesstoken: algorithm %q is not supported", alg)
		case !isHMAC && cfg.Keys == nil:
			return nil, fmt.Errorf("accesstoken: algorithm %s needs JWTConfig.Keys", alg)
		}
		sa, ok := jwa.LookupSignatureAlgorithm(alg)
		if !ok {
			return nil, fmt.Errorf("accesstoken: algorithm %q is not supported", alg)
		}
		vf, err := jws.VerifierFor(sa)
		if err != nil {
			return nil, fmt.Errorf("accesstoken: algorithm %s: %w", alg, err)
		}
		v.verifiers[alg] = vf
	}
	return v, nil
}

var b64 = base64.RawURLEncoding.Strict()

// maxKeysTried bounds the keys tried for a token without a matching kid.
const maxKeysTried = 4

// VerifyToken implements [userinfo.TokenVerifier].
func (v *JWTVerifier) VerifyToken(ctx context.Context, token string) (*userinfo.Principal, error) {
	if len(token) > v.maxSize {
		return nil, errTokenTooLarge
	}
	if strings.HasPrefix(token, "{") {
		return nil, errTokenJSON
	}
	d1 := strings.IndexByte(token, '.')
	d2 := strings.LastIndexByte(token, '.')
	if d1 < 0 || d1 == d2 {
		return nil, errTokenMalformed
	}
	if n := strings.Count(token, "."); n != 2 {
		if n == 4 {
			return nil, errTokenJWE
		}
		return nil, errTokenMalformed
	}
	hdrB64, payloadB64, sigB64 := token[:d1], token[d1+1:d2], token[d2+1:]

	// The protected header, checked before any key is looked up.
	hdrJSON, err := b64.DecodeString(hdrB64)
	if err != nil {
		return nil, errTokenBase64
	}
	var hdr joseHeader
	if err := json.Unmarshal(hdrJSON, &hdr); err != nil {
		return nil, errTokenHeader
	}
	if err := v.checkHeader(&hdr); err != nil {
		return nil, err
	}
	sig, err := b64.DecodeString(sigB64)
	if err != nil {
		return nil, errTokenBase64
	}
	payload, err := b64.DecodeString(payloadB64)
	if err != nil {
		return nil, errTokenBase64
	}

	// The signature.
	if err := v.verifySignature(ctx, hdr.Alg, hdr.Kid, []byte(token[:d2]), sig); err != nil {
		return nil, err
	}

	// The claims.
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil || claims == nil {
		return nil, errTokenClaims
	}
	return v.principal(claims)
}

// joseHeader holds the protected-header members the verifier reads. The
// members that only need to be absent are kept raw.
type joseHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Typ  string          `json:"typ"`
	Crit json.RawMessage `json:"crit"`
	B64  json.RawMessage `json:"b64"`
	Cty  json.RawMessage `json:"cty"`
	Enc  json.RawMessage `json:"enc"`
}

// checkHeader checks the protected header. encoding/json matches member
// names case-insensitively, so "CRIT" also counts as "crit": that only
// makes the checks stricter, and the header is signed.
func (v *JWTVerifier) checkHeader(hdr *joseHeader) error {
	if _, ok := v.verifiers[hdr.Alg]; !ok {
		return errTokenAlg
	}
	switch {
	case hdr.Crit != nil:
		return errTokenCrit
	case hdr.B64 != nil:
		return errTokenB64
	case hdr.Enc != nil:
		return errTokenJWE
	case hdr.Cty != nil:
		return errTokenNested
	}
	if v.requireATJWT && !strings.EqualFold(hdr.Typ, "at+jwt") && !strings.EqualFold(hdr.Typ, "application/at+jwt") {
		return errTokenTyp
	}
	return nil
}

// verifySignature checks sig over input with the key kid names (or, without
// a kid, the first few keys of the set that fit alg).
func (v *JWTVerifier) verifySignature(ctx context.Context, alg, kid string, input, sig []byte) error {
	vf := v.verifiers[alg]
	if strings.HasPrefix(alg, "HS") {
		if vf.Verify(v.secret, input, sig) != nil {
			return errTokenSignature
		}
		return nil
	}
	keys, err := v.keys.VerificationKeys(ctx, kid)
	if err != nil {
		if errors.Is(err, userinfo.ErrInvalidToken) {
			return err
		}
		return fmt.Errorf("accesstoken: key set: %w", err)
	}
	if len(keys) == 0 {
		return errTokenUnknownKey
	}
	tried := 0
	for i := range keys {
		k := &keys[i]
		if !k.allows(alg) {
			continue
		}
		if vf.Verify(k.Key, input, sig) == nil {
			return nil
		}
		if tried++; tried == maxKeysTried {
			break
		}
	}
	if tried == 0 {
		return errTokenKeyAlg
	}
	return errTokenSignature
}

// principal checks the times of the claims and builds the principal.
func (v *JWTVerifier) principal(claims map[string]any) (*userinfo.Principal, error) {
	now := v.now()
	exp, ok := claims["exp"].(float64)
	if !ok || exp <= 0 {
		return nil, errTokenExpMissing
	}
	expiry := numericDate(exp)
	if now.After(expiry.Add(v.skew)) {
		return nil, errTokenExpired
	}
	if raw, present := claims["nbf"]; present {
		nbf, ok := raw.(float64)
		if !ok {
			return nil, errTokenNbf
		}
		if numericDate(nbf).After(now.Add(v.skew)) {
			return nil, errTokenNotYetValid
		}
	}
	if raw, present := claims["iat"]; present {
		iat, ok := raw.(float64)
		if !ok || numericDate(iat).After(now.Add(v.skew)) {
			return nil, errTokenIat
		}
	}
	return v.rules.principal(claims, expiry)
}
