package accesstoken

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/ciamkit/userinfo/internal/testkeys"
)

// floorVerifier is the reference the benchmarks compare with: the least a
// verifier must do, with the standard library alone. It splits the token,
// decodes the header into a struct to find alg and kid, verifies the
// signature with crypto/ecdsa, crypto/rsa or crypto/ed25519, and decodes the
// claims into a struct, checking exp. It is not a safe verifier.
type floorVerifier struct {
	keys map[string]crypto.PublicKey
	now  func() time.Time
}

type floorHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

type floorClaims struct {
	Iss      string `json:"iss"`
	Sub      string `json:"sub"`
	Aud      any    `json:"aud"`
	Exp      int64  `json:"exp"`
	Nbf      int64  `json:"nbf"`
	Iat      int64  `json:"iat"`
	Scope    string `json:"scope"`
	ClientID string `json:"client_id"`
}

func (f *floorVerifier) verify(token string) (*floorClaims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("segments")
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, err
	}
	var h floorHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, err
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, err
	}
	input := token[:len(parts[0])+1+len(parts[1])]
	key := f.keys[h.Kid]
	switch h.Alg {
	case "ES256":
		pub, _ := key.(*ecdsa.PublicKey)
		if pub == nil || len(sig) != 64 {
			return nil, errors.New("key")
		}
		d := sha256.Sum256([]byte(input))
		if !ecdsa.Verify(pub, d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			return nil, errors.New("signature")
		}
	case "RS256":
		pub, _ := key.(*rsa.PublicKey)
		if pub == nil {
			return nil, errors.New("key")
		}
		d := sha256.Sum256([]byte(input))
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig) != nil {
			return nil, errors.New("signature")
		}
	case "EdDSA":
		pub, _ := key.(ed25519.PublicKey)
		if pub == nil || !ed25519.Verify(pub, []byte(input), sig) {
			return nil, errors.New("signature")
		}
	default:
		return nil, errors.New("alg")
	}
	pb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var c floorClaims
	if err := json.Unmarshal(pb, &c); err != nil {
		return nil, err
	}
	if c.Exp == 0 || f.now().Unix() > c.Exp {
		return nil, errors.New("expired")
	}
	return &c, nil
}

// benchClaims are the claims of a typical access token.
func benchClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss":       "https://issuer.example",
		"sub":       "248289761001",
		"aud":       "https://api.example",
		"exp":       now.Add(time.Hour).Unix(),
		"iat":       now.Unix(),
		"nbf":       now.Unix(),
		"jti":       "5b0ee3c4-bd56-4c29-9e6c-1f1e8e1b9a61",
		"scope":     "openid profile email phone",
		"client_id": "s6BhdRkqt3",
	}
}

// BenchmarkVerify compares, per algorithm and on one typical token: floor
// (standard library only), ours (JWTVerifier, no cache), cached (Cache
// in front of it, the token repeated) and jwt.Parse (jwx's generic parser
// with a key set). Report ratios to floor from one run:
//
//	go test -run '^$' -bench BenchmarkVerify -benchmem -count 5 ./accesstoken
func BenchmarkVerify(b *testing.B) {
	now := time.Now()
	clock := func() time.Time { return now }
	for _, alg := range []string{"ES256", "RS256", "EdDSA"} {
		key := testkeys.MustNew(alg)
		token, err := key.Sign(benchClaims(now))
		if err != nil {
			b.Fatal(err)
		}
		keys, err := NewStaticKeySet(testkeys.JWKS(key))
		if err != nil {
			b.Fatal(err)
		}
		cfg := JWTConfig{Keys: keys, Issuer: "https://issuer.example", Audience: []string{"https://api.example"}, Now: clock}
		ours, err := NewJWTVerifier(cfg)
		if err != nil {
			b.Fatal(err)
		}
		floor := &floorVerifier{keys: map[string]crypto.PublicKey{key.ID: key.Public()}, now: clock}
		set, err := jwk.Parse(testkeys.JWKS(key))
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()

		b.Run(alg+"/floor", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := floor.verify(token); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/ours", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ours.VerifyToken(ctx, token); err != nil {
					b.Fatal(err)
				}
			}
		})
		cached := NewCache(ours, CacheConfig{Now: clock})
		b.Run(alg+"/cached", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cached.VerifyToken(ctx, token); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/jwt.Parse", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := jwt.ParseString(token, jwt.WithKeySet(set), jwt.WithClock(jwt.ClockFunc(clock))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
