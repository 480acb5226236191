package userinfotest

import (
	"context"
	"errors"
	"fmt"
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

// checkSwaps checks the optional [userinfo.SwappingStore]: SwapUser returns
// the user exactly as the update found it, also when many updates of one
// user run at once, so that each one's before is another one's after. A
// store without the interface passes.
func checkSwaps(t tester, ctx context.Context, s Store) {
	sw, ok := s.(userinfo.SwappingStore)
	if !ok {
		t.Log("not a userinfo.SwappingStore: nothing to check")
		return
	}
	u1 := seed(t, ctx, s, "u1", baseAttrs(1))
	_, _, err := sw.SwapUser(ctx, userinfo.Update{Subject: "u1", IfVersion: u1.Version + 1000,
		Set: map[string]any{"nickname": "Stale"}, Now: time1}, nil)
	wantErr(t, "SwapUser with a stale IfVersion", err, userinfo.ErrVersionConflict)
	_, _, err = sw.SwapUser(ctx, userinfo.Update{Subject: "nobody", Set: map[string]any{"nickname": "Ghost"}, Now: time1}, nil)
	wantErr(t, "SwapUser of a missing user", err, userinfo.ErrUserNotFound)
	unchanged(t, ctx, s, u1, "refused SwapUser calls")

	const n = 16
	type swap struct{ before, after *userinfo.User }
	swaps := make([]swap, n)
	gate(n, func(i int) {
		before, after, err := sw.SwapUser(ctx, userinfo.Update{Subject: "u1",
			Set: map[string]any{"nickname": fmt.Sprint("swap ", i)}, Now: time2}, nil)
		if err != nil {
			t.Errorf("SwapUser %d of %d concurrent ones: %v", i, n, err)
			return
		}
		swaps[i] = swap{before, after}
	})
	// Chain the swaps by version: each before is the after of the one
	// that came just before it, the first one's is the seeded user.
	byVersion := map[uint64]*userinfo.User{u1.Version: u1}
	for i, sw := range swaps {
		if sw.after == nil {
			return
		}
		if sw.after.Version != sw.before.Version+1 {
			t.Errorf("SwapUser %d: before has Version %d and after %d, want after = before+1", i, sw.before.Version, sw.after.Version)
		}
		if want := fmt.Sprint("swap ", i); sw.after.Attributes["nickname"] != want {
			t.Errorf("SwapUser %d: after has nickname %v, want %q", i, sw.after.Attributes["nickname"], want)
		}
		if _, dup := byVersion[sw.after.Version]; dup {
			t.Errorf("SwapUser %d: two updates left Version %d", i, sw.after.Version)
		}
		byVersion[sw.after.Version] = sw.after
	}
	for i, sw := range swaps {
		prev, ok := byVersion[sw.before.Version]
		if !ok {
			t.Errorf("SwapUser %d: before has Version %d, which no update left", i, sw.before.Version)
			continue
		}
		if d := diffAttrs(sw.before.Attributes, prev.Attributes); d != "" || !sw.before.UpdatedAt.Equal(prev.UpdatedAt) {
			t.Errorf("SwapUser %d: before is not the user that the update found (Version %d): %s", i, sw.before.Version, d)
		}
	}
	last := byVersion[u1.Version+n]
	if last == nil {
		t.Fatalf("after %d concurrent SwapUser calls from Version %d: no update left Version %d", n, u1.Version, u1.Version+n)
	}
	stored(t, ctx, s, last, "GetUser after the concurrent SwapUser calls", "the last swap")
}
