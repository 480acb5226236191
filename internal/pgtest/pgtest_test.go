package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ciamkit/userinfo/internal/pgtest"
)

// A paused server answers nothing, not even a new connection, until it is
// resumed; a killed one restarts on the same DSN with every committed
// transaction.
func TestServer(t *testing.T) {
	srv := pgtest.New(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, srv.DSN())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE kept (v int); INSERT INTO kept VALUES (1)`); err != nil {
		t.Fatal(err)
	}

	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	for _, what := range []string{"a query on an open connection", "a new connection"} {
		qctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		var err error
		if what == "a new connection" {
			var c *pgx.Conn
			if c, err = pgx.Connect(qctx, srv.DSN()); err == nil {
				c.Close(ctx)
			}
		} else {
			_, err = conn.Exec(qctx, `SELECT 1`)
		}
		cancel()
		if err == nil {
			t.Errorf("%s succeeded on a paused server", what)
		}
	}
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx) // broken by the canceled query
	if conn, err = pgx.Connect(ctx, srv.DSN()); err != nil {
		t.Fatalf("connecting after Resume: %v", err)
	}
	conn.Close(ctx)

	pid := srv.PID()
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	if srv.PID() != 0 {
		t.Error("PID after Kill is not 0")
	}
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if srv.PID() == pid {
		t.Error("the postmaster has its old PID after Restart")
	}
	conn, err = pgx.Connect(ctx, srv.DSN())
	if err != nil {
		t.Fatalf("connecting after Restart: %v", err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM kept`).Scan(&n); err != nil || n != 1 {
		t.Errorf("after a kill and a restart: %d rows, %v; want the 1 committed", n, err)
	}
}
