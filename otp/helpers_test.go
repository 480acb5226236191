package otp

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
)

// fakeClock is a settable clock; tests never sleep.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testRegistry is the registry of the standard claims: the rules of PATCH
// /userinfo for addresses.
var testRegistry = func() *userinfo.Registry {
	r, err := userinfo.NewRegistry(userinfo.RegistryConfig{})
	if err != nil {
		panic(err)
	}
	return r
}()

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// env is a service under test with its parts.
type env struct {
	svc    *Service
	store  Store
	sender *RecordingSender
	clock  *fakeClock
	logs   *syncBuffer
}

var testKey = bytes.Repeat([]byte{0x42}, MinKeyLen)

// newEnv returns a service on store (a fresh MemoryStore when nil) whose log
// output, at debug level, is checked at the end of the test for every code
// and otp_token that the sender saw.
func newEnv(t *testing.T, store Store, edit func(*Config)) *env {
	t.Helper()
	if store == nil {
		store = NewMemoryStore()
	}
	e := &env{store: store, sender: &RecordingSender{}, clock: newFakeClock(), logs: &syncBuffer{}}
	cfg := Config{
		Store:    store,
		Sender:   e.sender,
		Registry: testRegistry,
		Key:      testKey,
		Now:      e.clock.Now,
		Logger:   newTestLogger(e.logs),
	}
	if edit != nil {
		edit(&cfg)
	}
	svc, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.svc = svc
	t.Cleanup(func() { checkLogs(t, e.logs.String(), e.sender.Messages()) })
	return e
}

func newTestLogger(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		// Drop the wall-clock time: its digits could match a code by chance.
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// checkLogs fails when a code or otp_token of msgs appears in logs.
func checkLogs(t *testing.T, logs string, msgs []Message) {
	t.Helper()
	for _, m := range msgs {
		if m.Code != "" && strings.Contains(logs, m.Code) {
			t.Errorf("a code appears in the logs:\n%s", logs)
		}
		if m.Token != "" && strings.Contains(logs, m.Token) {
			t.Errorf("an otp_token appears in the logs:\n%s", logs)
		}
		if m.Token != "" {
			raw, err := parseToken(m.Token)
			if err == nil && strings.Contains(logs, recordID(raw)) {
				t.Errorf("a record ID appears in the logs:\n%s", logs)
			}
		}
	}
}

// send issues a code and returns its token and the code the sender got.
func (e *env) send(t *testing.T, subject, channel, target string) (token, code string) {
	t.Helper()
	token, err := e.svc.Send(context.Background(), subject, channel, target, userinfo.PurposeUpdateUserinfo)
	if err != nil {
		t.Fatalf("Send(%q, %q, %q): %v", subject, channel, target, err)
	}
	m, ok := e.sender.Last()
	if !ok || m.Token != token || m.Kind != KindCode {
		t.Fatalf("Send: the sender got %v, want the code of the returned token", m)
	}
	return token, m.Code
}

// check is the OTPCheck of a code sent to u1 at a@x.test.
func check(token, code string) userinfo.OTPCheck {
	return userinfo.OTPCheck{Subject: "u1", Channel: userinfo.ChannelEmail, Target: "a@x.test",
		Purpose: userinfo.PurposeUpdateUserinfo, Token: token, Code: code}
}

// wrongCode returns a well-formed code other than code.
func wrongCode(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

// redeem checks c and, when it is good, spends it at once, as the handler
// does for a store that is not a userinfo.RedeemingStore.
func (e *env) redeem(c userinfo.OTPCheck) error { return redeemOTP(e.svc, c) }

func redeemOTP(svc *Service, c userinfo.OTPCheck) error {
	r, err := svc.CheckOTP(context.Background(), c)
	if err != nil {
		return err
	}
	return r.Redeem(context.Background())
}

// outcome names the result of a redemption for tables.
func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, userinfo.ErrBadOTPToken):
		return "bad token"
	case errors.Is(err, userinfo.ErrBadOTP):
		return "bad code"
	default:
		return "error: " + err.Error()
	}
}
