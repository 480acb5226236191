package postgres_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/sqlstore/postgres"
)

// legacySchema brings the schema of dsn to migration 1, as the previous
// release left it, holding users (subject → attributes JSON, email key,
// phone number) as that release stored them.
func legacySchema(t *testing.T, dsn string, users map[string][3]string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	init, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{string(init),
		`CREATE TABLE userinfo_schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
		`INSERT INTO userinfo_schema_migrations (version) VALUES (1)`} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	for sub, u := range users {
		var email, phone *string
		if u[1] != "" {
			email = &u[1]
		}
		if u[2] != "" {
			phone = &u[2]
		}
		if _, err := conn.Exec(ctx, `INSERT INTO userinfo_users VALUES ($1, 1, now(), $2::jsonb, $3, $4)`, sub, u[0], email, phone); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMigrateAddresses: migration 2 moves stored numbers to E.164 (with a
// new version, so ETags change), keeps what the rules refuse, and from then
// on every spelling of a number is one number.
func TestMigrateAddresses(t *testing.T) {
	dsn := testDSN(t)
	legacySchema(t, dsn, map[string][3]string{
		"u1": {`{"phone_number":"13612345678","email":"One@X.test"}`, "one@x.test", "13612345678"},
		"u2": {`{"phone_number":"+8613712345678"}`, "", "+8613712345678"},
		"u3": {`{"phone_number":"+1234567","nickname":"legacy"}`, "", "+1234567"},
		"u4": {`{"nickname":"none"}`, "", ""},
	})
	ctx := context.Background()
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for sub, want := range map[string]struct {
		phone   any
		version uint64
	}{"u1": {"+8613612345678", 2}, "u2": {"+8613712345678", 1}, "u3": {"+1234567", 1}, "u4": {nil, 1}} {
		u, err := s.GetUser(ctx, sub)
		if err != nil {
			t.Fatal(err)
		}
		if u.Attributes["phone_number"] != want.phone || u.Version != want.version {
			t.Errorf("%s after migration: phone_number %v, version %d; want %v, %d", sub, u.Attributes["phone_number"], u.Version, want.phone, want.version)
		}
	}
	_, err = s.UpdateUser(ctx, userinfo.Update{Subject: "u4", Set: map[string]any{"phone_number": "+8613612345678"}, Now: time.Now()})
	if err != userinfo.ErrDuplicatePhoneNumber {
		t.Errorf("u4 takes u1's number in E.164 after the migration: %v, want ErrDuplicatePhoneNumber", err)
	}
	_, err = s.UpdateUser(ctx, userinfo.Update{Subject: "u4", Set: map[string]any{"email": "ONE@x.TEST"}, Now: time.Now()})
	if err != userinfo.ErrDuplicateEmail {
		t.Errorf("u4 takes u1's email in another case: %v, want ErrDuplicateEmail", err)
	}
}

// TestMigrateAddressesConflict: two users on one number once it is written
// in E.164 stop the start with a message naming them and what to do, not
// the number, and nothing is changed.
func TestMigrateAddressesConflict(t *testing.T) {
	dsn := testDSN(t)
	legacySchema(t, dsn, map[string][3]string{
		"alice": {`{"phone_number":"13612345678"}`, "", "13612345678"},
		"bob":   {`{"phone_number":"+8613612345678"}`, "", "+8613612345678"},
	})
	ctx := context.Background()
	_, err := postgres.Open(ctx, dsn)
	if err == nil {
		t.Fatal("Open succeeded with two users on one number")
	}
	msg := err.Error()
	for _, want := range []string{`"alice"`, `"bob"`, "phone_number", "then start again"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %s", msg, want)
		}
	}
	if strings.Contains(msg, "13612345678") {
		t.Errorf("error %q names the number", msg)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var version int
	var phone string
	if err := conn.QueryRow(ctx, `SELECT max(version) FROM userinfo_schema_migrations`).Scan(&version); err != nil || version != 1 {
		t.Errorf("migrations after the failed start: %d, %v; want still 1", version, err)
	}
	if err := conn.QueryRow(ctx, `SELECT phone_number FROM userinfo_users WHERE subject = 'alice'`).Scan(&phone); err != nil || phone != "13612345678" {
		t.Errorf("alice's phone_number column after the failed start: %q, %v; want it unchanged", phone, err)
	}
}
