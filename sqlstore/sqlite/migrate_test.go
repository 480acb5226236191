package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/sqlstore/sqlite"
)

// legacyDB makes a database file at migration 1, as the previous release
// left it, holding users (subject → attributes JSON, email key, phone
// number) as that release stored them.
func legacyDB(t *testing.T, users map[string][3]string) string {
	t.Helper()
	path := tempDB(t)
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	init, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{string(init),
		`CREATE TABLE userinfo_schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL) STRICT`,
		`INSERT INTO userinfo_schema_migrations VALUES (1, '2024-01-01T00:00:00Z')`} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	for sub, u := range users {
		var email, phone any
		if u[1] != "" {
			email = u[1]
		}
		if u[2] != "" {
			phone = u[2]
		}
		if _, err := db.Exec(`INSERT INTO userinfo_users VALUES (?, 1, ?, ?, ?, ?)`,
			sub, time.Now().UTC().Format("2006-01-02T15:04:05.000000000Z07:00"), u[0], email, phone); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestMigrateAddresses: migration 2 moves stored numbers to E.164 (with a
// new version, so ETags change), keeps what the rules refuse, and from then
// on every spelling of a number is one number.
func TestMigrateAddresses(t *testing.T) {
	path := legacyDB(t, map[string][3]string{
		"u1": {`{"phone_number":"13612345678","email":"One@X.test"}`, "one@x.test", "13612345678"},
		"u2": {`{"phone_number":"+8613712345678"}`, "", "+8613712345678"},
		"u3": {`{"phone_number":"+1234567","nickname":"legacy"}`, "", "+1234567"},
		"u4": {`{"nickname":"none"}`, "", ""},
	})
	ctx := context.Background()
	s := open(t, path)
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
	if u, _ := s.GetUser(ctx, "u1"); u.Attributes["email"] != "One@X.test" {
		t.Errorf("u1's email = %v, want it unchanged", u.Attributes["email"])
	}
	_, err := s.UpdateUser(ctx, userinfo.Update{Subject: "u4", Set: map[string]any{"phone_number": "+8613612345678"}, Now: time.Now()})
	if err != userinfo.ErrDuplicatePhoneNumber {
		t.Errorf("u4 takes u1's number in E.164 after the migration: %v, want ErrDuplicatePhoneNumber", err)
	}
	_, err = s.UpdateUser(ctx, userinfo.Update{Subject: "u4", Set: map[string]any{"email": "ONE@x.TEST"}, Now: time.Now()})
	if err != userinfo.ErrDuplicateEmail {
		t.Errorf("u4 takes u1's email in another case: %v, want ErrDuplicateEmail", err)
	}
	// A second open has nothing left to do.
	s.Close()
	if u, _ := open(t, path).GetUser(ctx, "u1"); u.Version != 2 {
		t.Errorf("u1's version after a second open = %d, want 2", u.Version)
	}
}

// TestMigrateAddressesConflict: two users on one number once it is written
// in E.164 stop the start with a message naming them and what to do, not
// the number, and nothing is changed.
func TestMigrateAddressesConflict(t *testing.T) {
	path := legacyDB(t, map[string][3]string{
		"alice": {`{"phone_number":"13612345678"}`, "", "13612345678"},
		"bob":   {`{"phone_number":"+8613612345678"}`, "", "+8613612345678"},
	})
	_, err := sqlite.Open(context.Background(), path)
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
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version int
	var phone string
	if err := db.QueryRow(`SELECT max(version) FROM userinfo_schema_migrations`).Scan(&version); err != nil || version != 1 {
		t.Errorf("migrations after the failed start: %d, %v; want still 1", version, err)
	}
	if err := db.QueryRow(`SELECT phone_number FROM userinfo_users WHERE subject = 'alice'`).Scan(&phone); err != nil || phone != "13612345678" {
		t.Errorf("alice's phone_number column after the failed start: %q, %v; want it unchanged", phone, err)
	}
}
