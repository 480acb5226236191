package accesstoken

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/lestrrat-go/jwx/v3/jwa"
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
	// is set, a token's header "alg" must equal it.
	Algorithm string
	// Key is the public key: *rsa.PublicKey, *ecdsa.PublicKey or
	// ed25519.PublicKey.
	Key crypto.PublicKey
}

// allows reports whether k may verify a signature made with alg: the key's
// own algorithm when it names one, else an algorithm of the key's type (and,
// for EC keys, curve).
func (k *VerificationKey) allows(alg string) bool {
	if k.Algorithm != "" {
		return k.Algorithm == alg
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

// parseKeySet parses the JSON of a JWK Set (or of one JWK) into an index of
// its signature-verification keys. Symmetric ("oct") keys, encryption keys,
// keys without "verify" in their "key_ops", RSA keys under 2048 bits and
// unknown key types are left out; a set left with no key is an error. Private
// keys are reduced to their public part.
func parseKeySet(data []byte) (*keyIndex, error) {
	set, err := jwk.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("accesstoken: parse JWK set: %w", err)
	}
	ix := &keyIndex{byID: make(map[string][]VerificationKey)}
	for i := range set.Len() {
		key, _ := set.Key(i)
		vk, ok := verificationKey(key)
		if !ok {
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

// verificationKey converts a JWK into a VerificationKey, or reports that the
// key is not one for verifying signatures.
func verificationKey(key jwk.Key) (VerificationKey, bool) {
	if use, ok := key.KeyUsage(); ok && use != "sig" {
		return VerificationKey{}, false
	}
	if ops, ok := key.KeyOps(); ok && !slices.Contains(ops, jwk.KeyOpVerify) {
		return VerificationKey{}, false
	}
	switch key.KeyType() {
	case jwa.RSA(), jwa.EC(), jwa.OKP():
	default:
		return VerificationKey{}, false
	}
	pub, err := key.PublicKey()
	if err != nil {
		return VerificationKey{}, false
	}
	var raw any
	if err := jwk.Export(pub, &raw); err != nil {
		return VerificationKey{}, false
	}
	vk := VerificationKey{Key: raw}
	switch k := raw.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return VerificationKey{}, false
		}
	case *ecdsa.PublicKey:
	case ed25519.PublicKey:
	default:
		return VerificationKey{}, false
	}
	vk.ID, _ = key.KeyID()
	if alg, ok := key.Algorithm(); ok {
		vk.Algorithm = alg.String()
	}
	return vk, true
}

// staticKeySet is a KeySet that never changes.
type staticKeySet struct{ ix *keyIndex }

func (s staticKeySet) VerificationKeys(_ context.Context, kid string) ([]VerificationKey, error) {
	return s.ix.lookupOrAnonymous(kid), nil
}

// NewStaticKeySet returns a [KeySet] of the keys in jwks, the JSON of a JWK
// Set (RFC 7517 §5) or of a single JWK. Only signature-verification keys are
// kept: RSA (2048 bits or more), EC (P-256, P-384, P-521) and Ed25519. Keys
// whose "use" is not "sig", or whose "key_ops" lack "verify", and symmetric
// keys are ignored (HMAC needs [JWTConfig.HMACSecret]). A set without a usable
// key is an error.
func NewStaticKeySet(jwks []byte) (KeySet, error) {
	ix, err := parseKeySet(jwks)
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
