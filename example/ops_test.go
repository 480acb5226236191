package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
)

// The demo user never takes an address another user holds, and a restart
// with -seed leaves users' changes alone.
func TestStartupUsers(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "u.db")
	seed := writeFile(t, "seed.json", `[{"sub":"u1","email":"demo@example.com","nickname":"U"}]`)

	s := newTestServer(t, "-db", db, "-seed", seed)
	u1 := mint(t, s.URL, `{"sub":"u1"}`)
	if status, _, m := call(t, http.MethodPatch, s.URL+"/userinfo", u1, `{"nickname":"edited"}`); status != 200 {
		t.Fatalf("PATCH u1: %d %v", status, m)
	}
	if status, _, m := call(t, http.MethodGet, s.URL+"/userinfo", mint(t, s.URL, `{"sub":"demo"}`), ""); status != 404 {
		t.Errorf("GET demo with -seed: %d %v, want 404", status, m)
	}
	s.Close()

	// The same seed again: u1 keeps its edit.
	s = newTestServer(t, "-db", db, "-seed", seed)
	if status, _, m := call(t, http.MethodGet, s.URL+"/userinfo", mint(t, s.URL, `{"sub":"u1"}`), ""); status != 200 || m["nickname"] != "edited" {
		t.Errorf("GET u1 after a second seeding: %d %v, want the edited nickname", status, m)
	}
	if !strings.Contains(s.log.String(), `msg="seeded users" created=0 existing=1`) {
		t.Errorf("the log does not count u1 as existing:\n%s", s.log)
	}
	s.Close()

	// Without -seed: the demo user, without u1's email.
	s = newTestServer(t, "-db", db)
	status, _, m := call(t, http.MethodGet, s.URL+"/userinfo", mint(t, s.URL, `{"sub":"demo"}`), "")
	if status != 200 || m["email"] != nil || m["email_verified"] != nil || m["phone_number"] != "+8613612345678" {
		t.Errorf("GET demo: %d %v, want it without the email u1 holds", status, m)
	}
}

// A PATCH, a refusal and a request with a query each log exactly one line,
// with the change or the error code, and no secret.
func TestOneLogLinePerRequest(t *testing.T) {
	s := newTestServer(t, "-db", "memory")
	token := mint(t, s.URL, `{"sub":"demo"}`)
	tests := []struct {
		name, method, path, token, body string
		want                            []string
	}{
		{"patch", http.MethodPatch, "/userinfo", token, `{"nickname":"neo"}`,
			[]string{"method=PATCH path=/userinfo status=200", "sub=demo", "set=[nickname]", "version=2"}},
		{"refusal", http.MethodPatch, "/userinfo", token, `{"shoe_size":44}`,
			[]string{"method=PATCH path=/userinfo status=400", "error=invalid_request"}},
		{"bad token", http.MethodGet, "/userinfo", token + "x", "",
			[]string{"status=401", "error=invalid_token"}},
		{"query", http.MethodGet, "/userinfo?access_token=" + token, "", "",
			[]string{"method=GET path=/userinfo status=400"}},
		{"email", http.MethodPatch, "/userinfo", token, `{"email":"new@example.com","email_otp_token":"tok-123","email_otp":"424242"}`,
			[]string{"status=400", "error=bad_email_otp_token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.log.String())
			call(t, tt.method, s.URL+tt.path, tt.token, tt.body)
			lines := strings.Split(strings.TrimSpace(s.log.String()[before:]), "\n")
			if len(lines) != 1 {
				t.Fatalf("%d log lines, want 1:\n%s", len(lines), strings.Join(lines, "\n"))
			}
			for _, w := range tt.want {
				if !strings.Contains(lines[0], w) {
					t.Errorf("the log line lacks %q: %s", w, lines[0])
				}
			}
			checkNoSecrets(t, lines[0], token, "tok-123", "424242", "new@example.com")
		})
	}
}

// At -log-level debug the library logs each refusal's cause, still without
// secrets; at warn there are no request lines.
func TestLogLevel(t *testing.T) {
	s := newTestServer(t, "-db", "memory", "-log-level", "debug")
	token := mint(t, s.URL, `{"sub":"demo"}`)
	call(t, http.MethodGet, s.URL+"/userinfo", token+"x", "")
	call(t, http.MethodPatch, s.URL+"/userinfo", token, `{"email":"new@example.com","email_otp_token":"tok-123","email_otp":"424242"}`)
	log := s.log.String()
	if n := strings.Count(log, `msg="userinfo: request refused"`); n != 2 || !strings.Contains(log, "cause=") {
		t.Errorf("%d refusal causes at debug level, want 2:\n%s", n, log)
	}
	checkNoSecrets(t, log, token, "tok-123", "424242", "new@example.com")

	s = newTestServer(t, "-db", "memory", "-log-level", "warn")
	call(t, http.MethodGet, s.URL+"/userinfo", "", "")
	if strings.Contains(s.log.String(), "msg=request") {
		t.Errorf("a request line at warn level:\n%s", s.log)
	}
}

func TestOpsFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-log-level", "verbose"},
		{"-token-cache", "-1"},
		{"-cors-origins", "https://app.example.test/path"},
		{"-cors-origins", "app.example.test"},
	} {
		if _, err := parseFlags(args, io.Discard); !errors.Is(err, errUsage) {
			t.Errorf("parseFlags(%q): %v, want a usage error", args, err)
		}
	}
	o, err := parseFlags([]string{"-token-cache", "0", "-cors-origins", "https://a.test, http://localhost:3000,https://*.b.test"}, io.Discard)
	if err != nil || o.tokenCache != 0 || len(o.corsOrigins) != 3 {
		t.Errorf("parseFlags: %+v, %v", o, err)
	}
}

// A browser on an allowed origin gets CORS headers, on a refused one none,
// and without -cors-origins nobody does.
func TestCORS(t *testing.T) {
	const allowed, refused = "https://app.example.test", "https://evil.example.test"
	s := newTestServer(t, "-db", "memory", "-cors-origins", allowed)
	token := mint(t, s.URL, `{"sub":"demo"}`)
	do := func(t *testing.T, base, method, origin string, hdr map[string]string) *http.Response {
		t.Helper()
		r, err := http.NewRequest(method, base+"/userinfo", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Origin", origin)
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// Browsers list the headers sorted and in lower case.
	preflight := map[string]string{"Access-Control-Request-Method": "PATCH",
		"Access-Control-Request-Headers": "authorization,content-type,dpop,if-match"}
	actual := map[string]string{"Authorization": "Bearer " + token}

	resp := do(t, s.URL, http.MethodOptions, allowed, preflight)
	if resp.StatusCode/100 != 2 || resp.Header.Get("Access-Control-Allow-Origin") != allowed ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "PATCH") ||
		!strings.Contains(strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")), "if-match") ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("preflight from %s: %d %v", allowed, resp.StatusCode, resp.Header)
	}
	// A polling client's conditional GET (304 Not Modified).
	resp = do(t, s.URL, http.MethodOptions, allowed, map[string]string{"Access-Control-Request-Method": "GET",
		"Access-Control-Request-Headers": "authorization,if-none-match"})
	if resp.StatusCode/100 != 2 || resp.Header.Get("Access-Control-Allow-Origin") != allowed ||
		!strings.Contains(strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")), "if-none-match") {
		t.Errorf("preflight of If-None-Match from %s: %d %v", allowed, resp.StatusCode, resp.Header)
	}
	resp = do(t, s.URL, http.MethodGet, allowed, actual)
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != allowed ||
		!strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "Etag") && !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "ETag") {
		t.Errorf("GET from %s: %d %v", allowed, resp.StatusCode, resp.Header)
	}
	for _, tc := range []struct {
		name, base, method string
		hdr                map[string]string
	}{
		{"preflight from a refused origin", s.URL, http.MethodOptions, preflight},
		{"GET from a refused origin", s.URL, http.MethodGet, actual},
		{"GET without -cors-origins", newTestServer(t, "-db", "memory").URL, http.MethodGet, nil},
	} {
		resp := do(t, tc.base, tc.method, refused, tc.hdr)
		for k := range resp.Header {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("%s: %d, header %s: %v", tc.name, resp.StatusCode, k, resp.Header[k])
			}
		}
	}
}

func TestHealth(t *testing.T) {
	s := newTestServer(t, "-db", "memory")
	if status, hdr, m := call(t, http.MethodGet, s.URL+"/healthz", "", ""); status != 200 || m["status"] != "ok" || hdr.Get("Cache-Control") != "no-store" {
		t.Errorf("GET /healthz: %d %v", status, m)
	}
	if status, _, m := call(t, http.MethodGet, s.URL+"/readyz", "", ""); status != 200 || m["status"] != "ready" {
		t.Errorf("GET /readyz: %d %v", status, m)
	}
	if status, _, _ := call(t, http.MethodPost, s.URL+"/readyz", "", ""); status != 405 {
		t.Errorf("POST /readyz: %d, want 405", status)
	}
}

// /readyz is 503 while the key set is not fetched, and the cause is logged
// on the request's line, not answered.
func TestReadyzNotReady(t *testing.T) {
	h, err := userinfo.New(userinfo.Config{
		Store: userinfo.NewMemoryStore(),
		Tokens: readinessVerifier{
			TokenVerifier: userinfo.TokenVerifierFunc(func(context.Context, string) (*userinfo.Principal, error) {
				return nil, userinfo.ErrInvalidToken
			}),
			ready: func(ctx context.Context) error {
				<-ctx.Done()
				return errors.New("no key set fetched yet")
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{}
	srv := httptest.NewServer(logRequests(slog.New(slog.NewTextHandler(log, nil)), readyHandler(nil, h)))
	defer srv.Close()
	start := time.Now()
	status, _, m := call(t, http.MethodGet, srv.URL+"/readyz", "", "")
	if status != 503 || m["status"] != "unavailable" || len(m) != 1 {
		t.Errorf("GET /readyz: %d %v, want 503 unavailable", status, m)
	}
	if d := time.Since(start); d > readyTimeout+2*time.Second {
		t.Errorf("GET /readyz took %v", d)
	}
	if !strings.Contains(log.String(), "status=503") || !strings.Contains(log.String(), "no key set fetched yet") {
		t.Errorf("the log lacks the cause:\n%s", log)
	}
}
