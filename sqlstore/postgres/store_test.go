package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/otp"
	"github.com/ciamkit/userinfo/sqlstore/postgres"
	"github.com/ciamkit/userinfo/userinfotest"
)

// envDSN names the variable that points the tests at a PostgreSQL database.
const envDSN = "USERINFO_TEST_POSTGRES"

// testDSN returns a DSN whose search_path is a new schema of t's own,
// dropped when t ends, so that tests and packages running in parallel do
// not see each other's tables. It skips t when no database is configured.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(envDSN)
	if dsn == "" {
		t.Skipf("%s is not set, so the PostgreSQL tests are skipped. Run .ci/run, which starts a throwaway server, "+
			"or set %s to the URL of a database where the tests may create and drop schemas, e.g. "+
			"%s=postgres://postgres@127.0.0.1:5432/userinfo_test?sslmode=disable go test -race ./...", envDSN, envDSN, envDSN)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "userinfo_test_" + hex.EncodeToString(b[:])
	exec(t, dsn, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { exec(t, dsn, "DROP SCHEMA "+schema+" CASCADE") })
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("%s: %v", envDSN, err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// exec runs one statement on its own connection.
func exec(t testing.TB, dsn, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connecting to %s: %v", envDSN, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// open opens a store on dsn, closed when t ends.
func open(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestUserStore(t *testing.T) {
	testDSN(t) // skip early, with the message, when there is no database
	userinfotest.TestUserStore(t, func(t testing.TB) userinfotest.Store { return open(t, testDSN(t)) })
}

func TestOTPStore(t *testing.T) {
	testDSN(t)
	userinfotest.TestOTPStore(t, func(t testing.TB) otp.Store { return open(t, testDSN(t)).OTP() })
}

func TestReplayStore(t *testing.T) {
	testDSN(t)
	userinfotest.TestReplayStore(t, func(t testing.TB) userinfo.ReplayStore { return open(t, testDSN(t)).Replay() })
}

// TestReplayAcrossReplicas: a proof that one replica accepted is a replay
// on another, whose pool is its own.
func TestReplayAcrossReplicas(t *testing.T) {
	dsn := testDSN(t)
	a, b := open(t, dsn).Replay(), open(t, dsn).Replay()
	now := time.Now()
	ctx := context.Background()
	if ok, err := a.Remember(ctx, "jkt.jti", now.Add(time.Minute), now); err != nil || !ok {
		t.Fatalf("replica a: %v, %v; want true", ok, err)
	}
	if ok, err := b.Remember(ctx, "jkt.jti", now.Add(time.Minute), now); err != nil || ok {
		t.Errorf("replica b: %v, %v; want false, a replay", ok, err)
	}
}

// TestOpenConcurrently opens one new schema from several pools at once, as
// replicas starting together do: every Open succeeds and the migrations are
// applied once.
func TestOpenConcurrently(t *testing.T) {
	dsn := testDSN(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			s, err := postgres.Open(context.Background(), dsn)
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
	s := open(t, dsn)
	var rows, versions int
	if err := s.Pool().QueryRow(context.Background(), `SELECT count(*), count(DISTINCT version) FROM userinfo_schema_migrations`).Scan(&rows, &versions); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("the migrations beside the test: %v, %v", files, err)
	}
	if rows != len(files) || versions != rows {
		t.Errorf("userinfo_schema_migrations has %d rows of %d versions after %d concurrent opens, want each of the %d migrations once", rows, versions, n, len(files))
	}
}

func TestPut(t *testing.T) {
	s := open(t, testDSN(t))
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

func TestNewNilPool(t *testing.T) {
	if _, err := postgres.New(context.Background(), nil); err == nil {
		t.Error("New(ctx, nil): got nil error")
	}
}

func TestOpenBadDSN(t *testing.T) {
	if _, err := postgres.Open(context.Background(), "postgres://%zz"); err == nil {
		t.Error("Open with a malformed DSN: got nil error")
	}
}

// TestReplicas runs the kit's replica races across two stores, each with its
// own pool, on one database, as two replicas of a server.
func TestReplicas(t *testing.T) {
	dsn := testDSN(t)
	a, b := open(t, dsn), open(t, dsn)
	userinfotest.TestReplicas(t, []userinfotest.Replica{{Users: a, OTP: a.OTP()}, {Users: b, OTP: b.OTP()}})
}

// Versions are bigint: an If-Match on a user past 2³¹ changes still works.
func TestLargeVersion(t *testing.T) {
	dsn := testDSN(t)
	s := open(t, dsn)
	ctx := context.Background()
	if _, err := s.Put(ctx, "u1", map[string]any{"nickname": "a"}); err != nil {
		t.Fatal(err)
	}
	const big = 3_000_000_000
	if _, err := s.Pool().Exec(ctx, `UPDATE userinfo_users SET version = $1 WHERE subject = 'u1'`, int64(big)); err != nil {
		t.Fatal(err)
	}
	u, err := s.UpdateUser(ctx, userinfo.Update{Subject: "u1", IfVersion: big, Set: map[string]any{"nickname": "b"}, Now: time.Now()})
	if err != nil {
		t.Fatalf("UpdateUser(IfVersion %d) = %v", uint64(big), err)
	}
	if u.Version <= big || u.Attributes["nickname"] != "b" {
		t.Errorf("UpdateUser = version %d, nickname %v", u.Version, u.Attributes["nickname"])
	}
	if _, err := s.UpdateUser(ctx, userinfo.Update{Subject: "u1", IfVersion: big, Set: map[string]any{"nickname": "c"}, Now: time.Now()}); !errors.Is(err, userinfo.ErrVersionConflict) {
		t.Errorf("UpdateUser(stale IfVersion) = %v, want ErrVersionConflict", err)
	}
}

// TestSecret: replicas that ask at once for a secret all get the one value
// stored first, and later calls get it too.
func TestSecret(t *testing.T) {
	dsn := testDSN(t)
	const n = 8
	values := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		s := open(t, dsn)
		wg.Go(func() {
			values[i], errs[i] = s.Secret(context.Background(), "k", func() ([]byte, error) {
				var b [32]byte
				_, err := rand.Read(b[:])
				return b[:], err
			})
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || len(values[i]) != 32 || string(values[i]) != string(values[0]) {
			t.Fatalf("replica %d: %x, %v; want the one value %x", i, values[i], errs[i], values[0])
		}
	}
	again, err := open(t, dsn).Secret(context.Background(), "k", func() ([]byte, error) { return []byte("other"), nil })
	if err != nil || string(again) != string(values[0]) {
		t.Errorf("a later call: %x, %v; want the stored value", again, err)
	}
	if _, err := open(t, dsn).Secret(context.Background(), "k", func() ([]byte, error) { return nil, errors.New("no entropy") }); err == nil {
		t.Error("a failing generate: no error")
	}
}

func TestExactlyOnce(t *testing.T) {
	userinfotest.TestExactlyOnce(t, func(t testing.TB) (userinfotest.Store, otp.Store) {
		s := open(t, testDSN(t))
		return s, s.OTP()
	})
}
