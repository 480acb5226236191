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
	"github.com/ciamkit/userinfo/internal/attrjson"

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

// jwtAlgorithms are the asymmetric algorithms a JWTVerifier allows by
// default: defaultAlgorithms and "Ed25519", the fully specified name of
// EdDSA with Ed25519 (RFC 9864).
var jwtAlgorithms = append(slices.Clip(defaultAlgorithms), "Ed25519")

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
	// RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA and Ed25519
	// (RFC 9864's name for EdDSA with Ed25519) when Keys is set, and HS256, HS384 and HS512 when HMACSecret is set. "none" is never allowed. A key
	// whose JWK names an "alg" verifies that algorithm only.
	Algorithms []string

	// Issuer must equal the token's "iss". Required, unless Keys is a
	// [RemoteKeySet] made by discovery, whose issuer is then the one
	// checked (an Issuer given as well must equal it), or SkipIssuerCheck
	// is set.
	Issuer string

	// SkipIssuerCheck accepts tokens of any issuer. It is dangerous: any
	// issuer whose keys are in Keys, an ID token of a shared key set, a
	// token of another tenant of a multi-tenant provider, passes. It MUST
	// NOT be set unless Keys are the keys of one issuer alone and nothing
	// else signs with them. Setting it together with Issuer is an error.
	SkipIssuerCheck bool

	// Audience must share a value with the token's "aud" (a string or an
	// array of strings). Required, unless SkipAudienceCheck is set.
	Audience []string

	// SkipAudienceCheck accepts tokens for any audience. It is dangerous:
	// a token the issuer made for another resource server, which that
	// server's operator (or anyone who stole it there) holds, passes here.
	// It MUST NOT be set unless the issuer makes tokens for this server
	// alone. Setting it together with Audience is an error.
	SkipAudienceCheck bool

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
// within the clock skew; "iss" and "aud" (unless skipped by name); "sub" a
// non-empty string. A token without "kid", or with one that no key has, is
// tried against every key without an id (every key, without a kid) that
// allows its "alg".
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
// unusable: no keys, no issuer or no audience (unless skipped by name), an
// issuer other than the discovered one, an unknown or unsupported algorithm,
// "none", an HMAC algorithm without a secret, or a secret under 32 bytes.
func NewJWTVerifier(cfg JWTConfig) (*JWTVerifier, error) {
	if cfg.Keys == nil && cfg.HMACSecret == nil {
		return nil, errors.New("accesstoken: JWTConfig.Keys is required")
	}
	issuer, err := jwtIssuer(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkAudience(cfg.Audience, cfg.SkipAudienceCheck, "JWTConfig"); err != nil {
		return nil, err
	}
	if cfg.HMACSecret != nil && len(cfg.HMACSecret) < 32 {
		return nil, errors.New("accesstoken: JWTConfig.HMACSecret must have at least 32 bytes")
	}
	algs := cfg.Algorithms
	if len(algs) == 0 {
		if cfg.Keys != nil {
			algs = jwtAlgorithms
		}
		if cfg.HMACSecret != nil {
			algs = append(slices.Clip(algs), hmacAlgorithms...)
		}
	}
	v := &JWTVerifier{
		keys:         cfg.Keys,
		secret:       bytes.Clone(cfg.HMACSecret),
		verifiers:    make(map[string]jws.Verifier2, len(algs)),
		rules:        claimRules{issuer: issuer, audience: slices.Clone(cfg.Audience)},
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
		case !isHMAC && !slices.Contains(jwtAlgorithms, alg):
			return nil, fmt.Errorf("accesstoken: algorithm %q is not supported", alg)
		case !isHMAC && cfg.Keys == nil:
			return nil, fmt.Errorf("accesstoken: algorithm %s needs JWTConfig.Keys", alg)
		}
		vf, err := verifierFor(alg)
		if err != nil {
			return nil, err
		}
		v.verifiers[alg] = vf
	}
	return v, nil
}

// verifierFor returns jwx's signature verifier of alg.
func verifierFor(alg string) (jws.Verifier2, error) {
	sa, ok := jwa.LookupSignatureAlgorithm(alg)
	if !ok {
		return nil, fmt.Errorf("accesstoken: algorithm %q is not supported", alg)
	}
	vf, err := jws.VerifierFor(sa)
	if err != nil {
		return nil, fmt.Errorf("accesstoken: algorithm %s: %w", alg, err)
	}
	return vf, nil
}

// issuerKeySet is the optional interface of a [KeySet] that knows its
// issuer: a [RemoteKeySet] made by discovery.
type issuerKeySet interface{ Issuer() string }

// jwtIssuer returns the issuer that tokens of cfg must name, or "" when
// the check is skipped by name.
func jwtIssuer(cfg JWTConfig) (string, error) {
	var discovered string
	if ks, ok := cfg.Keys.(issuerKeySet); ok {
		discovered = ks.Issuer()
	}
	switch {
	case cfg.SkipIssuerCheck && cfg.Issuer != "":
		return "", errors.New("accesstoken: JWTConfig.Issuer and SkipIssuerCheck are exclusive")
	case cfg.SkipIssuerCheck:
		return "", nil
	case discovered != "" && cfg.Issuer != "" && cfg.Issuer != discovered:
		return "", fmt.Errorf("accesstoken: JWTConfig.Issuer %q is not the issuer %q its key set was discovered from", cfg.Issuer, discovered)
	case discovered != "":
		return discovered, nil
	case cfg.Issuer == "":
		return "", errors.New("accesstoken: JWTConfig.Issuer is required (or SkipIssuerCheck, which is dangerous)")
	}
	return cfg.Issuer, nil
}

// checkAudience checks the audience configuration of a verifier.
func checkAudience(aud []string, skip bool, config string) error {
	switch {
	case skip && len(aud) > 0:
		return fmt.Errorf("accesstoken: %s.Audience and SkipAudienceCheck are exclusive", config)
	case skip:
		return nil
	case len(aud) == 0:
		return fmt.Errorf("accesstoken: %s.Audience is required (or SkipAudienceCheck, which is dangerous)", config)
	case slices.Contains(aud, ""):
		return fmt.Errorf("accesstoken: %s.Audience holds an empty string", config)
	}
	return nil
}

var b64 = base64.RawURLEncoding.Strict()

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

	// The claims, decoded as json.Unmarshal into a map[string]any would
	// decode them (numbers as float64), on attrjson's fast path for flat
	// claims; FuzzDecodeObject holds the two equal.
	claims, err := attrjson.DecodeObject(payload, false)
	if err != nil || claims == nil {
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

// verifySignature checks sig over input with the keys kid names (or, without
// a kid or with one no key has, every key without an id, or every key of
// the set, that fits alg).
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
		tried++
		if vf.Verify(k.Key, input, sig) == nil {
			return nil
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
