package postgres_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/sqlstore/postgres"
)

// Open gives its connections a statement_timeout unless the DSN sets one:
// the default, Options.StatementTimeout, none when it is negative, and the
// DSN's own value, as a parameter or in options, whatever the Options say.
func TestStatementTimeout(t *testing.T) {
	tests := []struct {
		name  string
		param string // added to the DSN's query
		value string
		opts  postgres.Options
		want  string
	}{
		{"default", "", "", postgres.Options{}, "10s"},
		{"option", "", "", postgres.Options{StatementTimeout: 1500 * time.Millisecond}, "1500ms"},
		{"option negative", "", "", postgres.Options{StatementTimeout: -1}, "0"},
		{"DSN parameter", "statement_timeout", "3s", postgres.Options{StatementTimeout: time.Second}, "3s"},
		{"DSN options", "options", "-c statement_timeout=4s", postgres.Options{}, "4s"},
		{"DSN zero", "statement_timeout", "0", postgres.Options{}, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := testDSN(t)
			if tt.param != "" {
				u, err := url.Parse(dsn)
				if err != nil {
					t.Fatal(err)
				}
				q := u.Query()
				q.Set(tt.param, tt.value)
				// pgx reads %20, not +, as a space.
				u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
				dsn = u.String()
			}
			s, err := postgres.OpenOptions(context.Background(), dsn, tt.opts)
			if err != nil {
				t.Fatalf("OpenOptions: %v", err)
			}
			defer s.Close()
			var got string
			if err := s.Pool().QueryRow(context.Background(), `SHOW statement_timeout`).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("SHOW statement_timeout = %q, want %q", got, tt.want)
			}
		})
	}
}

// A statement that the server cancels at its statement_timeout, here a
// write waiting for a row lock, writes nothing, and the store's error wraps
// context.DeadlineExceeded, which the handler answers 503.
func TestStatementTimeoutCancelsWrite(t *testing.T) {
	dsn := testDSN(t)
	ctx := context.Background()
	s, err := postgres.OpenOptions(ctx, dsn, postgres.Options{StatementTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before, err := s.Put(ctx, "slow", map[string]any{"nickname": "before"})
	if err != nil {
		t.Fatal(err)
	}
	holder := open(t, dsn+"&statement_timeout=0")
	tx, err := holder.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT 1 FROM userinfo_users WHERE subject = 'slow' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	// No deadline of its own: only the server's statement_timeout ends it.
	_, err = s.UpdateUser(ctx, userinfo.Update{Subject: "slow", Now: time.Now(), Set: map[string]any{"nickname": "after"}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("UpdateUser past the statement_timeout = %v, want an error wrapping context.DeadlineExceeded", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetUser(ctx, "slow")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != before.Version || got.Attributes["nickname"] != "before" {
		t.Errorf("after a canceled update the user is %+v, want it unchanged", got)
	}
	var slept int
	err = s.Pool().QueryRow(ctx, `SELECT 1 FROM pg_sleep(1)`).Scan(&slept)
	if err == nil {
		t.Error("pg_sleep(1) under a 200 ms statement_timeout succeeded")
	}
}
