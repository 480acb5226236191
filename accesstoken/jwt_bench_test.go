package accesstoken

import (
	"context"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/ciamkit/userinfo/internal/testkeys"
)

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
// (testkeys.FloorVerifier, standard library only), ours (JWTVerifier, no cache), cached (Cache
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
		floor := testkeys.NewFloorVerifier(key)
		floor.Now = clock
		set, err := jwk.Parse(testkeys.JWKS(key))
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()

		b.Run(alg+"/floor", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := floor.Verify(token); err != nil {
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
