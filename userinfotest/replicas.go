package userinfotest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/otp"
)

// Replica is one of the stores that [TestReplicas] runs across: the user
// store and the OTP store of one replica of a server.
type Replica struct {
	Users Store
	OTP   otp.Store
}

// TestReplicas checks that stores opened separately on one database, as the
// replicas of a server open them, each with its own connections, decide the
// contract's races together: of many users claiming one email address
// through all of them at once exactly one wins, and of many redemptions of
// one code exactly one wins. It needs at least two replicas whose stores are
// empty and share their data; an OTP store may be nil to skip that check.
//
// Like TestUserStore it has no false positives and may have false
// negatives; run it under the race detector.
//
// Typical usage inside a test, with a database of the test's own:
//
//	a, b := open(t, dsn), open(t, dsn)
//	userinfotest.TestReplicas(t, []userinfotest.Replica{{a, a.OTP()}, {b, b.OTP()}})
func TestReplicas(t *testing.T, replicas []Replica) {
	t.Helper()
	testReplicas(realT{t}, replicas)
}

func testReplicas(t tester, replicas []Replica) {
	t.Helper()
	if len(replicas) < 2 {
		t.Fatal("userinfotest.TestReplicas: want at least two replicas")
	}
	subtest(t, "UniqueEmailAcrossReplicas", func(t tester, ctx context.Context) {
		const n = 20
		for i := range n {
			if _, err := replicas[0].Users.Put(ctx, fmt.Sprint("r", i), map[string]any{"nickname": "r"}); err != nil {
				t.Fatalf("Put(r%d): %v", i, err)
			}
		}
		wins := race(n, func(i int) (bool, error) {
			_, err := replicas[i%len(replicas)].Users.UpdateUser(ctx, userinfo.Update{
				Subject: fmt.Sprint("r", i), Set: map[string]any{"email": caseVariant("shared@x.test", i)}, Now: time.Now()})
			if errors.Is(err, userinfo.ErrDuplicateEmail) {
				return false, nil
			}
			return err == nil, err
		}, t)
		if wins != 1 {
			t.Errorf("%d users claiming one email address through %d replicas at once: %d won, want 1", n, len(replicas), wins)
		}
	})
	if replicas[0].OTP == nil {
		return
	}
	subtest(t, "SingleRedemptionAcrossReplicas", func(t tester, ctx context.Context) {
		rec := otp.Record{ID: "replica-code", Subject: "r0", Channel: userinfo.ChannelEmail, Target: "x@x.test",
			Purpose: userinfo.PurposeUpdateUserinfo, CodeHash: make([]byte, 32), ExpiresAt: time.Now().Add(time.Hour)}
		if err := replicas[0].OTP.Create(ctx, rec); err != nil {
			t.Fatalf("Create: %v", err)
		}
		for i, r := range replicas {
			if _, err := r.OTP.Attempt(ctx, rec.ID, time.Now()); err != nil {
				t.Fatalf("replica %d: Attempt on the code created through replica 0: %v", i, err)
			}
		}
		const n = 20
		wins := race(n, func(i int) (bool, error) {
			return replicas[i%len(replicas)].OTP.Delete(ctx, rec.ID)
		}, t)
		if wins != 1 {
			t.Errorf("%d redemptions of one code through %d replicas at once: %d won, want 1", n, len(replicas), wins)
		}
	})
}

// race runs f(0) … f(n-1) at once and counts the calls that won; an error
// fails t.
func race(n int, f func(i int) (bool, error), t testing.TB) int {
	var (
		mu   sync.Mutex
		wins int
	)
	gate(n, func(i int) {
		won, err := f(i)
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
		if won {
			mu.Lock()
			wins++
			mu.Unlock()
		}
	})
	return wins
}
