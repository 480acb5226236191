package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ciamkit/userinfo/userinfotest"
)

// syncBuffer is a bytes.Buffer safe for concurrent use: the server's log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer is the server of setup behind httptest, with its log.
type testServer struct {
	*httptest.Server
	log *syncBuffer
}

// newTestServer runs setup with args, as the program would parse them.
func newTestServer(t *testing.T, args ...string) *testServer {
	t.Helper()
	o, err := parseFlags(args, io.Discard)
	if err != nil {
		t.Fatalf("parseFlags(%q): %v", args, err)
	}
	log := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := setup(ctx, o, log)
	if err != nil {
		cancel()
		t.Fatalf("setup(%q): %v\n%s", args, err, log)
	}
	srv := httptest.NewServer(a.handler)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &testServer{Server: srv, log: log}
}

// call sends a request and decodes the JSON answer (nil for another type).
func call(t *testing.T, method, url, token, body string) (int, http.Header, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, url, data, err)
		}
	}
	return resp.StatusCode, resp.Header, m
}

// mint gets a token from the development issuer.
func mint(t *testing.T, base, body string) string {
	t.Helper()
	status, _, m := call(t, http.MethodPost, base+"/dev/token", "", body)
	token, _ := m["access_token"].(string)
	if status != http.StatusOK || token == "" {
		t.Fatalf("POST /dev/token %s: %d %v", body, status, m)
	}
	return token
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// jwtClaims decodes the claims of a compact JWS without checking it.
func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %d parts", len(parts))
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := &options{addr: "127.0.0.1:8080", otpTTL: 5 * time.Minute, phoneRegions: []string{"CN"},
		tokenCache: 10000, logLevel: slog.LevelInfo, requestTimeout: 10 * time.Second}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("defaults = %+v, want %+v", o, want)
	}
	o, err = parseFlags([]string{"-claims", " nickname, email ,,locale", "-otp-ttl", "90s", "-db", "memory"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"nickname", "email", "locale"}; !reflect.DeepEqual(o.claims, want) {
		t.Errorf("claims = %q, want %q", o.claims, want)
	}
	if o.otpTTL != 90*time.Second || o.db != "memory" {
		t.Errorf("otpTTL, db = %v, %q", o.otpTTL, o.db)
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

// A bad command line or configuration fails before anything listens.
func TestSetupErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    string
		isUsage bool
	}{
		{"both JWKS flags", []string{"-jwks-url", "http://x", "-jwks-file", "f"}, "exclusive", true},
		{"JWKS URL without issuer", []string{"-jwks-url", "http://x", "-audience", "a"}, "-issuer and -audience", true},
		{"JWKS file without audience", []string{"-jwks-file", "f", "-issuer", "https://i"}, "-issuer and -audience", true},
		{"zero TTL", []string{"-otp-ttl", "0s"}, "-otp-ttl", true},
		{"TTL under a second", []string{"-otp-ttl", "500ms"}, "-otp-ttl", true},
		{"TTL past an hour", []string{"-otp-ttl", "2562047h"}, "-otp-ttl", true},
		{"negative max auth age", []string{"-max-auth-age", "-1m"}, "-max-auth-age", true},
		{"zero request timeout", []string{"-request-timeout", "0s"}, "-request-timeout", true},
		{"negative request timeout", []string{"-request-timeout", "-1s"}, "-request-timeout", true},
		{"request timeout at the write timeout", []string{"-request-timeout", "30s"}, "-request-timeout", true},
		{"request timeout without room for a commit", []string{"-request-timeout", "20s"}, "-request-timeout", true},
		{"huge request timeout", []string{"-request-timeout", "2562047h"}, "-request-timeout", true},
		{"unknown flag", []string{"-port", "1"}, "-port", true},
		{"argument", []string{"-db", "memory", "extra"}, "extra", true},
		{"unknown store", []string{"-db", "mysql://u:secret@h/db"}, "unknown store", false},
		{"no seed file", []string{"-db", "memory", "-seed", filepath.Join(t.TempDir(), "none.json")}, "none.json", false},
		{"bad seed", []string{"-db", "memory", "-seed", writeFile(t, "s.json", `[{"email":"a@x.test"}]`)}, `"sub"`, false},
		{"seed duplicate email", []string{"-db", "memory", "-seed", writeFile(t, "s.json",
			`[{"sub":"a","email":"a@x.test"},{"sub":"b","email":"A@x.test"}]`)}, `"b"`, false},
		{"seed malformed email", []string{"-db", "memory", "-seed", writeFile(t, "s.json", `[{"sub":"a","email":"bad"}]`)}, `"email"`, false},
		{"seed malformed phone", []string{"-db", "memory", "-seed", writeFile(t, "s.json", `[{"sub":"a","phone_number":"123"}]`)}, `"phone_number"`, false},
		{"seed unknown attribute", []string{"-db", "memory", "-seed", writeFile(t, "s.json", `[{"sub":"a","shoe_size":42}]`)}, `"shoe_size"`, false},
		{"unknown claim", []string{"-db", "memory", "-claims", "nickname,nosuch"}, `"nosuch"`, true},
		{"registry clash", []string{"-db", "memory", "-attributes", writeFile(t, "r.json",
			`{"attributes":[{"name":"email","type":"string"}]}`)}, "email", false},
		{"registry regex", []string{"-db", "memory", "-attributes", writeFile(t, "r.json",
			`{"attributes":[{"name":"code","type":"string","pattern":"(["}]}`)}, "code", false},
		{"postgres down", []string{"-db", "postgres://u:secret@127.0.0.1:1/db?connect_timeout=5", "-otp-key-file",
			filepath.Join(t.TempDir(), "k")}, "postgres://…", false},
		{"no JWKS file", []string{"-db", "memory", "-jwks-file", filepath.Join(t.TempDir(), "none.json"), "-issuer", "https://i", "-audience", "a"}, "none.json", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, io.Discard)
			if err == nil {
				var a *app
				a, err = setup(context.Background(), o, io.Discard)
				if err == nil {
					a.Close()
					t.Fatalf("setup(%q) succeeded", tt.args)
				}
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if errors.Is(err, errUsage) != tt.isUsage {
				t.Errorf("errors.Is(%v, errUsage) = %v, want %v", err, !tt.isUsage, tt.isUsage)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the DSN's password", err)
			}
		})
	}
}

// Without flags (but -db memory) the server is its own issuer and has a
// demo user, and serves every endpoint of the contract.
func TestSetupDefaults(t *testing.T) {
	s := newTestServer(t, "-db", "memory")
	token := mint(t, s.URL, `{"sub":"demo","scope":"openid profile"}`)

	status, hdr, m := call(t, http.MethodGet, s.URL+"/userinfo", token, "")
	if status != 200 || m["sub"] != "demo" || m["email"] != "demo@example.com" || hdr.Get("ETag") == "" {
		t.Errorf("GET /userinfo: %d %v", status, m)
	}
	status, _, m = call(t, http.MethodPatch, s.URL+"/userinfo", token, `{"nickname":"neo"}`)
	if status != 200 || m["nickname"] != "neo" {
		t.Errorf("PATCH nickname: %d %v", status, m)
	}
	status, hdr, m = call(t, http.MethodDelete, s.URL+"/userinfo", token, "")
	if status != 405 || hdr.Get("Allow") == "" || m["error"] != "invalid_request" {
		t.Errorf("DELETE /userinfo: %d %v %v", status, hdr, m)
	}
	status, _, m = call(t, http.MethodGet, s.URL+"/userinfo", "", "")
	if status != 400 || m["error"] != "invalid_request" {
		t.Errorf("GET without token: %d %v", status, m)
	}
	// A token without the openid scope.
	status, _, m = call(t, http.MethodGet, s.URL+"/userinfo", mint(t, s.URL, `{"scope":"profile"}`), "")
	if status != 403 || m["error"] != "insufficient_scope" {
		t.Errorf("GET without openid: %d %v", status, m)
	}
	// A user that does not exist.
	status, _, m = call(t, http.MethodGet, s.URL+"/userinfo", mint(t, s.URL, `{"sub":"ghost"}`), "")
	if status != 404 || m["error"] != "user_not_found" {
		t.Errorf("GET ghost: %d %v", status, m)
	}

	for _, path := range []string{"/userinfo/schema", "/openapi.json", "/.well-known/jwks.json", "/"} {
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(body) == 0 {
			t.Errorf("GET %s: %d, %d bytes", path, resp.StatusCode, len(body))
		}
		if path == "/openapi.json" && !bytes.Contains(body, []byte(`"/otp/send"`)) {
			t.Errorf("GET /openapi.json does not describe POST /otp/send")
		}
	}
	status, _, m = call(t, http.MethodPost, s.URL+"/dev/token", "", `{"expires_in":-5}`)
	if status != 400 || m["error"] != "invalid_request" {
		t.Errorf("POST /dev/token with a negative lifetime: %d %v", status, m)
	}
	status, _, _ = call(t, http.MethodPost, s.URL+"/dev/token", "", `{"sub":"u1","admin":true}`)
	if status != 400 {
		t.Errorf("POST /dev/token with an unknown member: %d", status)
	}

	// One request line per request, without the token.
	log := s.log.String()
	if !strings.Contains(log, "msg=request method=PATCH path=/userinfo status=200") {
		t.Errorf("no request line for the PATCH in the log:\n%s", log)
	}
	if strings.Contains(log, token) || strings.Contains(log, "Bearer") {
		t.Errorf("the log holds a token:\n%s", log)
	}
}

// The development issuer signs with -issuer and -audience, and the verifier
// requires them.
func TestSetupDevIssuerIssuerAudience(t *testing.T) {
	s := newTestServer(t, "-db", "memory", "-issuer", "https://id.example.test", "-audience", "profile-api")
	token := mint(t, s.URL, `{"sub":"demo","client_id":"spa"}`)
	claims := jwtClaims(t, token)
	if claims["iss"] != "https://id.example.test" || claims["aud"] != "profile-api" || claims["client_id"] != "spa" {
		t.Errorf("claims = %v", claims)
	}
	if status, _, m := call(t, http.MethodGet, s.URL+"/userinfo", token, ""); status != 200 {
		t.Errorf("GET /userinfo: %d %v", status, m)
	}
}

// -jwks-file: tokens of that key verify, with -issuer and -audience
// checked; the development issuer is off.
func TestSetupJWKSFile(t *testing.T) {
	iss := newIssuer(t)
	other := newIssuer(t)
	jwks := writeFile(t, "jwks.json", string(iss.JWKS()))
	seed := writeFile(t, "seed.json", `[{"sub":"u1","email":"u1@x.test","nickname":"U"}]`)
	s := newTestServer(t, "-db", "memory", "-jwks-file", jwks, "-issuer", iss.URL(), "-audience", iss.Audience(), "-seed", seed)

	sign := func(iss *userinfotest.Issuer, claims map[string]any) string {
		tok, err := iss.Token(claims)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name       string
		token      string
		wantStatus int
	}{
		{"good", sign(iss, nil), 200},
		{"aud an array", sign(iss, map[string]any{"aud": []string{iss.Audience()}}), 200},
		{"other key", sign(other, map[string]any{"iss": iss.URL()}), 401},
		{"other issuer", sign(iss, map[string]any{"iss": "https://evil.test"}), 401},
		{"other audience", sign(iss, map[string]any{"aud": "else"}), 401},
		{"expired", sign(iss, map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}), 401},
		{"demo user not created with -seed", sign(iss, map[string]any{"sub": "demo"}), 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, m := call(t, http.MethodGet, s.URL+"/userinfo", tt.token, "")
			if status != tt.wantStatus {
				t.Errorf("GET /userinfo: %d %v, want %d", status, m, tt.wantStatus)
			}
		})
	}
	if status, _, _ := call(t, http.MethodPost, s.URL+"/dev/token", "", `{}`); status != 404 && status != 405 {
		t.Errorf("POST /dev/token with -jwks-file: %d, want it absent", status)
	}
}

// -jwks-url: the key set is fetched from the URL at start; without the
// development issuer there is no demo user.
func TestSetupJWKSURL(t *testing.T) {
	iss := newIssuer(t)
	s := newTestServer(t, "-db", "memory", "-jwks-url", iss.JWKSURL(), "-issuer", iss.URL(), "-audience", iss.Audience())
	token, err := iss.Token(map[string]any{"sub": "demo"})
	if err != nil {
		t.Fatal(err)
	}
	if status, _, m := call(t, http.MethodGet, s.URL+"/userinfo", token, ""); status != 404 || m["error"] != "user_not_found" {
		t.Errorf("GET /userinfo of demo: %d %v, want 404 user_not_found", status, m)
	}
	if status, _, m := call(t, http.MethodGet, s.URL+"/readyz", "", ""); status != 200 || m["status"] != "ready" {
		t.Errorf("GET /readyz: %d %v, want 200 ready", status, m)
	}
}

// newIssuer starts a test issuer with one RS256 key, closed when t ends.
func newIssuer(t *testing.T) *userinfotest.Issuer {
	t.Helper()
	iss, err := userinfotest.NewIssuer(userinfotest.IssuerConfig{Algorithms: []string{"RS256"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	return iss
}

// -claims limits what responses release; -attributes adds custom
// attributes; -seed upserts users.
func TestSetupClaimsAttributesSeed(t *testing.T) {
	registry := writeFile(t, "registry.json", `{"attributes": [
		{"name": "employee_id", "type": "string", "pattern": "^E[0-9]{6}$"},
		{"name": "vip_level", "type": "integer", "minimum": 0, "maximum": 9, "mutable": false}
	]}`)
	seed := writeFile(t, "seed.json", `[
		{"sub":"u1","email":"a@x.test","phone_number":"13612345678","nickname":"A","vip_level":3},
		{"sub":"u2","nickname":"B"}
	]`)
	s := newTestServer(t, "-db", "memory", "-attributes", registry, "-seed", seed, "-claims", "nickname,employee_id,vip_level")
	u1 := mint(t, s.URL, `{"sub":"u1"}`)

	status, _, m := call(t, http.MethodGet, s.URL+"/userinfo", u1, "")
	want := map[string]any{"sub": "u1", "nickname": "A", "vip_level": float64(3)}
	if status != 200 || !reflect.DeepEqual(m, want) {
		t.Errorf("GET u1: %d %v, want %v", status, m, want)
	}
	status, _, m = call(t, http.MethodPatch, s.URL+"/userinfo", u1, `{"employee_id":"E123456"}`)
	if status != 200 || m["employee_id"] != "E123456" {
		t.Errorf("PATCH employee_id: %d %v", status, m)
	}
	for body, code := range map[string]string{
		`{"employee_id":"E12"}`: "illegal_parameter_value",
		`{"vip_level":9}`:       "invalid_request",
		`{"shoe_size":44}`:      "invalid_request",
	} {
		if status, _, m := call(t, http.MethodPatch, s.URL+"/userinfo", u1, body); status != 400 || m["error"] != code {
			t.Errorf("PATCH %s: %d %v, want 400 %s", body, status, m, code)
		}
	}
	if status, _, m := call(t, http.MethodGet, s.URL+"/userinfo", mint(t, s.URL, `{"sub":"u2"}`), ""); status != 200 || m["nickname"] != "B" {
		t.Errorf("GET u2: %d %v", status, m)
	}
}

// The OTP flow in one process: the code goes to the outbox, the email
// changes, the previous address is told, and no log line holds a token, an
// otp_token or a code.
func TestSetupOTPOutbox(t *testing.T) {
	outbox := filepath.Join(t.TempDir(), "outbox.jsonl")
	s := newTestServer(t, "-db", "memory", "-otp-outbox", outbox, "-otp-ttl", "2m")
	token := mint(t, s.URL, `{}`)

	otpToken, code := sendOTP(t, s.URL, token, outbox, "email", "new@example.com")
	status, _, m := call(t, http.MethodPatch, s.URL+"/userinfo", token,
		`{"email":"new@example.com","email_otp_token":"`+otpToken+`","email_otp":"000000x"}`)
	if status != 400 || m["error"] != "bad_email_otp" {
		t.Errorf("PATCH with a wrong code: %d %v", status, m)
	}
	status, _, m = call(t, http.MethodPatch, s.URL+"/userinfo", token,
		`{"email":"new@example.com","email_otp_token":"`+otpToken+`","email_otp":"`+code+`"}`)
	if status != 200 || m["email"] != "new@example.com" || m["email_verified"] != true {
		t.Fatalf("PATCH email: %d %v", status, m)
	}
	status, _, m = call(t, http.MethodPatch, s.URL+"/userinfo", token,
		`{"email":"new@example.com","email_otp_token":"`+otpToken+`","email_otp":"`+code+`"}`)
	if status != 400 || m["error"] != "bad_email_otp_token" {
		t.Errorf("PATCH with a spent code: %d %v", status, m)
	}
	if !hasNotice(t, outbox, "email", "demo@example.com") {
		t.Errorf("the previous address was not told of the change")
	}

	// A phone number, through the SMS channel: sent in one spelling,
	// redeemed with another, stored and returned in E.164.
	otpToken, code = sendOTPTo(t, s.URL, token, outbox, "sms", "139 0000 0000", "+8613900000000")
	status, _, m = call(t, http.MethodPatch, s.URL+"/userinfo", token,
		`{"phone_number":"13900000000","phone_number_otp_token":"`+otpToken+`","phone_number_otp":"`+code+`"}`)
	if status != 200 || m["phone_number"] != "+8613900000000" {
		t.Errorf("PATCH phone_number: %d %v", status, m)
	}
	checkNoSecrets(t, s.log.String(), token, otpToken, code)
}

// Without -otp-outbox, codes are printed to the console (stderr).
func TestSetupOTPConsole(t *testing.T) {
	s := newTestServer(t, "-db", "memory")
	token := mint(t, s.URL, `{}`)
	status, _, m := call(t, http.MethodPost, s.URL+"/otp/send", token, `{"usage":"update_userinfo","email":"new@example.com"}`)
	otpToken, _ := m["otp_token"].(string)
	if status != 200 || otpToken == "" {
		t.Fatalf("POST /otp/send: %d %v", status, m)
	}
	if !strings.Contains(s.log.String(), otpToken) {
		t.Errorf("the console does not show the code of %s:\n%s", otpToken, s.log)
	}
}

// outboxLine is a line of the -otp-outbox file.
type outboxLine struct {
	Channel  string `json:"channel"`
	Target   string `json:"target"`
	OTPToken string `json:"otp_token"`
	OTP      string `json:"otp"`
	Notice   string `json:"notice"`
}

func readOutbox(t *testing.T, path string) []outboxLine {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the outbox: %v", err)
	}
	var lines []outboxLine
	for line := range bytes.SplitSeq(bytes.TrimSpace(data), []byte("\n")) {
		var l outboxLine
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatalf("outbox line %q: %v", line, err)
		}
		lines = append(lines, l)
	}
	return lines
}

// sendOTP asks POST /otp/send for a code to target and reads it from the
// outbox.
func sendOTP(t *testing.T, base, token, outbox, channel, target string) (otpToken, code string) {
	t.Helper()
	return sendOTPTo(t, base, token, outbox, channel, target, target)
}

// sendOTPTo sends a code to target and finds it in the outbox, sent to
// stored, the target's stored form.
func sendOTPTo(t *testing.T, base, token, outbox, channel, target, stored string) (otpToken, code string) {
	t.Helper()
	field := "email"
	if channel == "sms" {
		field = "phone_number"
	}
	status, hdr, m := call(t, http.MethodPost, base+"/otp/send", token,
		`{"usage":"update_userinfo","`+field+`":"`+target+`"}`)
	otpToken, _ = m["otp_token"].(string)
	if status != 200 || otpToken == "" || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("POST /otp/send %s: %d %v", target, status, m)
	}
	for _, l := range readOutbox(t, outbox) {
		if l.OTPToken == otpToken {
			if l.Channel != channel || l.Target != stored || l.OTP == "" {
				t.Fatalf("outbox line %+v, want channel %s target %s", l, channel, stored)
			}
			return otpToken, l.OTP
		}
	}
	t.Fatalf("the outbox has no code for the otp_token")
	return "", ""
}

func hasNotice(t *testing.T, outbox, channel, target string) bool {
	t.Helper()
	for _, l := range readOutbox(t, outbox) {
		if l.Notice != "" && l.Channel == channel && l.Target == target {
			return l.OTP == "" && l.OTPToken == ""
		}
	}
	return false
}

// checkNoSecrets fails when the log holds one of the secrets. A code is
// matched as a number on its own, not as digits inside a longer number.
func checkNoSecrets(t *testing.T, log string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for i := 0; ; {
			j := strings.Index(log[i:], s)
			if j < 0 {
				break
			}
			start, end := i+j, i+j+len(s)
			digitBefore := start > 0 && (isDigit(log[start-1]) || log[start-1] == '.')
			digitAfter := end < len(log) && isDigit(log[end])
			if !digitBefore && !digitAfter {
				t.Errorf("the log holds a secret (%d bytes) at offset %d", len(s), start)
				break
			}
			i = end
		}
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// With -max-auth-age, a token from an old sign-in cannot send codes or
// change the email; a fresh one can, and the dev issuer's tokens carry
// auth_time.
func TestSetupMaxAuthAge(t *testing.T) {
	outbox := filepath.Join(t.TempDir(), "outbox.jsonl")
	s := newTestServer(t, "-db", "memory", "-otp-outbox", outbox, "-max-auth-age", "10m")
	fresh := mint(t, s.URL, `{}`)
	if at, ok := jwtClaims(t, fresh)["auth_time"].(float64); !ok || time.Since(time.Unix(int64(at), 0)) > time.Minute {
		t.Fatalf("a development token's auth_time = %v, want now", jwtClaims(t, fresh)["auth_time"])
	}
	old := mint(t, s.URL, fmt.Sprintf(`{"auth_time":%d}`, time.Now().Add(-time.Hour).Unix()))
	const challenge = `Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required.", max_age="600"`

	status, hdr, m := call(t, http.MethodPost, s.URL+"/otp/send", old, `{"usage":"update_userinfo","email":"new@example.com"}`)
	if status != 401 || m["error"] != "insufficient_user_authentication" || hdr.Get("WWW-Authenticate") != challenge {
		t.Errorf("POST /otp/send with an old token: %d %v %q", status, m, hdr.Get("WWW-Authenticate"))
	}
	otpToken, code := sendOTP(t, s.URL, fresh, outbox, "email", "new@example.com")
	body := `{"email":"new@example.com","email_otp_token":"` + otpToken + `","email_otp":"` + code + `"}`
	status, hdr, m = call(t, http.MethodPatch, s.URL+"/userinfo", old, body)
	if status != 401 || hdr.Get("WWW-Authenticate") != challenge {
		t.Errorf("PATCH email with an old token: %d %v %q", status, m, hdr.Get("WWW-Authenticate"))
	}
	if status, _, m := call(t, http.MethodPatch, s.URL+"/userinfo", old, `{"nickname":"still fine"}`); status != 200 {
		t.Errorf("PATCH nickname with an old token: %d %v", status, m)
	}
	// The refused PATCH spent nothing: the fresh token redeems the code.
	if status, _, m := call(t, http.MethodPatch, s.URL+"/userinfo", fresh, body); status != 200 || m["email"] != "new@example.com" {
		t.Errorf("PATCH email with a fresh token: %d %v", status, m)
	}
}

// Two replicas on one PostgreSQL with no flag but -db (and outboxes to read
// the codes): each accepts the other's development tokens, and a code sent
// through one is redeemed through the other, because the signing key and the
// OTP key are kept in the database.
func TestSetupReplicasShareKeysInPostgres(t *testing.T) {
	dsn := postgresDSN(t)
	dir := t.TempDir()
	outboxA := filepath.Join(dir, "a.jsonl")
	a := newTestServer(t, "-db", dsn, "-otp-outbox", outboxA)
	b := newTestServer(t, "-db", dsn, "-otp-outbox", filepath.Join(dir, "b.jsonl"))
	token := mint(t, a.URL, `{}`)
	if status, _, m := call(t, http.MethodGet, b.URL+"/userinfo", token, ""); status != 200 || m["sub"] != "demo" {
		t.Fatalf("replica b with a token of replica a: %d %v", status, m)
	}
	otpToken, code := sendOTP(t, a.URL, token, outboxA, "email", "moved@example.com")
	status, _, m := call(t, http.MethodPatch, b.URL+"/userinfo", mint(t, b.URL, `{}`),
		`{"email":"moved@example.com","email_otp_token":"`+otpToken+`","email_otp":"`+code+`"}`)
	if status != 200 || m["email"] != "moved@example.com" {
		t.Errorf("redeeming on replica b a code sent by replica a: %d %v", status, m)
	}
}
