package otp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/accesstoken"
	"github.com/ciamkit/userinfo/internal/testkeys"
	"github.com/ciamkit/userinfo/otp"
)

// server is the whole flow over real HTTP: real JWTs, the reference OTP
// service, the memory store, PATCH /userinfo and POST /otp/send on one mux.
type server struct {
	*httptest.Server
	key    *testkeys.Key
	sender *otp.RecordingSender
	store  *userinfo.MemoryStore
}

// newServers starts n replicas that share one user store and one OTP store
// and key, as replicas on one database do.
func newServers(t *testing.T, n int) []*server {
	t.Helper()
	key := testkeys.MustNew("ES256")
	keys, err := accesstoken.NewStaticKeySet(testkeys.JWKS(key))
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: keys, Issuer: "https://issuer.example", Audience: []string{"https://api.example"}})
	if err != nil {
		t.Fatal(err)
	}
	store := userinfo.NewMemoryStore()
	ctx := context.Background()
	for sub, email := range map[string]string{"u1": "one@example.com", "u2": "two@example.com"} {
		if _, err := store.Put(ctx, sub, map[string]any{"email": email, "nickname": sub}); err != nil {
			t.Fatal(err)
		}
	}
	otpStore, otpKey := otp.NewMemoryStore(), otp.GenerateKey()
	var servers []*server
	for range n {
		s := &server{key: key, sender: &otp.RecordingSender{}, store: store}
		reg, err := userinfo.NewRegistry(userinfo.RegistryConfig{})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := otp.New(otp.Config{Store: otpStore, Sender: s.sender, Registry: reg, Key: otpKey})
		if err != nil {
			t.Fatal(err)
		}
		h, err := userinfo.New(userinfo.Config{Tokens: verifier, Store: store, OTP: svc, OnUpdate: svc.NotifyOnUpdate})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("/userinfo", h)
		mux.Handle("POST /otp/send", h.Authenticator().Middleware(svc.SendHandler()))
		s.Server = httptest.NewServer(mux)
		t.Cleanup(s.Close)
		servers = append(servers, s)
	}
	return servers
}

func (s *server) token(t *testing.T, sub string) string {
	t.Helper()
	tok, err := s.key.Sign(map[string]any{"iss": "https://issuer.example", "aud": "https://api.example",
		"sub": sub, "scope": "openid", "exp": time.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// call sends a JSON request and returns the status and the decoded body.
func (s *server) call(t *testing.T, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s %s: body %q is not JSON", method, path, data)
	}
	return resp.StatusCode, m
}

// send asks for a code for an email address and returns the otp_token and
// the code that the user received.
func (s *server) send(t *testing.T, token, email string) (otpToken, code string) {
	t.Helper()
	status, body := s.call(t, http.MethodPost, "/otp/send", token, `{"usage":"update_userinfo","email":"`+email+`"}`)
	if status != http.StatusOK {
		t.Fatalf("POST /otp/send: %d %v", status, body)
	}
	m, ok := s.sender.Last()
	if !ok || m.Target != email || m.Kind != otp.KindCode {
		t.Fatalf("sender got %v, want a code for %s", m, email)
	}
	return body["otp_token"].(string), m.Code
}

func emailBody(email, otpToken, code string) string {
	return `{"email":"` + email + `","email_otp_token":"` + otpToken + `","email_otp":"` + code + `"}`
}

func storedEmail(t *testing.T, s *server, sub string) string {
	t.Helper()
	u, err := s.store.GetUser(context.Background(), sub)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := u.Attributes["email"].(string)
	return e
}

func TestPatchEmailWithCode(t *testing.T) {
	s := newServers(t, 1)[0]
	tok := s.token(t, "u1")
	otpToken, code := s.send(t, tok, "new@example.com")

	status, body := s.call(t, http.MethodPatch, "/userinfo", tok, emailBody("new@example.com", otpToken, code))
	if status != 200 || body["email"] != "new@example.com" || body["email_verified"] != true {
		t.Fatalf("PATCH with the right code: %d %v", status, body)
	}
	// The previous address is told.
	msgs := s.sender.Messages()
	if last := msgs[len(msgs)-1]; last.Kind != otp.KindNotice || last.Target != "one@example.com" {
		t.Errorf("last message = %v, want a notice to one@example.com", last)
	}
	// The code is spent.
	status, body = s.call(t, http.MethodPatch, "/userinfo", tok, emailBody("new@example.com", otpToken, code))
	if status != 400 || body["error"] != "bad_email_otp_token" {
		t.Errorf("replayed code: %d %v, want bad_email_otp_token", status, body)
	}
}

func TestPatchEmailCodeRefusals(t *testing.T) {
	tests := []struct {
		name      string
		sub       string // who sends the PATCH
		email     string // the address in the PATCH
		wrongCode bool
		wantCode  string
	}{
		{name: "wrong code", sub: "u1", email: "new@example.com", wrongCode: true, wantCode: "bad_email_otp"},
		{name: "another address", sub: "u1", email: "other@example.com", wantCode: "bad_email_otp_token"},
		{name: "another user", sub: "u2", email: "new@example.com", wantCode: "bad_email_otp_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServers(t, 1)[0]
			otpToken, code := s.send(t, s.token(t, "u1"), "new@example.com")
			if tt.wrongCode {
				code = map[bool]string{true: "000000", false: "111111"}[code != "000000"]
			}
			status, body := s.call(t, http.MethodPatch, "/userinfo", s.token(t, tt.sub), emailBody(tt.email, otpToken, code))
			if status != 400 || body["error"] != tt.wantCode {
				t.Errorf("PATCH: %d %v, want 400 %s", status, body, tt.wantCode)
			}
			if got := storedEmail(t, s, tt.sub); !strings.HasSuffix(got, "@example.com") || got == tt.email {
				t.Errorf("email of %s is now %q", tt.sub, got)
			}
		})
	}
}

func TestPatchEmailDeadAfterFiveWrongCodes(t *testing.T) {
	s := newServers(t, 1)[0]
	tok := s.token(t, "u1")
	otpToken, code := s.send(t, tok, "new@example.com")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := range 5 {
		if status, body := s.call(t, http.MethodPatch, "/userinfo", tok, emailBody("new@example.com", otpToken, wrong)); body["error"] != "bad_email_otp" {
			t.Fatalf("wrong code %d: %d %v", i+1, status, body)
		}
	}
	status, body := s.call(t, http.MethodPatch, "/userinfo", tok, emailBody("new@example.com", otpToken, code))
	if status != 400 || body["error"] != "bad_email_otp_token" {
		t.Errorf("right code after 5 wrong ones: %d %v, want bad_email_otp_token", status, body)
	}
}

// The duplicate check comes after the code: only the holder of the address
// learns that it is taken.
func TestPatchEmailDuplicateAfterCode(t *testing.T) {
	s := newServers(t, 1)[0]
	tok := s.token(t, "u1")
	status, body := s.call(t, http.MethodPatch, "/userinfo", tok, emailBody("TWO@example.com", "v2.AAAAAAAAAAAAAAAAAAAAAA", "123456"))
	if status != 400 || body["error"] != "bad_email_otp_token" {
		t.Errorf("taken address without a valid code: %d %v, want bad_email_otp_token", status, body)
	}
	otpToken, code := s.send(t, tok, "TWO@example.com")
	status, body = s.call(t, http.MethodPatch, "/userinfo", tok, emailBody("TWO@example.com", otpToken, code))
	if status != 400 || body["error"] != "duplicate_email" {
		t.Errorf("taken address with its code: %d %v, want duplicate_email", status, body)
	}
	if got := storedEmail(t, s, "u1"); got != "one@example.com" {
		t.Errorf("email is now %q", got)
	}
}

// One code, redeemed through two replicas by 20 concurrent requests: exactly
// one PATCH succeeds.
func TestPatchEmailOneCodeAcrossReplicas(t *testing.T) {
	servers := newServers(t, 2)
	tok := servers[0].token(t, "u1")
	otpToken, code := servers[0].send(t, tok, "new@example.com")
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[string]int{}
	)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body := servers[i%2].call(t, http.MethodPatch, "/userinfo", tok, emailBody("new@example.com", otpToken, code))
			mu.Lock()
			statuses[fmt.Sprint(status, " ", body["error"])]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses["200 <nil>"] != 1 || statuses["400 bad_email_otp_token"] != 19 {
		t.Errorf("answers = %v, want one 200 and nineteen 400 bad_email_otp_token", statuses)
	}
}
