package accesstoken

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"slices"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// ErrNoKeySet is returned, wrapped, by a [KeySet] that has no keys to offer
// at all: a remote set that was never fetched successfully. It is not a
// [userinfo.ErrInvalidToken]: the [userinfo.Authenticator] answers it 503
// temporarily_unavailable, never 401 and never a pass.
var ErrNoKeySet = errors.New("accesstoken: no key set available")

// VerificationKey is a public key of a key set, ready to check signatures.
type VerificationKey struct {
	// ID is the key id, the JWK's "kid". It may be empty.
	ID string
	// Algorithm is the JWK's "alg", or empty when the JWK has none. When it
	// is set, a token's header "alg" must equal it ("EdDSA" and "Ed25519"
	// count as equal for an Ed25519 key, RFC 9864).
	Algorithm string
	// Key is the public key: *rsa.PublicKey, *ecdsa.PublicKey or
	// ed25519.PublicKey.
	Key crypto.PublicKey
}

// allows reports whether k may verify a signature made with alg: the key's
// own algorithm when it names one, else an algorithm of the key's type (and,
// for EC keys, curve).
func (k *VerificationKey) allows(alg string) bool {
	if k.Algorithm != "" && k.Algorithm != alg {
		// RFC 9864: "Ed25519" is the fully specified name of what
		// "EdDSA" means for an Ed25519 key.
		_, ed := k.Key.(ed25519.PublicKey)
		return ed && isEdDSAName(k.Algorithm) && isEdDSAName(alg)
	}
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		switch alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			return true
		}
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			return alg == "ES256"
		case elliptic.P384():
			return alg == "ES384"
		case elliptic.P521():
			return alg == "ES512"
		}
	case ed25519.PublicKey:
		return alg == "EdDSA" || alg == "Ed25519"
	}
	return false
}

func isEdDSAName(alg string) bool { return alg == "EdDSA" || alg == "Ed25519" }

// KeySet is where a [JWTVerifier] finds the keys that sign tokens.
//
// Implementations are safe for concurrent use. [NewStaticKeySet] and
// [ReadKeySetFile] hold a fixed set; [NewRemoteKeySet] fetches one from a URL
// or by OIDC discovery and keeps it fresh.
type KeySet interface {
	// VerificationKeys returns the keys whose key id is kid, or every key
	// when kid is empty. When no key has the id, it returns the keys that
	// have none (a kid is a hint), and so an empty result when every key
	// has another id; that is not an error. A remote set may refetch on an
	// unknown kid before it answers.
	// An error (wrapping [ErrNoKeySet], or ctx's error) means that no key
	// set is available now. The caller must not modify the returned slice.
	VerificationKeys(ctx context.Context, kid string) ([]VerificationKey, error)
}

// minRSABits is the smallest RSA modulus accepted in a key set.
const minRSABits = 2048

// keyIndex is a parsed key set, indexed by key id. It is immutable.
type keyIndex struct {
	all  []VerificationKey
	byID map[string][]VerificationKey
	anon []VerificationKey // the keys without a key id
}

// lookup returns the keys whose id is kid, or every key when kid is empty.
func (ix *keyIndex) lookup(kid string) []VerificationKey {
	if kid == "" {
		return ix.all
	}
	return ix.byID[kid]
}

// lookupOrAnonymous is lookup, falling back to the keys that have no id
// when none has kid: a "kid" is a hint (RFC 7515 §4.1.4), and issuers that
// publish keys without one still name them in their tokens.
func (ix *keyIndex) lookupOrAnonymous(kid string) []VerificationKey {
	if keys := ix.lookup(kid); len(keys) > 0 {
		return keys
	}
	return ix.anon
}

// maxLoggedKID bounds the key ids that skipped-key logs repeat.
const maxLoggedKID = 128

// parseKeySet parses the JSON of a JWK Set (or of one JWK) into an index of
// its signature-verification keys. A member that cannot verify signatures is
// skipped and logged (kid, kty and reason; no key material) on logger,
// when not nil: see usableMember. Only a set left with no key, or one that
// is not JSON, is an error (RFC 7517 §5: "implementations SHOULD ignore JWKs
// within a JWK Set that use "kty" values that are not understood by them").
// Private keys are reduced to their public part.
func parseKeySet(data []byte, logger *slog.Logger) (*keyIndex, error) {
	var members []json.RawMessage
	var set struct {
		Keys *[]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("accesstoken: parse JWK set: %w", err)
	}
	if set.Keys != nil {
		members = *set.Keys
	} else {
		members = []json.RawMessage{data} // a single JWK
	}
	ix := &keyIndex{byID: make(map[string][]VerificationKey)}
	for _, raw := range members {
		vk, skip := usableMember(raw)
		if skip != nil {
			if logger != nil {
				logger.Warn("accesstoken: JWK skipped", "kid", skip.kid, "kty", skip.kty, "reason", skip.reason)
			}
			continue
		}
		ix.all = append(ix.all, vk)
		if vk.ID != "" {
			ix.byID[vk.ID] = append(ix.byID[vk.ID], vk)
		} else {
			ix.anon = append(ix.anon, vk)
		}
	}
	if len(ix.all) == 0 {
		return nil, errors.New("accesstoken: JWK set has no usable signature key")
	}
	return ix, nil
}

// skippedKey says why a member of a key set was left out.
type skippedKey struct{ kid, kty, reason string }

// jwkMembers are the members of a JWK read before jwx parses it.
type jwkMembers struct {
	Kty    *string  `json:"kty"`
	Crv    string   `json:"crv"`
	N      string   `json:"n"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
	Kid    string   `json:"kid"`
	Use    *string  `json:"use"`
	Alg    *string  `json:"alg"`
	KeyOps []string `json:"key_ops"`
	X5c    []string `json:"x5c"`
}

// supportedKeyAlgorithms are the "alg" values a key of a set may name.
var supportedKeyAlgorithms = append(slices.Clip(defaultAlgorithms), "Ed25519")

// usableMember converts a member of a key set into a VerificationKey, or
// says why it cannot verify signatures: not a JSON object, no "kty" or one
// of another type than RSA, EC and OKP (symmetric "oct" keys included: HMAC
// needs [JWTConfig.HMACSecret]), "use" other than "sig", "key_ops" without
// "verify", an unknown "alg" or one that does not fit the key, an
// undecodable "x5c" or one whose first certificate holds another key, a key jwx cannot parse, an RSA modulus under 2048 bits,
// a curve other than P-256, P-384, P-521 and Ed25519, or a point off its
// curve. The reason is a fixed text.
func usableMember(raw json.RawMessage) (VerificationKey, *skippedKey) {
	var m jwkMembers
	if err := json.Unmarshal(raw, &m); err != nil {
		// A member of the wrong type, or a kid that is no string: read
		// what can be read for the log.
		var loose map[string]any
		_ = json.Unmarshal(raw, &loose)
		kid, _ := loose["kid"].(string)
		kty, _ := loose["kty"].(string)
		return VerificationKey{}, skip(kid, kty, "a member is not a JSON object or has the wrong type")
	}
	kty := ""
	if m.Kty != nil {
		kty = *m.Kty
	}
	switch {
	case m.Kty == nil:
		return VerificationKey{}, skip(m.Kid, kty, "no kty")
	case kty != "RSA" && kty != "EC" && kty != "OKP":
		return VerificationKey{}, skip(m.Kid, kty, "unsupported kty")
	case kty == "EC" && m.Crv != "P-256" && m.Crv != "P-384" && m.Crv != "P-521",
		kty == "OKP" && m.Crv != "Ed25519":
		return VerificationKey{}, skip(m.Kid, kty, "unsupported curve")
	case m.Use != nil && *m.Use != "sig":
		return VerificationKey{}, skip(m.Kid, kty, "use is not sig")
	case m.KeyOps != nil && !slices.Contains(m.KeyOps, "verify"):
		return VerificationKey{}, skip(m.Kid, kty, "key_ops without verify")
	case m.Alg != nil && !slices.Contains(supportedKeyAlgorithms, *m.Alg):
		return VerificationKey{}, skip(m.Kid, kty, "unsupported alg")
	}
	if reason := checkKeyMaterial(kty, &m); reason != "" {
		return VerificationKey{}, skip(m.Kid, kty, reason)
	}
	var leaf *x509.Certificate
	for i, c := range m.X5c {
		der, err := base64.StdEncoding.DecodeString(c)
		if err != nil {
			return VerificationKey{}, skip(m.Kid, kty, "undecodable x5c")
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return VerificationKey{}, skip(m.Kid, kty, "undecodable x5c")
		}
		if i == 0 {
			leaf = cert
		}
	}
	key, err := jwk.ParseKey(raw)
	if err != nil {
		return VerificationKey{}, skip(m.Kid, kty, "unparsable key")
	}
	pub, reason := usablePublicKey(key)
	if reason != "" {
		return VerificationKey{}, skip(m.Kid, kty, reason)
	}
	// RFC 7517 §4.7: the key in the first certificate MUST match the JWK.
	if eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); leaf != nil && (!ok || !eq.Equal(leaf.PublicKey)) {
		return VerificationKey{}, skip(m.Kid, kty, "x5c does not match the key")
	}
	vk := VerificationKey{ID: m.Kid, Key: pub}
	if m.Alg != nil {
		if !vk.allows(*m.Alg) {
			return VerificationKey{}, skip(m.Kid, kty, "alg does not fit the key")
		}
		vk.Algorithm = *m.Alg
	}
	return vk, nil
}

// checkKeyMaterial names what is wrong with the RSA modulus or the EC point
// of m, so that the log says more than that jwx could not parse the key.
func checkKeyMaterial(kty string, m *jwkMembers) string {
	switch kty {
	case "RSA":
		n, err := b64.DecodeString(m.N)
		if err != nil {
			return "unparsable key"
		}
		if new(big.Int).SetBytes(n).BitLen() < minRSABits {
			return "RSA modulus under 2048 bits"
		}
	case "EC":
		curve := map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}[m.Crv]
		size := (curve.Params().BitSize + 7) / 8
		x, errX := b64.DecodeString(m.X)
		y, errY := b64.DecodeString(m.Y)
		if errX != nil || errY != nil || len(x) != size || len(y) != size {
			return "unparsable key"
		}
		point := append(append([]byte{4}, x...), y...)
		if _, err := ecdsa.ParseUncompressedPublicKey(curve, point); err != nil {
			return "point not on its curve"
		}
	}
	return ""
}

func skip(kid, kty, reason string) *skippedKey {
	if len(kid) > maxLoggedKID {
		kid = kid[:maxLoggedKID]
	}
	if len(kty) > maxLoggedKID {
		kty = kty[:maxLoggedKID]
	}
	return &skippedKey{kid: kid, kty: kty, reason: reason}
}

// usablePublicKey returns the public key of key as the standard library's
// type, or why it cannot verify signatures.
func usablePublicKey(key jwk.Key) (any, string) {
	pubKey, err := key.PublicKey()
	if err != nil {
		return nil, "no public key"
	}
	var raw any
	if err := jwk.Export(pubKey, &raw); err != nil {
		return nil, "unparsable key"
	}
	switch k := raw.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return nil, "RSA modulus under 2048 bits"
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return nil, "unsupported curve"
		}
		if _, err := k.Bytes(); err != nil {
			return nil, "point not on its curve"
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, "unparsable key"
		}
	default:
		return nil, "unsupported curve"
	}
	return raw, ""
}

// staticKeySet is a KeySet that never changes.
type staticKeySet struct{ ix *keyIndex }

func (s staticKeySet) VerificationKeys(_ context.Context, kid string) ([]VerificationKey, error) {
	return s.ix.lookupOrAnonymous(kid), nil
}

// NewStaticKeySet returns a [KeySet] of the keys in jwks, the JSON of a JWK
// Set (RFC 7517 §5) or of a single JWK. Only signature-verification keys are
// kept: RSA (2048 bits or more), EC (P-256, P-384, P-521) and Ed25519. A
// member that cannot verify signatures is skipped, and logged as a warning
// on [slog.Default] with its kid, kty and the reason (never key material):
// an unknown "kty" (such as ML-DSA's "AKP"), "crv" or "alg", an RSA
// modulus under 2048 bits, a point off its curve, an undecodable "x5c",
// "use" other than "sig", "key_ops" without "verify", and symmetric keys
// (HMAC needs [JWTConfig.HMACSecret]). Only a set without any usable key is
// an error.
func NewStaticKeySet(jwks []byte) (KeySet, error) {
	ix, err := parseKeySet(jwks, slog.Default())
	if err != nil {
		return nil, err
	}
	return staticKeySet{ix}, nil
}

// ReadKeySetFile reads a JWK Set from the file at path, once, as
// [NewStaticKeySet] parses it.
func ReadKeySetFile(path string) (KeySet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("accesstoken: read JWK set: %w", err)
	}
	return NewStaticKeySet(data)
}
