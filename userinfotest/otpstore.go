package userinfotest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ciamkit/userinfo/otp"
)

// MakeOTPStore returns a new, empty OTP store for one subtest. It may use t
// to register cleanups, to make temporary directories, or to fail or skip
// the test. The stores it returns must not share records or throttle keys.
type MakeOTPStore func(t testing.TB) otp.Store

// TestOTPStore checks that the stores made by newStore keep the contract of
// [otp.Store]: records come back as created, Attempt counts atomically and
// honours expiry, Delete gives true to exactly one of concurrent callers
// (single redemption), Throttle is a sliding window that counts atomically,
// Purge removes only what no longer counts, and canceled contexts change
// nothing. Each check is a subtest on a fresh store; failures are reported
// through t.
//
// The times the kit passes are whole seconds in 2001, so a store that reads
// its own clock instead of the times it is given fails.
//
// Typical usage inside a test:
//
//	func TestOTPStore(t *testing.T) {
//		userinfotest.TestOTPStore(t, func(t testing.TB) otp.Store {
//			return mystore.NewOTPStore(t.TempDir())
//		})
//	}
func TestOTPStore(t *testing.T, newStore MakeOTPStore) {
	testOTPStore(realT{t}, newStore)
}

// otpChecks are the subtests of TestOTPStore, in order.
var otpChecks = []check[otp.Store]{
	{"CreateAttempt", checkCreateAttempt},
	{"CreateDuplicate", checkCreateDuplicate},
	{"AttemptNotFound", checkAttemptNotFound},
	{"Expiry", checkExpiry},
	{"ConcurrentAttempts", checkConcurrentAttempts},
	{"Delete", checkDelete},
	{"Refund", checkRefund},
	{"SingleRedemption", checkSingleRedemption},
	{"CodeHashAliasing", checkCodeHashAliasing},
	{"Throttle", checkThrottle},
	{"ConcurrentThrottle", checkConcurrentThrottle},
	{"ThrottleAll", checkThrottleAll},
	{"Purge", checkPurge},
	{"OTPContextCanceled", checkOTPContextCanceled},
	{"OTPConcurrentUse", checkOTPConcurrentUse},
	{"ThrottleAcrossSpellings", checkThrottleAcrossSpellings},
}

func testOTPStore(t tester, newStore MakeOTPStore, names ...string) {
	t.Helper()
	runChecks(t, "userinfotest.TestOTPStore", newStore, otpChecks, names)
}

// t0 is the kit's OTP clock: the times it passes are t0 plus whole seconds.
var t0 = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

// at returns t0 + d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// newRecord returns a record with the ID id, expiring at exp.
func newRecord(id string, exp time.Time) otp.Record {
	h := sha256.Sum256([]byte(id))
	return otp.Record{
		ID:        id,
		Subject:   "subject-" + id,
		Channel:   "email",
		Target:    "Zoë+" + id + "@Example.test",
		Purpose:   "update_userinfo",
		CodeHash:  h[:],
		ExpiresAt: exp,
	}
}

func showRecord(r otp.Record) string {
	return fmt.Sprintf("{ID: %q, Subject: %q, Channel: %q, Target: %q, Purpose: %q, CodeHash: %x, ExpiresAt: %s, Attempts: %d}",
		r.ID, r.Subject, r.Channel, r.Target, r.Purpose, r.CodeHash, r.ExpiresAt.Format(time.RFC3339Nano), r.Attempts)
}

// checkRecord reports how got differs from want.
func checkRecord(t tester, call string, got, want otp.Record) bool {
	t.Helper()
	if got.ID != want.ID || got.Subject != want.Subject || got.Channel != want.Channel || got.Target != want.Target ||
		got.Purpose != want.Purpose || !bytes.Equal(got.CodeHash, want.CodeHash) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		got.Attempts != want.Attempts {
		t.Errorf("%s: got %s, want %s", call, showRecord(got), showRecord(want))
		return false
	}
	return true
}

// create calls Create, which must succeed.
func create(t tester, ctx context.Context, s otp.Store, rec otp.Record) {
	t.Helper()
	r := rec
	r.CodeHash = slices.Clone(rec.CodeHash)
	if err := s.Create(ctx, r); err != nil {
		t.Fatalf("Create(ctx, %s): %v", showRecord(rec), err)
	}
}

// attempt calls Attempt, which must return rec with attempts attempts.
func attempt(t tester, ctx context.Context, s otp.Store, rec otp.Record, now time.Time, attempts int) bool {
	t.Helper()
	call := fmt.Sprintf("Attempt(ctx, %q, %s)", rec.ID, now.Format(time.RFC3339Nano))
	got, err := s.Attempt(ctx, rec.ID, now)
	if err != nil {
		t.Errorf("%s: got err %v, want nil", call, err)
		return false
	}
	want := rec
	want.Attempts = attempts
	return checkRecord(t, call, got, want)
}

// gone checks that Attempt finds no live record id at now.
func gone(t tester, ctx context.Context, s otp.Store, id string, now time.Time, why string) {
	t.Helper()
	got, err := s.Attempt(ctx, id, now)
	if !errors.Is(err, otp.ErrNotFound) {
		if err == nil {
			t.Errorf("Attempt(ctx, %q, %s) %s: got %s, want err %v", id, now.Format(time.RFC3339), why, showRecord(got), otp.ErrNotFound)
		} else {
			t.Errorf("Attempt(ctx, %q, %s) %s: got err %v, want %v", id, now.Format(time.RFC3339), why, err, otp.ErrNotFound)
		}
	}
}

// throttle calls Throttle and checks its answer.
func throttle(t tester, ctx context.Context, s otp.Store, key string, now time.Time, window time.Duration, limit int, wantOK bool, wantRetry time.Duration) {
	t.Helper()
	call := fmt.Sprintf("Throttle(ctx, %q, t0+%v, %v, %d)", key, now.Sub(t0), window, limit)
	ok, retry, err := s.Throttle(ctx, key, now, window, limit)
	switch {
	case err != nil:
		t.Errorf("%s: got err %v, want nil", call, err)
	case ok != wantOK:
		t.Errorf("%s: got ok %v, want %v", call, ok, wantOK)
	case !ok && retry != wantRetry:
		t.Errorf("%s: got retryAfter %v, want %v", call, retry, wantRetry)
	}
}

func checkCreateAttempt(t tester, ctx context.Context, s otp.Store) {
	a := newRecord("rec-A_1", at(5*time.Minute))
	b := newRecord("rec-B_2", at(10*time.Minute))
	b.Channel, b.Target = "sms", "13612345678"
	create(t, ctx, s, a)
	create(t, ctx, s, b)
	attempt(t, ctx, s, a, t0, 1)
	attempt(t, ctx, s, a, at(time.Second), 2)
	attempt(t, ctx, s, b, at(2*time.Second), 1)
	attempt(t, ctx, s, a, at(3*time.Second), 3)
}

func checkCreateDuplicate(t tester, ctx context.Context, s otp.Store) {
	a := newRecord("dup", at(5*time.Minute))
	create(t, ctx, s, a)
	attempt(t, ctx, s, a, t0, 1)
	other := newRecord("dup", at(50*time.Minute))
	other.Subject, other.Target, other.CodeHash = "intruder", "intruder@example.test", make([]byte, 32)
	if err := s.Create(ctx, other); err == nil {
		t.Errorf("Create(ctx, %s) of an existing ID: got nil error, want an error", showRecord(other))
	}
	// Neither replaced nor reset.
	attempt(t, ctx, s, a, at(time.Second), 2)
}

func checkAttemptNotFound(t tester, ctx context.Context, s otp.Store) {
	gone(t, ctx, s, "never-created", t0, "on an empty store")
	a := newRecord("a", at(time.Minute))
	create(t, ctx, s, a)
	gone(t, ctx, s, "A", t0, "with only \"a\" stored")
	gone(t, ctx, s, "b", t0, "with only \"a\" stored")
	attempt(t, ctx, s, a, t0, 1)
}

func checkExpiry(t tester, ctx context.Context, s otp.Store) {
	a := newRecord("expiring", at(5*time.Minute))
	b := newRecord("later", at(6*time.Minute))
	old := newRecord("born-expired", at(-time.Second))
	create(t, ctx, s, a)
	create(t, ctx, s, b)
	create(t, ctx, s, old)
	gone(t, ctx, s, old.ID, t0, "of a record created expired")
	attempt(t, ctx, s, a, at(5*time.Minute-time.Millisecond), 1)
	gone(t, ctx, s, a.ID, at(5*time.Minute), "at its ExpiresAt")
	attempt(t, ctx, s, b, at(5*time.Minute), 1)
	gone(t, ctx, s, a.ID, at(5*time.Minute+time.Second), "after its ExpiresAt")
	gone(t, ctx, s, b.ID, at(7*time.Minute), "after its ExpiresAt")
}

func checkConcurrentAttempts(t tester, ctx context.Context, s otp.Store) {
	const n = 50
	a := newRecord("contested", at(time.Hour))
	create(t, ctx, s, a)
	var (
		mu     sync.Mutex
		counts []int
	)
	gate(n, func(i int) {
		got, err := s.Attempt(ctx, a.ID, at(time.Duration(i)*time.Millisecond))
		if err != nil {
			t.Errorf("Attempt(ctx, %q, …), %d concurrent calls: %v", a.ID, n, err)
			return
		}
		mu.Lock()
		counts = append(counts, got.Attempts)
		mu.Unlock()
	})
	slices.Sort(counts)
	want := make([]int, n)
	for i := range want {
		want[i] = i + 1
	}
	if !slices.Equal(counts, want) {
		t.Errorf("%d concurrent Attempt calls on a new record: got counts %v, want 1 … %d, each once", n, counts, n)
	}
	attempt(t, ctx, s, a, at(time.Second), n+1)
}

func checkDelete(t tester, ctx context.Context, s otp.Store) {
	expired := newRecord("expired", at(-time.Minute))
	create(t, ctx, s, expired)
	if ok, err := s.Delete(ctx, expired.ID); err != nil || !ok {
		t.Errorf("Delete(ctx, %q) of an expired record: got %v, %v; want true, nil", expired.ID, ok, err)
	}

	a := newRecord("a", at(time.Minute))
	b := newRecord("b", at(time.Minute))
	create(t, ctx, s, a)
	create(t, ctx, s, b)
	attempt(t, ctx, s, a, t0, 1)
	if ok, err := s.Delete(ctx, a.ID); err != nil || !ok {
		t.Errorf("Delete(ctx, %q): got %v, %v; want true, nil", a.ID, ok, err)
	}
	if ok, err := s.Delete(ctx, a.ID); err != nil || ok {
		t.Errorf("Delete(ctx, %q) again: got %v, %v; want false, nil", a.ID, ok, err)
	}
	if ok, err := s.Delete(ctx, "never-created"); err != nil || ok {
		t.Errorf("Delete(ctx, %q) of an absent record: got %v, %v; want false, nil", "never-created", ok, err)
	}
	gone(t, ctx, s, a.ID, at(time.Second), "after Delete")
	attempt(t, ctx, s, b, at(time.Second), 1)
	// A deleted ID can be created again.
	create(t, ctx, s, a)
	attempt(t, ctx, s, a, at(2*time.Second), 1)
}

// checkRefund: Refund takes back one attempt, never below zero, and the
// refunds of concurrent callers all count.
func checkRefund(t tester, ctx context.Context, s otp.Store) {
	refund := func(id string) {
		if err := s.Refund(ctx, id); err != nil {
			t.Errorf("Refund(ctx, %q): %v", id, err)
		}
	}
	const n = 20
	b := newRecord("b", at(time.Minute))
	create(t, ctx, s, b)
	for i := range n {
		attempt(t, ctx, s, b, t0, i+1)
	}
	gate(n, func(int) { refund(b.ID) })
	attempt(t, ctx, s, b, t0, 1)

	a := newRecord("a", at(time.Minute))
	create(t, ctx, s, a)
	refund(a.ID)
	attempt(t, ctx, s, a, t0, 1) // a fresh record has no attempt to refund
	attempt(t, ctx, s, a, t0, 2)
	refund(a.ID)
	attempt(t, ctx, s, a, t0, 2)

	refund("never-created")
}

func checkSingleRedemption(t tester, ctx context.Context, s otp.Store) {
	const n = 50
	for round := range 3 {
		a := newRecord(fmt.Sprintf("code-%d", round), at(time.Hour))
		create(t, ctx, s, a)
		attempt(t, ctx, s, a, t0, 1)
		var (
			mu      sync.Mutex
			winners []int
		)
		gate(n, func(i int) {
			ok, err := s.Delete(ctx, a.ID)
			if err != nil {
				t.Errorf("Delete(ctx, %q), %d concurrent calls: %v", a.ID, n, err)
			}
			if ok {
				mu.Lock()
				winners = append(winners, i)
				mu.Unlock()
			}
		})
		if len(winners) != 1 {
			t.Errorf("%d concurrent Delete(ctx, %q) calls: %d got true (callers %v), want exactly 1: a code must be redeemed once", n, a.ID, len(winners), winners)
		}
		gone(t, ctx, s, a.ID, at(time.Second), "after the concurrent Deletes")
	}
}

func checkCodeHashAliasing(t tester, ctx context.Context, s otp.Store) {
	a := newRecord("alias", at(time.Hour))
	passed := a
	passed.CodeHash = slices.Clone(a.CodeHash)
	if err := s.Create(ctx, passed); err != nil {
		t.Fatalf("Create(ctx, %s): %v", showRecord(a), err)
	}
	passed.CodeHash[0] ^= 0xff
	got, err := s.Attempt(ctx, a.ID, t0)
	if err != nil {
		t.Fatalf("Attempt(ctx, %q, t0): %v", a.ID, err)
	}
	want := a
	want.Attempts = 1
	checkRecord(t, "Attempt after the caller changed the CodeHash it had passed to Create", got, want)
	if len(got.CodeHash) > 0 {
		got.CodeHash[0] ^= 0xff
	}
	attempt(t, ctx, s, a, at(time.Second), 2)
}

func checkThrottle(t tester, ctx context.Context, s otp.Store) {
	const w = 10 * time.Minute
	throttle(t, ctx, s, "k1", at(0), w, 3, true, 0)
	throttle(t, ctx, s, "k1", at(1*time.Minute), w, 3, true, 0)
	throttle(t, ctx, s, "k1", at(2*time.Minute), w, 3, true, 0)
	// Full: the oldest send, at t0, stops counting at t0+10m.
	throttle(t, ctx, s, "k1", at(3*time.Minute), w, 3, false, 7*time.Minute)
	// Keys are independent.
	throttle(t, ctx, s, "k2", at(3*time.Minute), w, 3, true, 0)
	throttle(t, ctx, s, "K1", at(3*time.Minute), w, 1, true, 0)
	// At t0+10m the first send no longer counts; the refused one never did.
	throttle(t, ctx, s, "k1", at(10*time.Minute), w, 3, true, 0)
	throttle(t, ctx, s, "k1", at(10*time.Minute), w, 3, false, time.Minute)
	throttle(t, ctx, s, "k1", at(11*time.Minute), w, 3, true, 0)
	throttle(t, ctx, s, "k1", at(11*time.Minute+30*time.Second), w, 3, false, 30*time.Second)
	// A limit of 1.
	throttle(t, ctx, s, "k3", at(12*time.Minute), time.Minute, 1, true, 0)
	throttle(t, ctx, s, "k3", at(12*time.Minute), time.Minute, 1, false, time.Minute)
	throttle(t, ctx, s, "k3", at(13*time.Minute), time.Minute, 1, true, 0)
}

// checkThrottleAll checks the optional otp.BatchThrottler: the keys count
// in order, a refusal stops the chain (earlier keys stay counted, later ones
// are not touched), and concurrent calls are atomic per key. A store
// without the interface passes.
func checkThrottleAll(t tester, ctx context.Context, s otp.Store) {
	bt, ok := s.(otp.BatchThrottler)
	if !ok {
		t.Log("not an otp.BatchThrottler: nothing to check")
		return
	}
	const w = time.Hour
	all := func(now time.Time, limits []otp.Limit, wantRefused int, wantRetry time.Duration) {
		t.Helper()
		refused, retry, err := bt.ThrottleAll(ctx, now, w, limits)
		switch {
		case err != nil:
			t.Errorf("ThrottleAll(ctx, t0+%v, %v, %v): %v", now.Sub(t0), w, limits, err)
		case refused != wantRefused || refused >= 0 && retry != wantRetry:
			t.Errorf("ThrottleAll(ctx, t0+%v, %v, %v) = %d, %v; want %d, %v", now.Sub(t0), w, limits, refused, retry, wantRefused, wantRetry)
		}
	}
	all(t0, []otp.Limit{{Key: "all-a", Limit: 1}, {Key: "all-b", Limit: 2}}, -1, 0)
	// all-a is full: all-b is not touched.
	all(at(time.Minute), []otp.Limit{{Key: "all-a", Limit: 1}, {Key: "all-b", Limit: 2}}, 0, w-time.Minute)
	// all-b counts its second send, all-a refuses.
	all(at(2*time.Minute), []otp.Limit{{Key: "all-b", Limit: 2}, {Key: "all-a", Limit: 1}}, 1, w-2*time.Minute)
	// all-a holds 1 send, all-b 2 (at t0 and t0+2m).
	throttle(t, ctx, s, "all-a", at(3*time.Minute), w, 2, true, 0)
	throttle(t, ctx, s, "all-a", at(3*time.Minute), w, 2, false, w-3*time.Minute)
	throttle(t, ctx, s, "all-b", at(3*time.Minute), w, 3, true, 0)
	throttle(t, ctx, s, "all-b", at(3*time.Minute), w, 3, false, w-3*time.Minute)

	// 20 at once against limits of 5 and 3: 5 pass the first key, 3 of
	// them the second.
	const n = 20
	var (
		mu  sync.Mutex
		got = map[int]int{}
	)
	gate(n, func(int) {
		refused, _, err := bt.ThrottleAll(ctx, t0, w, []otp.Limit{{Key: "all-c", Limit: 5}, {Key: "all-d", Limit: 3}})
		if err != nil {
			t.Errorf("ThrottleAll, %d concurrent calls: %v", n, err)
			return
		}
		mu.Lock()
		got[refused]++
		mu.Unlock()
	})
	if want := map[int]int{-1: 3, 1: 2, 0: 15}; !maps.Equal(got, want) {
		t.Errorf("%d concurrent ThrottleAll calls with limits 5 and 3: outcomes by refused index %v, want %v", n, got, want)
	}
}

func checkConcurrentThrottle(t tester, ctx context.Context, s otp.Store) {
	const (
		n     = 50
		limit = 5
		w     = time.Hour
	)
	run := func(key string, now time.Time, wantOK int) {
		var (
			mu sync.Mutex
			ok int
		)
		gate(n, func(i int) {
			got, retry, err := s.Throttle(ctx, key, now, w, limit)
			if err != nil {
				t.Errorf("Throttle(ctx, %q, …), %d concurrent calls: %v", key, n, err)
				return
			}
			if !got && retry <= 0 {
				t.Errorf("Throttle(ctx, %q, …), %d concurrent calls: got false, %v; want a positive retryAfter", key, n, retry)
			}
			if got {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
		if ok != wantOK {
			t.Errorf("%d concurrent Throttle(ctx, %q, t0+%v, %v, %d) calls: %d got ok, want %d", n, key, now.Sub(t0), w, limit, ok, wantOK)
		}
	}
	run("burst", t0, limit)
	// limit-1 sends counted: exactly one more.
	for i := range limit - 1 {
		throttle(t, ctx, s, "last-one", at(time.Duration(i)*time.Second), w, limit, true, 0)
	}
	run("last-one", at(time.Minute), 1)
	throttle(t, ctx, s, "last-one", at(time.Minute), w, limit, false, w-time.Minute)
}

func checkPurge(t tester, ctx context.Context, s otp.Store) {
	if err := s.Purge(ctx, t0); err != nil {
		t.Errorf("Purge(ctx, t0) of an empty store: %v", err)
	}
	const w = 10 * time.Minute
	throttle(t, ctx, s, "k", at(0), w, 2, true, 0)
	throttle(t, ctx, s, "k", at(4*time.Minute), w, 2, true, 0)
	a := newRecord("a", at(time.Minute))
	b := newRecord("b", at(10*time.Minute))
	c := newRecord("c", at(5*time.Minute+time.Millisecond))
	create(t, ctx, s, a)
	create(t, ctx, s, b)
	create(t, ctx, s, c)
	if err := s.Purge(ctx, at(5*time.Minute)); err != nil {
		t.Errorf("Purge(ctx, t0+5m): %v", err)
	}
	gone(t, ctx, s, a.ID, at(5*time.Minute), "after Purge")
	attempt(t, ctx, s, b, at(5*time.Minute), 1)
	attempt(t, ctx, s, c, at(5*time.Minute), 1)
	// Both sends still count.
	throttle(t, ctx, s, "k", at(5*time.Minute), w, 2, false, 5*time.Minute)
	if err := s.Purge(ctx, at(12*time.Minute)); err != nil {
		t.Errorf("Purge(ctx, t0+12m): %v", err)
	}
	// The send at t0 no longer counts; the one at t0+4m still does.
	throttle(t, ctx, s, "k", at(12*time.Minute), w, 2, true, 0)
	throttle(t, ctx, s, "k", at(12*time.Minute), w, 2, false, 2*time.Minute)
}

func checkOTPContextCanceled(t tester, ctx context.Context, s otp.Store) {
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	a := newRecord("a", at(time.Hour))
	b := newRecord("b", at(time.Hour))
	create(t, ctx, s, a)
	if err := s.Create(canceled, b); err == nil {
		t.Errorf("Create(canceled ctx, %s): got nil error, want an error", showRecord(b))
	}
	gone(t, ctx, s, b.ID, t0, "after Create with a canceled context failed")
	if got, err := s.Attempt(canceled, a.ID, t0); err == nil {
		t.Errorf("Attempt(canceled ctx, %q, t0): got %s, want an error", a.ID, showRecord(got))
	}
	if ok, err := s.Delete(canceled, a.ID); err == nil {
		t.Errorf("Delete(canceled ctx, %q): got %v, nil; want an error", a.ID, ok)
	}
	if _, _, err := s.Throttle(canceled, "k", t0, time.Minute, 1); err == nil {
		t.Errorf("Throttle(canceled ctx, %q, …): got nil error, want an error", "k")
	}
	if err := s.Purge(canceled, at(2*time.Hour)); err == nil {
		t.Errorf("Purge(canceled ctx, …): got nil error, want an error")
	}
	// Nothing changed: the record has no attempts, the key no sends.
	attempt(t, ctx, s, a, at(time.Second), 1)
	throttle(t, ctx, s, "k", at(time.Second), time.Minute, 1, true, 0)
}

func checkOTPConcurrentUse(t tester, ctx context.Context, s otp.Store) {
	const (
		workers = 8
		rounds  = 10
	)
	shared := newRecord("shared", at(time.Hour))
	create(t, ctx, s, shared)
	var (
		mu        sync.Mutex
		counts    []int
		throttled int
	)
	gate(workers, func(g int) {
		for i := range rounds {
			now := at(time.Duration(i) * time.Second)
			rec := newRecord(fmt.Sprintf("w%d-%d", g, i), at(time.Hour))
			if err := s.Create(ctx, rec); err != nil {
				t.Errorf("Create(ctx, %s) among concurrent calls: %v", showRecord(rec), err)
				continue
			}
			for j := 1; j <= 2; j++ {
				got, err := s.Attempt(ctx, rec.ID, now)
				if err != nil {
					t.Errorf("Attempt(ctx, %q, …) among concurrent calls: %v", rec.ID, err)
				} else if got.Attempts != j {
					t.Errorf("Attempt(ctx, %q, …) #%d among concurrent calls on other records: got Attempts %d, want %d", rec.ID, j, got.Attempts, j)
				}
			}
			got, err := s.Attempt(ctx, shared.ID, now)
			if err != nil {
				t.Errorf("Attempt(ctx, %q, …) among concurrent calls: %v", shared.ID, err)
			} else {
				mu.Lock()
				counts = append(counts, got.Attempts)
				mu.Unlock()
			}
			ok, _, err := s.Throttle(ctx, "shared-key", now, time.Hour, workers*rounds/2)
			if err != nil {
				t.Errorf("Throttle(ctx, %q, …) among concurrent calls: %v", "shared-key", err)
			} else if ok {
				mu.Lock()
				throttled++
				mu.Unlock()
			}
			if ok, err := s.Delete(ctx, rec.ID); err != nil || !ok {
				t.Errorf("Delete(ctx, %q) among concurrent calls on other records: got %v, %v; want true, nil", rec.ID, ok, err)
			}
			if i%4 == 0 {
				if err := s.Purge(ctx, t0); err != nil {
					t.Errorf("Purge(ctx, t0) among concurrent calls: %v", err)
				}
			}
		}
	})
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Errorf("concurrent Attempt calls on one record: got counts %v, want 1 … %d, each once", counts, len(counts))
			break
		}
	}
	if throttled != workers*rounds/2 {
		t.Errorf("%d concurrent Throttle calls with limit %d: %d got ok, want %d", workers*rounds, workers*rounds/2, throttled, workers*rounds/2)
	}
}
