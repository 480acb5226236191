package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/internal/pgtest"
	"github.com/ciamkit/userinfo/sqlstore/postgres"
)

// A PostgreSQL server that stops answering (paused: SIGSTOP of its
// postmaster and every backend, on a server this test starts itself) gets
// every PATCH in flight answered 503 temporarily_unavailable with
// Retry-After soon after the request timeout, far from any server's write
// timeout; once it is resumed, none of those changes is stored, and new
// requests succeed.
func TestPausedServer(t *testing.T) {
	srv := pgtest.New(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, srv.DSN()+"&pool_max_conns=8")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before, err := s.Put(ctx, "u1", map[string]any{"nickname": "before"})
	if err != nil {
		t.Fatal(err)
	}
	const timeout = time.Second
	// Far below a write timeout of 30 s, and a bound that holds under -race
	// on a loaded machine.
	const bound = 15 * time.Second
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
	patch := func(nickname string) (*httptest.ResponseRecorder, time.Duration) {
		r := httptest.NewRequest(http.MethodPatch, "/userinfo", strings.NewReader(fmt.Sprintf(`{"nickname":%q}`, nickname)))
		r.Header.Set("Authorization", "Bearer u1")
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, r)
		return w, time.Since(start)
	}

	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	resumed := false
	defer func() {
		if !resumed {
			srv.Resume()
		}
	}()
	const n = 12 // more than the pool's connections: some wait for one
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			w, took := patch(fmt.Sprint("paused ", i))
			var body map[string]string
			json.Unmarshal(w.Body.Bytes(), &body)
			if w.Code != http.StatusServiceUnavailable || body["error"] != userinfo.CodeTemporarilyUnavailable {
				t.Errorf("PATCH %d to a paused server: %d %s, want 503 temporarily_unavailable", i, w.Code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("PATCH %d: Content-Type %q, want JSON", i, ct)
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
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	resumed = true
	// The backends of the abandoned connections may still hold what was
	// sent before the client gave up: let them run it, and end.
	for deadline := time.Now().Add(bound); ; {
		var busy int
		if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND state NOT IN ('idle')`).Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if busy == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d backends still busy %v after Resume", busy, bound)
		}
		time.Sleep(50 * time.Millisecond)
	}

	got, err := s.GetUser(ctx, "u1")
	if err != nil {
		t.Fatalf("GetUser after Resume: %v", err)
	}
	if got.Version != before.Version || got.Attributes["nickname"] != "before" {
		t.Errorf("after PATCHes answered 503 the user is %+v, want it unchanged", got)
	}
	if w, _ := patch("after"); w.Code != http.StatusOK {
		t.Errorf("PATCH after Resume: %d %s, want 200", w.Code, w.Body)
	}
	if got, err := s.GetUser(ctx, "u1"); err != nil || got.Attributes["nickname"] != "after" {
		t.Errorf("after a PATCH answered 200: %+v, %v; want nickname \"after\"", got, err)
	}
}
