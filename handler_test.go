package userinfo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// testTokens maps the bearer tokens that tests send to their principals.
var testTokens = map[string]*Principal{
	"tok-u1":      {Subject: "u1", ClientID: "app", Scopes: []string{"openid", "profile", "email"}},
	"tok-u2":      {Subject: "u2", ClientID: "app", Scopes: []string{"openid"}},
	"tok-noscope": {Subject: "u1", ClientID: "app", Scopes: []string{"profile"}},
	"tok-ghost":   {Subject: "ghost", Scopes: []string{"openid"}},
	"tok-ro":      {Subject: "u1", ClientID: "readonly-app", Scopes: []string{"openid"}},
}

var errKeysDown = errors.New("jwks endpoint unreachable")

func testVerifier(_ context.Context, token string) (*Principal, error) {
	switch token {
	case "tok-down":
		return nil, errKeysDown
	case "tok-panic":
		panic("verifier bug")
	}
	p, ok := testTokens[token]
	if !ok {
		return nil, ErrInvalidToken
	}
	c := *p
	return &c, nil
}

// issuedOTP is a code that fakeOTP knows.
type issuedOTP struct {
	subject, channel, target, code string
}

// fakeOTP is a test double of OTPVerifier: single-use codes in memory.
type fakeOTP struct {
	mu     sync.Mutex
	codes  map[string]issuedOTP
	failOn string // a token whose check fails as a service outage
	calls  int    // checks
	wrong  int    // wrong codes presented
}

func (f *fakeOTP) issue(token string, o issuedOTP) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.codes == nil {
		f.codes = map[string]issuedOTP{}
	}
	f.codes[token] = o
}

func (f *fakeOTP) CheckOTP(_ context.Context, c OTPCheck) (Redemption, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if c.Token == f.failOn && f.failOn != "" {
		return nil, errors.New("otp store: connection refused")
	}
	o, ok := f.codes[c.Token]
	if !ok || o.subject != c.Subject || o.channel != c.Channel || o.target != c.Target || c.Purpose != PurposeUpdateUserinfo {
		return nil, ErrBadOTPToken
	}
	if o.code != c.Code {
		f.wrong++
		return nil, ErrBadOTP
	}
	return RedemptionFunc(func(context.Context) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, live := f.codes[c.Token]; !live {
			return ErrBadOTPToken
		}
		delete(f.codes, c.Token)
		return nil
	}), nil
}

// redeemable reports whether the code of token can still be spent.
func (f *fakeOTP) redeemable(token string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.codes[token]
	return ok
}

// failingStore wraps a store and fails its calls on demand.
type failingStore struct {
	UserStore
	failGet, failUpdate bool
	panicUpdate         bool
}

func (s *failingStore) GetUser(ctx context.Context, sub string) (*User, error) {
	if s.failGet {
		return nil, errors.New("pq: connection refused to 10.0.0.7:5432")
	}
	return s.UserStore.GetUser(ctx, sub)
}

func (s *failingStore) UpdateUser(ctx context.Context, u Update) (*User, error) {
	if s.panicUpdate {
		panic("store bug")
	}
	if s.failUpdate {
		return nil, errors.New("pq: connection refused to 10.0.0.7:5432")
	}
	return s.UserStore.UpdateUser(ctx, u)
}

var testAttributes = []Attribute{
	{Name: "employee_id", Type: "string", Pattern: "^E[0-9]{6}$"},
	{Name: "department", Type: "string", Enum: []any{"eng", "sales", "ops"}},
	{Name: "vip_level", Type: "integer", Minimum: num("0"), Maximum: num("9"), Mutable: ptr(false)},
	{Name: "newsletter", Type: "boolean"},
	{Name: "birthday", Type: "string", Format: "date"},
	{Name: "bio", Type: "string", MaxLength: ptr(5)},
}

func num(s string) *json.Number { n := json.Number(s); return &n }

func mustRegistry(t testing.TB, cfg RegistryConfig) *Registry {
	t.Helper()
	r, err := NewRegistry(cfg)
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	return r
}
func ptr[T any](v T) *T { return &v }

type harness struct {
	h     *Handler
	store *failingStore
	mem   *MemoryStore
	otp   *fakeOTP
	audit []UpdateEvent
	mu    sync.Mutex
}

func newHarness(t testing.TB, edit ...func(*Config)) *harness {
	t.Helper()
	hs := &harness{mem: NewMemoryStore(), otp: &fakeOTP{}}
	hs.store = &failingStore{UserStore: hs.mem}
	ctx := context.Background()
	mustPut := func(sub string, attrs map[string]any) {
		if _, err := hs.mem.Put(ctx, sub, attrs); err != nil {
			t.Fatalf("Put(%s): %v", sub, err)
		}
	}
	mustPut("u1", map[string]any{"email": "one@example.com", "email_verified": true, "phone_number": "+8613612345678",
		"name": "One", "nickname": "uno", "zoneinfo": "Asia/Shanghai", "locale": "zh-CN", "vip_level": json.Number("3")})
	mustPut("u2", map[string]any{"email": "Two@Example.com", "phone_number": "+8613987654321", "nickname": "dos"})
	cfg := Config{
		Tokens:   TokenVerifierFunc(testVerifier),
		Store:    hs.store,
		OTP:      hs.otp,
		Registry: mustRegistry(t, RegistryConfig{Attributes: testAttributes}),
		Policy: PerClient(map[string]ClientClaims{
			"readonly-app": {Read: []string{"nickname"}},
		}, AllClaims),
		Now: func() time.Time { return testNow },
		OnUpdate: func(_ context.Context, e UpdateEvent) {
			hs.mu.Lock()
			defer hs.mu.Unlock()
			hs.audit = append(hs.audit, e)
		},
	}
	for _, f := range edit {
		f(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs.h = h
	return hs
}

// user returns the stored user u1 (or another).
func (hs *harness) user(t testing.TB, sub string) *User {
	t.Helper()
	u, err := hs.mem.GetUser(context.Background(), sub)
	if err != nil {
		t.Fatalf("GetUser(%s): %v", sub, err)
	}
	return u
}

func (hs *harness) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	hs.h.ServeHTTP(w, r)
	return w
}

func newRequest(method, token, body string) *http.Request {
	r := httptest.NewRequest(method, "/userinfo", strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

func decodeJSON(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("response body %q is not a JSON object: %v", w.Body.String(), err)
	}
	return m
}

// checkError asserts an error response in the seed's format.
func checkError(t *testing.T, w *httptest.ResponseRecorder, status int, code, desc string) {
	t.Helper()
	if w.Code != status {
		t.Errorf("status = %d, want %d (body %s)", w.Code, status, w.Body.String())
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	m := decodeJSON(t, w)
	if m["error"] != code {
		t.Errorf("error = %v, want %q (body %s)", m["error"], code, w.Body.String())
	}
	if desc != "*" {
		got, _ := m["error_description"].(string)
		if got != desc {
			t.Errorf("error_description = %q, want %q", got, desc)
		}
	}
	for k := range m {
		if k != "error" && k != "error_description" {
			t.Errorf("unexpected member %q in error body %s", k, w.Body.String())
		}
	}
}

func TestPatchRejects(t *testing.T) {
	const (
		unknown     = "Unknown attribute(s) found."
		unsupported = "Unsupported user attribute(s) found."
		anyDesc     = "*"
	)
	tests := []struct {
		name        string
		token       string
		body        string
		header      map[string]string
		setup       func(*harness)
		wantStatus  int
		wantCode    string
		wantDesc    string
		wantHeaders map[string]string
		wantLive    []string // otp_tokens whose codes must still be unspent
	}{
		// Authentication.
		{name: "no token", body: `{"nickname":"x"}`, wantStatus: 400, wantCode: "invalid_request",
			wantDesc:    "Bearer token not found in the request",
			wantHeaders: map[string]string{"WWW-Authenticate": `Bearer error="invalid_request", error_description="Bearer token not found in the request", error_uri="https://tools.ietf.org/html/rfc6750#section-3.1"`}},
		{name: "bad token", token: "tok-forged", body: `{"nickname":"x"}`, wantStatus: 401, wantCode: "invalid_token",
			wantDesc:    "Error decoding JWT",
			wantHeaders: map[string]string{"WWW-Authenticate": `Bearer error="invalid_token", error_description="Error decoding JWT", error_uri="https://tools.ietf.org/html/rfc6750#section-3.1"`}},
		{name: "no openid scope", token: "tok-noscope", body: `{"nickname":"x"}`, wantStatus: 403, wantCode: "insufficient_scope",
			wantDesc:    anyDesc,
			wantHeaders: map[string]string{"WWW-Authenticate": `Bearer error="insufficient_scope", error_description="The request requires higher privileges than provided by the access token.", error_uri="https://tools.ietf.org/html/rfc6750#section-3.1", scope="openid"`}},
		{name: "keys unavailable", token: "tok-down", body: `{"nickname":"x"}`, wantStatus: 503, wantCode: "temporarily_unavailable", wantDesc: anyDesc},
		{name: "user not found", token: "tok-ghost", body: `{"nickname":"x"}`, wantStatus: 404, wantCode: "user_not_found", wantDesc: anyDesc},
		{name: "token in query too", token: "tok-u1", body: `{"nickname":"x"}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: anyDesc,
			setup: nil, header: map[string]string{"X-Query": "access_token=tok-u1"}},

		// The request.
		{name: "wrong content type", token: "tok-u1", body: `{"nickname":"x"}`, header: map[string]string{"Content-Type": "text/plain"},
			wantStatus: 415, wantCode: "invalid_request", wantDesc: anyDesc,
			wantHeaders: map[string]string{"Accept-Patch": "application/json, application/merge-patch+json"}},
		{name: "form content type", token: "tok-u1", body: `nickname=x`, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			wantStatus: 415, wantCode: "invalid_request", wantDesc: anyDesc},
		{name: "too large", token: "tok-u1", body: `{"bio":"` + strings.Repeat("a", 70<<10) + `"}`, wantStatus: 413, wantCode: "invalid_request", wantDesc: anyDesc},
		{name: "invalid json", token: "tok-u1", body: `{"nickname":`, wantStatus: 400, wantCode: "invalid_request", wantDesc: anyDesc},
		{name: "not an object", token: "tok-u1", body: `["nickname"]`, wantStatus: 400, wantCode: "invalid_request", wantDesc: anyDesc},
		{name: "trailing data", token: "tok-u1", body: `{"nickname":"a"} {"nickname":"b"}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: anyDesc},
		{name: "duplicate key", token: "tok-u1", body: `{"nickname":"a","nickname":"b"}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: anyDesc},
		{name: "invalid utf-8", token: "tok-u1", body: "{\"nickname\":\"\xff\"}", wantStatus: 400, wantCode: "invalid_request", wantDesc: anyDesc},
		{name: "lone high surrogate", token: "tok-u1", body: `{"nickname":"a\ud800b"}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: "The request body is not valid UTF-8."},
		{name: "lone low surrogate", token: "tok-u1", body: `{"nickname":"\udc00"}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: "The request body is not valid UTF-8."},
		{name: "reversed surrogates", token: "tok-u1", body: `{"nickname":"\ude00\ud83d"}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: "The request body is not valid UTF-8."},
		{name: "lone surrogate in a key", token: "tok-u1", body: `{"nick\ud800":"x"}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: "The request body is not valid UTF-8."},
		{name: "empty body", token: "tok-u1", body: ``, header: map[string]string{"Content-Type": "application/json"}, wantStatus: 400, wantCode: "invalid_request", wantDesc: anyDesc},

		// 1. Unknown keys.
		{name: "unknown attribute", token: "tok-u1", body: `{"shoe_size":42}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: unknown},
		{name: "case-folded key", token: "tok-u1", body: `{"EMAIL":"a@example.com"}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: unknown},
		{name: "long s key", token: "tok-u1", body: `{"ſub":"x"}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: unknown},
		{name: "unknown beats unsupported", token: "tok-u1", body: `{"sub":"x","shoe_size":42}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: unknown},

		// 2. Not writable.
		{name: "sub", token: "tok-u1", body: `{"sub":"u2"}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: unsupported},
		{name: "email_verified", token: "tok-u1", body: `{"email_verified":true}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: unsupported},
		{name: "phone_number_verified", token: "tok-u1", body: `{"phone_number_verified":true}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: unsupported},
		{name: "updated_at", token: "tok-u1", body: `{"updated_at":1}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: unsupported},
		{name: "immutable custom", token: "tok-u1", body: `{"vip_level":9}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: unsupported},
		{name: "client may not write", token: "tok-ro", body: `{"nickname":"x"}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: unsupported},
		{name: "unsupported beats bad value", token: "tok-u1", body: `{"sub":"x","zoneinfo":"Mars/Olympus"}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: unsupported},

		// 3. Email and phone need their code.
		{name: "null email", token: "tok-u1", body: `{"email":null}`, wantStatus: 400, wantCode: "illegal_parameter_value", wantDesc: anyDesc},
		{name: "null phone", token: "tok-u1", body: `{"phone_number":null}`, wantStatus: 400, wantCode: "illegal_parameter_value", wantDesc: anyDesc},
		{name: "email without otp", token: "tok-u1", body: `{"email":"new@example.com"}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: "Missing parameter: email_otp_token."},
		{name: "email without code", token: "tok-u1", body: `{"email":"new@example.com","email_otp_token":"t"}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: "Missing parameter: email_otp."},
		{name: "email code without email", token: "tok-u1", body: `{"email_otp_token":"t","email_otp":"123456"}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: "Missing parameter: email."},
		{name: "phone without otp", token: "tok-u1", body: `{"phone_number":"13700000000"}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: "Missing parameter: phone_number_otp_token."},
		{name: "phone without code", token: "tok-u1", body: `{"phone_number":"13700000000","phone_number_otp_token":"t"}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: "Missing parameter: phone_number_otp."},
		{name: "phone code without phone", token: "tok-u1", body: `{"phone_number_otp":"1"}`, wantStatus: 400, wantCode: "invalid_request", wantDesc: "Missing parameter: phone_number."},

		// 4. Malformed addresses.
		{name: "malformed phone", token: "tok-u1", body: `{"phone_number":"12345","phone_number_otp_token":"t","phone_number_otp":"1"}`,
			wantStatus: 400, wantCode: "malformed_phone_number", wantDesc: anyDesc},
		{name: "phone not mainland mobile", token: "tok-u1", body: `{"phone_number":"+14155550100","phone_number_otp_token":"t","phone_number_otp":"1"}`,
			wantStatus: 400, wantCode: "malformed_phone_number", wantDesc: anyDesc},
		{name: "malformed email", token: "tok-u1", body: `{"email":"not-an-address","email_otp_token":"t","email_otp":"1"}`,
			wantStatus: 400, wantCode: "malformed_email", wantDesc: anyDesc},

		// 5. Other rules.
		{name: "zoneinfo", token: "tok-u1", body: `{"zoneinfo":"Mars/Olympus"}`, wantStatus: 400, wantCode: "illegal_parameter_value", wantDesc: `Invalid value for attribute "zoneinfo".`},
		{name: "locale", token: "tok-u1", body: `{"locale":"not a locale!"}`, wantStatus: 400, wantCode: "illegal_parameter_value", wantDesc: `Invalid value for attribute "locale".`},
		{name: "type", token: "tok-u1", body: `{"nickname":42}`, wantStatus: 400, wantCode: "illegal_parameter_value", wantDesc: `Invalid value for attribute "nickname".`},
		{name: "pattern", token: "tok-u1", body: `{"employee_id":"E12"}`, wantStatus: 400, wantCode: "illegal_parameter_value", wantDesc: `Invalid value for attribute "employee_id".`},
		{name: "pattern is anchored", token: "tok-u1", body: `{"employee_id":"xE123456y"}`, wantStatus: 400, wantCode: "illegal_parameter_value", wantDesc: `Invalid value for attribute "employee_id".`},
		{name: "enum", token: "tok-u1", body: `{"department":"hr"}`, wantStatus: 400, wantCode: "illegal_parameter_value", wantDesc: `Invalid value for attribute "department".`},
		{name: "boolean", token: "tok-u1", body: `{"newsletter":"yes"}`, wantStatus: 400, wantCode: "illegal_parameter_value", wantDesc: `Invalid value for attribute "newsletter".`},
		{name: "format date", token: "tok-u1", body: `{"birthday":"2024-02-30"}`, wantStatus: 400, wantCode: "illegal_parameter_value", wantDesc: `Invalid value for attribute "birthday".`},
		{name: "max length in characters", token: "tok-u1", body: `{"bio":"日本語です!"}`, wantStatus: 400, wantCode: "illegal_parameter_value", wantDesc: `Invalid value for attribute "bio".`},
		{name: "control character", token: "tok-u1", body: `{"nickname":"a\u0000b"}`, wantStatus: 400, wantCode: "illegal_parameter_value", wantDesc: `Invalid value for attribute "nickname".`},
		{name: "otp token not a string", token: "tok-u1", body: `{"email":"new@example.com","email_otp_token":7,"email_otp":"1"}`, wantStatus: 400, wantCode: "illegal_parameter_value", wantDesc: anyDesc},
		{name: "bad value beats otp", token: "tok-u1", body: `{"nickname":7,"email":"new@example.com","email_otp_token":"t-new","email_otp":"111111"}`,
			setup: func(hs *harness) {
				hs.otp.issue("t-new", issuedOTP{"u1", ChannelEmail, "new@example.com", "111111"})
			}, wantStatus: 400, wantCode: "illegal_parameter_value", wantDesc: `Invalid value for attribute "nickname".`},

		// 6. The codes.
		{name: "unknown otp token", token: "tok-u1", body: `{"email":"new@example.com","email_otp_token":"nope","email_otp":"111111"}`,
			wantStatus: 400, wantCode: "bad_email_otp_token", wantDesc: ""},
		{name: "otp token for another address", token: "tok-u1", body: `{"email":"new@example.com","email_otp_token":"t-other","email_otp":"111111"}`,
			setup: func(hs *harness) {
				hs.otp.issue("t-other", issuedOTP{"u1", ChannelEmail, "other@example.com", "111111"})
			}, wantStatus: 400, wantCode: "bad_email_otp_token", wantDesc: ""},
		{name: "otp token of another user", token: "tok-u1", body: `{"email":"new@example.com","email_otp_token":"t-u2","email_otp":"111111"}`,
			setup: func(hs *harness) {
				hs.otp.issue("t-u2", issuedOTP{"u2", ChannelEmail, "new@example.com", "111111"})
			}, wantStatus: 400, wantCode: "bad_email_otp_token", wantDesc: ""},
		{name: "wrong email code", token: "tok-u1", body: `{"email":"new@example.com","email_otp_token":"t-new","email_otp":"222222"}`,
			setup: func(hs *harness) {
				hs.otp.issue("t-new", issuedOTP{"u1", ChannelEmail, "new@example.com", "111111"})
			}, wantStatus: 400, wantCode: "bad_email_otp", wantDesc: ""},
		{name: "sms token for email", token: "tok-u1", body: `{"email":"new@example.com","email_otp_token":"t-sms","email_otp":"111111"}`,
			setup: func(hs *harness) {
				hs.otp.issue("t-sms", issuedOTP{"u1", ChannelSMS, "new@example.com", "111111"})
			}, wantStatus: 400, wantCode: "bad_email_otp_token", wantDesc: ""},
		{name: "bad phone otp token", token: "tok-u1", body: `{"phone_number":"13700000000","phone_number_otp_token":"nope","phone_number_otp":"111111"}`,
			wantStatus: 400, wantCode: "bad_phone_number_otp_token", wantDesc: ""},
		{name: "wrong phone code", token: "tok-u1", body: `{"phone_number":"13700000000","phone_number_otp_token":"t-p","phone_number_otp":"000000"}`,
			setup: func(hs *harness) {
				hs.otp.issue("t-p", issuedOTP{"u1", ChannelSMS, "+8613700000000", "111111"})
			}, wantStatus: 400, wantCode: "bad_phone_number_otp", wantDesc: ""},
		{name: "otp sent for current email is still checked", token: "tok-u1", body: `{"email":"one@example.com","email_otp_token":"nope","email_otp":"1"}`,
			wantStatus: 400, wantCode: "bad_email_otp_token", wantDesc: ""},

		// 7. Duplicates, after the code.
		{name: "duplicate email ignoring case", token: "tok-u1", body: `{"email":"two@example.COM","email_otp_token":"t-dup","email_otp":"111111"}`,
			setup: func(hs *harness) {
				hs.otp.issue("t-dup", issuedOTP{"u1", ChannelEmail, "two@example.COM", "111111"})
			}, wantStatus: 400, wantCode: "duplicate_email", wantDesc: ""},
		{name: "duplicate phone", token: "tok-u1", body: `{"phone_number":"13987654321","phone_number_otp_token":"t-dup","phone_number_otp":"111111"}`,
			setup: func(hs *harness) {
				hs.otp.issue("t-dup", issuedOTP{"u1", ChannelSMS, "+8613987654321", "111111"})
			}, wantStatus: 400, wantCode: "duplicate_phone_number", wantDesc: ""},
		{name: "duplicate phone with other changes writes nothing", token: "tok-u1",
			body: `{"nickname":"changed","phone_number":"13987654321","phone_number_otp_token":"t-dup","phone_number_otp":"111111"}`,
			setup: func(hs *harness) {
				hs.otp.issue("t-dup", issuedOTP{"u1", ChannelSMS, "+8613987654321", "111111"})
			}, wantStatus: 400, wantCode: "duplicate_phone_number", wantDesc: ""},

		// 8. Preconditions and failures.
		{name: "stale If-Match", token: "tok-u1", body: `{"nickname":"x"}`, header: map[string]string{"If-Match": `"999"`},
			wantStatus: 412, wantCode: "precondition_failed", wantDesc: anyDesc},
		{name: "weak If-Match never matches", token: "tok-u1", body: `{"nickname":"x"}`, header: map[string]string{"If-Match": `W/"1"`},
			wantStatus: 412, wantCode: "precondition_failed", wantDesc: anyDesc},
		{name: "store read fails", token: "tok-u1", body: `{"nickname":"x"}`, setup: func(hs *harness) { hs.store.failGet = true },
			wantStatus: 500, wantCode: "server_error", wantDesc: anyDesc},
		{name: "store write fails", token: "tok-u1", body: `{"nickname":"x"}`, setup: func(hs *harness) { hs.store.failUpdate = true },
			wantStatus: 500, wantCode: "server_error", wantDesc: anyDesc},
		{name: "store panics", token: "tok-u1", body: `{"nickname":"x"}`, setup: func(hs *harness) { hs.store.panicUpdate = true },
			wantStatus: 500, wantCode: "server_error", wantDesc: anyDesc},
		{name: "verifier panics", token: "tok-panic", body: `{"nickname":"x"}`, wantStatus: 500, wantCode: "server_error", wantDesc: anyDesc},
		{name: "otp service fails", token: "tok-u1", body: `{"nickname":"x","email":"new@example.com","email_otp_token":"t-fail","email_otp":"111111"}`,
			setup: func(hs *harness) { hs.otp.failOn = "t-fail" }, wantStatus: 500, wantCode: "server_error", wantDesc: anyDesc},
		{name: "wrong phone code: nothing written, email code unspent", token: "tok-u1",
			body: `{"email":"new@example.com","email_otp_token":"t-e","email_otp":"111111","phone_number":"13700000000","phone_number_otp_token":"t-p","phone_number_otp":"000000"}`,
			setup: func(hs *harness) {
				hs.otp.issue("t-e", issuedOTP{"u1", ChannelEmail, "new@example.com", "111111"})
				hs.otp.issue("t-p", issuedOTP{"u1", ChannelSMS, "+8613700000000", "111111"})
			}, wantStatus: 400, wantCode: "bad_phone_number_otp", wantDesc: "",
			// The phone code is checked first and fails: the email code is
			// never presented, so the user can still use it.
			wantLive: []string{"t-e"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t)
			if tt.setup != nil {
				tt.setup(hs)
			}
			before := hs.user(t, "u1")
			before2 := hs.user(t, "u2")
			r := newRequest(http.MethodPatch, tt.token, tt.body)
			for k, v := range tt.header {
				if k == "X-Query" {
					r.URL.RawQuery = v
					continue
				}
				r.Header.Set(k, v)
			}
			w := hs.serve(r)
			checkError(t, w, tt.wantStatus, tt.wantCode, tt.wantDesc)
			for k, v := range tt.wantHeaders {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if strings.Contains(w.Body.String(), "10.0.0.7") || strings.Contains(w.Body.String(), "panic") ||
				strings.Contains(w.Body.String(), "bug") {
				t.Errorf("body leaks internals: %s", w.Body.String())
			}
			if after := hs.user(t, "u1"); !reflect.DeepEqual(before, after) {
				t.Errorf("rejected request changed the user:\nbefore %+v\nafter  %+v", before, after)
			}
			if after := hs.user(t, "u2"); !reflect.DeepEqual(before2, after) {
				t.Errorf("rejected request changed another user:\nbefore %+v\nafter  %+v", before2, after)
			}
			if len(hs.audit) != 0 {
				t.Errorf("OnUpdate called for a rejected request: %+v", hs.audit)
			}
			for _, tok := range tt.wantLive {
				if _, live := hs.otp.codes[tok]; !live {
					t.Errorf("the code of %s was spent by a rejected request", tok)
				}
			}
		})
	}
}

func TestPatchAccepts(t *testing.T) {
	tests := []struct {
		name    string
		token   string
		body    string
		ct      string
		setup   func(*harness)
		want    map[string]any // claims expected in the response (subset) and in the store
		absent  []string       // claims that must be absent afterwards
		noWrite bool           // the version must not move
		ifMatch bool           // send If-Match with a stale and the current ETag
	}{
		{name: "nickname", token: "tok-u1", body: `{"nickname":"MOCK_NICKNAME"}`, want: map[string]any{"nickname": "MOCK_NICKNAME"}},
		{name: "seed fields", token: "tok-u1", body: `{"name":"Jane Roe","nickname":"jr","zoneinfo":"Europe/Paris","locale":"en-US"}`,
			want: map[string]any{"name": "Jane Roe", "nickname": "jr", "zoneinfo": "Europe/Paris", "locale": "en-US"}},
		{name: "merge-patch content type with charset", token: "tok-u1", ct: "Application/Merge-Patch+JSON; charset=utf-8",
			body: `{"nickname":"mp"}`, want: map[string]any{"nickname": "mp"}},
		{name: "custom attributes", token: "tok-u1", body: `{"employee_id":"E123456","department":"eng","newsletter":true,"birthday":"1990-01-31","bio":"日本語です"}`,
			want: map[string]any{"employee_id": "E123456", "department": "eng", "newsletter": true, "birthday": "1990-01-31", "bio": "日本語です"}},
		{name: "escaped surrogate pair and backslashes", token: "tok-u1", body: `{"nickname":"\\ud800 \ud83d\ude00"}`,
			want: map[string]any{"nickname": "\\ud800 😀"}},
		{name: "null removes", token: "tok-u1", body: `{"nickname":null,"zoneinfo":null}`, absent: []string{"nickname", "zoneinfo"}},
		{name: "empty object", token: "tok-u1", body: `{}`, want: map[string]any{"nickname": "uno"}, noWrite: true},
		{name: "same values", token: "tok-u1", body: `{"nickname":"uno","name":"One"}`, want: map[string]any{"nickname": "uno"}, noWrite: true},
		{name: "current email without otp is a no-op", token: "tok-u1", body: `{"email":"one@example.com","nickname":"uno"}`,
			want: map[string]any{"email": "one@example.com"}, noWrite: true},
		{name: "email change with code", token: "tok-u1", body: `{"email":"new@example.com","email_otp_token":"t-new","email_otp":"111111"}`,
			setup: func(hs *harness) {
				hs.otp.issue("t-new", issuedOTP{"u1", ChannelEmail, "new@example.com", "111111"})
			}, want: map[string]any{"email": "new@example.com", "email_verified": true}},
		{name: "phone change with code", token: "tok-u2", body: `{"phone_number":"13700000000","phone_number_otp_token":"t-p","phone_number_otp":"111111"}`,
			setup: func(hs *harness) {
				hs.otp.issue("t-p", issuedOTP{"u2", ChannelSMS, "+8613700000000", "111111"})
			}, want: map[string]any{"phone_number": "+8613700000000", "phone_number_verified": true}},
		{name: "own email with other case", token: "tok-u2", body: `{"email":"two@example.com","email_otp_token":"t-c","email_otp":"111111"}`,
			setup: func(hs *harness) {
				hs.otp.issue("t-c", issuedOTP{"u2", ChannelEmail, "two@example.com", "111111"})
			}, want: map[string]any{"email": "two@example.com"}},
		{name: "matching If-Match", token: "tok-u1", body: `{"nickname":"im"}`, ifMatch: true, want: map[string]any{"nickname": "im"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t)
			if tt.setup != nil {
				tt.setup(hs)
			}
			sub := testTokens[tt.token].Subject
			before := hs.user(t, sub)
			r := newRequest(http.MethodPatch, tt.token, tt.body)
			if tt.ct != "" {
				r.Header.Set("Content-Type", tt.ct)
			}
			if tt.ifMatch {
				r.Header.Set("If-Match", `"0", `+etag(before.Version))
			}
			w := hs.serve(r)
			if w.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200 (body %s)", w.Code, w.Body.String())
			}
			if got := w.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if got := w.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
			after := hs.user(t, sub)
			if got, want := w.Header().Get("ETag"), etag(after.Version); got != want {
				t.Errorf("ETag = %s, want %s", got, want)
			}
			if tt.noWrite != (after.Version == before.Version) {
				t.Errorf("version %d → %d, noWrite = %v", before.Version, after.Version, tt.noWrite)
			}
			claims := decodeJSON(t, w)
			if claims["sub"] != sub {
				t.Errorf("sub = %v, want %s", claims["sub"], sub)
			}
			for k, v := range tt.want {
				if claims[k] != v {
					t.Errorf("response %s = %v, want %v", k, claims[k], v)
				}
				if after.Attributes[k] != v {
					t.Errorf("stored %s = %v, want %v", k, after.Attributes[k], v)
				}
			}
			for _, k := range tt.absent {
				if _, ok := claims[k]; ok {
					t.Errorf("response still has %s", k)
				}
				if _, ok := after.Attributes[k]; ok {
					t.Errorf("store still has %s", k)
				}
			}
			// Nothing else changed.
			for k, v := range before.Attributes {
				if _, named := tt.want[k]; named || slicesContains(tt.absent, k) {
					continue
				}
				if !reflect.DeepEqual(after.Attributes[k], v) {
					t.Errorf("untouched attribute %s changed: %v → %v", k, v, after.Attributes[k])
				}
			}
			if !tt.noWrite {
				if len(hs.audit) != 1 {
					t.Fatalf("OnUpdate called %d times, want 1", len(hs.audit))
				}
				e := hs.audit[0]
				if e.Subject != sub || e.Version != after.Version || !e.At.Equal(testNow) {
					t.Errorf("OnUpdate event = %+v", e)
				}
				for k := range e.Set {
					if strings.Contains(k, "otp") {
						t.Errorf("OnUpdate event carries %s", k)
					}
				}
			}
		})
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestCodeIsSpentOnce(t *testing.T) {
	hs := newHarness(t)
	hs.otp.issue("t-new", issuedOTP{"u1", ChannelEmail, "new@example.com", "111111"})
	body := `{"email":"new@example.com","email_otp_token":"t-new","email_otp":"111111"}`
	if w := hs.serve(newRequest(http.MethodPatch, "tok-u1", body)); w.Code != 200 {
		t.Fatalf("first PATCH: status %d, body %s", w.Code, w.Body.String())
	}
	w := hs.serve(newRequest(http.MethodPatch, "tok-u1", body))
	checkError(t, w, 400, "bad_email_otp_token", "")
}

func TestEmailChangeOnUpdatePrevious(t *testing.T) {
	hs := newHarness(t)
	hs.otp.issue("t-new", issuedOTP{"u1", ChannelEmail, "new@example.com", "111111"})
	w := hs.serve(newRequest(http.MethodPatch, "tok-u1", `{"email":"new@example.com","email_otp_token":"t-new","email_otp":"111111"}`))
	if w.Code != 200 {
		t.Fatalf("status %d, body %s", w.Code, w.Body.String())
	}
	if len(hs.audit) != 1 || hs.audit[0].Previous["email"] != "one@example.com" || hs.audit[0].Set["email"] != "new@example.com" {
		t.Fatalf("OnUpdate events = %+v, want one with previous email one@example.com", hs.audit)
	}
}

func TestGetUserinfo(t *testing.T) {
	hs := newHarness(t)
	w := hs.serve(newRequest(http.MethodGet, "tok-u1", ""))
	if w.Code != 200 {
		t.Fatalf("status %d, body %s", w.Code, w.Body.String())
	}
	claims := decodeJSON(t, w)
	want := map[string]any{"sub": "u1", "email": "one@example.com", "email_verified": true, "phone_number": "+8613612345678",
		"name": "One", "nickname": "uno", "zoneinfo": "Asia/Shanghai", "locale": "zh-CN", "vip_level": float64(3),
		"updated_at": claims["updated_at"]}
	if !reflect.DeepEqual(claims, want) {
		t.Errorf("claims = %v\nwant %v", claims, want)
	}
	if _, ok := claims["updated_at"].(float64); !ok {
		t.Errorf("updated_at = %v, want a number", claims["updated_at"])
	}
	if got := w.Header().Get("ETag"); got != etag(hs.user(t, "u1").Version) {
		t.Errorf("ETag = %q", got)
	}

	// The per-client policy releases only nickname (and sub).
	w = hs.serve(newRequest(http.MethodGet, "tok-ro", ""))
	if got := w.Body.String(); got != `{"nickname":"uno","sub":"u1"}`+"\n" {
		t.Errorf("read-only client body = %s", got)
	}

	// HEAD: same headers, no body.
	w = hs.serve(newRequest(http.MethodHead, "tok-u1", ""))
	if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("ETag") == "" {
		t.Errorf("HEAD: status %d, body %q, ETag %q", w.Code, w.Body.String(), w.Header().Get("ETag"))
	}

	// The same bearer rules as PATCH.
	checkError(t, hs.serve(newRequest(http.MethodGet, "", "")), 400, "invalid_request", "Bearer token not found in the request")
	checkError(t, hs.serve(newRequest(http.MethodGet, "tok-noscope", "")), 403, "insufficient_scope", "*")
	checkError(t, hs.serve(newRequest(http.MethodGet, "tok-ghost", "")), 404, "user_not_found", "*")
}

func TestMethodNotAllowed(t *testing.T) {
	hs := newHarness(t)
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		w := hs.serve(newRequest(m, "tok-u1", `{"nickname":"x"}`))
		checkError(t, w, 405, "invalid_request", "*")
		if got := w.Header().Get("Allow"); got != "GET, HEAD, PATCH" {
			t.Errorf("%s: Allow = %q", m, got)
		}
	}
}

func TestPolicies(t *testing.T) {
	alice := &Principal{Subject: "u1", ClientID: "crm", Scopes: []string{"openid", "email"}}
	ctx := context.Background()
	tests := []struct {
		name   string
		policy ClaimsPolicy
		access Access
		claim  string
		want   bool
	}{
		{"all read", AllClaims, ReleaseClaim, "email", true},
		{"all write", AllClaims, WriteAttribute, "nickname", true},
		{"static released", StaticClaims("email"), ReleaseClaim, "email", true},
		{"static not released", StaticClaims("email"), ReleaseClaim, "nickname", false},
		{"static write open", StaticClaims("email"), WriteAttribute, "nickname", true},
		{"per client read", PerClient(map[string]ClientClaims{"crm": {Read: []string{"email"}}}, nil), ReleaseClaim, "email", true},
		{"per client no write", PerClient(map[string]ClientClaims{"crm": {Read: []string{"email"}}}, nil), WriteAttribute, "email", false},
		{"per client write", PerClient(map[string]ClientClaims{"crm": {Write: []string{"nickname"}}}, nil), WriteAttribute, "nickname", true},
		{"unknown client, no fallback", PerClient(map[string]ClientClaims{"other": {Read: []string{"email"}}}, nil), ReleaseClaim, "email", false},
		{"unknown client, fallback", PerClient(nil, AllClaims), ReleaseClaim, "email", true},
		{"scope email", ByScope(nil), ReleaseClaim, "email_verified", true},
		{"scope profile missing", ByScope(nil), ReleaseClaim, "nickname", false},
		{"extra scope missing", ByScope(map[string][]string{"employee": {"employee_id"}}), ReleaseClaim, "employee_id", false},
		{"extra scope granted", ByScope(map[string][]string{"email": {"newsletter"}}), ReleaseClaim, "newsletter", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.policy.Allow(ctx, alice, tt.access, tt.claim); got != tt.want {
				t.Errorf("Allow(%v, %q) = %v, want %v", tt.access, tt.claim, got, tt.want)
			}
		})
	}
}

func TestNewRequiresParts(t *testing.T) {
	if _, err := New(Config{Store: NewMemoryStore()}); err == nil {
		t.Error("New without Tokens: no error")
	}
	if _, err := New(Config{Tokens: TokenVerifierFunc(testVerifier)}); err == nil {
		t.Error("New without Store: no error")
	}
}

// registryOTP is an OTP verifier that reports the registry it checks
// addresses with, as package otp's Service does.
type registryOTP struct {
	fakeOTP
	reg *Registry
}

func (o *registryOTP) Registry() *Registry { return o.reg }

// The handler and the OTP service cannot use different registries.
func TestNewRegistryOfOTPVerifier(t *testing.T) {
	custom := mustRegistry(t, RegistryConfig{Attributes: testAttributes})
	other := mustRegistry(t, RegistryConfig{Attributes: testAttributes})
	base := Config{Tokens: TokenVerifierFunc(testVerifier), Store: NewMemoryStore()}
	tests := []struct {
		name     string
		registry *Registry
		otp      OTPVerifier
		want     *Registry // nil: New fails
	}{
		{"the OTP verifier's registry is the default", nil, &registryOTP{reg: custom}, custom},
		{"the same registry on both", custom, &registryOTP{reg: custom}, custom},
		{"another registry of the same rules", other, &registryOTP{reg: custom}, nil},
		{"a verifier that reports none", custom, &fakeOTP{}, custom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			cfg.Registry, cfg.OTP = tt.registry, tt.otp
			h, err := New(cfg)
			switch {
			case tt.want == nil && err == nil:
				t.Fatal("New succeeded; want an error")
			case tt.want == nil:
			case err != nil:
				t.Fatalf("New: %v", err)
			case h.Registry() != tt.want:
				t.Errorf("Registry() is not the expected registry")
			}
		})
	}
	h, err := New(base)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(h.Registry().Names(), "employee_id") || !slices.Contains(h.Registry().Names(), "nickname") {
		t.Errorf("default registry names = %v, want the standard claims only", h.Registry().Names())
	}
}

func TestNoOTPVerifierMakesAddressesReadOnly(t *testing.T) {
	hs := newHarness(t, func(c *Config) { c.OTP = nil })
	w := hs.serve(newRequest(http.MethodPatch, "tok-u1", `{"email":"new@example.com","email_otp_token":"t","email_otp":"1"}`))
	checkError(t, w, 400, "invalid_request", "Unsupported user attribute(s) found.")
}

func TestConcurrentEmailClaim(t *testing.T) {
	// Two users race for one address; the store lets exactly one win.
	hs := newHarness(t)
	hs.otp.issue("t1", issuedOTP{"u1", ChannelEmail, "race@example.com", "111111"})
	hs.otp.issue("t2", issuedOTP{"u2", ChannelEmail, "race@example.com", "111111"})
	var wg sync.WaitGroup
	answers := make([]*httptest.ResponseRecorder, 2)
	for i, tok := range []string{"tok-u1", "tok-u2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = hs.serve(newRequest(http.MethodPatch, tok, `{"email":"race@example.com","email_otp_token":"t`+string(rune('1'+i))+`","email_otp":"111111"}`))
		}()
	}
	wg.Wait()
	winner, loser := answers[0], answers[1]
	if loser.Code == http.StatusOK {
		winner, loser = loser, winner
	}
	if winner.Code != http.StatusOK {
		t.Fatalf("statuses %d and %d, want one 200", answers[0].Code, answers[1].Code)
	}
	checkError(t, loser, http.StatusBadRequest, CodeDuplicateEmail, "")
	holders := 0
	for _, sub := range []string{"u1", "u2"} {
		if hs.user(t, sub).Attributes["email"] == "race@example.com" {
			holders++
		}
	}
	if holders != 1 {
		t.Errorf("%d users hold race@example.com, want 1", holders)
	}
}

func TestSchemaHandler(t *testing.T) {
	hs := newHarness(t)
	sh := hs.h.SchemaHandler()
	w := httptest.NewRecorder()
	sh.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/userinfo/schema", nil))
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/schema+json" {
		t.Fatalf("status %d, Content-Type %q", w.Code, w.Header().Get("Content-Type"))
	}
	if want := hs.h.Registry().Schema(); !bytes.Equal(w.Body.Bytes(), want) {
		t.Errorf("served schema differs from the registry's:\n%s", w.Body.String())
	}
	var s map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &s); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	props, _ := s["properties"].(map[string]any)
	if _, ok := props["employee_id"]; !ok {
		t.Errorf("schema lacks the custom attribute employee_id: %s", w.Body.String())
	}

	w = httptest.NewRecorder()
	sh.ServeHTTP(w, httptest.NewRequest(http.MethodHead, "/userinfo/schema", nil))
	if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") != strconv.Itoa(len(hs.h.Registry().Schema())) {
		t.Errorf("HEAD: status %d, %d body bytes, Content-Length %q", w.Code, w.Body.Len(), w.Header().Get("Content-Length"))
	}
	w = httptest.NewRecorder()
	sh.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/userinfo/schema", nil))
	checkError(t, w, http.StatusMethodNotAllowed, CodeInvalidRequest, "*")
	if got := w.Header().Get("Allow"); got != "GET, HEAD" {
		t.Errorf("POST: Allow = %q", got)
	}
}

// pingStore is a UserStore with Ping.
type pingStore struct {
	UserStore
	err error
}

func (s pingStore) Ping(context.Context) error { return s.err }

// readyVerifier is a TokenVerifier with Ready.
type readyVerifier struct {
	TokenVerifier
	err error
}

func (v readyVerifier) Ready(context.Context) error { return v.err }

func TestReady(t *testing.T) {
	down := errors.New("connection refused")
	noKeys := errors.New("no key set yet")
	tests := []struct {
		name    string
		store   UserStore
		tokens  TokenVerifier
		wantErr error
	}{
		{name: "neither can tell", store: NewMemoryStore(), tokens: TokenVerifierFunc(testVerifier)},
		{name: "both ready", store: pingStore{NewMemoryStore(), nil}, tokens: readyVerifier{TokenVerifierFunc(testVerifier), nil}},
		{name: "store down", store: pingStore{NewMemoryStore(), down}, tokens: readyVerifier{TokenVerifierFunc(testVerifier), nil}, wantErr: down},
		{name: "no keys", store: pingStore{NewMemoryStore(), nil}, tokens: readyVerifier{TokenVerifierFunc(testVerifier), noKeys}, wantErr: noKeys},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(Config{Tokens: tt.tokens, Store: tt.store})
			if err != nil {
				t.Fatal(err)
			}
			err = h.Ready(context.Background())
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Ready: got %v, want %v", err, tt.wantErr)
			}
		})
	}
}
