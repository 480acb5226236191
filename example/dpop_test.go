package main

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ciamkit/userinfo/internal/testkeys"
)

// newBoundServer runs setup as run does: the port first, the public URL from
// it, so that DPoP proofs can name the server.
func newBoundServer(t *testing.T, args ...string) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	o, err := parseFlags(append(args, "-public-url", base), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := setup(ctx, o, io.Discard)
	if err != nil {
		cancel()
		t.Fatalf("setup: %v", err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: a.handler}}
	srv.Start()
	t.Cleanup(func() { srv.Close(); cancel(); _ = a.Close() })
	return srv
}

// dpopProof signs a proof for method and url with go-jose, an independent
// library, over the token.
func dpopProof(t *testing.T, k *testkeys.Key, method, url, token, jti string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(token))
	payload, _ := json.Marshal(map[string]any{"jti": jti, "htm": method, "htu": url, "iat": time.Now().Unix(),
		"ath": base64.RawURLEncoding.EncodeToString(sum[:])})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.Signer},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func doDPoP(t *testing.T, method, url, auth string, proofs ...string) (int, http.Header, map[string]any) {
	t.Helper()
	r, _ := http.NewRequest(method, url, nil)
	r.Header.Set("Authorization", auth)
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, resp.Header, m
}

// With -require-dpop, the example takes a token bound to a key (minted by
// its development issuer with "jkt") with a proof of that key, refuses a
// replay of the proof, and refuses Bearer tokens with a DPoP challenge.
func TestSetupDPoP(t *testing.T) {
	s := newBoundServer(t, "-db", "memory", "-require-dpop")
	key := testkeys.MustNew("ES256")
	tp, err := (&jose.JSONWebKey{Key: key.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	status, _, m := call(t, http.MethodPost, s.URL+"/dev/token", "", fmt.Sprintf(`{"jkt":%q}`, base64.RawURLEncoding.EncodeToString(tp)))
	token, _ := m["access_token"].(string)
	if status != 200 || m["token_type"] != "DPoP" {
		t.Fatalf("POST /dev/token with jkt: %d %v", status, m)
	}
	url := s.URL + "/userinfo"
	p := dpopProof(t, key, http.MethodGet, url, token, "jti-1")
	if status, _, m := doDPoP(t, http.MethodGet, url, "DPoP "+token, p); status != 200 || m["sub"] != "demo" {
		t.Fatalf("GET with a proof: %d %v", status, m)
	}
	status, hdr, m := doDPoP(t, http.MethodGet, url, "DPoP "+token, p)
	if status != 401 || m["error"] != "invalid_dpop_proof" || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), `DPoP error="invalid_dpop_proof"`) {
		t.Errorf("a replayed proof: %d %v %q", status, m, hdr.Get("WWW-Authenticate"))
	}
	other := testkeys.MustNew("ES256")
	if status, _, m := doDPoP(t, http.MethodGet, url, "DPoP "+token, dpopProof(t, other, http.MethodGet, url, token, "jti-2")); status != 401 || m["error"] != "invalid_dpop_proof" {
		t.Errorf("a proof of another key: %d %v", status, m)
	}
	status, hdr, m = doDPoP(t, http.MethodGet, url, "Bearer "+mint(t, s.URL, `{}`))
	if status != 401 || m["error"] != "invalid_token" || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), `DPoP error="invalid_token"`) ||
		!strings.Contains(hdr.Get("WWW-Authenticate"), `algs="`) {
		t.Errorf("a Bearer token with -require-dpop: %d %v %q", status, m, hdr.Get("WWW-Authenticate"))
	}
}
