package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/internal/testkeys"
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

// A write that fails after its code was spent in its transaction (here: a
// deferred constraint that fails at COMMIT, after the UPDATE and the
// DELETE of the code ran) is answered 500 with nothing stored, and the code
// stays redeemable; so does a write that misses the request deadline,
// answered 503. The next PATCH with the same code succeeds, and spends it.
func TestCodeSpentOnlyWithItsWrite(t *testing.T) {
	dsn := testDSN(t)
	issuer := testkeys.MustNew("ES256")
	r := newReplicas(t, dsn, 1, issuer, func(c *userinfo.Config) { c.RequestTimeout = 500 * time.Millisecond })[0]
	ctx := context.Background()
	before, err := r.store.Put(ctx, "paid", map[string]any{"email": "old@paid.test", "nickname": "before"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.store.Pool().Exec(ctx, `
		CREATE FUNCTION fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.attributes->>'nickname' = 'fail at commit' THEN
				RAISE EXCEPTION 'injected failure at commit';
			END IF;
			RETURN NULL;
		END $$;
		CREATE CONSTRAINT TRIGGER fail_at_commit AFTER UPDATE ON userinfo_users
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fail_at_commit();`); err != nil {
		t.Fatal(err)
	}
	tok := token(t, issuer, "paid")
	otpToken, code := r.code(t, "paid", "new@paid.test")
	body := func(nickname string) string {
		return fmt.Sprintf(`{"email":"new@paid.test","email_otp_token":%q,"email_otp":%q,"nickname":%q}`, otpToken, code, nickname)
	}
	unchanged := func(why string) {
		t.Helper()
		got, err := r.store.GetUser(ctx, "paid")
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != before.Version || got.Attributes["email"] != "old@paid.test" {
			t.Errorf("after %s the user is %v, want it unchanged", why, got.Attributes)
		}
	}

	status, e, err := r.patch(tok, body("fail at commit"))
	if err != nil || status != http.StatusInternalServerError || e != "server_error" {
		t.Fatalf("PATCH whose commit fails: %d %q %v, want 500 server_error", status, e, err)
	}
	unchanged("a failed commit")

	// Hold the user's row so that the write misses the deadline.
	tx, err := r.store.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT 1 FROM userinfo_users WHERE subject = 'paid' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	status, e, err = r.patch(tok, body("late"))
	if err != nil || status != http.StatusServiceUnavailable || e != "temporarily_unavailable" {
		t.Fatalf("PATCH with the user's row locked: %d %q %v, want 503 temporarily_unavailable", status, e, err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the 503 came after %v, want it soon after the 500ms deadline", took)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	unchanged("a missed deadline")

	if status, e, err := r.patch(tok, body("after")); err != nil || status != http.StatusOK {
		t.Fatalf("PATCH with the code that the failed writes left: %d %q %v, want 200", status, e, err)
	}
	got, err := r.store.GetUser(ctx, "paid")
	if err != nil {
		t.Fatal(err)
	}
	if got.Attributes["email"] != "new@paid.test" || got.Attributes["nickname"] != "after" {
		t.Errorf("after the PATCH that succeeded the user is %v", got.Attributes)
	}
	if status, e, err := r.patch(tok, body("again")); err != nil || status != http.StatusBadRequest || e != "bad_email_otp_token" {
		t.Errorf("PATCH with the spent code: %d %q %v, want 400 bad_email_otp_token", status, e, err)
	}
}

// A statement of the OTP store that the server cancels at its
// statement_timeout (here: a throttle waiting on a key's row locked by
// another transaction) is an error that wraps context.DeadlineExceeded,
// which the send endpoint answers 503, like the user store's.
func TestOTPStatementTimeout(t *testing.T) {
	dsn := testDSN(t)
	s := open(t, dsn+"&statement_timeout=200ms")
	ctx := context.Background()
	now := time.Now()
	if ok, _, err := s.OTP().Throttle(ctx, "k", now, time.Minute, 5); err != nil || !ok {
		t.Fatalf("Throttle: %v %v", ok, err)
	}
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT 1 FROM userinfo_otp_throttle WHERE key = 'k' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.OTP().Throttle(ctx, "k", now, time.Minute, 5)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Throttle on a locked key past statement_timeout: %v, want an error wrapping context.DeadlineExceeded", err)
	}
}
