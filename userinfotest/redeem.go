package userinfotest

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/ciamkit/userinfo"
)

// countingRedemption is a userinfo.Redemption that counts its calls and
// fails with err, if set. It belongs to no OTP service, so a store that
// shares a transaction with its OTP service's store must treat it as a
// foreign one and call it.
type countingRedemption struct {
	calls atomic.Int32
	err   error
}

func (r *countingRedemption) Redeem(context.Context) error {
	r.calls.Add(1)
	return r.err
}

// checkRedemptions checks the optional [userinfo.RedeemingStore]: the codes
// are spent exactly once with a write that succeeds, never by a write that
// is refused, and a code that cannot be spent refuses the write. A store
// without the interface passes.
func checkRedemptions(t tester, ctx context.Context, s Store) {
	rs, ok := s.(userinfo.RedeemingStore)
	if !ok {
		t.Log("not a userinfo.RedeemingStore: nothing to check")
		return
	}
	u1 := seed(t, ctx, s, "u1", baseAttrs(1))
	u2 := seed(t, ctx, s, "u2", baseAttrs(2))
	fresh := func(err error) (*countingRedemption, *countingRedemption, []userinfo.Redemption) {
		a, b := &countingRedemption{}, &countingRedemption{err: err}
		return a, b, []userinfo.Redemption{a, b}
	}
	calls := func(a, b *countingRedemption) [2]int32 { return [2]int32{a.calls.Load(), b.calls.Load()} }

	// Refused writes spend nothing.
	refused := []struct {
		why  string
		up   userinfo.Update
		want error
	}{
		{"a stale IfVersion", userinfo.Update{Subject: "u1", IfVersion: u1.Version + 1000,
			Set: map[string]any{"email": "new1@example.test"}, Now: time1}, userinfo.ErrVersionConflict},
		{"another user's email", userinfo.Update{Subject: "u1",
			Set: map[string]any{"email": "USER2@example.test"}, Now: time1}, userinfo.ErrDuplicateEmail},
		{"another user's phone number", userinfo.Update{Subject: "u1",
			Set: map[string]any{"phone_number": u2.Attributes["phone_number"]}, Now: time1}, userinfo.ErrDuplicatePhoneNumber},
		{"a missing user", userinfo.Update{Subject: "nobody",
			Set: map[string]any{"email": "new1@example.test"}, Now: time1}, userinfo.ErrUserNotFound},
	}
	for _, tt := range refused {
		a, b, list := fresh(nil)
		_, err := rs.UpdateUserRedeeming(ctx, tt.up, list)
		wantErr(t, "UpdateUserRedeeming(ctx, "+show(tt.up.Set)+") with "+tt.why, err, tt.want)
		if got := calls(a, b); got != [2]int32{0, 0} {
			t.Errorf("UpdateUserRedeeming with %s: redemptions called %v times, want none: a refused write must not spend codes", tt.why, got)
		}
	}
	unchanged(t, ctx, s, u1, "after refused UpdateUserRedeeming calls")

	// A code that cannot be spent refuses the write.
	a, b, list := fresh(userinfo.ErrBadOTPToken)
	_, err := rs.UpdateUserRedeeming(ctx, userinfo.Update{Subject: "u1", Set: map[string]any{"email": "new1@example.test"}, Now: time1}, list)
	if !errors.Is(err, userinfo.ErrBadOTPToken) {
		t.Errorf("UpdateUserRedeeming with a redemption that fails with ErrBadOTPToken: err = %v, want it returned", err)
	}
	if got := calls(a, b); got[1] != 1 {
		t.Errorf("UpdateUserRedeeming: the failing redemption was called %d times, want once", got[1])
	}
	unchanged(t, ctx, s, u1, "after UpdateUserRedeeming with a redemption that failed")

	// A write that succeeds spends every code once.
	a, b, list = fresh(nil)
	set := map[string]any{"email": "new1@example.test", "email_verified": true}
	update := userinfo.Update{Subject: "u1", IfVersion: u1.Version, Set: set, Now: time2}
	after, err := rs.UpdateUserRedeeming(ctx, update, list)
	if err != nil {
		t.Fatalf("UpdateUserRedeeming(ctx, %s): %v", show(set), err)
	}
	if got := calls(a, b); got != [2]int32{1, 1} {
		t.Errorf("UpdateUserRedeeming that succeeded: redemptions called %v times, want once each", got)
	}
	if checkUser(t, "UpdateUserRedeeming", after, "u1", with(baseAttrs(1), set)) {
		stored(t, ctx, s, after, "UpdateUserRedeeming", "the user it returned")
	}
}
