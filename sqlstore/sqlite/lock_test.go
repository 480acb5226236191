package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/internal/sqlitetest"
)

// A write that waits for another connection's write lock ends with its
// context, promptly and with an error wrapping the context's, and writes
// nothing; once the lock is gone, writes succeed again.
func TestWriteWaitEndsWithContext(t *testing.T) {
	path := tempDB(t)
	s := open(t, path)
	ctx := context.Background()
	before, err := s.Put(ctx, "u1", map[string]any{"nickname": "before"})
	if err != nil {
		t.Fatal(err)
	}
	release := sqlitetest.HoldWriteLock(t, path)
	const timeout = 300 * time.Millisecond
	// Far below the busy timeout, and a bound that holds under -race.
	const bound = 5 * timeout
	// Three at once: one waits in SQLite's busy handler, the others queue
	// in the process behind it; all end with their deadlines.
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			dctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			start := time.Now()
			_, err := s.UpdateUser(dctx, userinfo.Update{Subject: "u1", Now: time.Now(), Set: map[string]any{"nickname": fmt.Sprint("after ", i)}})
			took := time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("write %d with the file locked = %v, want an error wrapping context.DeadlineExceeded", i, err)
			}
			if took > bound {
				t.Errorf("write %d with the file locked took %v, want its deadline %v (at most %v)", i, took, timeout, bound)
			}
		})
	}
	wg.Wait()
	release()
	got, err := s.GetUser(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != before.Version || got.Attributes["nickname"] != "before" {
		t.Errorf("after timed-out writes the user is %+v, want it unchanged", got)
	}
	if _, err := s.UpdateUser(ctx, userinfo.Update{Subject: "u1", Now: time.Now(), Set: map[string]any{"nickname": "after"}}); err != nil {
		t.Errorf("UpdateUser once the lock is gone: %v", err)
	}
}

// Through the handler, a PATCH that waits for another connection's write
// lock is answered 503 temporarily_unavailable with Retry-After soon after
// the request timeout, far before the busy timeout, and changes nothing.
func TestLockedFileAnswers503(t *testing.T) {
	path := tempDB(t)
	s := open(t, path)
	ctx := context.Background()
	before, err := s.Put(ctx, "u1", map[string]any{"nickname": "before"})
	if err != nil {
		t.Fatal(err)
	}
	const timeout = 300 * time.Millisecond
	const bound = 5 * timeout
	h, err := userinfo.New(userinfo.Config{
		Store:          s,
		RequestTimeout: timeout,
		Tokens: userinfo.TokenVerifierFunc(func(ctx context.Context, token string) (*userinfo.Principal, error) {
			return &userinfo.Principal{Subject: token, Scopes: []string{"openid"}, Expiry: time.Now().Add(time.Hour)}, nil
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	sqlitetest.HoldWriteLock(t, path)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			r := httptest.NewRequest(http.MethodPatch, "/userinfo", strings.NewReader(fmt.Sprintf(`{"nickname":"late %d"}`, i)))
			r.Header.Set("Authorization", "Bearer u1")
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			start := time.Now()
			h.ServeHTTP(w, r)
			took := time.Since(start)
			if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"error":"temporarily_unavailable"`) {
				t.Errorf("PATCH %d with the file locked: %d %s, want 503 temporarily_unavailable", i, w.Code, w.Body)
			}
			if w.Header().Get("Retry-After") == "" {
				t.Errorf("PATCH %d: 503 without Retry-After", i)
			}
			if took > bound {
				t.Errorf("PATCH %d answered after %v, want about %v (at most %v)", i, took, timeout, bound)
			}
		})
	}
	wg.Wait()
	got, err := s.GetUser(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != before.Version || got.Attributes["nickname"] != "before" {
		t.Errorf("after PATCHes answered 503 the user is %+v, want it unchanged", got)
	}
}
