package sqlstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/sqlstore/postgres"
	"github.com/ciamkit/userinfo/sqlstore/sqlite"
)

// The benchmarks measure one PATCH /userinfo (and, beneath it, one
// UpdateUser) through each store with 1,000 and 100,000 users, side by
// side in one run, to show that the cost of a request does not grow with
// the number of users:
//
//	go test -run '^$' -bench . ./sqlstore/
//
// (with USERINFO_TEST_POSTGRES set for PostgreSQL; .ci/postgres.sh starts a
// server). Tokens are verified by a stub, so that the figures are the
// handler's and the store's, not the signature check's.

var userCounts = []int{1_000, 100_000}

// benchStore is one store under benchmark.
type benchStore struct {
	name string
	// open returns an empty store, and a function that seeds it with n
	// users u0 … u(n-1), each with an email address and a phone number.
	open func(b *testing.B) (userinfo.UserStore, func(n int))
}

var benchStores = []benchStore{
	{"memory", func(b *testing.B) (userinfo.UserStore, func(int)) {
		s := userinfo.NewMemoryStore()
		return s, func(n int) {
			for i := range n {
				if _, err := s.Put(context.Background(), fmt.Sprint("u", i), benchAttrs(i)); err != nil {
					b.Fatal(err)
				}
			}
		}
	}},
	{"sqlite", func(b *testing.B) (userinfo.UserStore, func(int)) {
		s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s, func(n int) {
			// One statement: the users, as Put would write them.
			_, err := s.DB().Exec(`
				WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ?)
				INSERT INTO userinfo_users (subject, version, updated_at, attributes, email_key, phone_key)
				SELECT 'u' || i, 1, '2001-02-03T04:05:06.000000000Z',
					json_object('email', 'user' || i || '@example.test', 'phone_number', printf('136%08d', i), 'nickname', 'User ' || i),
					'user' || i || '@example.test', printf('136%08d', i)
				FROM seq`, n)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.DB().Exec(`ANALYZE; PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
				b.Fatal(err)
			}
		}
	}},
	{"postgres", func(b *testing.B) (userinfo.UserStore, func(int)) {
		s, err := postgres.Open(context.Background(), benchDSN(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(s.Close)
		return s, func(n int) {
			ctx := context.Background()
			_, err := s.Pool().Exec(ctx, `
				INSERT INTO userinfo_users (subject, version, updated_at, attributes, email_key, phone_key)
				SELECT 'u' || i, 1, now(),
					jsonb_build_object('email', 'user' || i || '@example.test', 'phone_number', '136' || lpad(i::text, 8, '0'), 'nickname', 'User ' || i),
					'user' || i || '@example.test', '136' || lpad(i::text, 8, '0')
				FROM generate_series(0, $1 - 1) AS i`, n)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Pool().Exec(ctx, `VACUUM ANALYZE userinfo_users`); err != nil {
				b.Fatal(err)
			}
		}
	}},
}

func benchAttrs(i int) map[string]any {
	return map[string]any{
		"email":        fmt.Sprintf("user%d@example.test", i),
		"phone_number": fmt.Sprintf("136%08d", i),
		"nickname":     fmt.Sprintf("User %d", i),
	}
}

// benchDSN returns a DSN on a new schema of b's own, or skips b.
func benchDSN(b *testing.B) string {
	dsn := os.Getenv("USERINFO_TEST_POSTGRES")
	if dsn == "" {
		b.Skip("USERINFO_TEST_POSTGRES is not set: no PostgreSQL to benchmark (.ci/postgres.sh starts one)")
	}
	var r [6]byte
	rand.Read(r[:])
	schema := "userinfo_bench_" + hex.EncodeToString(r[:])
	pgExec(b, dsn, "CREATE SCHEMA "+schema)
	b.Cleanup(func() { pgExec(b, dsn, "DROP SCHEMA "+schema+" CASCADE") })
	u, err := url.Parse(dsn)
	if err != nil || !strings.HasPrefix(u.Scheme, "postgres") {
		return dsn + " search_path=" + schema
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func pgExec(b *testing.B, dsn, sql string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		b.Fatal(err)
	}
}

// active is the number of users that the requests of a benchmark change.
const active = 1_000

// subjectAt returns the subject of the i-th request among n users: the
// requests go to the same number of active users, spread evenly over all n
// of them and visited in a scattered order, so that the two sizes run the
// same workload on a table (an index) of 1,000 or 100,000 users. What they
// compare is the cost of the user count, not of touching more distinct
// users, which no store avoids: walking all 100,000 users in the memory
// store costs some 1.6 to 2 times more per request than walking 1,000, all
// of it CPU cache misses.
func subjectAt(i, n int) string { return fmt.Sprint("u", (i*7919)%active*(n/active)) }

// BenchmarkPatch measures one PATCH /userinfo that changes a nickname.
func BenchmarkPatch(b *testing.B) {
	for _, st := range benchStores {
		for _, n := range userCounts {
			b.Run(fmt.Sprintf("store=%s/users=%d", st.name, n), func(b *testing.B) {
				store, seed := st.open(b)
				seed(n)
				h := benchHandler(b, store)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					patchNickname(b, h, subjectAt(i, n), i)
					i++
				}
			})
		}
	}
}

// benchHandler returns a handler on store whose tokens are the subjects.
func benchHandler(b *testing.B, store userinfo.UserStore) *userinfo.Handler {
	h, err := userinfo.New(userinfo.Config{
		Store: store,
		Tokens: userinfo.TokenVerifierFunc(func(_ context.Context, token string) (*userinfo.Principal, error) {
			return &userinfo.Principal{Subject: token, Scopes: []string{"openid"}, Expiry: time.Now().Add(time.Hour)}, nil
		}),
	})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// patchNickname sends PATCH /userinfo {"nickname":"n<i>"} as sub.
func patchNickname(b *testing.B, h http.Handler, sub string, i int) {
	body := fmt.Sprintf(`{"nickname":"n%d"}`, i)
	req := httptest.NewRequest(http.MethodPatch, "/userinfo", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+sub)
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		b.Errorf("PATCH: %d %s", w.Code, w.Body)
	}
}

// BenchmarkHotUser measures the throughput of 16 concurrent clients
// (8 per CPU on this 2-CPU machine) sending nickname PATCHes, all to one
// user (users=hot) or spread over 1,000 (users=spread), side by side: a
// store that serialises a hot user's writes under its row lock, in one
// write each, keeps the hot user's throughput near the spread one's,
// where optimistic retries would multiply its statements.
//
//	go test -run '^$' -bench HotUser -count 6 ./sqlstore/
func BenchmarkHotUser(b *testing.B) {
	for _, st := range benchStores {
		for _, mode := range []string{"spread", "hot"} {
			b.Run(fmt.Sprintf("store=%s/users=%s", st.name, mode), func(b *testing.B) {
				store, seed := st.open(b)
				seed(active)
				h := benchHandler(b, store)
				var next atomic.Int64
				b.SetParallelism(8)
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := int(next.Add(1))
						sub := "u0"
						if mode == "spread" {
							sub = subjectAt(i, active)
						}
						patchNickname(b, h, sub, i)
					}
				})
			})
		}
	}
}

// BenchmarkUpdateUser measures the store's part of a PATCH: one
// UpdateUser.
func BenchmarkUpdateUser(b *testing.B) {
	for _, st := range benchStores {
		for _, n := range userCounts {
			b.Run(fmt.Sprintf("store=%s/users=%d", st.name, n), func(b *testing.B) {
				store, seed := st.open(b)
				seed(n)
				ctx := context.Background()
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					_, err := store.UpdateUser(ctx, userinfo.Update{
						Subject: subjectAt(i, n),
						Set:     map[string]any{"nickname": fmt.Sprint("n", i)},
						Now:     time.Now(),
					})
					if err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}

// BenchmarkUserCountAB compares a PATCH with 1,000 and with 100,000 users
// call by call: each iteration sends one request to each of two stores, in
// alternating order, and the metric large/small is the ratio of their
// total times, which noise from other work on the machine touches alike.
//
//	go test -run '^$' -bench UserCountAB -benchtime 3000x -count 6 ./sqlstore/
func BenchmarkUserCountAB(b *testing.B) {
	for _, st := range benchStores {
		b.Run("store="+st.name, func(b *testing.B) {
			small, seedSmall := st.open(b)
			seedSmall(userCounts[0])
			large, seedLarge := st.open(b)
			seedLarge(userCounts[1])
			sides := [2]struct {
				h *userinfo.Handler
				n int
				t time.Duration
			}{{h: benchHandler(b, small), n: userCounts[0]}, {h: benchHandler(b, large), n: userCounts[1]}}
			i := 0
			for b.Loop() {
				for k := range 2 {
					side := &sides[(i+k)%2]
					start := time.Now()
					patchNickname(b, side.h, subjectAt(i, side.n), i)
					side.t += time.Since(start)
				}
				i++
			}
			b.ReportMetric(float64(sides[1].t)/float64(sides[0].t), "large/small")
		})
	}
}
