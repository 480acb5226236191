// Package sqlite keeps users and one-time codes in an embedded SQLite
// database file, through the pure-Go driver modernc.org/sqlite (no cgo). It
// suits a single server, or a few processes on one machine sharing the file;
// replicas on several machines need package
// github.com/ciamkit/userinfo/sqlstore/postgres.
//
// [Open] opens or creates the file and its tables; [Store] is a
// [userinfo.UserStore], [Store.OTP] an [otp.Store] and [Store.Replay] a
// [userinfo.ReplayStore].
//
//	db, err := sqlite.Open(ctx, "userinfo.db")
//	if err != nil {
//		return err
//	}
//	defer db.Close()
//
// The database is in WAL mode, so reads never wait for the writer. SQLite
// has one writer at a time: every write is a BEGIN IMMEDIATE transaction
// (the write lock taken up front, so two writers never deadlock upgrading
// their locks), writers of one process queue in the process (honouring
// their contexts) and writers of several processes wait for each other up
// to the busy timeout (10 s) or until their context ends, whichever comes
// first: the driver's busy handler gives up when the context of the call is
// done, so a write whose request deadline passes while another process (or
// another connection) holds the write lock fails at once with an error
// wrapping the context's, having written nothing, and the handler answers
// 503. Each connection caches up to 16 MiB of pages.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/internal/attrjson"
	"github.com/ciamkit/userinfo/sqlstore/internal/sqlcommon"
)

//go:embed migrations/*.sql
var migrations embed.FS

// BusyTimeout is how long a write waits for another process's write
// transaction to end before it fails with SQLITE_BUSY; a write whose
// context ends first stops waiting then.
const BusyTimeout = 10 * time.Second

// CommitTimeout bounds a commit under way. A request's deadline ends a
// write only until it begins to commit, so that a write cut off by the
// deadline is one that wrote nothing.
const CommitTimeout = 5 * time.Second

// Store is a [userinfo.UserStore] in a SQLite database. It is safe for
// concurrent use, also by several processes opening the same file.
//
// Attributes are kept as JSON text exactly as encoding/json writes them, so
// every value comes back as it was set. UpdatedAt is kept to the nanosecond.
type Store struct {
	db *sql.DB
	// wlock queues the process's writers, so that they wait in Go, with
	// their contexts, rather than in SQLite's busy handler.
	wlock  chan struct{}
	replay *ReplayStore
	otp    *OTPStore
}

// Options configures [OpenOptions].
type Options struct {
	// Registry gives the stored forms of email addresses and phone numbers
	// for the data migration that normalises them (migration 2): national
	// numbers are read in the first region of its phone policy. Give the
	// registry the server uses. Default: userinfo.NewRegistry with the
	// zero RegistryConfig (mainland China, ASCII email addresses).
	Registry *userinfo.Registry
}

// Open opens the store at path as [OpenOptions] does with the zero Options.
func Open(ctx context.Context, path string) (*Store, error) {
	return OpenOptions(ctx, path, Options{})
}

// OpenOptions opens the SQLite database file at path, creating it if needed
// with mode 0600 (an existing file keeps its mode), creates or upgrades the
// tables, and returns the store. ":memory:" opens a
// private in-memory database (on one connection). [Store.DB] gives the
// connection pool for tuning, e.g. SetMaxOpenConns; its default is at most
// 4 connections or the number of CPUs, whichever is more.
//
// Migrations, SQL and Go steps, run in one BEGIN IMMEDIATE transaction, so
// several processes may open one file at once: the others wait. Migration 2
// moves stored phone numbers to E.164 and email domains to their A-label
// form; when two users would then hold one address, Open fails with an error
// that names them (not the address) and changes nothing.
func OpenOptions(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: Open: empty path")
	}
	params := "_pragma=busy_timeout(" + strconv.FormatInt(BusyTimeout.Milliseconds(), 10) + ")" +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_pragma=cache_size(-16384)&_txlock=immediate"
	var dsn string
	if path == ":memory:" {
		dsn = "file::memory:?" + params
	} else {
		// A SQLite URI, so that any file name works: escape what URIs
		// give a meaning to.
		dsn = "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path) + "?" + params
		// The file holds personal data: create it readable by its owner
		// alone (SQLite gives its -wal and -shm files the same mode).
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
		}
		f.Close()
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if path == ":memory:" {
		// Every connection to :memory: is a database of its own.
		db.SetMaxOpenConns(1)
	} else {
		db.SetMaxOpenConns(max(4, runtime.NumCPU()))
	}
	reg := opts.Registry
	if reg == nil {
		if reg, err = userinfo.NewRegistry(userinfo.RegistryConfig{}); err != nil {
			db.Close()
			return nil, fmt.Errorf("sqlite: %w", err)
		}
	}
	s := &Store{db: db, wlock: make(chan struct{}, 1)}
	s.replay = &ReplayStore{s: s, purge: sqlcommon.Periodic{Interval: time.Minute}}
	s.otp = &OTPStore{s: s}
	if err := s.migrateWhenFree(ctx, reg); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	return s, nil
}

// migrateWhenFree migrates, retrying for up to BusyTimeout while the file is
// busy. Turning a new file to WAL needs an exclusive lock that SQLite does
// not wait for (the busy timeout does not apply to it), so processes
// opening one new file at once can find it locked for a moment.
func (s *Store) migrateWhenFree(ctx context.Context, reg *userinfo.Registry) error {
	deadline := time.Now().Add(BusyTimeout)
	for {
		err := s.migrate(ctx, reg)
		var e *msqlite.Error
		if err == nil || !errors.As(err, &e) || e.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that the database answers, for readiness checks
// ([userinfo.Handler.Ready]).
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// DB returns the store's connection pool.
func (s *Store) DB() *sql.DB { return s.db }

// write runs f in a write transaction: BEGIN IMMEDIATE, after the
// process's earlier writers. ctx bounds the wait for the write lock and
// every statement of f; once the commit has begun, it no longer applies:
// the commit gets up to CommitTimeout of its own, so that a deadline never
// interrupts a commit whose outcome the caller could then not tell apart
// from a write that never happened.
func (s *Store) write(ctx context.Context, f func(tx *sql.Tx) error) error {
	select {
	case s.wlock <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.wlock }()
	// The driver watches the context given to BeginTx until the commit
	// ends: give it one that ends with ctx only until the commit begins.
	txCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var (
		mu         sync.Mutex
		committing bool
	)
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !committing {
			cancel()
		}
	})
	defer stop()
	tx, err := s.db.BeginTx(txCtx, nil) // BEGIN IMMEDIATE: _txlock=immediate
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	mu.Lock()
	committing = txCtx.Err() == nil
	mu.Unlock()
	if !committing {
		tx.Rollback()
		return ctx.Err()
	}
	timer := time.AfterFunc(CommitTimeout, cancel)
	defer timer.Stop()
	return tx.Commit()
}

// migrate applies the embedded migrations and the Go steps that the
// database lacks, in one write transaction.
func (s *Store) migrate(ctx context.Context, reg *userinfo.Registry) error {
	ms, err := sqlcommon.Migrations(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	plan, err := sqlcommon.Plan(ms, []sqlcommon.Step[*sql.Tx]{
		{Version: 2, Name: "normalize addresses", Run: func(ctx context.Context, tx *sql.Tx) error {
			return normalizeAddresses(ctx, tx, reg)
		}},
	})
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS userinfo_schema_migrations (
			version    INTEGER NOT NULL PRIMARY KEY,
			applied_at TEXT    NOT NULL) STRICT`); err != nil {
			return err
		}
		var applied int
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM userinfo_schema_migrations`).Scan(&applied); err != nil {
			return err
		}
		for _, m := range plan {
			if m.Version <= applied {
				continue
			}
			if m.SQL != "" {
				if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
					return fmt.Errorf("migration %s: %w", m.Name, err)
				}
			}
			if m.Run != nil {
				if err := m.Run(ctx, tx); err != nil {
					return fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO userinfo_schema_migrations (version, applied_at) VALUES (?, ?)`,
				m.Version, time.Now().UTC().Format(time.RFC3339)); err != nil {
				return err
			}
		}
		return nil
	})
}

// normalizeAddresses is the Go step of migration 2: it rewrites every stored
// email address and phone number to the form reg stores (E.164, an A-label
// domain) with its keys, and a new version, so that ETags change with the
// values. Keys of rewritten users are cleared first, so that the new keys
// never collide with old ones on the way.
func normalizeAddresses(ctx context.Context, tx *sql.Tx, reg *userinfo.Registry) error {
	rows, err := tx.QueryContext(ctx, `SELECT subject, attributes FROM userinfo_users ORDER BY subject`)
	if err != nil {
		return err
	}
	var users []sqlcommon.StoredUser
	for rows.Next() {
		var subject, raw string
		if err := rows.Scan(&subject, &raw); err != nil {
			rows.Close()
			return err
		}
		attrs, err := attrjson.Decode([]byte(raw))
		if err != nil {
			rows.Close()
			return fmt.Errorf("user %q: %w", subject, err)
		}
		users = append(users, sqlcommon.StoredUser{Subject: subject, Attributes: attrs})
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rewrites, _, err := sqlcommon.NormalizeAddresses(users, reg)
	if err != nil {
		return err
	}
	for _, r := range rewrites {
		if _, err := tx.ExecContext(ctx, `UPDATE userinfo_users SET email_key = NULL, phone_key = NULL WHERE subject = ?`, r.Subject); err != nil {
			return err
		}
	}
	for _, r := range rewrites {
		if _, err := tx.ExecContext(ctx, `UPDATE userinfo_users SET version = version + 1, attributes = ?, email_key = ?, phone_key = ? WHERE subject = ?`,
			string(r.Attributes), r.EmailKey, r.PhoneKey, r.Subject); err != nil {
			return err
		}
	}
	return nil
}

// mapError turns unique violations of the email and phone-number indexes
// into the userinfo sentinels.
func mapError(err error) error {
	var e *msqlite.Error
	if errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
		switch msg := e.Error(); {
		case strings.Contains(msg, "userinfo_users.email_key"):
			return userinfo.ErrDuplicateEmail
		case strings.Contains(msg, "userinfo_users.phone_key"):
			return userinfo.ErrDuplicatePhoneNumber
		}
	}
	return err
}

// isDuplicate reports whether err is one of the duplicate sentinels.
func isDuplicate(err error) bool {
	return errors.Is(err, userinfo.ErrDuplicateEmail) || errors.Is(err, userinfo.ErrDuplicatePhoneNumber)
}

const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// GetUser implements [userinfo.UserStore].
func (s *Store) GetUser(ctx context.Context, subject string) (*userinfo.User, error) {
	if !sqlcommon.StorableSubject(subject) {
		return nil, userinfo.ErrUserNotFound
	}
	var (
		version int64
		at, raw string
	)
	err := s.db.QueryRowContext(ctx, `SELECT version, updated_at, attributes FROM userinfo_users WHERE subject = ?`, subject).
		Scan(&version, &at, &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, userinfo.ErrUserNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: GetUser: %w", err)
	}
	return newUser(subject, version, at, raw)
}

func newUser(subject string, version int64, at, raw string) (*userinfo.User, error) {
	t, err := time.Parse(timeFormat, at)
	if err != nil {
		return nil, fmt.Errorf("sqlite: stored updated_at: %w", err)
	}
	attrs, err := attrjson.Decode([]byte(raw))
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return &userinfo.User{Subject: subject, Version: uint64(version), UpdatedAt: t, Attributes: attrs}, nil
}

// UpdateUser implements [userinfo.UserStore]: in one write transaction, it
// reads the user, checks the version, applies the change and writes it back;
// a unique violation of the email or phone-number index is ErrDuplicateEmail
// or ErrDuplicatePhoneNumber, and rolls everything back.
func (s *Store) UpdateUser(ctx context.Context, u userinfo.Update) (*userinfo.User, error) {
	_, after, err := s.update(ctx, u, nil)
	return after, err
}

// UpdateUserRedeeming implements [userinfo.RedeemingStore]. The codes of the
// store's own OTP records (an otp.Service whose Config.Store is [Store.OTP])
// are spent in the write's transaction: their records are deleted after the
// UPDATE, and a refused, failed or timed-out write rolls that back, leaving
// every code redeemable, while a stored change always has its codes spent.
// Other redemptions are redeemed in the transaction once the write passed
// its checks (version, uniqueness); a commit that fails after that leaves
// them spent.
func (s *Store) UpdateUserRedeeming(ctx context.Context, u userinfo.Update, rs []userinfo.Redemption) (*userinfo.User, error) {
	_, after, err := s.SwapUser(ctx, u, rs)
	return after, err
}

// SwapUser implements [userinfo.SwappingStore]: UpdateUserRedeeming, which
// returns the user it read in its write transaction too.
func (s *Store) SwapUser(ctx context.Context, u userinfo.Update, rs []userinfo.Redemption) (before, after *userinfo.User, err error) {
	codes := sqlcommon.SplitCodes(ctx, rs, s.otp)
	before, after, err = s.update(ctx, u, codes)
	codes.Done(err)
	return before, after, err
}

func (s *Store) update(ctx context.Context, u userinfo.Update, codes *sqlcommon.Codes) (before, out *userinfo.User, err error) {
	if !sqlcommon.StorableSubject(u.Subject) {
		return nil, nil, userinfo.ErrUserNotFound
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		var (
			version int64
			raw     string
			oldAt   string
		)
		err := tx.QueryRowContext(ctx, `SELECT version, updated_at, attributes FROM userinfo_users WHERE subject = ?`, u.Subject).Scan(&version, &oldAt, &raw)
		if errors.Is(err, sql.ErrNoRows) {
			return userinfo.ErrUserNotFound
		}
		if err != nil {
			return err
		}
		if u.IfVersion != 0 && u.IfVersion != uint64(version) {
			return userinfo.ErrVersionConflict
		}
		if before, err = newUser(u.Subject, version, oldAt, raw); err != nil {
			return err
		}
		attrs := before.Clone().Attributes
		oldEmail, oldPhone := attrjson.EmailKey(attrs["email"]), attrjson.PhoneKey(attrs["phone_number"])
		for _, name := range u.Remove {
			delete(attrs, name)
		}
		for name, v := range u.Set {
			attrs[name] = v
		}
		next, err := attrjson.Encode(attrs)
		if err != nil {
			return err
		}
		at := formatTime(u.Now)
		email, phone := attrjson.EmailKey(attrs["email"]), attrjson.PhoneKey(attrs["phone_number"])
		if equal(email, oldEmail) && equal(phone, oldPhone) {
			// Leave the key columns out, so that SQLite leaves their
			// indexes alone.
			_, err = tx.ExecContext(ctx, `UPDATE userinfo_users SET version = ?, updated_at = ?, attributes = ? WHERE subject = ?`,
				version+1, at, string(next), u.Subject)
		} else {
			_, err = tx.ExecContext(ctx, `
				UPDATE userinfo_users SET version = ?, updated_at = ?, attributes = ?, email_key = ?, phone_key = ?
				WHERE subject = ?`,
				version+1, at, string(next), email, phone, u.Subject)
		}
		if err != nil {
			return mapError(err)
		}
		err = codes.Spend(ctx, func(ctx context.Context, id string) (bool, error) {
			res, err := tx.ExecContext(ctx, `DELETE FROM userinfo_otp_records WHERE id = ?`, id)
			if err != nil {
				return false, err
			}
			n, err := res.RowsAffected()
			return n == 1, err
		})
		if err != nil {
			return err
		}
		// Decode what was written: the caller gets the stored values, none
		// of its own maps.
		out, err = newUser(u.Subject, version+1, at, string(next))
		return err
	})
	if err != nil {
		if codes.Refused(err) || isDuplicate(err) || errors.Is(err, userinfo.ErrUserNotFound) || errors.Is(err, userinfo.ErrVersionConflict) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("sqlite: UpdateUser: %w", err)
	}
	return before, out, nil
}

// equal reports whether two index keys are equal.
func equal(a, b *string) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }

// Put creates the user subject with the attributes attrs, or replaces the
// attributes of an existing one (a new version), as the example server's
// -seed does. UpdatedAt is the current time. It enforces the same
// uniqueness as UpdateUser.
func (s *Store) Put(ctx context.Context, subject string, attrs map[string]any) (*userinfo.User, error) {
	raw, err := attrjson.Encode(attrs)
	if err != nil {
		return nil, fmt.Errorf("sqlite: Put: %w", err)
	}
	var out *userinfo.User
	err = s.write(ctx, func(tx *sql.Tx) error {
		var (
			version int64
			at      string
		)
		if err := tx.QueryRowContext(ctx, `
			INSERT INTO userinfo_users (subject, version, updated_at, attributes, email_key, phone_key)
			VALUES (?, 1, ?, ?, ?, ?)
			ON CONFLICT (subject) DO UPDATE SET
				version      = version + 1,
				updated_at   = excluded.updated_at,
				attributes   = excluded.attributes,
				email_key    = excluded.email_key,
				phone_key    = excluded.phone_key
			RETURNING version, updated_at`,
			subject, formatTime(time.Now()), string(raw), attrjson.EmailKey(attrs["email"]), attrjson.PhoneKey(attrs["phone_number"])).
			Scan(&version, &at); err != nil {
			return mapError(err)
		}
		out, err = newUser(subject, version, at, string(raw))
		return err
	})
	if err != nil {
		if isDuplicate(err) {
			return nil, err
		}
		return nil, fmt.Errorf("sqlite: Put: %w", err)
	}
	return out, nil
}

// Create creates the user subject with the attributes attrs, as the example
// server's -seed does, in one write transaction, and returns it with version
// 1. It fails, changing nothing, with userinfo.ErrUserExists when the subject
// is taken (by another process too), and with ErrDuplicateEmail or
// ErrDuplicatePhoneNumber as UpdateUser does.
func (s *Store) Create(ctx context.Context, subject string, attrs map[string]any) (*userinfo.User, error) {
	raw, err := attrjson.Encode(attrs)
	if err != nil {
		return nil, fmt.Errorf("sqlite: Create: %w", err)
	}
	var out *userinfo.User
	err = s.write(ctx, func(tx *sql.Tx) error {
		var one int
		switch err := tx.QueryRowContext(ctx, `SELECT 1 FROM userinfo_users WHERE subject = ?`, subject).Scan(&one); {
		case err == nil:
			return userinfo.ErrUserExists
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		at := formatTime(time.Now())
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO userinfo_users (subject, version, updated_at, attributes, email_key, phone_key)
			VALUES (?, 1, ?, ?, ?, ?)`,
			subject, at, string(raw), attrjson.EmailKey(attrs["email"]), attrjson.PhoneKey(attrs["phone_number"])); err != nil {
			return mapError(err)
		}
		out, err = newUser(subject, 1, at, string(raw))
		return err
	})
	if err != nil {
		if isDuplicate(err) || errors.Is(err, userinfo.ErrUserExists) {
			return nil, err
		}
		return nil, fmt.Errorf("sqlite: Create: %w", err)
	}
	return out, nil
}
