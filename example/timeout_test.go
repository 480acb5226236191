package main

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/internal/sqlitetest"
	"github.com/ciamkit/userinfo/sqlstore/postgres"
)

// -request-timeout reaches both endpoints: with the SQLite file's write
// lock held by another connection, a PATCH and a send are answered 503
// temporarily_unavailable with Retry-After soon after it, long before the
// busy timeout (10 s) or the write timeout.
func TestRequestTimeoutFlag(t *testing.T) {
	path := filepath.Join(t.TempDir(), "u.db")
	const timeout = 500 * time.Millisecond
	const bound = 5 * time.Second // holds under -race, far below 10 s
	s := newTestServer(t, "-db", "sqlite:"+path, "-request-timeout", timeout.String())
	token := mint(t, s.URL, `{"sub":"demo","scope":"openid profile"}`)

	release := sqlitetest.HoldWriteLock(t, path)
	for _, tt := range []struct{ method, path, body string }{
		{http.MethodPatch, "/userinfo", `{"nickname":"late"}`},
		{http.MethodPost, "/otp/send", `{"usage":"update_userinfo","email":"late@example.com"}`},
	} {
		name := tt.method + " " + tt.path
		start := time.Now()
		status, hdr, m := call(t, tt.method, s.URL+tt.path, token, tt.body)
		took := time.Since(start)
		if status != http.StatusServiceUnavailable || m["error"] != "temporarily_unavailable" || hdr.Get("Retry-After") == "" {
			t.Errorf("%s with the file locked: %d %v (Retry-After %q), want 503 temporarily_unavailable with Retry-After",
				name, status, m, hdr.Get("Retry-After"))
		}
		if took > bound {
			t.Errorf("%s answered after %v, want about -request-timeout %v (at most %v)", name, took, timeout, bound)
		}
	}
	release()
	if status, _, m := call(t, http.MethodGet, s.URL+"/userinfo", token, ""); status != http.StatusOK || m["nickname"] == "late" {
		t.Errorf("GET after the 503: %d %v, want 200 without the late nickname", status, m)
	}
}

// On PostgreSQL the request deadline is the statement_timeout too, unless
// the DSN sets one.
func TestRequestTimeoutIsStatementTimeout(t *testing.T) {
	dsn := postgresDSN(t)
	reg, err := userinfo.NewRegistry(userinfo.RegistryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ dsn, want string }{
		{dsn, "3s"},
		{dsn + "&statement_timeout=7s", "7s"},
	} {
		b, err := openBackend(context.Background(), tt.dsn, reg, 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		err = b.users.(*postgres.Store).Pool().QueryRow(context.Background(), `SHOW statement_timeout`).Scan(&got)
		b.close()
		if err != nil || got != tt.want {
			t.Errorf("statement_timeout = %q, %v; want %q", got, err, tt.want)
		}
	}
}
