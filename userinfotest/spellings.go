package userinfotest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/otp"
)

// spellingServer is the handler and the reference OTP service over the
// store under test, so that the kit sees what users see: every spelling of
// an address reaches the store as its one stored form.
type spellingServer struct {
	h      http.Handler
	send   http.Handler
	sender *otp.RecordingSender
}

func newSpellingServer(t tester, users userinfo.UserStore, codes otp.Store, cfg userinfo.RegistryConfig) *spellingServer {
	t.Helper()
	reg, err := userinfo.NewRegistry(cfg)
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	s := &spellingServer{sender: &otp.RecordingSender{}}
	svc, err := otp.New(otp.Config{Store: codes, Sender: s.sender, Registry: reg, Key: otp.GenerateKey(), PurgeEvery: -1})
	if err != nil {
		t.Fatalf("otp.New: %v", err)
	}
	tokens := userinfo.TokenVerifierFunc(func(_ context.Context, token string) (*userinfo.Principal, error) {
		sub, ok := strings.CutPrefix(token, "tok-")
		if !ok {
			return nil, userinfo.ErrInvalidToken
		}
		return &userinfo.Principal{Subject: sub, Scopes: []string{"openid"}, Expiry: time.Now().Add(time.Hour)}, nil
	})
	h, err := userinfo.New(userinfo.Config{Tokens: tokens, Store: users, OTP: svc, Registry: reg})
	if err != nil {
		t.Fatalf("userinfo.New: %v", err)
	}
	s.h, s.send = h, h.Authenticator().Middleware(svc.SendHandler())
	return s
}

// call serves one request and returns the status and the JSON body.
func (s *spellingServer) call(t tester, h http.Handler, method, subject, body string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, "/", strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer tok-"+subject)
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("%s %s: body %q is not JSON", method, body, w.Body.String())
	}
	return w.Code, m
}

// change sends a code to value as the attribute's spelling and PATCHes it
// with the code, returning the PATCH's status and body.
func (s *spellingServer) change(t tester, subject, attr, value string) (int, map[string]any) {
	t.Helper()
	status, body := s.call(t, s.send, http.MethodPost, subject, fmt.Sprintf(`{"usage":"update_userinfo",%q:%q}`, attr, value))
	if status != http.StatusOK {
		t.Fatalf("POST /otp/send {%q: %q} as %s: %d %v", attr, value, subject, status, body)
	}
	m, _ := s.sender.Last()
	token, _ := body["otp_token"].(string)
	return s.call(t, s.h, http.MethodPatch, subject,
		fmt.Sprintf(`{%q:%q,"%s_otp_token":%q,"%s_otp":%q}`, attr, value, attr, token, attr, m.Code))
}

// checkUniqueAcrossSpellings: with the handler and the OTP service over the
// store, an address that one user holds is a duplicate for another in every
// spelling that the registry takes for it: another ASCII case, an
// internationalised domain that maps to it, a phone number in national form
// or spaced E.164; and the stored and returned form is the normalised one.
func checkUniqueAcrossSpellings(t tester, ctx context.Context, s Store) {
	seed(t, ctx, s, "u1", map[string]any{"nickname": "one"})
	seed(t, ctx, s, "u2", map[string]any{"nickname": "two"})
	srv := newSpellingServer(t, s, otp.NewMemoryStore(), userinfo.RegistryConfig{EmailIDN: true})
	for _, step := range []struct {
		subject, attr, value string
		wantStatus           int
		wantCode, wantStored string
	}{
		{"u1", "email", "victim@x.test", 200, "", "victim@x.test"},
		{"u2", "email", "VICTIM@X.TEST", 400, "duplicate_email", ""},
		{"u2", "email", "victim@ｘ.test", 400, "duplicate_email", ""},
		{"u2", "email", "Victim@X.test", 400, "duplicate_email", ""},
		{"u1", "phone_number", "13612345678", 200, "", "+8613612345678"},
		{"u2", "phone_number", "+8613612345678", 400, "duplicate_phone_number", ""},
		{"u2", "phone_number", "+86 136 1234 5678", 400, "duplicate_phone_number", ""},
		{"u2", "phone_number", "136-1234-5678", 400, "duplicate_phone_number", ""},
		{"u2", "email", "a@bücher.test", 200, "", "a@xn--bcher-kva.test"},
		{"u1", "email", "A@xn--BCHER-kva.test", 400, "duplicate_email", ""},
	} {
		status, body := srv.change(t, step.subject, step.attr, step.value)
		code, _ := body["error"].(string)
		if status != step.wantStatus || code != step.wantCode {
			t.Errorf("PATCH {%q: %q} as %s: %d %q, want %d %q", step.attr, step.value, step.subject, status, code, step.wantStatus, step.wantCode)
			continue
		}
		if step.wantStored == "" {
			continue
		}
		if body[step.attr] != step.wantStored {
			t.Errorf("PATCH {%q: %q} as %s answered %s %v, want %q", step.attr, step.value, step.subject, step.attr, body[step.attr], step.wantStored)
		}
		if got := get(t, ctx, s, step.subject).Attributes[step.attr]; got != step.wantStored {
			t.Errorf("after PATCH {%q: %q}: GetUser(ctx, %q) has %s %v, want %q", step.attr, step.value, step.subject, step.attr, got, step.wantStored)
		}
	}
}

// checkThrottleAcrossSpellings: with the reference OTP service over the
// store, the per-address send limit (5 in the window) counts every spelling
// of one address together, across users: the sixth code to one mailbox or
// number is refused whoever asks and however it is written.
func checkThrottleAcrossSpellings(t tester, ctx context.Context, s otp.Store) {
	users := userinfo.NewMemoryStore()
	for _, sub := range []string{"a1", "a2", "a3"} {
		if _, err := users.Put(ctx, sub, map[string]any{}); err != nil {
			t.Fatal(err)
		}
	}
	srv := newSpellingServer(t, users, s, userinfo.RegistryConfig{EmailIDN: true})
	for _, tt := range []struct {
		attr      string
		spellings []string
		wantCode  string
	}{
		{"email", []string{"victim@x.test", "VICTIM@x.test", "victim@X.TEST", "victim@ｘ.test", "Victim@x.Test", "victim@ｘ.TEST"}, "email_rate_limit_exceeded"},
		{"phone_number", []string{"13612345678", "+8613612345678", "+86 136 1234 5678", "136-1234-5678", "013612345678", "136 1234 5678"}, "sms_rate_limit_exceeded"},
	} {
		for i, v := range tt.spellings {
			sub := []string{"a1", "a2"}[i%2]
			status, body := srv.call(t, srv.send, http.MethodPost, sub, fmt.Sprintf(`{"usage":"update_userinfo",%q:%q}`, tt.attr, v))
			code, _ := body["error"].(string)
			want, wantCode := http.StatusOK, ""
			if i >= otp.DefaultTargetLimit {
				want, wantCode = http.StatusTooManyRequests, tt.wantCode
			}
			if status != want || code != wantCode {
				t.Errorf("POST /otp/send %s %q (send %d, as %s): %d %q, want %d %q", tt.attr, v, i+1, sub, status, code, want, wantCode)
			}
		}
		// Another address is not limited by it.
		other := map[string]string{"email": "other@x.test", "phone_number": "13700000000"}[tt.attr]
		if status, body := srv.call(t, srv.send, http.MethodPost, "a3", fmt.Sprintf(`{"usage":"update_userinfo",%q:%q}`, tt.attr, other)); status != http.StatusOK {
			t.Errorf("POST /otp/send %s %q after the limit of another address: %d %v, want 200", tt.attr, other, status, body)
		}
	}
}
