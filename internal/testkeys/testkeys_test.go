package testkeys

import (
	"crypto"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

func TestSignAndJWKS(t *testing.T) {
	for _, alg := range Algs {
		t.Run(alg, func(t *testing.T) {
			k := MustNew(alg)
			tok, err := k.Sign(map[string]any{"sub": "u1"})
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(tok, "."); n != 2 {
				t.Fatalf("token has %d dots, want 2", n)
			}
			var set struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(JWKS(k), &set); err != nil || len(set.Keys) != 1 || set.Keys[0]["kid"] != k.ID {
				t.Fatalf("JWKS = %+v, %v", set, err)
			}
			if len(k.PublicPEM()) == 0 {
				t.Fatal("empty PEM")
			}
		})
	}
}

// TestJWXVerifies checks the tokens against an independent implementation.
func TestJWXVerifies(t *testing.T) {
	for _, alg := range Algs {
		t.Run(alg, func(t *testing.T) {
			k := MustNew(alg)
			set, err := jwk.Parse(JWKS(k))
			if err != nil {
				t.Fatal(err)
			}
			tok, err := k.Sign(map[string]any{"sub": "u1"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := jws.Verify([]byte(tok), jws.WithKeySet(set)); err != nil {
				t.Fatalf("jws.Verify: %v", err)
			}
		})
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	tok, err := SignHMAC("HS256", secret, nil, map[string]any{"sub": "u1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jws.Verify([]byte(tok), jws.WithKey(jwa.HS256(), secret)); err != nil {
		t.Fatalf("jws.Verify HS256: %v", err)
	}
}

// A key kept as PKCS #8 comes back as the same key with the same ID, in
// every process that parses it.
func TestPKCS8RoundTrip(t *testing.T) {
	k := MustNew("ES256")
	der, err := k.PKCS8()
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParsePKCS8("ES256", der)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ParsePKCS8("ES256", der)
	if a.ID != b.ID || a.ID == "" || !a.Signer.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Public()) {
		t.Errorf("parsed key %q/%q differs from the kept one", a.ID, b.ID)
	}
	if _, err := ParsePKCS8("HS256", der); err == nil {
		t.Error("ParsePKCS8 with an algorithm it cannot sign: no error")
	}
	if _, err := ParsePKCS8("ES256", []byte("junk")); err == nil {
		t.Error("ParsePKCS8 of junk: no error")
	}
}

// TestFloorVerifier checks that the floor verifier accepts what it should
// and refuses a wrong signature, an expired token, and a wrong iss or aud.
func TestFloorVerifier(t *testing.T) {
	for _, alg := range []string{"ES256", "RS256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			k, other := MustNew(alg), MustNew(alg)
			f := NewFloorVerifier(k)
			f.Issuer, f.Audience = "https://iss", "api"
			claims := map[string]any{"iss": "https://iss", "aud": []string{"x", "api"}, "sub": "u1", "exp": 4102444800}
			tok, err := k.Sign(claims)
			if err != nil {
				t.Fatal(err)
			}
			if c, err := f.Verify(tok); err != nil || c.Sub != "u1" {
				t.Fatalf("Verify = %+v, %v", c, err)
			}
			forged, err := other.SignWithHeader(map[string]any{"kid": k.ID}, claims)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Verify(forged); err == nil {
				t.Error("a token of another key passed")
			}
			for name, edit := range map[string]func(map[string]any){
				"expired":   func(c map[string]any) { c["exp"] = 1 },
				"issuer":    func(c map[string]any) { c["iss"] = "https://other" },
				"audience":  func(c map[string]any) { c["aud"] = "other" },
				"no expiry": func(c map[string]any) { delete(c, "exp") },
			} {
				c := map[string]any{}
				for n, v := range claims {
					c[n] = v
				}
				edit(c)
				tok, err := k.Sign(c)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.Verify(tok); err == nil {
					t.Errorf("%s: passed", name)
				}
			}
		})
	}
}
