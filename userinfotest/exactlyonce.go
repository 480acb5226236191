package userinfotest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/otp"
)

// MakeCodeStores returns a new, empty user store and the OTP store that the
// server's otp.Service keeps its codes in: for the SQL stores, a store s and
// s.OTP().
type MakeCodeStores func(t testing.TB) (Store, otp.Store)

// TestExactlyOnce checks that a [userinfo.RedeemingStore] spends the codes
// of an otp.Service on its OTP store exactly when the change they pay for is
// stored: a write refused for a version conflict, a duplicate address or a
// missing user, or one whose context has ended, leaves every code
// redeemable; a stored write has spent them all; of two codes of one write
// either both are spent or neither; of concurrent writes paid by one code
// exactly one is stored. A store that does not share a transaction with
// the OTP store passes when it spends the codes after its checks and
// restores them (see [userinfo.RedeemAll]) when one cannot be spent.
//
// Typical usage, with stores of the test's own:
//
//	func TestExactlyOnce(t *testing.T) {
//		userinfotest.TestExactlyOnce(t, func(t testing.TB) (userinfotest.Store, otp.Store) {
//			s := openStore(t)
//			return s, s.OTP()
//		})
//	}
func TestExactlyOnce(t *testing.T, newStores MakeCodeStores) {
	t.Helper()
	testExactlyOnce(realT{t}, newStores)
}

// codeEnv is one user store with an otp.Service on its OTP store.
type codeEnv struct {
	users  userinfo.RedeemingStore
	store  Store
	svc    *otp.Service
	sender *otp.RecordingSender
}

// codeChecks are the subtests of TestExactlyOnce.
var codeChecks = []struct {
	name string
	f    func(t tester, ctx context.Context, e *codeEnv)
}{
	{"RefusedWritesLeaveCodes", checkRefusedWritesLeaveCodes},
	{"StoredWriteSpendsCode", checkStoredWriteSpendsCode},
	{"TwoCodesTogether", checkTwoCodesTogether},
	{"ConcurrentWritesOneCode", checkConcurrentWritesOneCode},
}

func testExactlyOnce(t tester, newStores MakeCodeStores, names ...string) {
	t.Helper()
	for _, c := range codeChecks {
		if !only(names, c.name) {
			continue
		}
		subtest(t, c.name, func(t tester, ctx context.Context) {
			users, codes := newStores(t)
			rs, ok := users.(userinfo.RedeemingStore)
			if !ok {
				t.Fatalf("userinfotest.TestExactlyOnce: %T is not a userinfo.RedeemingStore", users)
			}
			reg, err := userinfo.NewRegistry(userinfo.RegistryConfig{})
			if err != nil {
				t.Fatal(err)
			}
			sender := &otp.RecordingSender{}
			svc, err := otp.New(otp.Config{Store: codes, Sender: sender, Registry: reg, Key: otp.GenerateKey(),
				MaxAttempts: 100, PurgeEvery: -1})
			if err != nil {
				t.Fatal(err)
			}
			c.f(t, ctx, &codeEnv{users: rs, store: users, svc: svc, sender: sender})
		})
	}
}

// send sends a code to subject for target and returns it, as the PATCH
// paying with it presents it.
func (e *codeEnv) send(t tester, ctx context.Context, subject, channel, target string) userinfo.OTPCheck {
	t.Helper()
	token, err := e.svc.Send(ctx, subject, channel, target, userinfo.PurposeUpdateUserinfo)
	if err != nil {
		t.Fatalf("otp.Service.Send(%s, %s): %v", subject, channel, err)
	}
	m, _ := e.sender.Last()
	return userinfo.OTPCheck{Subject: subject, Channel: channel, Target: target,
		Purpose: userinfo.PurposeUpdateUserinfo, Token: token, Code: m.Code}
}

// redemption checks c, which must be good, and returns its redemption.
func (e *codeEnv) redemption(t tester, ctx context.Context, c userinfo.OTPCheck, why string) userinfo.Redemption {
	t.Helper()
	r, err := e.svc.CheckOTP(ctx, c)
	if err != nil {
		t.Fatalf("CheckOTP of the %s code %s: %v; want it redeemable", c.Channel, why, err)
	}
	return r
}

// spent checks that c can no longer be redeemed.
func (e *codeEnv) spent(t tester, ctx context.Context, c userinfo.OTPCheck, why string) {
	t.Helper()
	if _, err := e.svc.CheckOTP(ctx, c); !errors.Is(err, userinfo.ErrBadOTPToken) {
		t.Errorf("CheckOTP of the %s code %s: got %v, want ErrBadOTPToken: the code must be spent", c.Channel, why, err)
	}
}

func checkRefusedWritesLeaveCodes(t tester, ctx context.Context, e *codeEnv) {
	u1 := seed(t, ctx, e.store, "u1", baseAttrs(1))
	seed(t, ctx, e.store, "u2", baseAttrs(2))
	code := e.send(t, ctx, "u1", userinfo.ChannelEmail, "new1@example.test")
	ended, cancel := context.WithCancel(ctx)
	cancel()
	refused := []struct {
		why  string
		ctx  context.Context
		up   userinfo.Update
		want error
	}{
		{"a stale IfVersion", ctx, userinfo.Update{Subject: "u1", IfVersion: u1.Version + 1000,
			Set: map[string]any{"email": "new1@example.test"}, Now: time1}, userinfo.ErrVersionConflict},
		{"another user's email", ctx, userinfo.Update{Subject: "u1",
			Set: map[string]any{"email": "USER2@example.test"}, Now: time1}, userinfo.ErrDuplicateEmail},
		{"a missing user", ctx, userinfo.Update{Subject: "nobody",
			Set: map[string]any{"email": "new1@example.test"}, Now: time1}, userinfo.ErrUserNotFound},
		{"a context that has ended", ended, userinfo.Update{Subject: "u1",
			Set: map[string]any{"email": "new1@example.test"}, Now: time1}, context.Canceled},
	}
	for _, tt := range refused {
		r := e.redemption(t, ctx, code, "before a write refused with "+tt.why)
		_, err := e.users.UpdateUserRedeeming(tt.ctx, tt.up, []userinfo.Redemption{r})
		wantErr(t, "UpdateUserRedeeming(ctx, "+show(tt.up.Set)+") with "+tt.why, err, tt.want)
		unchanged(t, ctx, e.store, u1, "UpdateUserRedeeming with "+tt.why)
	}
	r := e.redemption(t, ctx, code, "after every refused write")
	after, err := e.users.UpdateUserRedeeming(ctx, userinfo.Update{Subject: "u1",
		Set: map[string]any{"email": "new1@example.test"}, Now: time2}, []userinfo.Redemption{r})
	if err != nil {
		t.Fatalf("UpdateUserRedeeming with the code that the refused writes left: %v", err)
	}
	matches(t, ctx, e.store, after)
	e.spent(t, ctx, code, "after the write it paid for")
}

func checkStoredWriteSpendsCode(t tester, ctx context.Context, e *codeEnv) {
	u1 := seed(t, ctx, e.store, "u1", baseAttrs(1))
	code := e.send(t, ctx, "u1", userinfo.ChannelEmail, "new1@example.test")
	first := e.redemption(t, ctx, code, "before the first write")
	second := e.redemption(t, ctx, code, "checked again before the first write")
	set := map[string]any{"email": "new1@example.test"}
	after, err := e.users.UpdateUserRedeeming(ctx, userinfo.Update{Subject: "u1", Set: set, Now: time1}, []userinfo.Redemption{first})
	if err != nil {
		t.Fatalf("UpdateUserRedeeming(ctx, %s): %v", show(set), err)
	}
	checkUser(t, "UpdateUserRedeeming", after, "u1", with(u1.Attributes, set))
	matches(t, ctx, e.store, after)
	e.spent(t, ctx, code, "after the write it paid for")

	// A redemption checked before the write cannot pay for another one.
	_, err = e.users.UpdateUserRedeeming(ctx, userinfo.Update{Subject: "u1",
		Set: map[string]any{"nickname": "Again"}, Now: time2}, []userinfo.Redemption{second})
	wantErr(t, "UpdateUserRedeeming with a second redemption of the spent code", err, userinfo.ErrBadOTPToken)
	unchanged(t, ctx, e.store, after, "UpdateUserRedeeming with a spent code")
}

func checkTwoCodesTogether(t tester, ctx context.Context, e *codeEnv) {
	u1 := seed(t, ctx, e.store, "u1", baseAttrs(1))
	set := map[string]any{"email": "new1@example.test", "phone_number": "+8613912345678"}
	email := e.send(t, ctx, "u1", userinfo.ChannelEmail, "new1@example.test")
	phone := e.send(t, ctx, "u1", userinfo.ChannelSMS, "+8613912345678")

	// The phone code is spent elsewhere between the check and the write:
	// the write is refused and the email code stays redeemable.
	re := e.redemption(t, ctx, email, "before the write")
	rp := e.redemption(t, ctx, phone, "before the write")
	if err := e.redemption(t, ctx, phone, "spent by another request").Redeem(ctx); err != nil {
		t.Fatalf("Redeem of the phone code by another request: %v", err)
	}
	_, err := e.users.UpdateUserRedeeming(ctx, userinfo.Update{Subject: "u1", Set: set, Now: time1}, []userinfo.Redemption{re, rp})
	wantErr(t, "UpdateUserRedeeming with an email code and a spent phone code", err, userinfo.ErrBadOTPToken)
	unchanged(t, ctx, e.store, u1, "UpdateUserRedeeming with a spent phone code")

	phone = e.send(t, ctx, "u1", userinfo.ChannelSMS, "+8613912345678")
	re = e.redemption(t, ctx, email, "after a write refused for the other code")
	rp = e.redemption(t, ctx, phone, "sent again")
	after, err := e.users.UpdateUserRedeeming(ctx, userinfo.Update{Subject: "u1", Set: set, Now: time2}, []userinfo.Redemption{re, rp})
	if err != nil {
		t.Fatalf("UpdateUserRedeeming(ctx, %s) with two good codes: %v", show(set), err)
	}
	matches(t, ctx, e.store, after)
	e.spent(t, ctx, email, "after the write it paid for")
	e.spent(t, ctx, phone, "after the write it paid for")
}

func checkConcurrentWritesOneCode(t tester, ctx context.Context, e *codeEnv) {
	seed(t, ctx, e.store, "u1", baseAttrs(1))
	code := e.send(t, ctx, "u1", userinfo.ChannelEmail, "new1@example.test")
	const n = 8
	rs := make([]userinfo.Redemption, n)
	for i := range rs {
		rs[i] = e.redemption(t, ctx, code, "before the concurrent writes")
	}
	var (
		mu      sync.Mutex
		winners []int
	)
	gate(n, func(i int) {
		_, err := e.users.UpdateUserRedeeming(ctx, userinfo.Update{Subject: "u1",
			Set: map[string]any{"email": "new1@example.test", "nickname": fmt.Sprint("writer ", i)}, Now: time1},
			[]userinfo.Redemption{rs[i]})
		switch {
		case err == nil:
			mu.Lock()
			winners = append(winners, i)
			mu.Unlock()
		case !errors.Is(err, userinfo.ErrBadOTPToken):
			t.Errorf("UpdateUserRedeeming %d of %d paid by one code: %v, want nil or ErrBadOTPToken", i, n, err)
		}
	})
	if len(winners) != 1 {
		t.Fatalf("%d concurrent writes paid by one code: %d stored (writers %v), want exactly 1", n, len(winners), winners)
	}
	u, err := e.store.GetUser(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprint("writer ", winners[0]); u.Attributes["nickname"] != want {
		t.Errorf("after concurrent writes paid by one code: nickname %v, want %q (the one write that was stored)", u.Attributes["nickname"], want)
	}
	e.spent(t, ctx, code, "after the concurrent writes")
}
