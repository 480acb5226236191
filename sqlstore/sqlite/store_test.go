package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/otp"
	"github.com/ciamkit/userinfo/sqlstore/sqlite"
	"github.com/ciamkit/userinfo/userinfotest"
)

// open opens a store on path, closed when t ends.
func open(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(ctx, %q): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// tempDB returns the path of a new database file.
func tempDB(t testing.TB) string { return filepath.Join(t.TempDir(), "userinfo.db") }

func TestUserStore(t *testing.T) {
	userinfotest.TestUserStore(t, func(t testing.TB) userinfotest.Store { return open(t, tempDB(t)) })
}

func TestUserStoreInMemory(t *testing.T) {
	userinfotest.TestUserStore(t, func(t testing.TB) userinfotest.Store { return open(t, ":memory:") })
}

func TestOTPStore(t *testing.T) {
	userinfotest.TestOTPStore(t, func(t testing.TB) otp.Store { return open(t, tempDB(t)).OTP() })
}

// The database file and its WAL files are the owner's alone.
func TestFileMode(t *testing.T) {
	path := tempDB(t)
	s := open(t, path)
	if _, err := s.Put(context.Background(), "u1", map[string]any{"nickname": "x"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
}

func TestReplayStore(t *testing.T) {
	userinfotest.TestReplayStore(t, func(t testing.TB) userinfo.ReplayStore { return open(t, tempDB(t)).Replay() })
}

// TestReplayAcrossStores: a proof that one process accepted is a replay for
// another on the same file.
func TestReplayAcrossStores(t *testing.T) {
	path := tempDB(t)
	a, b := open(t, path).Replay(), open(t, path).Replay()
	now := time.Now()
	ctx := context.Background()
	if ok, err := a.Remember(ctx, "jkt.jti", now.Add(time.Minute), now); err != nil || !ok {
		t.Fatalf("store a: %v, %v; want true", ok, err)
	}
	if ok, err := b.Remember(ctx, "jkt.jti", now.Add(time.Minute), now); err != nil || ok {
		t.Errorf("store b: %v, %v; want false, a replay", ok, err)
	}
}

// TestOpenConcurrently opens one new file from several stores at once, as
// processes starting together do: every Open succeeds, migrations run once.
func TestOpenConcurrently(t *testing.T) {
	path := tempDB(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			s, err := sqlite.Open(context.Background(), path)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open #%d of %d at once: %v", i, n, err)
		}
	}
	s := open(t, path)
	var rows, versions int
	if err := s.DB().QueryRow(`SELECT count(*), count(DISTINCT version) FROM userinfo_schema_migrations`).Scan(&rows, &versions); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("the migrations beside the test: %v, %v", files, err)
	}
	if rows != len(files) || versions != rows {
		t.Errorf("userinfo_schema_migrations has %d rows of %d versions after %d concurrent opens, want each of the %d migrations once", rows, versions, n, len(files))
	}
	var mode string
	if err := s.DB().QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestOpenOddPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a?b#c%d.db")
	s := open(t, path)
	if _, err := s.Put(context.Background(), "u1", map[string]any{"nickname": "x"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := open(t, path).GetUser(context.Background(), "u1"); err != nil {
		t.Errorf("GetUser after reopening %q: %v", path, err)
	}
}

func TestOpenEmptyPath(t *testing.T) {
	if _, err := sqlite.Open(context.Background(), ""); err == nil {
		t.Error(`Open(ctx, ""): got nil error`)
	}
}

func TestPut(t *testing.T) {
	s := open(t, tempDB(t))
	ctx := context.Background()
	u1, err := s.Put(ctx, "u1", map[string]any{"email": "A@x.test", "nickname": "A"})
	if err != nil {
		t.Fatal(err)
	}
	u1b, err := s.Put(ctx, "u1", map[string]any{"email": "a@x.test"})
	if err != nil {
		t.Fatalf("Put of an existing user: %v", err)
	}
	if u1b.Version <= u1.Version || u1b.Attributes["nickname"] != nil {
		t.Errorf("Put of an existing user: got version %d (was %d), attributes %v; want a new version and only the new attributes", u1b.Version, u1.Version, u1b.Attributes)
	}
	if _, err := s.Put(ctx, "u2", map[string]any{"email": "A@X.TEST"}); !errors.Is(err, userinfo.ErrDuplicateEmail) {
		t.Errorf("Put with another user's email: got %v, want %v", err, userinfo.ErrDuplicateEmail)
	}
}

// TestProcesses runs the kit's replica races across two stores on one file,
// as two processes sharing it: their writers meet in SQLite's locks, not in
// the store's queue.
func TestProcesses(t *testing.T) {
	path := tempDB(t)
	a, b := open(t, path), open(t, path)
	userinfotest.TestReplicas(t, []userinfotest.Replica{{Users: a, OTP: a.OTP()}, {Users: b, OTP: b.OTP()}})
}

func TestExactlyOnce(t *testing.T) {
	userinfotest.TestExactlyOnce(t, func(t testing.TB) (userinfotest.Store, otp.Store) {
		s := open(t, tempDB(t))
		return s, s.OTP()
	})
}
