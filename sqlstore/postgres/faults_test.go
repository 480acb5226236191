package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
)

// Two users swapping email addresses at once deadlock in PostgreSQL (each
// UPDATE waits on the other's unique-index entry); the store retries, so
// that every racing change ends as a success or ErrDuplicateEmail, which
// the handler answers 200 or duplicate_email, never 500.
func TestEmailSwapsNeverFail(t *testing.T) {
	dsn := testDSN(t)
	// No statement_timeout: 300 racers on 24 connections may queue on the
	// row locks for longer than its default on a loaded machine, and this
	// test is about races, not deadlines.
	s := open(t, dsn+"&pool_max_conns=24&statement_timeout=0")
	ctx := context.Background()
	users := map[string]string{"swap-a": "a@swap.test", "swap-b": "b@swap.test"}
	for sub, email := range users {
		if _, err := s.Put(ctx, sub, map[string]any{"email": email}); err != nil {
			t.Fatal(err)
		}
	}
	addresses := []string{"a@swap.test", "b@swap.test", "c@swap.test"}
	const n = 300
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		ok, dup    int
		unexpected []error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sub := "swap-a"
			if i%2 == 1 {
				sub = "swap-b"
			}
			_, err := s.UpdateUser(ctx, userinfo.Update{Subject: sub, Now: time.Now(),
				Set: map[string]any{"email": addresses[(i/2)%len(addresses)]}})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, userinfo.ErrDuplicateEmail):
				dup++
			default:
				unexpected = append(unexpected, err)
			}
		}()
	}
	wg.Wait()
	if len(unexpected) > 0 {
		t.Fatalf("%d of %d swaps failed with something other than ErrDuplicateEmail, e.g. %v", len(unexpected), n, unexpected[0])
	}
	if ok == 0 || dup == 0 {
		t.Errorf("%d successes and %d duplicates: the race was not exercised", ok, dup)
	}
	a, errA := s.GetUser(ctx, "swap-a")
	b, errB := s.GetUser(ctx, "swap-b")
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if a.Attributes["email"] == b.Attributes["email"] {
		t.Errorf("both users hold %v", a.Attributes["email"])
	}
	t.Logf("%d successes, %d duplicate_email", ok, dup)
}

// An update whose context ends before it commits writes nothing and
// returns an error that wraps the context's, which the handler answers
// 503; one that has time commits.
func TestUpdateDeadline(t *testing.T) {
	dsn := testDSN(t)
	s := open(t, dsn)
	ctx := context.Background()
	before, err := s.Put(ctx, "late", map[string]any{"nickname": "before"})
	if err != nil {
		t.Fatal(err)
	}
	// Hold the user's row lock in another transaction, so that the
	// update waits until its deadline.
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT 1 FROM userinfo_users WHERE subject = 'late' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err = s.UpdateUser(dctx, userinfo.Update{Subject: "late", Now: time.Now(), Set: map[string]any{"nickname": "after"}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("UpdateUser with the row locked = %v, want an error wrapping context.DeadlineExceeded", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetUser(ctx, "late")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != before.Version || got.Attributes["nickname"] != "before" {
		t.Errorf("after a timed-out update the user is %+v, want it unchanged", got)
	}
	if _, err := s.UpdateUser(ctx, userinfo.Update{Subject: "late", Now: time.Now(), Set: map[string]any{"nickname": "after"}}); err != nil {
		t.Errorf("UpdateUser once the lock is gone: %v", err)
	}
}
