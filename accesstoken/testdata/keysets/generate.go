//go:build ignore

// generate writes the key-set fixtures of TestProviderKeySets: JWK Sets
// shaped like those that Keycloak, Microsoft Entra ID, Google, Auth0, Okta
// and AWS Cognito publish, with key material made here, and beside each the
// private keys of its signing keys (PKCS #8, base64) so that the test can
// sign tokens. Run from package accesstoken:
//
//	go run ./testdata/keysets/generate.go
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

var b64 = base64.RawURLEncoding.EncodeToString

type fixture struct {
	keys    []map[string]any
	private map[string]string // kid → PKCS #8, base64
}

func (f *fixture) add(m map[string]any, priv crypto.Signer) {
	f.keys = append(f.keys, m)
	if priv != nil {
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		check(err)
		f.private[m["kid"].(string)] = base64.StdEncoding.EncodeToString(der)
	}
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}

func rsaKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	check(err)
	return k
}

func rsaJWK(k *rsa.PrivateKey, kid string) map[string]any {
	return map[string]any{"kty": "RSA", "kid": kid, "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
}

// withCert adds x5c (and x5t, x5t#S256 when asked) of a self-signed
// certificate of k.
func withCert(m map[string]any, k crypto.Signer, cn string, thumbs ...string) map[string]any {
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, k.Public(), k)
	check(err)
	m["x5c"] = []string{base64.StdEncoding.EncodeToString(der)}
	for _, t := range thumbs {
		switch t {
		case "x5t":
			h := sha1.Sum(der)
			m["x5t"] = b64(h[:])
		case "x5t#S256":
			h := sha256.Sum256(der)
			m["x5t#S256"] = b64(h[:])
		}
	}
	return m
}

func with(m map[string]any, kv ...any) map[string]any {
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func main() {
	fixtures := map[string]*fixture{}
	get := func(name string) *fixture {
		f := &fixture{private: map[string]string{}}
		fixtures[name] = f
		return f
	}

	// Keycloak: a realm's RS256 signing key and RSA-OAEP encryption key,
	// both with x5c, x5t and x5t#S256; an ES256 key; and, since Keycloak
	// 26, ML-DSA keys ("AKP").
	f := get("keycloak")
	k := rsaKey()
	f.add(with(withCert(rsaJWK(k, "kc-rs256-Xq3"), k, "realm", "x5t", "x5t#S256"), "alg", "RS256", "use", "sig"), k)
	k = rsaKey()
	f.add(with(withCert(rsaJWK(k, "kc-enc-9Fa"), k, "realm", "x5t", "x5t#S256"), "alg", "RSA-OAEP", "use", "enc"), nil)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	check(err)
	raw, _ := ec.PublicKey.Bytes()
	f.add(withCert(map[string]any{"kid": "kc-es256-2b", "kty": "EC", "alg": "ES256", "use": "sig", "crv": "P-256",
		"x": b64(raw[1:33]), "y": b64(raw[33:])}, ec, "realm", "x5t", "x5t#S256"), ec)
	f.add(map[string]any{"kid": "kc-mldsa-7c", "kty": "AKP", "alg": "ML-DSA-65", "use": "sig", "pub": b64(make([]byte, 1952))}, nil)

	// Microsoft Entra ID: RSA keys without alg, with x5t, x5c and issuer.
	f = get("entra")
	for _, kid := range []string{"JYhAcTPMZ_LX6DBlOWQ7Hn0NeXE", "PoVKeirIOvmTyLQ9G9BenBwos7k", "Y0ZBmrLOfwbFgM0kqZWSW0Ynbuk"} {
		k := rsaKey()
		f.add(with(withCert(rsaJWK(k, kid), k, "accounts.accesscontrol.windows.net", "x5t"), "use", "sig",
			"issuer", "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"), k)
	}

	// Google: two RS256 keys, alg and use, nothing else.
	f = get("google")
	for _, kid := range []string{"a50f6e70ef4b548a5fd9142eecd1fb8f54dce9ee", "0e345fd7e4a97271dffa991f5a893cd16b8e0827"} {
		k := rsaKey()
		f.add(with(rsaJWK(k, kid), "alg", "RS256", "use", "sig"), k)
	}

	// Auth0: RS256 keys with x5t and x5c.
	f = get("auth0")
	for _, kid := range []string{"qLbHvg1r7bRvyQ8Oq8ztd", "Ir1V0JrSUcc8aDBh9bB0c"} {
		k := rsaKey()
		f.add(with(withCert(rsaJWK(k, kid), k, "dev-example.us.auth0.com", "x5t"), "alg", "RS256", "use", "sig"), k)
	}

	// Okta: RS256 keys, alg, use.
	f = get("okta")
	for _, kid := range []string{"sZ6Qv9hC2mVHuP3F4bN0a1QpUu1yPq5d0wYk5bB2mRk", "G6oV4m7fN4u9xJv3x3o1fXn2sXcK2lP8v0hT5yQ0wZc"} {
		k := rsaKey()
		f.add(with(rsaJWK(k, kid), "alg", "RS256", "use", "sig"), k)
	}

	// AWS Cognito: RS256 keys, alg, use.
	f = get("cognito")
	for _, kid := range []string{"Dl7y0t5y1N4qI8O2V6oQe9Zb3yN5Kk0pJ2wQ8n1mZ7s=", "2v9bV6mJ0kQ3nZ8xY1rT5uW4oP7lK2jH9gF6dS3aE0c="} {
		k := rsaKey()
		f.add(with(rsaJWK(k, kid), "alg", "RS256", "use", "sig"), k)
	}

	for name, f := range fixtures {
		set, err := json.MarshalIndent(map[string]any{"keys": f.keys}, "", "  ")
		check(err)
		check(os.WriteFile(filepath.Join("testdata", "keysets", name+".json"), append(set, '\n'), 0o644))
		priv, err := json.MarshalIndent(f.private, "", "  ")
		check(err)
		check(os.WriteFile(filepath.Join("testdata", "keysets", name+".private.json"), append(priv, '\n'), 0o644))
	}
}
