package otp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/otp"
)

// addrServer is PATCH /userinfo and POST /otp/send over the memory stores,
// tokens "tok-SUB" standing for SUB.
type addrServer struct {
	patch, send http.Handler
	sender      *otp.RecordingSender
}

func newAddrServer(t *testing.T, cfg userinfo.RegistryConfig) *addrServer {
	t.Helper()
	reg, err := userinfo.NewRegistry(cfg)
	if err != nil {
		t.Fatal(err)
	}
	users := userinfo.NewMemoryStore()
	if _, err := users.Put(context.Background(), "u1", map[string]any{"nickname": "one"}); err != nil {
		t.Fatal(err)
	}
	s := &addrServer{sender: &otp.RecordingSender{}}
	svc, err := otp.New(otp.Config{Store: otp.NewMemoryStore(), Sender: s.sender, Registry: reg, Key: otp.GenerateKey(), TargetLimit: 100, SubjectLimit: 100})
	if err != nil {
		t.Fatal(err)
	}
	tokens := userinfo.TokenVerifierFunc(func(_ context.Context, token string) (*userinfo.Principal, error) {
		sub, _ := strings.CutPrefix(token, "tok-")
		return &userinfo.Principal{Subject: sub, Scopes: []string{"openid"}, Expiry: time.Now().Add(time.Hour)}, nil
	})
	h, err := userinfo.New(userinfo.Config{Tokens: tokens, Store: users, OTP: svc})
	if err != nil {
		t.Fatal(err)
	}
	s.patch, s.send = h, h.Authenticator().Middleware(svc.SendHandler())
	return s
}

func (s *addrServer) call(t *testing.T, h http.Handler, method, body string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, "/", strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer tok-u1")
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q is not JSON", w.Body.String())
	}
	return w.Code, m
}

// TestAddressRules: each rule of the contract's "Addresses" gives one answer
// on POST /otp/send and on PATCH /userinfo: 400 with the channel's
// malformed code on both, or 200 on both, the code sent to, bound to and
// stored under the normalised form.
func TestAddressRules(t *testing.T) {
	cn := userinfo.RegistryConfig{}
	cnUS := userinfo.RegistryConfig{Phone: userinfo.PhonePolicy{Regions: []string{"CN", "US"}}}
	anyRegion := userinfo.RegistryConfig{Phone: userinfo.PhonePolicy{Regions: []string{userinfo.AnyPhoneRegion}}}
	idn := userinfo.RegistryConfig{EmailIDN: true}
	const me, mp = "malformed_email", "malformed_phone_number"
	tests := []struct {
		name  string
		cfg   userinfo.RegistryConfig
		attr  string
		value string
		// wantCode is the 400's code, or "" for 200 storing wantStored.
		wantCode, wantStored string
	}{
		{"email", cn, "email", "victim@x.test", "", "victim@x.test"},
		{"email keeps its case", cn, "email", "Victim@X.test", "", "Victim@X.test"},
		{"email quoted local part", cn, "email", `\"victim\"@x.test`, me, ""},
		{"email fullwidth domain", cn, "email", "victim@ｘ.test", me, ""},
		{"email fullwidth domain, IDN", idn, "email", "victim@ｘ.test", "", "victim@x.test"},
		{"email zero-width space", cn, "email", "victim\u200b@x.test", me, ""},
		{"email zero-width space, IDN", idn, "email", "victim\u200b@x.test", me, ""},
		{"email IDN off", cn, "email", "a@bücher.test", me, ""},
		{"email IDN on", idn, "email", "a@bücher.test", "", "a@xn--bcher-kva.test"},
		{"email IP literal", cn, "email", "a@[127.0.0.1]", me, ""},
		{"email one label", cn, "email", "a@localhost", me, ""},
		{"email numeric top label", cn, "email", "a@x.123", me, ""},
		{"email label of 64", cn, "email", "a@" + strings.Repeat("b", 64) + ".test", me, ""},
		{"email of 255", cn, "email", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 58) + ".com", me, ""},
		{"email comment", cn, "email", "a(x)@x.test", me, ""},
		{"email control", cn, "email", "a@x.test\\u0085", me, ""},
		{"phone national", cn, "phone_number", "13612345678", "", "+8613612345678"},
		{"phone E.164", cn, "phone_number", "+8613612345678", "", "+8613612345678"},
		{"phone spaced", cn, "phone_number", "+86 136 1234 5678", "", "+8613612345678"},
		{"phone hyphens", cn, "phone_number", "136-1234-5678", "", "+8613612345678"},
		{"phone another region", cn, "phone_number", "+14155552671", mp, ""},
		{"phone second region", cnUS, "phone_number", "+1 415 555 2671", "", "+14155552671"},
		{"phone vanity letters", cnUS, "phone_number", "1-800-FLOWERS", mp, ""},
		{"phone unassigned country code", anyRegion, "phone_number", "+999123456789", mp, ""},
		{"phone too short", anyRegion, "phone_number", "+1234567", mp, ""},
		{"phone national without a national region", anyRegion, "phone_number", "13612345678", mp, ""},
		{"phone fixed line", cn, "phone_number", "+861012345678", mp, ""},
		{"phone parentheses", cn, "phone_number", "(136) 1234 5678", mp, ""},
		{"phone fullwidth digits", cn, "phone_number", "１３６１２３４５６７８", mp, ""},
		{"phone international prefix", cn, "phone_number", "008613612345678", mp, ""},
		{"phone unallocated block", cn, "phone_number", "14012345678", mp, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newAddrServer(t, tt.cfg)
			status, body := s.call(t, s.send, http.MethodPost, fmt.Sprintf(`{"usage":"update_userinfo","%s":"%s"}`, tt.attr, tt.value))
			code, _ := body["error"].(string)
			m, sent := s.sender.Last()
			if tt.wantCode != "" {
				if status != 400 || code != tt.wantCode || sent {
					t.Errorf("POST /otp/send: %d %q (sent: %v), want 400 %q and nothing sent", status, code, sent, tt.wantCode)
				}
				status, body = s.call(t, s.patch, http.MethodPatch,
					fmt.Sprintf(`{"%s":"%s","%s_otp_token":"v2.AAAAAAAAAAAAAAAAAAAAAA","%s_otp":"123456"}`, tt.attr, tt.value, tt.attr, tt.attr))
				if code, _ := body["error"].(string); status != 400 || code != tt.wantCode {
					t.Errorf("PATCH: %d %v, want 400 %q", status, body, tt.wantCode)
				}
				return
			}
			if status != 200 || !sent || m.Target != tt.wantStored {
				t.Fatalf("POST /otp/send: %d %v, sent to %q (%v); want 200 and a code to %q", status, body, m.Target, sent, tt.wantStored)
			}
			status, body = s.call(t, s.patch, http.MethodPatch,
				fmt.Sprintf(`{"%s":"%s","%s_otp_token":"%s","%s_otp":"%s"}`, tt.attr, tt.value, tt.attr, body["otp_token"], tt.attr, m.Code))
			if status != 200 || body[tt.attr] != tt.wantStored {
				t.Errorf("PATCH: %d %v, want 200 with %s %q", status, body, tt.attr, tt.wantStored)
			}
		})
	}
}

// TestCodeBoundToEverySpelling: a code sent to one spelling of a number
// pays for the change to any other spelling of it, and for no other number.
func TestCodeBoundToEverySpelling(t *testing.T) {
	s := newAddrServer(t, userinfo.RegistryConfig{})
	send := func() (string, string) {
		status, body := s.call(t, s.send, http.MethodPost, `{"usage":"update_userinfo","phone_number":"136 1234 5678"}`)
		m, _ := s.sender.Last()
		if status != 200 {
			t.Fatalf("POST /otp/send: %d %v", status, body)
		}
		return body["otp_token"].(string), m.Code
	}
	token, code := send()
	status, body := s.call(t, s.patch, http.MethodPatch,
		`{"phone_number":"13712345678","phone_number_otp_token":"`+token+`","phone_number_otp":"`+code+`"}`)
	if e, _ := body["error"].(string); status != 400 || e != "bad_phone_number_otp_token" {
		t.Errorf("PATCH another number: %d %v, want 400 bad_phone_number_otp_token", status, body)
	}
	for _, spelling := range []string{"+8613612345678", "013612345678"} {
		token, code = send()
		status, body = s.call(t, s.patch, http.MethodPatch,
			`{"phone_number":"`+spelling+`","phone_number_otp_token":"`+token+`","phone_number_otp":"`+code+`"}`)
		if status != 200 || body["phone_number"] != "+8613612345678" {
			t.Errorf("PATCH %q with the code sent to 136 1234 5678: %d %v", spelling, status, body)
		}
	}
	// The current number in another spelling without a code is a no-op.
	status, body = s.call(t, s.patch, http.MethodPatch, `{"phone_number":"136-1234-5678"}`)
	if status != 200 || body["phone_number"] != "+8613612345678" {
		t.Errorf("PATCH the current number in another spelling without a code: %d %v, want 200", status, body)
	}
}

// TestCodesBeforeTheUpgrade: an otp_token of the format before addresses
// were normalised (v1) is refused as a bad token, not compared with a
// target it may not have been issued for.
func TestCodesBeforeTheUpgrade(t *testing.T) {
	s := newAddrServer(t, userinfo.RegistryConfig{})
	status, body := s.call(t, s.patch, http.MethodPatch,
		`{"phone_number":"13612345678","phone_number_otp_token":"v1.AAAAAAAAAAAAAAAAAAAAAA","phone_number_otp":"123456"}`)
	if e, _ := body["error"].(string); status != 400 || e != "bad_phone_number_otp_token" {
		t.Errorf("PATCH with a v1 otp_token: %d %v, want 400 bad_phone_number_otp_token", status, body)
	}
}
