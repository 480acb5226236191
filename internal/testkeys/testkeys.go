// Package testkeys makes signing keys, publishes them as a JWK Set and signs
// JWTs with them, for tests and for the example server's development issuer.
//
// It uses the standard library only, so that tokens it signs are an
// independent check of the verifier, and it can sign headers a real issuer
// never would (alg "none", an embedded "jwk", "crit"): attack tests need them.
// It is not for production: keys live in memory and nothing is validated.
//
// Typical usage inside a test:
//
//	key := testkeys.MustNew("ES256")
//	jwks := testkeys.JWKS(key) // serve or load as the verifier's key set
//	token, err := key.Sign(map[string]any{"sub": "u1", "scope": "openid", "exp": time.Now().Add(time.Hour).Unix()})
package testkeys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"slices"
	"strings"
)

// Algs are the algorithms New accepts.
var Algs = []string{"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"}

// Key is a private signing key with its key id and algorithm.
type Key struct {
	// ID is the key id: the "kid" of the JWK and of the tokens it signs.
	ID string
	// Alg is the JWS algorithm, one of Algs.
	Alg string
	// Signer is the private key: *ecdsa.PrivateKey, *rsa.PrivateKey or
	// ed25519.PrivateKey.
	Signer crypto.Signer
}

// New generates a key for alg (one of Algs) with a random key id. RSA keys
// have 2048 bits.
func New(alg string) (*Key, error) {
	var (
		s   crypto.Signer
		err error
	)
	switch alg {
	case "ES256":
		s, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		s, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ES512":
		s, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		s, err = rsa.GenerateKey(rand.Reader, 2048)
	case "EdDSA":
		_, s, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("testkeys: unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("testkeys: generate %s key: %w", alg, err)
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	return &Key{ID: alg + "-" + b64(id), Alg: alg, Signer: s}, nil
}

// MustNew is New that panics on error, for tests and package variables.
func MustNew(alg string) *Key {
	k, err := New(alg)
	if err != nil {
		panic(err)
	}
	return k
}

// Public returns the public key.
func (k *Key) Public() crypto.PublicKey { return k.Signer.Public() }

// JWK returns the public key as a JWK (RFC 7517) with "kid", "alg" and
// "use": "sig". The map can be changed, e.g. to drop "alg", before it is
// marshalled.
func (k *Key) JWK() map[string]any {
	m := map[string]any{"kid": k.ID, "alg": k.Alg, "use": "sig"}
	switch pub := k.Signer.Public().(type) {
	case *ecdsa.PublicKey:
		raw, err := pub.Bytes() // 0x04 || X || Y
		if err != nil {
			panic(err) // cannot happen: keys made by New
		}
		size := (len(raw) - 1) / 2
		m["kty"] = "EC"
		m["crv"] = pub.Curve.Params().Name
		m["x"] = b64(raw[1 : 1+size])
		m["y"] = b64(raw[1+size:])
	case *rsa.PublicKey:
		m["kty"] = "RSA"
		m["n"] = b64(pub.N.Bytes())
		m["e"] = b64(big.NewInt(int64(pub.E)).Bytes())
	case ed25519.PublicKey:
		m["kty"] = "OKP"
		m["crv"] = "Ed25519"
		m["x"] = b64(pub)
	}
	return m
}

// JWKS returns the JSON of a JWK Set ({"keys": […]}) holding the public keys.
func JWKS(keys ...*Key) []byte {
	set := struct {
		Keys []map[string]any `json:"keys"`
	}{Keys: []map[string]any{}}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.JWK())
	}
	b, err := json.Marshal(set)
	if err != nil {
		panic(err) // cannot happen: maps of strings
	}
	return b
}

// Sign returns a compact JWS of claims with the header
// {"alg": k.Alg, "kid": k.ID, "typ": "at+jwt"}.
func (k *Key) Sign(claims map[string]any) (string, error) {
	return k.SignWithHeader(nil, claims)
}

// SignWithHeader is Sign with header entries added to, or replacing, the
// default ones; an entry whose value is nil removes that member. The
// signature always uses k.Alg, whatever header["alg"] says, so that tests can
// lie about the algorithm.
func (k *Key) SignWithHeader(header, claims map[string]any) (string, error) {
	h := map[string]any{"alg": k.Alg, "kid": k.ID, "typ": "at+jwt"}
	for name, v := range header {
		if v == nil {
			delete(h, name)
		} else {
			h[name] = v
		}
	}
	input, err := SigningInput(h, claims)
	if err != nil {
		return "", err
	}
	sig, err := k.signInput(input)
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

func (k *Key) signInput(input string) ([]byte, error) {
	if k.Alg == "EdDSA" {
		return k.Signer.Sign(rand.Reader, []byte(input), crypto.Hash(0))
	}
	h, err := hashOf(k.Alg)
	if err != nil {
		return nil, err
	}
	d := h.New()
	d.Write([]byte(input))
	digest := d.Sum(nil)
	switch s := k.Signer.(type) {
	case *ecdsa.PrivateKey:
		r, ss, err := ecdsa.Sign(rand.Reader, s, digest)
		if err != nil {
			return nil, err
		}
		size := (s.Curve.Params().BitSize + 7) / 8
		return append(pad(r.Bytes(), size), pad(ss.Bytes(), size)...), nil
	case *rsa.PrivateKey:
		if strings.HasPrefix(k.Alg, "PS") {
			return rsa.SignPSS(rand.Reader, s, h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		return rsa.SignPKCS1v15(rand.Reader, s, h, digest)
	}
	return nil, errors.New("testkeys: unsupported key type")
}

// SignHMAC returns a compact JWS of claims signed with secret by an HMAC
// algorithm (HS256, HS384, HS512). The header is {"alg": alg, "typ": "at+jwt"}
// plus header, as in SignWithHeader. Attack tests use it to sign with a
// public key's bytes.
func SignHMAC(alg string, secret []byte, header, claims map[string]any) (string, error) {
	var h func() hash.Hash
	switch alg {
	case "HS256":
		h = sha256.New
	case "HS384":
		h = sha512.New384
	case "HS512":
		h = sha512.New
	default:
		return "", fmt.Errorf("testkeys: unsupported algorithm %q", alg)
	}
	hd := map[string]any{"alg": alg, "typ": "at+jwt"}
	for name, v := range header {
		if v == nil {
			delete(hd, name)
		} else {
			hd[name] = v
		}
	}
	input, err := SigningInput(hd, claims)
	if err != nil {
		return "", err
	}
	m := hmac.New(h, secret)
	m.Write([]byte(input))
	return input + "." + b64(m.Sum(nil)), nil
}

// SigningInput returns base64url(JSON(header)) + "." + base64url(JSON(claims)),
// the part of a compact JWS that is signed. Append "." and a signature (or
// nothing, for alg "none") to forge tokens.
func SigningInput(header, claims map[string]any) (string, error) {
	hb, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("testkeys: header: %w", err)
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("testkeys: claims: %w", err)
	}
	return b64(hb) + "." + b64(cb), nil
}

// PublicPEM returns the public key as a PEM "PUBLIC KEY" block
// (SubjectPublicKeyInfo): what an attacker signs HS256 tokens with in the
// classic algorithm-confusion attack.
func (k *Key) PublicPEM() []byte {
	der, err := x509.MarshalPKIXPublicKey(k.Signer.Public())
	if err != nil {
		panic(err) // cannot happen: keys made by New
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// PKCS8 returns the private key in PKCS #8 DER, to keep it (the example's
// development issuer keeps it in PostgreSQL for its replicas).
func (k *Key) PKCS8() ([]byte, error) { return x509.MarshalPKCS8PrivateKey(k.Signer) }

// ParsePKCS8 returns the key of alg kept by PKCS8. Its ID is derived from
// the public key, so that every process that parses one key names it alike.
func ParsePKCS8(alg string, der []byte) (*Key, error) {
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("testkeys: %w", err)
	}
	s, ok := priv.(crypto.Signer)
	if !ok {
		return nil, errors.New("testkeys: not a signing key")
	}
	if !slices.Contains(Algs, alg) {
		return nil, fmt.Errorf("testkeys: unsupported algorithm %q", alg)
	}
	k := &Key{Alg: alg, Signer: s}
	pub, err := x509.MarshalPKIXPublicKey(s.Public())
	if err != nil {
		return nil, fmt.Errorf("testkeys: %w", err)
	}
	sum := sha256.Sum256(pub)
	k.ID = alg + "-" + b64(sum[:8])
	return k, nil
}

func hashOf(alg string) (crypto.Hash, error) {
	switch alg[2:] {
	case "256":
		return crypto.SHA256, nil
	case "384":
		return crypto.SHA384, nil
	case "512":
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("testkeys: unsupported algorithm %q", alg)
}

func pad(b []byte, size int) []byte {
	if len(b) >= size {
		return b
	}
	out := make([]byte, size)
	copy(out[size-len(b):], b)
	return out
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
