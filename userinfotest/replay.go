package userinfotest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
)

// MakeReplayStore returns a new, empty replay store for one subtest, as
// [MakeStore] does for user stores.
type MakeReplayStore func(t testing.TB) userinfo.ReplayStore

// TestReplayStore checks that the stores made by newStore keep the contract
// of [userinfo.ReplayStore], which makes each DPoP proof acceptable once: a
// key is fresh once while it lives, also under concurrent callers, comes back
// once its time has passed, uses the times it is given rather than its own
// clock, and changes nothing under a canceled context. Each check is a
// subtest on a fresh store; failures are reported through t.
//
// Typical usage inside a test:
//
//	func TestReplayStore(t *testing.T) {
//		userinfotest.TestReplayStore(t, func(t testing.TB) userinfo.ReplayStore {
//			return mystore.NewReplayStore(t.TempDir())
//		})
//	}
func TestReplayStore(t *testing.T, newStore MakeReplayStore) {
	testReplayStore(realT{t}, newStore)
}

var replayChecks = []check[userinfo.ReplayStore]{
	{"Once", checkReplayOnce},
	{"Expiry", checkReplayExpiry},
	{"KeysApart", checkReplayKeysApart},
	{"ConcurrentRemember", checkReplayConcurrent},
	{"ContextCanceled", checkReplayCanceled},
}

func testReplayStore(t tester, newStore MakeReplayStore, names ...string) {
	t.Helper()
	runChecks(t, "userinfotest.TestReplayStore", newStore, replayChecks, names)
}

// remember calls Remember and fails the test on an error.
func remember(t tester, ctx context.Context, s userinfo.ReplayStore, key string, until, now time.Time) bool {
	t.Helper()
	fresh, err := s.Remember(ctx, key, until, now)
	if err != nil {
		t.Fatalf("Remember(ctx, %q, %v, %v): %v", key, until, now, err)
	}
	return fresh
}

func checkReplayOnce(t tester, ctx context.Context, s userinfo.ReplayStore) {
	until := time1.Add(2 * time.Minute)
	if !remember(t, ctx, s, "k1", until, time1) {
		t.Errorf("Remember(ctx, %q, …) of a new key: got false, want true", "k1")
	}
	for _, now := range []time.Time{time1, time1.Add(time.Minute), until.Add(-time.Millisecond)} {
		if remember(t, ctx, s, "k1", until, now) {
			t.Errorf("Remember(ctx, %q, …, now %v) of a live key: got true, want false (a replay accepted)", "k1", now)
		}
	}
}

func checkReplayExpiry(t tester, ctx context.Context, s userinfo.ReplayStore) {
	until := time1.Add(time.Minute)
	remember(t, ctx, s, "k1", until, time1)
	// The times are in 2001: a store that reads its own clock finds every
	// key long expired, or never.
	if remember(t, ctx, s, "k1", until.Add(time.Minute), time1.Add(30*time.Second)) {
		t.Errorf("Remember of a key before its until: got true, want false")
	}
	if !remember(t, ctx, s, "k1", until.Add(time.Minute), until) {
		t.Errorf("Remember of a key at its until: got false, want true (the entry has ended)")
	}
	if remember(t, ctx, s, "k1", until.Add(time.Minute), until.Add(30*time.Second)) {
		t.Errorf("Remember of a key taken over at its until: got true again, want false")
	}
}

func checkReplayKeysApart(t tester, ctx context.Context, s userinfo.ReplayStore) {
	until := time1.Add(time.Minute)
	for i := range 20 {
		key := fmt.Sprintf("key-%d", i)
		if !remember(t, ctx, s, key, until, time1) {
			t.Errorf("Remember(ctx, %q, …) of a new key: got false, want true", key)
		}
	}
	if !remember(t, ctx, s, "KEY-1", until, time1) {
		t.Errorf("Remember(ctx, %q, …): got false; keys are compared exactly, not ignoring case", "KEY-1")
	}
}

func checkReplayConcurrent(t tester, ctx context.Context, s userinfo.ReplayStore) {
	const n = 16
	var fresh, failed atomic.Int32
	until := time1.Add(time.Minute)
	gate(n, func(int) {
		ok, err := s.Remember(ctx, "race", until, time1)
		switch {
		case err != nil:
			failed.Add(1)
		case ok:
			fresh.Add(1)
		}
	})
	if failed.Load() > 0 {
		t.Errorf("%d of %d concurrent Remember calls failed", failed.Load(), n)
	}
	if fresh.Load() != 1 {
		t.Errorf("%d concurrent Remember calls of one key got true, want exactly 1 (a replay accepted)", fresh.Load())
	}
}

func checkReplayCanceled(t tester, ctx context.Context, s userinfo.ReplayStore) {
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	until := time1.Add(time.Minute)
	if ok, err := s.Remember(canceled, "k1", until, time1); err == nil || ok {
		t.Errorf("Remember with a canceled context: got %v, %v; want false and an error", ok, err)
	}
	if !remember(t, ctx, s, "k1", until, time1) {
		t.Errorf("Remember after a canceled call: got false; the canceled call must not have recorded the key")
	}
}
