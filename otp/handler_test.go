package otp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ciamkit/userinfo"
)

// post sends body to the handler as subject (none when empty).
func (e *env) post(t *testing.T, subject, contentType, body string) *httptest.ResponseRecorder {
	t.Helper()
	return e.do(t, http.MethodPost, subject, contentType, body)
}

func (e *env) do(t *testing.T, method, subject, contentType, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, "/otp/send", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	h := e.svc.SendHandler()
	if subject != "" {
		// Principals reach the handler only through the middleware.
		r.Header.Set("Authorization", "Bearer tok-"+subject)
		h = testAuthenticator.Middleware(h)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// testAuthenticator takes the bearer token tok-SUBJECT for SUBJECT.
var testAuthenticator = &userinfo.Authenticator{Verifier: userinfo.TokenVerifierFunc(
	func(_ context.Context, token string) (*userinfo.Principal, error) {
		subject, ok := strings.CutPrefix(token, "tok-")
		if !ok {
			return nil, userinfo.ErrInvalidToken
		}
		return &userinfo.Principal{Subject: subject, Scopes: []string{"openid"}}, nil
	})}

// Descriptions of the answers of userinfo.ReadJSONObject and
// userinfo.Endpoint, as clients see them.
const (
	descMethod      = "The method is not allowed."
	descContentType = "Content-Type must be application/json."
	descTooLarge    = "The request body is too large."
	descNotJSON     = "The request body is not valid JSON."
	descNotObject   = "The request body must be a JSON object."
	descTrailing    = "The request body must hold exactly one JSON object."
	descDuplicate   = "The request body has a duplicated key."
	descNotUTF8     = "The request body is not valid UTF-8."
)

const jsonType = "application/json"

func errBody(code, desc string) string {
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	if desc == "" {
		b, _ = json.Marshal(map[string]string{"error": code})
	}
	return string(b) + "\n"
}

func TestSendHandlerSuccess(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		wantChannel, wantTarget string
	}{
		{"email", jsonType, `{"usage":"update_userinfo","email":"a@x.test"}`, userinfo.ChannelEmail, "a@x.test"},
		{"phone", jsonType, `{"phone_number":"13612345678","usage":"update_userinfo"}`, userinfo.ChannelSMS, "+8613612345678"},
		{"phone spelled with spaces", jsonType, `{"phone_number":"+86 136 1234 5678","usage":"update_userinfo"}`, userinfo.ChannelSMS, "+8613612345678"},
		{"charset parameter", "application/json; charset=utf-8", `{"usage":"update_userinfo","email":"a@x.test"}`, userinfo.ChannelEmail, "a@x.test"},
		{"type in upper case", "Application/JSON", `{"usage":"update_userinfo","email":"a@x.test"}`, userinfo.ChannelEmail, "a@x.test"},
		{"escaped key", jsonType, `{"usage":"update_userinfo","\u0065mail":"a@x.test"}`, userinfo.ChannelEmail, "a@x.test"},
		{"white space", jsonType, " {\n\"usage\" : \"update_userinfo\" , \"email\":\"a@x.test\"}\n ", userinfo.ChannelEmail, "a@x.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, nil)
			w := e.post(t, "u1", tt.contentType, tt.body)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d, body %s; want 200", w.Code, w.Body)
			}
			if got := w.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			if got := w.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q, want application/json", got)
			}
			var resp map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || len(resp) != 1 {
				t.Fatalf("body %s: want exactly {\"otp_token\": …}", w.Body)
			}
			token, _ := resp["otp_token"].(string)
			m, _ := e.sender.Last()
			if m.Token != token || m.Channel != tt.wantChannel || m.Target != tt.wantTarget || m.Subject != "u1" ||
				m.Purpose != userinfo.PurposeUpdateUserinfo || m.Kind != KindCode {
				t.Fatalf("sent %v, want a code for %s %s with the returned token", m, tt.wantChannel, tt.wantTarget)
			}
			if err := e.redeem(userinfo.OTPCheck{Subject: "u1", Channel: tt.wantChannel,
				Target: tt.wantTarget, Purpose: userinfo.PurposeUpdateUserinfo, Token: token, Code: m.Code}); err != nil {
				t.Errorf("redeeming the sent code: %v", err)
			}
		})
	}
}

func TestSendHandlerErrors(t *testing.T) {
	const ok = `{"usage":"update_userinfo","email":"a@x.test"}`
	tests := []struct {
		name, method, subject, contentType, body string
		wantStatus                               int
		wantBody                                 string
		wantHeader                               map[string]string
	}{
		{"GET", http.MethodGet, "u1", jsonType, ok, 405, errBody("invalid_request", descMethod),
			map[string]string{"Allow": "POST"}},
		{"not authenticated", "", "", jsonType, ok, 401, errBody("invalid_token", descNotAuthenticated),
			map[string]string{"WWW-Authenticate": `Bearer error="invalid_token", error_description="The request is not authenticated."`}},
		{"no content type", "", "u1", "", ok, 415, errBody("invalid_request", descContentType), nil},
		{"text/plain", "", "u1", "text/plain", ok, 415, errBody("invalid_request", descContentType), nil},
		{"merge patch", "", "u1", "application/merge-patch+json", ok, 415, errBody("invalid_request", descContentType), nil},
		{"bad media type", "", "u1", "application/json; =", ok, 415, errBody("invalid_request", descContentType), nil},
		{"empty body", "", "u1", jsonType, "", 400, errBody("invalid_request", descNotJSON), nil},
		{"not JSON", "", "u1", jsonType, "usage=update_userinfo", 400, errBody("invalid_request", descNotJSON), nil},
		{"array", "", "u1", jsonType, `[` + ok + `]`, 400, errBody("invalid_request", descNotObject), nil},
		{"string", "", "u1", jsonType, `"a@x.test"`, 400, errBody("invalid_request", descNotObject), nil},
		{"truncated", "", "u1", jsonType, ok[:len(ok)-1], 400, errBody("invalid_request", descNotJSON), nil},
		{"trailing comma", "", "u1", jsonType, `{"usage":"update_userinfo","email":"a@x.test",}`, 400, errBody("invalid_request", descNotJSON), nil},
		{"trailing data", "", "u1", jsonType, ok + `{}`, 400, errBody("invalid_request", descTrailing), nil},
		{"two objects", "", "u1", jsonType, ok + ok, 400, errBody("invalid_request", descTrailing), nil},
		{"duplicated key", "", "u1", jsonType, `{"usage":"update_userinfo","email":"a@x.test","email":"b@x.test"}`, 400, errBody("invalid_request", descDuplicate), nil},
		{"duplicated key, escaped", "", "u1", jsonType, `{"usage":"update_userinfo","email":"a@x.test","\u0065mail":"b@x.test"}`, 400, errBody("invalid_request", descDuplicate), nil},
		{"invalid UTF-8", "", "u1", jsonType, "{\"usage\":\"update_userinfo\",\"email\":\"a\xff@x.test\"}", 400, errBody("invalid_request", descNotUTF8), nil},
		{"lone surrogate", "", "u1", jsonType, `{"usage":"update_userinfo","email":"a\ud800@x.test"}`, 400, errBody("invalid_request", descNotUTF8), nil},
		{"unknown key", "", "u1", jsonType, `{"usage":"update_userinfo","email":"a@x.test","lang":"en"}`, 400, errBody("invalid_request", descUnknownParams), nil},
		{"key in upper case", "", "u1", jsonType, `{"usage":"update_userinfo","EMAIL":"a@x.test"}`, 400, errBody("invalid_request", descUnknownParams), nil},
		{"key folding to usage", "", "u1", jsonType, `{"u\u017fage":"update_userinfo","email":"a@x.test"}`, 400, errBody("invalid_request", descUnknownParams), nil},
		{"number", "", "u1", jsonType, `{"usage":"update_userinfo","phone_number":13612345678}`, 400, errBody("invalid_request", descNotString), nil},
		{"null", "", "u1", jsonType, `{"usage":"update_userinfo","email":null}`, 400, errBody("invalid_request", descNotString), nil},
		{"object value", "", "u1", jsonType, `{"usage":{"a":1},"email":"a@x.test"}`, 400, errBody("invalid_request", descNotString), nil},
		{"no usage", "", "u1", jsonType, `{"email":"a@x.test"}`, 400, errBody("invalid_request", descUsage), nil},
		{"unknown usage", "", "u1", jsonType, `{"usage":"sign_up","email":"a@x.test"}`, 400, errBody("invalid_request", descUsage), nil},
		{"usage in upper case", "", "u1", jsonType, `{"usage":"UPDATE_USERINFO","email":"a@x.test"}`, 400, errBody("invalid_request", descUsage), nil},
		{"no address", "", "u1", jsonType, `{"usage":"update_userinfo"}`, 400, errBody("invalid_request", descOneAddress), nil},
		{"both addresses", "", "u1", jsonType, `{"usage":"update_userinfo","email":"a@x.test","phone_number":"13612345678"}`, 400, errBody("invalid_request", descOneAddress), nil},
		{"malformed email", "", "u1", jsonType, `{"usage":"update_userinfo","email":"a x.test"}`, 400, errBody("malformed_email", ""), nil},
		{"empty email", "", "u1", jsonType, `{"usage":"update_userinfo","email":""}`, 400, errBody("malformed_email", ""), nil},
		{"malformed phone", "", "u1", jsonType, `{"usage":"update_userinfo","phone_number":"+86 136"}`, 400, errBody("malformed_phone_number", ""), nil},
		{"too large", "", "u1", jsonType, `{"usage":"update_userinfo","email":"` + strings.Repeat("a", MaxSendBody) + `@x.test"}`, 413, errBody("invalid_request", descTooLarge), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, nil)
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			w := e.do(t, method, tt.subject, tt.contentType, tt.body)
			if w.Code != tt.wantStatus || w.Body.String() != tt.wantBody {
				t.Errorf("got %d %s, want %d %s", w.Code, w.Body, tt.wantStatus, tt.wantBody)
			}
			if got := w.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			for k, v := range tt.wantHeader {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s: got %q, want %q", k, got, v)
				}
			}
			if n := len(e.sender.Messages()); n != 0 {
				t.Errorf("the sender got %d messages, want none", n)
			}
		})
	}
}

func TestSendHandlerThrottle(t *testing.T) {
	email := func(target string) string {
		return fmt.Sprintf(`{"usage":"update_userinfo","email":%q}`, target)
	}
	phone := func(target string) string {
		return fmt.Sprintf(`{"usage":"update_userinfo","phone_number":%q}`, target)
	}
	type step struct {
		advance        time.Duration
		subject, body  string
		wantStatus     int
		wantCode       string
		wantRetryAfter string
		repeat         int
	}
	tests := []struct {
		name  string
		edit  func(*Config)
		steps []step
	}{
		{"per target, email", nil, []step{
			{subject: "u1", body: email("a@x.test"), wantStatus: 200, repeat: 5},
			{advance: time.Minute, subject: "u1", body: email("a@x.test"), wantStatus: 429, wantCode: "email_rate_limit_exceeded", wantRetryAfter: "540"},
			// Other users cannot send to it either; case does not matter.
			{subject: "u2", body: email("A@X.TEST"), wantStatus: 429, wantCode: "email_rate_limit_exceeded", wantRetryAfter: "540"},
			{subject: "u1", body: email("b@x.test"), wantStatus: 200},
			{advance: 9 * time.Minute, subject: "u2", body: email("a@x.test"), wantStatus: 200, repeat: 5},
			{subject: "u2", body: email("a@x.test"), wantStatus: 429, wantCode: "email_rate_limit_exceeded", wantRetryAfter: "600"},
		}},
		{"per target, sms", nil, []step{
			{subject: "u1", body: phone("13612345678"), wantStatus: 200, repeat: 5},
			{advance: 1500 * time.Millisecond, subject: "u1", body: phone("13612345678"), wantStatus: 429, wantCode: "sms_rate_limit_exceeded", wantRetryAfter: "599"},
		}},
		{"per subject", nil, func() []step {
			var s []step
			for i := range 10 {
				s = append(s, step{advance: time.Second, subject: "u1", body: email(fmt.Sprintf("a%d@x.test", i)), wantStatus: 200})
			}
			return append(s,
				step{subject: "u1", body: phone("13612345678"), wantStatus: 429, wantCode: "sms_rate_limit_exceeded", wantRetryAfter: "591"},
				step{subject: "u2", body: email("new@x.test"), wantStatus: 200},
				// The refused send counted for the target, as one of its
				// five, which leaves it enough for u1 once u1 may send again.
				step{advance: 591 * time.Second, subject: "u1", body: phone("13612345678"), wantStatus: 200},
			)
		}()},
		{"configured limits", func(c *Config) { c.TargetLimit, c.SubjectLimit, c.Window = 1, 2, time.Minute }, []step{
			{subject: "u1", body: email("a@x.test"), wantStatus: 200},
			{subject: "u1", body: email("a@x.test"), wantStatus: 429, wantCode: "email_rate_limit_exceeded", wantRetryAfter: "60"},
			// The request refused for the target did not count for u1,
			// who may still send one more code, elsewhere.
			{subject: "u1", body: email("b@x.test"), wantStatus: 200},
			{subject: "u1", body: email("c@x.test"), wantStatus: 429, wantCode: "email_rate_limit_exceeded", wantRetryAfter: "60"},
			{subject: "u2", body: email("b@x.test"), wantStatus: 429, wantCode: "email_rate_limit_exceeded", wantRetryAfter: "60"},
			{advance: time.Minute, subject: "u1", body: email("c@x.test"), wantStatus: 200},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, tt.edit)
			for i, s := range tt.steps {
				e.clock.Advance(s.advance)
				for range max(s.repeat, 1) {
					w := e.post(t, s.subject, jsonType, s.body)
					if w.Code != s.wantStatus {
						t.Fatalf("step %d: status %d %s, want %d", i, w.Code, w.Body, s.wantStatus)
					}
					if s.wantStatus != 429 {
						continue
					}
					if want := errBody(s.wantCode, "Too many codes were sent. Please try again later."); w.Body.String() != want {
						t.Errorf("step %d: body %s, want %s", i, w.Body, want)
					}
					if got := w.Header().Get("Retry-After"); got != s.wantRetryAfter {
						t.Errorf("step %d: Retry-After %q, want %q", i, got, s.wantRetryAfter)
					}
				}
			}
		})
	}
}

func TestSendHandlerFailures(t *testing.T) {
	tests := []struct {
		name       string
		store      Store
		senderErr  error
		wantStatus int
		wantBody   string
	}{
		{"sender fails", nil, errors.New("smtp: 421 try later"), 503,
			errBody("temporarily_unavailable", "Failed to send OTP. Please try again later.")},
		{"store fails", failingStore{errors.New("connection refused")}, nil, 500,
			errBody("server_error", "The server encountered an unexpected condition.")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.store, nil)
			e.sender.SetErr(tt.senderErr)
			w := e.post(t, "u1", jsonType, `{"usage":"update_userinfo","email":"a@x.test"}`)
			if w.Code != tt.wantStatus || w.Body.String() != tt.wantBody {
				t.Errorf("got %d %s, want %d %s", w.Code, w.Body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

// FuzzSendBody checks that no body makes the handler fail with a 5xx, that
// only bodies of exactly one string-valued JSON object are accepted, and
// that no code or token reaches the logs.
func FuzzSendBody(f *testing.F) {
	for _, s := range []string{
		`{"usage":"update_userinfo","email":"a@x.test"}`,
		`{"usage":"update_userinfo","phone_number":"13612345678"}`,
		`{"usage":"update_userinfo","email":"a@x.test","email":"b@x.test"}`,
		`{"usage":"update_userinfo","\u0065mail":"a@x.test"}`,
		`{"usage":"update_userinfo","EMAIL":"a@x.test"}`,
		`{"usage":"update_userinfo","email":null}`,
		`{"usage":"update_userinfo","email":"a@x.test"}{}`,
		`[{"usage":"update_userinfo"}]`,
		`{"usage":{"nested":[1,2,{"x":null}]}}`,
		"{\"usage\":\"update_userinfo\",\"email\":\"\xff@x\"}",
		`{"usage":"update_userinfo","email":"a@x.test",}`,
		``, `{`, `}`, `"`, `{"a"}`, `{"a":}`, `{:"a"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		e := newEnv(t, nil, func(c *Config) { c.TargetLimit, c.SubjectLimit = 1<<20, 1<<20 })
		w := e.post(t, "u1", jsonType, body)
		switch w.Code {
		case 200:
			if !json.Valid([]byte(body)) || !utf8.ValidString(body) {
				t.Fatalf("accepted a body that is not valid JSON: %q", body)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				t.Fatalf("accepted a body that is not an object: %q", body)
			}
			msgs := e.sender.Messages()
			if len(msgs) != 1 {
				t.Fatalf("200 with %d messages sent", len(msgs))
			}
			key := "email"
			if msgs[0].Channel == userinfo.ChannelSMS {
				key = "phone_number"
			}
			sent, _ := m[key].(string)
			want, err := e.svc.Registry().NormalizeAddress(msgs[0].Channel, sent)
			if err != nil || want != msgs[0].Target || m["usage"] != "update_userinfo" || len(m) != 2 {
				t.Fatalf("body %q sent %v", body, msgs[0])
			}
		case 400, 413:
			if n := len(e.sender.Messages()); n != 0 {
				t.Fatalf("%d with %d messages sent", w.Code, n)
			}
		default:
			t.Fatalf("body %q: status %d %s", body, w.Code, w.Body)
		}
	})
}

// A Sender that panics with the code in its message: the client gets a JSON
// 500, and neither the service's log nor http.Server's holds the code.
func TestSendHandlerSenderPanics(t *testing.T) {
	e := newEnv(t, nil, nil)
	var sent Message
	e.svc.cfg.Sender = SenderFunc(func(_ context.Context, m Message) error {
		sent = m
		panic("gateway rejected code " + m.Code)
	})
	var serverLog strings.Builder
	srv := httptest.NewUnstartedServer(testAuthenticator.Middleware(e.svc.SendHandler()))
	srv.Config.ErrorLog = log.New(&serverLog, "", 0)
	srv.Start()
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{"usage":"update_userinfo","email":"a@x.test"}`))
	req.Header.Set("Authorization", "Bearer tok-u1")
	req.Header.Set("Content-Type", jsonType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 500 || string(body) != errBody("server_error", "The server encountered an unexpected condition.") {
		t.Errorf("got %d %s, want 500 server_error", resp.StatusCode, body)
	}
	if sent.Code == "" {
		t.Fatal("the sender was not called")
	}
	if strings.Contains(serverLog.String(), sent.Code) || strings.Contains(e.logs.String(), sent.Code) {
		t.Errorf("a log holds the code:\nserver: %s\nservice: %s", serverLog.String(), e.logs.String())
	}
}

// With a step-up policy, a token whose authentication is old cannot send a
// code: nothing is sent and the user's allowance is not spent.
func TestSendHandlerStepUp(t *testing.T) {
	e := newEnv(t, nil, nil)
	now := e.clock.Now()
	auth := &userinfo.Authenticator{
		Verifier: userinfo.TokenVerifierFunc(func(_ context.Context, token string) (*userinfo.Principal, error) {
			age := map[string]time.Duration{"tok-fresh": time.Minute, "tok-old": time.Hour}[token]
			return &userinfo.Principal{Subject: "u1", Scopes: []string{"openid"}, AuthTime: now.Add(-age)}, nil
		}),
		StepUp: userinfo.StepUp{MaxAge: 10 * time.Minute},
		Now:    e.clock.Now,
	}
	h := auth.Middleware(e.svc.SendHandler())
	post := func(token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/otp/send", strings.NewReader(`{"usage":"update_userinfo","email":"a@x.test"}`))
		r.Header.Set("Authorization", "Bearer "+token)
		r.Header.Set("Content-Type", jsonType)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for range DefaultSubjectLimit + 2 {
		w := post("tok-old")
		want := `Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required.", max_age="600"`
		if w.Code != 401 || w.Header().Get("WWW-Authenticate") != want {
			t.Fatalf("old token: %d %q, want 401 %q", w.Code, w.Header().Get("WWW-Authenticate"), want)
		}
	}
	if n := len(e.sender.Messages()); n != 0 {
		t.Fatalf("an old token had %d codes sent", n)
	}
	// The refused attempts counted nothing: a fresh token still may send.
	if w := post("tok-fresh"); w.Code != 200 {
		t.Errorf("fresh token after refusals: %d %s", w.Code, w.Body)
	}
}
