package otp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
)

func TestNewRequiresConfig(t *testing.T) {
	good := Config{Store: NewMemoryStore(), Sender: &RecordingSender{}, Registry: testRegistry, Key: testKey}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no store", func(c *Config) { c.Store = nil }, "Store"},
		{"no sender", func(c *Config) { c.Sender = nil }, "Sender"},
		{"no registry", func(c *Config) { c.Registry = nil }, "Registry"},
		{"no key", func(c *Config) { c.Key = nil }, "Key"},
		{"short key", func(c *Config) { c.Key = testKey[:MinKeyLen-1] }, "Key"},
		{"negative TTL", func(c *Config) { c.TTL = -time.Second }, "negative"},
		{"negative attempts", func(c *Config) { c.MaxAttempts = -1 }, "negative"},
		{"TTL past what stores keep", func(c *Config) { c.TTL = 2562047 * time.Hour }, "at most"},
		{"window past what stores keep", func(c *Config) { c.Window = 25 * time.Hour }, "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.edit(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: got %v, want an error naming %q", err, tt.want)
			}
		})
	}
	if _, err := New(good); err != nil {
		t.Errorf("New(good): %v", err)
	}
}

func TestRedeem(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *userinfo.OTPCheck, code string)
		want string
	}{
		{"right code", func(c *userinfo.OTPCheck, code string) {}, "ok"},
		{"email in other case", func(c *userinfo.OTPCheck, code string) { c.Target = "A@X.Test" }, "ok"},
		{"wrong code", func(c *userinfo.OTPCheck, code string) { c.Code = wrongCode(code) }, "bad code"},
		{"empty code", func(c *userinfo.OTPCheck, code string) { c.Code = "" }, "bad code"},
		{"code with a space", func(c *userinfo.OTPCheck, code string) { c.Code = " " + code }, "bad code"},
		{"code in full-width digits", func(c *userinfo.OTPCheck, code string) { c.Code = "１２３４５６" }, "bad code"},
		{"other target", func(c *userinfo.OTPCheck, code string) { c.Target = "b@x.test" }, "bad token"},
		{"target folding only under Unicode", func(c *userinfo.OTPCheck, code string) { c.Target = "a@x.te\u017ft" }, "bad token"},
		{"other channel", func(c *userinfo.OTPCheck, code string) { c.Channel = userinfo.ChannelSMS }, "bad token"},
		{"other purpose", func(c *userinfo.OTPCheck, code string) { c.Purpose = "sign_up" }, "bad token"},
		{"other subject", func(c *userinfo.OTPCheck, code string) { c.Subject = "u2" }, "bad token"},
		{"other subject, wrong code", func(c *userinfo.OTPCheck, code string) { c.Subject = "u2"; c.Code = wrongCode(code) }, "bad token"},
		{"unknown token", func(c *userinfo.OTPCheck, code string) { c.Token = "v2.AAAAAAAAAAAAAAAAAAAAAA" }, "bad token"},
		{"malformed token", func(c *userinfo.OTPCheck, code string) { c.Token = c.Token + "=" }, "bad token"},
		{"empty token", func(c *userinfo.OTPCheck, code string) { c.Token = "" }, "bad token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, nil)
			token, code := e.send(t, "u1", userinfo.ChannelEmail, "a@x.test")
			c := check(token, code)
			tt.edit(&c, code)
			if got := outcome(e.redeem(c)); got != tt.want {
				t.Fatalf("redemption: got %s, want %s", got, tt.want)
			}
			// Whatever happened, the code is spent at most once.
			got := outcome(e.redeem(check(token, code)))
			want := "ok"
			if tt.want == "ok" {
				want = "bad token"
			}
			if got != want {
				t.Errorf("then redemption with the right code: got %s, want %s", got, want)
			}
		})
	}
}

func TestRedeemSMS(t *testing.T) {
	e := newEnv(t, nil, nil)
	token, code := e.send(t, "u1", userinfo.ChannelSMS, "13612345678")
	c := userinfo.OTPCheck{Subject: "u1", Channel: userinfo.ChannelSMS, Target: "13612345678",
		Purpose: userinfo.PurposeUpdateUserinfo, Token: token, Code: code}
	if err := e.redeem(c); err != nil {
		t.Fatalf("redemption: %v", err)
	}
}

func TestRedeemExpiry(t *testing.T) {
	tests := []struct {
		name  string
		after time.Duration
		want  string
	}{
		{"just before", DefaultTTL - time.Millisecond, "ok"},
		{"at expiry", DefaultTTL, "bad token"},
		{"long after", time.Hour, "bad token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, nil)
			token, code := e.send(t, "u1", userinfo.ChannelEmail, "a@x.test")
			e.clock.Advance(tt.after)
			if got := outcome(e.redeem(check(token, code))); got != tt.want {
				t.Errorf("redemption %v after sending: got %s, want %s", tt.after, got, tt.want)
			}
		})
	}
}

func TestRedeemTTLConfigured(t *testing.T) {
	e := newEnv(t, nil, func(c *Config) { c.TTL = time.Minute })
	token, code := e.send(t, "u1", userinfo.ChannelEmail, "a@x.test")
	e.clock.Advance(time.Minute)
	if got := outcome(e.redeem(check(token, code))); got != "bad token" {
		t.Errorf("redemption at a 1m TTL: got %s, want bad token", got)
	}
}

func TestRedeemDeadAfterMaxAttempts(t *testing.T) {
	for _, max := range []int{0, 1, 3} { // 0: the default, 5
		t.Run(fmt.Sprint("MaxAttempts=", max), func(t *testing.T) {
			e := newEnv(t, nil, func(c *Config) { c.MaxAttempts = max })
			if max == 0 {
				max = DefaultMaxAttempts
			}
			token, code := e.send(t, "u1", userinfo.ChannelEmail, "a@x.test")
			for i := 1; i <= max; i++ {
				if got := outcome(e.redeem(check(token, wrongCode(code)))); got != "bad code" {
					t.Fatalf("wrong code #%d: got %s, want bad code", i, got)
				}
			}
			if got := outcome(e.redeem(check(token, code))); got != "bad token" {
				t.Errorf("right code after %d wrong ones: got %s, want bad token", max, got)
			}
		})
	}
}

func TestRedeemRightCodeOnLastAttempt(t *testing.T) {
	e := newEnv(t, nil, nil)
	token, code := e.send(t, "u1", userinfo.ChannelEmail, "a@x.test")
	for i := 1; i < DefaultMaxAttempts; i++ {
		if got := outcome(e.redeem(check(token, wrongCode(code)))); got != "bad code" {
			t.Fatalf("wrong code #%d: got %s", i, got)
		}
	}
	if err := e.redeem(check(token, code)); err != nil {
		t.Errorf("right code on attempt %d: %v", DefaultMaxAttempts, err)
	}
}

// TestRightCodeDoesNotCount: checks with the right code (a write that was
// refused afterwards leaves the code redeemable) use up no attempt, and the
// code still redeems after more of them than MaxAttempts; wrong codes still
// count.
func TestRightCodeDoesNotCount(t *testing.T) {
	e := newEnv(t, nil, func(c *Config) { c.MaxAttempts = 2 })
	token, code := e.send(t, "u1", userinfo.ChannelEmail, "a@x.test")
	for i := range 5 {
		if _, err := e.svc.CheckOTP(context.Background(), check(token, code)); err != nil {
			t.Fatalf("check #%d with the right code, MaxAttempts 2: %v", i+1, err)
		}
	}
	if got := outcome(e.redeem(check(token, wrongCode(code)))); got != "bad code" {
		t.Fatalf("a wrong code after right ones: got %s, want bad code", got)
	}
	if err := e.redeem(check(token, code)); err != nil {
		t.Errorf("the right code after five right checks and one wrong code, MaxAttempts 2: %v", err)
	}

	// Two wrong codes kill a fresh token, right codes in between or not.
	token, code = e.send(t, "u1", userinfo.ChannelEmail, "a@x.test")
	for _, c := range []string{wrongCode(code), code, wrongCode(code)} {
		_, _ = e.svc.CheckOTP(context.Background(), check(token, c))
	}
	if got := outcome(e.redeem(check(token, code))); got != "bad token" {
		t.Errorf("the right code after two wrong ones, MaxAttempts 2: got %s, want bad token", got)
	}
}

// redeemConcurrently redeems c n times at once through svcs in turn and
// returns the outcomes by name.
func redeemConcurrently(svcs []*Service, n int, c func(i int) userinfo.OTPCheck) map[string]int {
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		start = make(chan struct{})
		got   = map[string]int{}
	)
	for i := range n {
		wg.Go(func() {
			<-start
			err := redeemOTP(svcs[i%len(svcs)], c(i))
			mu.Lock()
			got[outcome(err)]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return got
}

func TestRedeemConcurrentlyOnce(t *testing.T) {
	e := newEnv(t, nil, func(c *Config) { c.MaxAttempts = 100 })
	token, code := e.send(t, "u1", userinfo.ChannelEmail, "a@x.test")
	got := redeemConcurrently([]*Service{e.svc}, 50, func(int) userinfo.OTPCheck { return check(token, code) })
	if got["ok"] != 1 || got["bad token"] != 49 {
		t.Errorf("50 concurrent redemptions: got %v, want 1 ok and 49 bad token", got)
	}
}

func TestRedeemConcurrentlyOnceAcrossReplicas(t *testing.T) {
	store := NewMemoryStore()
	a := newEnv(t, store, func(c *Config) { c.MaxAttempts = 100 })
	b := newEnv(t, store, func(c *Config) { c.MaxAttempts = 100; c.Now = a.clock.Now })
	token, code := a.send(t, "u1", userinfo.ChannelEmail, "a@x.test")
	got := redeemConcurrently([]*Service{a.svc, b.svc}, 50, func(int) userinfo.OTPCheck { return check(token, code) })
	if got["ok"] != 1 || got["bad token"] != 49 {
		t.Errorf("50 concurrent redemptions on two replicas: got %v, want 1 ok and 49 bad token", got)
	}
	// A code issued by one replica is good on the other.
	token, code = a.send(t, "u1", userinfo.ChannelEmail, "a@x.test")
	if err := b.redeem(check(token, code)); err != nil {
		t.Errorf("redemption on the other replica: %v", err)
	}
}

func TestRedeemReplicaWithOtherKeyFails(t *testing.T) {
	store := NewMemoryStore()
	a := newEnv(t, store, nil)
	other := []byte(strings.Repeat("k", MinKeyLen))
	b := newEnv(t, store, func(c *Config) { c.Key = other; c.Now = a.clock.Now })
	token, code := a.send(t, "u1", userinfo.ChannelEmail, "a@x.test")
	if got := outcome(b.redeem(check(token, code))); got != "bad code" {
		t.Errorf("redemption under another key: got %s, want bad code", got)
	}
}

// countingStore counts the compares the service can make: Attempt results
// within the limit.
type countingStore struct {
	Store
	max      int
	compares atomic.Int64
}

func (s *countingStore) Attempt(ctx context.Context, id string, now time.Time) (Record, error) {
	rec, err := s.Store.Attempt(ctx, id, now)
	if err == nil && rec.Attempts <= s.max {
		s.compares.Add(1)
	}
	return rec, err
}

func TestConcurrentWrongGuessesBounded(t *testing.T) {
	store := &countingStore{Store: NewMemoryStore(), max: DefaultMaxAttempts}
	e := newEnv(t, store, nil)
	token, code := e.send(t, "u1", userinfo.ChannelEmail, "a@x.test")
	got := redeemConcurrently([]*Service{e.svc}, 50, func(i int) userinfo.OTPCheck {
		g := fmt.Sprintf("%06d", i)
		if g == code {
			g = "999999"
			if g == code {
				g = "999998"
			}
		}
		return check(token, g)
	})
	if got["bad code"] != DefaultMaxAttempts || got["bad token"] != 50-DefaultMaxAttempts {
		t.Errorf("50 concurrent wrong guesses: got %v, want %d bad code (compared) and the rest bad token",
			got, DefaultMaxAttempts)
	}
	if n := store.compares.Load(); n > DefaultMaxAttempts {
		t.Errorf("%d guesses were within the attempt limit, want at most %d", n, DefaultMaxAttempts)
	}
	if got := outcome(e.redeem(check(token, code))); got != "bad token" {
		t.Errorf("right code after the guesses: got %s, want bad token", got)
	}
}

// failingStore fails every method with err.
type failingStore struct{ err error }

func (s failingStore) Create(context.Context, Record) error { return s.err }
func (s failingStore) Attempt(context.Context, string, time.Time) (Record, error) {
	return Record{}, s.err
}
func (s failingStore) Delete(context.Context, string) (bool, error) { return false, s.err }
func (s failingStore) Refund(context.Context, string) error         { return s.err }
func (s failingStore) Throttle(context.Context, string, time.Time, time.Duration, int) (bool, time.Duration, error) {
	return false, 0, s.err
}
func (s failingStore) Purge(context.Context, time.Time) error { return s.err }

func TestStoreFailure(t *testing.T) {
	boom := errors.New("database is down")
	e := newEnv(t, failingStore{boom}, nil)
	_, err := e.svc.Send(context.Background(), "u1", userinfo.ChannelEmail, "a@x.test", userinfo.PurposeUpdateUserinfo)
	var ue *userinfo.Error
	if !errors.Is(err, boom) || errors.As(err, &ue) {
		t.Errorf("Send on a failing store: got %v, want the store error, not an *Error", err)
	}
	err = e.redeem(check("v2.AAAAAAAAAAAAAAAAAAAAAA", "123456"))
	if !errors.Is(err, boom) || errors.Is(err, userinfo.ErrBadOTPToken) || errors.Is(err, userinfo.ErrBadOTP) {
		t.Errorf("redemption on a failing store: got %v, want the store error", err)
	}
	if !strings.Contains(e.logs.String(), "store failed") {
		t.Errorf("store failures were not logged:\n%s", e.logs.String())
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name                              string
		subject, channel, target, purpose string
		wantStatus                        int
		wantCode                          string
	}{
		{"bad email", "u1", userinfo.ChannelEmail, "not-an-email", userinfo.PurposeUpdateUserinfo, 400, userinfo.CodeMalformedEmail},
		{"empty email", "u1", userinfo.ChannelEmail, "", userinfo.PurposeUpdateUserinfo, 400, userinfo.CodeMalformedEmail},
		{"bad phone, plain checker error", "u1", userinfo.ChannelSMS, "12345", userinfo.PurposeUpdateUserinfo, 400, userinfo.CodeMalformedPhoneNumber},
		{"unknown channel", "u1", "pigeon", "a@x.test", userinfo.PurposeUpdateUserinfo, 400, userinfo.CodeInvalidRequest},
		{"no purpose", "u1", userinfo.ChannelEmail, "a@x.test", "", 400, userinfo.CodeInvalidRequest},
		{"NUL in the address", "u1", userinfo.ChannelEmail, "a@x.test\x00", userinfo.PurposeUpdateUserinfo, 400, userinfo.CodeMalformedEmail},
		{"huge address", "u1", userinfo.ChannelEmail, strings.Repeat("a", 1100) + "@x.test", userinfo.PurposeUpdateUserinfo, 400, userinfo.CodeMalformedEmail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, nil)
			_, err := e.svc.Send(context.Background(), tt.subject, tt.channel, tt.target, tt.purpose)
			var ue *userinfo.Error
			if !errors.As(err, &ue) || ue.Status != tt.wantStatus || ue.Code != tt.wantCode {
				t.Fatalf("Send: got %v, want %d %s", err, tt.wantStatus, tt.wantCode)
			}
			if n := len(e.sender.Messages()); n != 0 {
				t.Errorf("the sender got %d messages, want none", n)
			}
		})
	}
	e := newEnv(t, nil, nil)
	for _, subject := range []string{"", "u\x00", "\xff"} {
		_, err := e.svc.Send(context.Background(), subject, userinfo.ChannelEmail, "a@x.test", userinfo.PurposeUpdateUserinfo)
		var ue *userinfo.Error
		if err == nil || errors.As(err, &ue) {
			t.Errorf("Send with subject %q: got %v, want a server error", subject, err)
		}
	}
}

func TestSendFailureWithdrawsCode(t *testing.T) {
	store := NewMemoryStore()
	e := newEnv(t, store, nil)
	var sentCode, sentToken string
	e.svc.cfg.Sender = SenderFunc(func(ctx context.Context, m Message) error {
		sentCode, sentToken = m.Code, m.Token
		// A careless gateway quoting its request in the error.
		return fmt.Errorf("gateway said 502 to {to:%q, text:%q, token:%q}", m.Target, "Your code is "+m.Code, m.Token)
	})
	_, err := e.svc.Send(context.Background(), "u1", userinfo.ChannelEmail, "a@x.test", userinfo.PurposeUpdateUserinfo)
	var ue *userinfo.Error
	if !errors.As(err, &ue) || ue.Status != http.StatusServiceUnavailable || ue.Code != userinfo.CodeTemporarilyUnavailable ||
		ue.Description != "Failed to send OTP. Please try again later." {
		t.Fatalf("Send with a failing sender: got %v, want 503 temporarily_unavailable", err)
	}
	if strings.Contains(err.Error(), sentCode) || strings.Contains(err.Error(), sentToken) {
		t.Errorf("the error text shows the code or token: %v", err)
	}
	checkLogs(t, e.logs.String(), []Message{{Code: sentCode, Token: sentToken}})
	raw, _ := parseToken(sentToken)
	if _, err := store.Attempt(context.Background(), recordID(raw), e.clock.Now()); !errors.Is(err, ErrNotFound) {
		t.Errorf("the undelivered code is still in the store: Attempt: %v", err)
	}
}

func TestPurge(t *testing.T) {
	store := NewMemoryStore()
	e := newEnv(t, store, func(c *Config) { c.PurgeEvery = -1 })
	e.send(t, "u1", userinfo.ChannelEmail, "a@x.test")
	e.clock.Advance(DefaultWindow)
	if err := e.svc.Purge(context.Background()); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if len(store.records) != 0 || len(store.sends) != 0 {
		t.Errorf("after Purge: %d records and %d throttle keys, want none", len(store.records), len(store.sends))
	}
}

func TestNotify(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.svc.NotifyOnUpdate(context.Background(), userinfo.UpdateEvent{
		Subject:  "u1",
		Set:      map[string]any{"email": "new@x.test", "phone_number": "13600000000", "nickname": "N"},
		Previous: map[string]any{"email": "old@x.test", "phone_number": "13600000000", "nickname": "O"},
	})
	e.svc.NotifyOnUpdate(context.Background(), userinfo.UpdateEvent{
		Subject:  "u2",
		Set:      map[string]any{"email": "Same@X.test", "phone_number": "13611111111"},
		Previous: map[string]any{"email": "same@x.test"}, // no previous phone number
	})
	msgs := e.sender.Messages()
	want := Message{Kind: KindNotice, Channel: userinfo.ChannelEmail, Target: "old@x.test", Subject: "u1",
		Purpose: userinfo.PurposeUpdateUserinfo}
	if len(msgs) != 1 || msgs[0] != want {
		t.Errorf("notices: got %v, want only %v", msgs, want)
	}
	if err := e.svc.NotifyChanged(context.Background(), "u1", userinfo.ChannelSMS, ""); err != nil || len(e.sender.Messages()) != 1 {
		t.Errorf("NotifyChanged without a previous address: err %v, sent %d", err, len(e.sender.Messages())-1)
	}
}

func TestSendWithRegistry(t *testing.T) {
	reg, err := userinfo.NewRegistry(userinfo.RegistryConfig{Phone: userinfo.PhonePolicy{Regions: []string{userinfo.AnyPhoneRegion}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, body string
		wantStatus int
		wantBody   string
	}{
		{"good email", `{"usage":"update_userinfo","email":"a@x.test"}`, 200, ""},
		{"good phone", `{"usage":"update_userinfo","phone_number":"+8613612345678"}`, 200, ""},
		{"bad email", `{"usage":"update_userinfo","email":"a@"}`, 400, errBody("malformed_email", "")},
		{"phone the registry refuses", `{"usage":"update_userinfo","phone_number":"13612345678"}`, 400, errBody("malformed_phone_number", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, func(c *Config) { c.Registry = reg })
			w := e.post(t, "u1", jsonType, tt.body)
			if w.Code != tt.wantStatus || (tt.wantBody != "" && w.Body.String() != tt.wantBody) {
				t.Errorf("got %d %s, want %d %s", w.Code, w.Body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

// TestLogs runs every path that logs and checks that the logs say something
// useful and hold no code or otp_token (newEnv checks the latter for every
// test).
func TestLogs(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, func(c *Config) { c.TargetLimit = 2 })
	token, code := e.send(t, "u1", userinfo.ChannelEmail, "a@x.test")
	e.redeem(userinfo.OTPCheck{Subject: "u2", Channel: userinfo.ChannelEmail, Target: "a@x.test",
		Purpose: userinfo.PurposeUpdateUserinfo, Token: token, Code: code})
	for range DefaultMaxAttempts {
		e.redeem(check(token, wrongCode(code)))
	}
	e.send(t, "u1", userinfo.ChannelEmail, "a@x.test")
	e.svc.Send(ctx, "u1", userinfo.ChannelEmail, "a@x.test", userinfo.PurposeUpdateUserinfo) // throttled
	var leaked Message
	e.svc.cfg.Sender = SenderFunc(func(ctx context.Context, m Message) error {
		leaked = m
		return fmt.Errorf("rejected %s for %s", m.Code, m.Token)
	})
	e.svc.Send(ctx, "u1", userinfo.ChannelSMS, "13612345678", userinfo.PurposeUpdateUserinfo)
	logs := e.logs.String()
	for _, want := range []string{"not issued for", "dead after too many wrong codes", "send throttled",
		"sender failed", "[REDACTED]", "code sent"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the logs do not say %q:\n%s", want, logs)
		}
	}
	checkLogs(t, logs, []Message{leaked})
	for _, addr := range []string{"a@x.test", "13612345678"} {
		if strings.Contains(logs, addr) {
			t.Errorf("the logs show the address %s:\n%s", addr, logs)
		}
	}
}

// With Config.Users, a send for a subject that no longer exists is 404:
// nothing is sent and nothing counted.
func TestSendUnknownUser(t *testing.T) {
	users := userinfo.NewMemoryStore()
	if _, err := users.Put(context.Background(), "u1", map[string]any{"nickname": "one"}); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, nil, func(c *Config) { c.Users = users; c.TargetLimit = 1 })
	for range 3 {
		w := e.post(t, "ghost", jsonType, `{"usage":"update_userinfo","email":"a@x.test"}`)
		if w.Code != 404 || w.Body.String() != errBody("user_not_found", "The user of the access token does not exist.") {
			t.Fatalf("ghost: %d %s, want 404 user_not_found", w.Code, w.Body)
		}
	}
	if n := len(e.sender.Messages()); n != 0 {
		t.Fatalf("%d codes sent for a user that does not exist", n)
	}
	// Nothing was counted against the address: u1 may still send to it.
	if w := e.post(t, "u1", jsonType, `{"usage":"update_userinfo","email":"a@x.test"}`); w.Code != 200 {
		t.Errorf("u1 after the refusals: %d %s", w.Code, w.Body)
	}
}
