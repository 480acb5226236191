package userinfo

import (
	"bytes"
	"context"
	"fmt"
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

// If-Match: * is true whenever the user exists (RFC 9110 §13.1.1): a write
// raced by another one, and concurrent writers, all succeed.
func TestPatchIfMatchStar(t *testing.T) {
	hs := newHarness(t)
	hs.h.store = &racingStore{UserStore: hs.mem, other: Update{Subject: "u1", Set: map[string]any{"nickname": "between"}, Now: testNow}}
	r := newRequest(http.MethodPatch, "tok-u1", `{"nickname":"final"}`)
	r.Header.Set("If-Match", "*")
	if w := hs.serve(r); w.Code != http.StatusOK {
		t.Fatalf("raced write with If-Match *: %d %s", w.Code, w.Body.String())
	}
	hs.h.store = hs.mem
	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range codes {
		wg.Go(func() {
			r := newRequest(http.MethodPatch, "tok-u1", fmt.Sprintf(`{"nickname":"w%d"}`, i))
			r.Header.Set("If-Match", "*")
			codes[i] = hs.serve(r).Code
		})
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("concurrent PATCH %d with If-Match *: %d, want 200", i, c)
		}
	}
	r = newRequest(http.MethodPatch, "tok-ghost", `{"nickname":"x"}`)
	r.Header.Set("If-Match", "*")
	checkError(t, hs.serve(r), http.StatusNotFound, CodeUserNotFound, "*")
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
	hs.h.otp = OTPVerifierFunc(func(c context.Context, check OTPCheck) (Redemption, error) {
		r, err := hs.otp.CheckOTP(c, check)
		if err != nil {
			return nil, err
		}
		return RedemptionFunc(func(c context.Context) error {
			err := r.Redeem(c)
			cancel() // the client disconnects right after the code was spent
			return err
		}), nil
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
	hs.h.otp = OTPVerifierFunc(func(_ context.Context, c OTPCheck) (Redemption, error) {
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

// storeKinds are the two ways the handler hands codes to the write: a
// RedeemingStore (the MemoryStore) spends them itself, any other store
// (failingStore hides the optional interface) gets them spent before.
var storeKinds = []struct {
	name      string
	redeeming bool
}{
	{"RedeemingStore", true},
	{"plain UserStore", false},
}

func newStoreHarness(t *testing.T, redeeming bool) *harness {
	t.Helper()
	hs := newHarness(t)
	if redeeming {
		hs.h.store = hs.mem
	}
	if _, ok := hs.h.store.(RedeemingStore); ok != redeeming {
		t.Fatalf("store is a RedeemingStore: %v, want %v", ok, redeeming)
	}
	return hs
}

// A right code beside a wrong one spends neither, in either order, and
// writes nothing; the wrong code counts at once.
func TestTwoCodesOneWrong(t *testing.T) {
	const (
		newPhone = "+8613700000001"
		newEmail = "new@example.com"
	)
	tests := []struct {
		name                  string
		phoneCode, emailCode  string
		wantCode              string
		wantPhoneT, wantEmail bool // still redeemable afterwards
	}{
		{"right SMS code, wrong email code", "111111", "000000", CodeBadEmailOTP, true, true},
		{"wrong SMS code, right email code", "000000", "222222", CodeBadPhoneNumberOTP, true, true},
	}
	for _, kind := range storeKinds {
		for _, tt := range tests {
			t.Run(kind.name+"/"+tt.name, func(t *testing.T) {
				hs := newStoreHarness(t, kind.redeeming)
				hs.otp.issue("t-sms", issuedOTP{"u1", ChannelSMS, newPhone, "111111"})
				hs.otp.issue("t-mail", issuedOTP{"u1", ChannelEmail, newEmail, "222222"})
				before := hs.user(t, "u1")
				body := `{"phone_number":"` + newPhone + `","phone_number_otp_token":"t-sms","phone_number_otp":"` + tt.phoneCode +
					`","email":"` + newEmail + `","email_otp_token":"t-mail","email_otp":"` + tt.emailCode + `","nickname":"x"}`
				w := hs.serve(newRequest(http.MethodPatch, "tok-u1", body))
				checkError(t, w, 400, tt.wantCode, "")
				if !hs.otp.redeemable("t-sms") || !hs.otp.redeemable("t-mail") {
					t.Errorf("redeemable afterwards: sms %v, email %v; want both", hs.otp.redeemable("t-sms"), hs.otp.redeemable("t-mail"))
				}
				if hs.otp.wrong != 1 {
					t.Errorf("wrong codes counted: %d, want 1", hs.otp.wrong)
				}
				if after := hs.user(t, "u1"); after.Version != before.Version {
					t.Errorf("user written: version %d → %d", before.Version, after.Version)
				}
				// Both right: both spent, one write.
				body = `{"phone_number":"` + newPhone + `","phone_number_otp_token":"t-sms","phone_number_otp":"111111",` +
					`"email":"` + newEmail + `","email_otp_token":"t-mail","email_otp":"222222"}`
				if w := hs.serve(newRequest(http.MethodPatch, "tok-u1", body)); w.Code != http.StatusOK {
					t.Fatalf("both right: %d %s", w.Code, w.Body.String())
				}
				if hs.otp.redeemable("t-sms") || hs.otp.redeemable("t-mail") {
					t.Error("a code is still redeemable after the change it paid for")
				}
				u := hs.user(t, "u1")
				if u.Attributes["phone_number"] != newPhone || u.Attributes["email"] != newEmail ||
					u.Attributes["phone_number_verified"] != true || u.Attributes["email_verified"] != true {
					t.Errorf("stored %v", u.Attributes)
				}
			})
		}
	}
}

// A code spent by another request between the check and the write is
// answered bad_*_otp_token, with nothing written.
func TestCodeSpentBetweenCheckAndWrite(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			hs := newStoreHarness(t, kind.redeeming)
			hs.h.otp = OTPVerifierFunc(func(context.Context, OTPCheck) (Redemption, error) {
				return RedemptionFunc(func(context.Context) error { return fmt.Errorf("spent concurrently: %w", ErrBadOTPToken) }), nil
			})
			before := hs.user(t, "u1")
			w := hs.serve(newRequest(http.MethodPatch, "tok-u1", `{"email":"new@example.com","email_otp_token":"t","email_otp":"1","nickname":"x"}`))
			checkError(t, w, 400, CodeBadEmailOTPToken, "")
			if after := hs.user(t, "u1"); after.Version != before.Version {
				t.Errorf("user written: version %d → %d", before.Version, after.Version)
			}
		})
	}
}

// With a RedeemingStore, a write refused for a duplicate address leaves the
// code redeemable; the code is spent with the write that succeeds.
func TestDuplicateLeavesCodeWithRedeemingStore(t *testing.T) {
	hs := newStoreHarness(t, true)
	hs.otp.issue("t-dup", issuedOTP{"u1", ChannelEmail, "two@example.com", "333333"})
	w := hs.serve(newRequest(http.MethodPatch, "tok-u1", `{"email":"two@example.com","email_otp_token":"t-dup","email_otp":"333333"}`))
	checkError(t, w, 400, CodeDuplicateEmail, "")
	if !hs.otp.redeemable("t-dup") {
		t.Error("the code was spent by a write that was refused")
	}
}

// The current value with a code: the code is checked and spent, even though
// nothing changes.
func TestCurrentValueWithCodeSpendsIt(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			hs := newStoreHarness(t, kind.redeeming)
			hs.otp.issue("t-same", issuedOTP{"u1", ChannelEmail, "one@example.com", "444444"})
			w := hs.serve(newRequest(http.MethodPatch, "tok-u1", `{"email":"one@example.com","email_otp_token":"t-same","email_otp":"444444"}`))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body.String())
			}
			if hs.otp.redeemable("t-same") {
				t.Error("the code is still redeemable")
			}
		})
	}
}
