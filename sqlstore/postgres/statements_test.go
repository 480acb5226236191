package postgres_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/accesstoken"
	"github.com/ciamkit/userinfo/internal/testkeys"
	"github.com/ciamkit/userinfo/otp"
	"github.com/ciamkit/userinfo/sqlstore/postgres"
)

// statementCounter is a pgx tracer that counts the statements sent to the
// server, single or batched, leaving out BEGIN, COMMIT and ROLLBACK.
type statementCounter struct {
	mu           sync.Mutex
	reads, write int
	sql          []string
}

func (c *statementCounter) count(sql string) {
	sql = strings.TrimSpace(sql)
	word := strings.ToLower(strings.SplitN(sql, " ", 2)[0])
	switch word {
	case "begin", "commit", "rollback":
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	low := strings.ToLower(sql)
	if strings.Contains(low, "update ") || strings.Contains(low, "insert ") || strings.Contains(low, "delete ") {
		c.write++
	} else {
		c.reads++
	}
	c.sql = append(c.sql, strings.Join(strings.Fields(sql), " "))
}

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.count(d.SQL)
	return ctx
}
func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *statementCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}
func (c *statementCounter) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	c.count(d.SQL)
}
func (c *statementCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// take returns the counts since the last take and resets them.
func (c *statementCounter) take() (reads, writes int, sql []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	reads, writes, sql = c.reads, c.write, c.sql
	c.reads, c.write, c.sql = 0, 0, nil
	return reads, writes, sql
}

// TestStatementCounts counts, with a pgx tracer, what each request costs
// the database: POST /otp/send at most 4 statements (the user lookup, both
// throttles in one, the code), a PATCH with an email change at most 5 (the
// user, the code's attempt and its refund, the write, the code's delete),
// a nickname PATCH one read and one write, also when 16 of them hit one user
// at once.
func TestStatementCounts(t *testing.T) {
	dsn := testDSN(t)
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(dsn + "&pool_max_conns=20")
	if err != nil {
		t.Fatal(err)
	}
	counter := &statementCounter{}
	cfg.ConnConfig.Tracer = counter
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store, err := postgres.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	issuer := testkeys.MustNew("ES256")
	keys, err := accesstoken.NewStaticKeySet(testkeys.JWKS(issuer))
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: keys, Issuer: replicaIssuer, Audience: []string{replicaAudience}})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := userinfo.NewRegistry(userinfo.RegistryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	sender := &otp.RecordingSender{}
	svc, err := otp.New(otp.Config{Store: store.OTP(), Users: store, Sender: sender, Registry: reg,
		Key: otp.GenerateKey(), PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	h, err := userinfo.New(userinfo.Config{Tokens: verifier, Store: store, OTP: svc, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/userinfo", h)
	mux.Handle("/otp/send", h.Authenticator().Middleware(svc.SendHandler()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	r := &replica{Server: srv, store: store, otp: svc, sender: sender}

	if _, err := store.Put(ctx, "counted", map[string]any{"email": "old@counted.test", "nickname": "n"}); err != nil {
		t.Fatal(err)
	}
	tok := token(t, issuer, "counted")
	request := func(method, path, body string) int {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	check := func(what string, status, reads, writes, maxTotal int, sql []string) {
		t.Helper()
		if status != http.StatusOK {
			t.Fatalf("%s: status %d", what, status)
		}
		if reads+writes > maxTotal {
			t.Errorf("%s ran %d statements (%d reads, %d writes), want at most %d:\n%s", what, reads+writes, reads, writes, maxTotal, strings.Join(sql, "\n"))
		}
		t.Logf("%s: %d reads, %d writes", what, reads, writes)
	}
	counter.take()

	status := request(http.MethodPost, "/otp/send", `{"usage":"update_userinfo","email":"new@counted.test"}`)
	sendReads, sendWrites, sql := counter.take()
	check("POST /otp/send", status, sendReads, sendWrites, 4, sql)
	throttles := 0
	for _, q := range sql {
		if strings.Contains(q, "userinfo_otp_throttle") {
			throttles++
		}
	}
	if throttles != 1 {
		t.Errorf("POST /otp/send throttled in %d statements, want both limits in one round trip:\n%s", throttles, strings.Join(sql, "\n"))
	}

	m, ok := sender.Last()
	if !ok {
		t.Fatal("no code sent")
	}
	status, _, err = r.patchEmail(tok, "new@counted.test", m.Token, m.Code)
	if err != nil {
		t.Fatal(err)
	}
	patchReads, patchWrites, sql := counter.take()
	check("PATCH with an email change", status, patchReads, patchWrites, 5, sql)
	if total := sendReads + sendWrites + patchReads + patchWrites; total > 9 {
		t.Errorf("send + PATCH ran %d statements, want at most 9", total)
	}

	status = request(http.MethodPatch, "/userinfo", `{"nickname":"one"}`)
	reads, writes, sql := counter.take()
	check("PATCH of a nickname", status, reads, writes, 2, sql)
	if reads != 1 || writes != 1 {
		t.Errorf("PATCH of a nickname: %d reads and %d writes, want 1 and 1:\n%s", reads, writes, strings.Join(sql, "\n"))
	}

	// One hot user: no retries, whoever comes first.
	const n = 16
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Go(func() { statuses[i] = request(http.MethodPatch, "/userinfo", fmt.Sprintf(`{"nickname":"hot %d"}`, i)) })
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Errorf("concurrent PATCH %d: status %d", i, s)
		}
	}
	reads, writes, sql = counter.take()
	if reads != n || writes != n {
		t.Errorf("%d concurrent nickname PATCHes of one user: %d reads and %d writes, want %d each:\n%s", n, reads, writes, n, strings.Join(sql, "\n"))
	}
}
