package userinfo

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// racingStore lets another writer change the user between the handler's
// read and its write, once.
type racingStore struct {
	UserStore
	once  sync.Once
	other Update
}

func (s *racingStore) UpdateUser(ctx context.Context, u Update) (*User, error) {
	s.once.Do(func() {
		if _, err := s.UserStore.UpdateUser(ctx, s.other); err != nil {
			panic(err)
		}
	})
	return s.UserStore.UpdateUser(ctx, u)
}

// A write raced by another one still reports, as previous values, the ones
// it replaced: the OTP notice must go to the address actually replaced.
func TestPatchPreviousIsWhatTheWriteReplaced(t *testing.T) {
	hs := newHarness(t)
	hs.h.store = &racingStore{UserStore: hs.mem, other: Update{Subject: "u1", Set: map[string]any{"nickname": "between"}, Now: testNow}}
	w := hs.serve(newRequest(http.MethodPatch, "tok-u1", `{"nickname":"final"}`))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	if got := hs.user(t, "u1").Attributes["nickname"]; got != "final" {
		t.Errorf("stored nickname = %v, want final", got)
	}
	if len(hs.audit) != 1 || hs.audit[0].Previous["nickname"] != "between" {
		t.Errorf("OnUpdate events = %+v, want one with previous nickname %q", hs.audit, "between")
	}
}

// With the client's If-Match, a write raced by another one is refused.
func TestPatchIfMatchRaced(t *testing.T) {
	hs := newHarness(t)
	hs.h.store = &racingStore{UserStore: hs.mem, other: Update{Subject: "u1", Set: map[string]any{"nickname": "between"}, Now: testNow}}
	r := newRequest(http.MethodPatch, "tok-u1", `{"nickname":"final"}`)
	r.Header.Set("If-Match", etag(hs.user(t, "u1").Version))
	w := hs.serve(r)
	checkError(t, w, http.StatusPreconditionFailed, CodePreconditionFailed, "*")
	if got := hs.user(t, "u1").Attributes["nickname"]; got != "between" {
		t.Errorf("stored nickname = %v, want the other writer's", got)
	}
}

// A panic in OnUpdate comes after the write: the answer is still 200.
func TestPatchOnUpdatePanics(t *testing.T) {
	var logs bytes.Buffer
	hs := newHarness(t, func(c *Config) {
		c.OnUpdate = func(context.Context, UpdateEvent) { panic("webhook down") }
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	w := hs.serve(newRequest(http.MethodPatch, "tok-u1", `{"nickname":"changed"}`))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	if got := hs.user(t, "u1").Attributes["nickname"]; got != "changed" {
		t.Errorf("stored nickname = %v", got)
	}
	if !strings.Contains(logs.String(), "OnUpdate panicked") {
		t.Errorf("log does not say that OnUpdate panicked: %s", logs.String())
	}
}

// A client that goes away once its code is spent still gets its change.
func TestPatchSurvivesCancelAfterCode(t *testing.T) {
	hs := newHarness(t)
	hs.otp.issue("t-new", issuedOTP{"u1", ChannelEmail, "new@example.com", "111111"})
	ctx, cancel := context.WithCancel(context.Background())
	hs.h.otp = OTPVerifierFunc(func(c context.Context, check OTPCheck) error {
		err := hs.otp.RedeemOTP(c, check)
		cancel() // the client disconnects right after the code was spent
		return err
	})
	r := newRequest(http.MethodPatch, "tok-u1", `{"email":"new@example.com","email_otp_token":"t-new","email_otp":"111111"}`).WithContext(ctx)
	w := hs.serve(r)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	if got := hs.user(t, "u1").Attributes["email"]; got != "new@example.com" {
		t.Errorf("stored email = %v, want new@example.com", got)
	}
}

// No token, otp_token or code reaches the log, whatever fails.
func TestLogsHoldNoSecrets(t *testing.T) {
	var logs bytes.Buffer
	hs := newHarness(t, func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	const body = `{"email":"new@example.com","email_otp_token":"t-secret-token","email_otp":"987654"}`
	// A plug-in that panics with the secrets in its value.
	hs.h.otp = OTPVerifierFunc(func(_ context.Context, c OTPCheck) error {
		panic("cannot redeem " + c.Token + " " + c.Code)
	})
	checkError(t, hs.serve(newRequest(http.MethodPatch, "tok-u1", body)), 500, CodeServerError, "*")
	// A failing OTP service and a failing store.
	hs.h.otp = hs.otp
	hs.otp.failOn = "t-secret-token"
	checkError(t, hs.serve(newRequest(http.MethodPatch, "tok-u1", body)), 500, CodeServerError, "*")
	hs.store.failGet = true
	checkError(t, hs.serve(newRequest(http.MethodPatch, "tok-u1", body)), 500, CodeServerError, "*")
	if logs.Len() == 0 {
		t.Fatal("nothing was logged for three server errors")
	}
	for _, secret := range []string{"tok-u1", "t-secret-token", "987654"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs.String())
		}
	}
}
