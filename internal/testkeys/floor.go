package testkeys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"strings"
	"time"
)

// FloorVerifier is the reference that benchmarks compare verifiers and
// handlers with: the least a JWT verifier must do, with the standard library
// alone. It splits the token, decodes the header into a struct to find alg
// and kid, verifies an ES256, RS256 or EdDSA signature with crypto/ecdsa,
// crypto/rsa or crypto/ed25519, and decodes the claims into a struct,
// checking exp and, when set, Issuer and Audience. It refuses nothing
// else (no nbf, typ or crit checks): it is a cost floor, not a safe
// verifier.
type FloorVerifier struct {
	// Keys are the public keys by key id.
	Keys map[string]crypto.PublicKey
	// Issuer, when set, must equal "iss".
	Issuer string
	// Audience, when set, must be "aud" or one of its values.
	Audience string
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// NewFloorVerifier returns a FloorVerifier of the public keys of keys.
func NewFloorVerifier(keys ...*Key) *FloorVerifier {
	f := &FloorVerifier{Keys: make(map[string]crypto.PublicKey, len(keys))}
	for _, k := range keys {
		f.Keys[k.ID] = k.Public()
	}
	return f
}

// FloorClaims are the claims a FloorVerifier reads.
type FloorClaims struct {
	Iss      string `json:"iss"`
	Sub      string `json:"sub"`
	Aud      any    `json:"aud"`
	Exp      int64  `json:"exp"`
	Nbf      int64  `json:"nbf"`
	Iat      int64  `json:"iat"`
	Scope    string `json:"scope"`
	ClientID string `json:"client_id"`
}

type floorHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// Verify returns the claims of token, or an error when its signature, exp,
// iss or aud is wrong.
func (f *FloorVerifier) Verify(token string) (*FloorClaims, error) {
	h64, rest, ok1 := strings.Cut(token, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s64, ".") {
		return nil, errors.New("floor: not three segments")
	}
	hb, err := base64.RawURLEncoding.DecodeString(h64)
	if err != nil {
		return nil, err
	}
	var h floorHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, err
	}
	sig, err := base64.RawURLEncoding.DecodeString(s64)
	if err != nil {
		return nil, err
	}
	input := token[:len(h64)+1+len(p64)]
	key := f.Keys[h.Kid]
	switch h.Alg {
	case "ES256":
		pub, _ := key.(*ecdsa.PublicKey)
		if pub == nil || len(sig) != 64 {
			return nil, errors.New("floor: key")
		}
		d := sha256.Sum256([]byte(input))
		if !ecdsa.Verify(pub, d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			return nil, errors.New("floor: signature")
		}
	case "RS256":
		pub, _ := key.(*rsa.PublicKey)
		if pub == nil {
			return nil, errors.New("floor: key")
		}
		d := sha256.Sum256([]byte(input))
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig) != nil {
			return nil, errors.New("floor: signature")
		}
	case "EdDSA":
		pub, _ := key.(ed25519.PublicKey)
		if pub == nil || !ed25519.Verify(pub, []byte(input), sig) {
			return nil, errors.New("floor: signature")
		}
	default:
		return nil, errors.New("floor: alg")
	}
	pb, err := base64.RawURLEncoding.DecodeString(p64)
	if err != nil {
		return nil, err
	}
	var c FloorClaims
	if err := json.Unmarshal(pb, &c); err != nil {
		return nil, err
	}
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	if c.Exp == 0 || now().Unix() > c.Exp {
		return nil, errors.New("floor: expired")
	}
	if f.Issuer != "" && c.Iss != f.Issuer {
		return nil, errors.New("floor: issuer")
	}
	if f.Audience != "" {
		switch aud := c.Aud.(type) {
		case string:
			ok1 = aud == f.Audience
		case []any:
			ok1 = slices.Contains(aud, any(f.Audience))
		default:
			ok1 = false
		}
		if !ok1 {
			return nil, errors.New("floor: audience")
		}
	}
	return &c, nil
}
