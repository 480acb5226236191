package accesstoken_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/accesstoken"
	"github.com/ciamkit/userinfo/internal/testkeys"
)

// TestProviderKeySets loads key sets shaped like those real identity
// providers publish (testdata/keysets, made by generate.go there): the
// usable keys are found, the others skipped, and a token signed by each
// usable key verifies, with its kid and without one.
func TestProviderKeySets(t *testing.T) {
	btKeys()
	for name, want := range map[string][]string{
		// RS256 and ES256 with x5c; an RSA-OAEP "use": "enc" key and an
		// ML-DSA "AKP" key are skipped.
		"keycloak": {"kc-es256-2b", "kc-rs256-Xq3"},
		// No "alg", with "x5t", "x5c" and "issuer".
		"entra":   {"JYhAcTPMZ_LX6DBlOWQ7Hn0NeXE", "PoVKeirIOvmTyLQ9G9BenBwos7k", "Y0ZBmrLOfwbFgM0kqZWSW0Ynbuk"},
		"google":  {"0e345fd7e4a97271dffa991f5a893cd16b8e0827", "a50f6e70ef4b548a5fd9142eecd1fb8f54dce9ee"},
		"auth0":   {"Ir1V0JrSUcc8aDBh9bB0c", "qLbHvg1r7bRvyQ8Oq8ztd"},
		"okta":    {"G6oV4m7fN4u9xJv3x3o1fXn2sXcK2lP8v0hT5yQ0wZc", "sZ6Qv9hC2mVHuP3F4bN0a1QpUu1yPq5d0wYk5bB2mRk"},
		"cognito": {"2v9bV6mJ0kQ3nZ8xY1rT5uW4oP7lK2jH9gF6dS3aE0c=", "Dl7y0t5y1N4qI8O2V6oQe9Zb3yN5Kk0pJ2wQ8n1mZ7s="},
	} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "keysets", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			set, err := accesstoken.NewStaticKeySet(data)
			if err != nil {
				t.Fatal(err)
			}
			keys, err := set.VerificationKeys(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, k := range keys {
				got = append(got, k.ID)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("usable keys %q, want %q", got, want)
			}
			v, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: set, Issuer: btIssuer, Audience: []string{btAudience}, Now: func() time.Time { return btNow }})
			if err != nil {
				t.Fatal(err)
			}
			for kid, signer := range privateKeys(t, name) {
				alg := "RS256"
				if _, ok := signer.(*ecdsa.PrivateKey); ok {
					alg = "ES256"
				}
				k := &testkeys.Key{ID: kid, Alg: alg, Signer: signer}
				for _, header := range []map[string]any{nil, {"kid": nil}} {
					tok, err := k.SignWithHeader(header, btClaims(nil))
					if err != nil {
						t.Fatal(err)
					}
					if p, err := v.VerifyToken(context.Background(), tok); err != nil || p.Subject != "u1" {
						t.Errorf("token of %s (header %v): %v", kid, header, err)
					}
				}
			}
			// A token of a key that is not in the set is refused.
			if _, err := v.VerifyToken(context.Background(), btSign(t, btRS, nil, btClaims(nil))); !errors.Is(err, userinfo.ErrInvalidToken) {
				t.Errorf("token of a foreign key: %v", err)
			}
		})
	}
}

func privateKeys(t *testing.T, name string) map[string]crypto.Signer {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "keysets", name+".private.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]crypto.Signer, len(m))
	for kid, s := range m {
		der, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		k, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			t.Fatal(err)
		}
		out[kid] = k.(crypto.Signer)
	}
	if len(out) == 0 {
		t.Fatal("no private keys")
	}
	return out
}

// Members that no verifier here can use, each beside a usable key.
var (
	unusableOnce    sync.Once
	unusableMembers map[string]map[string]any
)

func unusable(t *testing.T) map[string]map[string]any {
	unusableOnce.Do(func() {
		small, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		ec := testkeys.MustNew("ES256").JWK()
		offCurve := testkeys.MustNew("ES256").JWK()
		y, _ := base64.RawURLEncoding.DecodeString(offCurve["y"].(string))
		y[len(y)-1] ^= 1
		offCurve["y"] = base64.RawURLEncoding.EncodeToString(y)
		rsaNoAlg := testkeys.MustNew("RS256").JWK()
		delete(rsaNoAlg, "alg")
		noKty := testkeys.MustNew("ES256").JWK()
		delete(noKty, "kty")
		b64 := base64.RawURLEncoding.EncodeToString
		unusableMembers = map[string]map[string]any{
			"ML-DSA (AKP)": {"kid": "pq", "kty": "AKP", "alg": "ML-DSA-44", "pub": b64(make([]byte, 1312))},
			"secp256k1": {"kid": "k1", "kty": "EC", "crv": "secp256k1", "alg": "ES256K",
				"x": "eb5mfvncu6xVoGKVzocLBwKb_NstzijZWfKBWxb4F5g", "y": "SDradyajxGVdpPv8DhEIqP0XtEimhVQZnEfQj_sQ1Lg"},
			"RSA-1024":                {"kid": "small", "kty": "RSA", "n": b64(small.N.Bytes()), "e": b64(big.NewInt(int64(small.E)).Bytes())},
			"off-curve point":         with(offCurve, "kid", "off"),
			"P-256 point at x=0":      {"kid": "zero", "kty": "EC", "crv": "P-256", "x": b64(make([]byte, 32)), "y": b64(make([]byte, 32))},
			"unknown alg":             with(rsaNoAlg, "kid", "alg?", "alg", "RS999"),
			"alg of another key type": with(testkeys.MustNew("ES256").JWK(), "kid", "mismatch", "alg", "RS256"),
			"bad x5c":                 with(testkeys.MustNew("ES256").JWK(), "kid", "x5c", "x5c", []string{"not a certificate"}),
			"x5c of another key":      with(ec, "kid", "x5c-other", "x5c", x5cOf(t, "ES256")),
			"no kty":                  with(noKty, "kid", "nokty"),
			"use enc":                 with(ec, "kid", "enc", "use", "enc"),
			"key_ops without verify":  with(testkeys.MustNew("ES256").JWK(), "kid", "ops", "key_ops", []string{"encrypt"}),
			"symmetric":               {"kid": "oct", "kty": "oct", "k": b64(make([]byte, 32))},
			"not an object":           {"kid": "weird", "kty": []any{"RSA"}},
		}
	})
	return unusableMembers
}

// unusableReasons are the reasons logged for the members of unusable.
var unusableReasons = map[string]string{
	"ML-DSA (AKP)":            "unsupported kty",
	"secp256k1":               "unsupported curve",
	"RSA-1024":                "RSA modulus under 2048 bits",
	"off-curve point":         "point not on its curve",
	"P-256 point at x=0":      "point not on its curve",
	"unknown alg":             "unsupported alg",
	"alg of another key type": "alg does not fit the key",
	"bad x5c":                 "undecodable x5c",
	"no kty":                  "no kty",
	"x5c of another key":      "x5c does not match the key",
	"use enc":                 "use is not sig",
	"key_ops without verify":  "key_ops without verify",
	"symmetric":               "unsupported kty",
	"not an object":           "a member is not a JSON object or has the wrong type",
}

func with(m map[string]any, kv ...any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		c[kv[i].(string)] = kv[i+1]
	}
	return c
}

// TestUnusableMembersSkipped: a member the library cannot use does not make
// the set unusable. It is skipped and logged with kid, kty and reason, and
// no key material; alone, it leaves no usable key, which is an error. A
// failed refresh is logged too.
func TestUnusableMembersSkipped(t *testing.T) {
	btKeys()
	for name, member := range unusable(t) {
		t.Run(name, func(t *testing.T) {
			jwks, _ := json.Marshal(map[string]any{"keys": []any{member, btES.JWK()}})
			var fail atomic.Bool
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if fail.Load() {
					http.Error(w, "down", http.StatusInternalServerError)
					return
				}
				_, _ = w.Write(jwks)
			}))
			defer srv.Close()
			var logs bytes.Buffer
			var mu sync.Mutex
			logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
			set, err := accesstoken.NewRemoteKeySet(context.Background(), accesstoken.RemoteKeySetConfig{URL: srv.URL, Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			defer set.Close()
			keys, err := set.VerificationKeys(context.Background(), btES.ID)
			if err != nil || len(keys) != 1 || keys[0].ID != btES.ID {
				t.Fatalf("VerificationKeys = %+v, %v; want the usable key", keys, err)
			}
			v, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: set, Issuer: btIssuer, Audience: []string{btAudience}, Now: func() time.Time { return btNow }})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.VerifyToken(context.Background(), btSign(t, btES, nil, btClaims(nil))); err != nil {
				t.Errorf("token of the usable key: %v", err)
			}

			fail.Store(true)
			if _, err := set.VerificationKeys(context.Background(), "unknown-kid"); err != nil {
				t.Errorf("after a failed refresh: %v; want the last good set", err)
			}

			mu.Lock()
			out := logs.String()
			mu.Unlock()
			kid, _ := member["kid"].(string)
			if !strings.Contains(out, "JWK skipped") || !strings.Contains(out, "kid="+kid) || !strings.Contains(out, `reason="`+unusableReasons[name]+`"`) {
				t.Errorf("log %q does not name the skipped key and why", out)
			}
			for _, m := range []string{"n", "x", "y", "k", "pub"} {
				if s, ok := member[m].(string); ok && len(s) > 8 && strings.Contains(out, s[:8]) {
					t.Errorf("log holds key material (%s): %q", m, out)
				}
			}
			if !strings.Contains(out, "refresh failed") {
				t.Errorf("log %q does not report the failed refresh", out)
			}

			alone, _ := json.Marshal(map[string]any{"keys": []any{member}})
			if _, err := accesstoken.NewStaticKeySet(alone); err == nil {
				t.Error("a set of the unusable member alone was accepted")
			}
		})
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestEd25519AlgName: "Ed25519" (RFC 9864) names EdDSA with Ed25519, in a
// token's header and in a key's "alg", either way round.
func TestEd25519AlgName(t *testing.T) {
	btKeys()
	for _, keyAlg := range []string{"EdDSA", "Ed25519", ""} {
		jwk := btEd.JWK()
		if keyAlg == "" {
			delete(jwk, "alg")
		} else {
			jwk["alg"] = keyAlg
		}
		data, _ := json.Marshal(map[string]any{"keys": []any{jwk}})
		set, err := accesstoken.NewStaticKeySet(data)
		if err != nil {
			t.Fatal(err)
		}
		v, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: set, Issuer: btIssuer, Audience: []string{btAudience}, Now: func() time.Time { return btNow }})
		if err != nil {
			t.Fatal(err)
		}
		for _, tokAlg := range []string{"EdDSA", "Ed25519"} {
			tok := btSign(t, btEd, map[string]any{"alg": tokAlg}, btClaims(nil))
			if _, err := v.VerifyToken(context.Background(), tok); err != nil {
				t.Errorf("key alg %q, token alg %s: %v", keyAlg, tokAlg, err)
			}
		}
	}
}

// x5cOf returns the x5c of a self-signed certificate of a new key of alg.
func x5cOf(t *testing.T, alg string) []string {
	k := testkeys.MustNew(alg)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: btNow.Add(-time.Hour), NotAfter: btNow.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, k.Public(), k.Signer)
	if err != nil {
		t.Fatal(err)
	}
	return []string{base64.StdEncoding.EncodeToString(der)}
}
