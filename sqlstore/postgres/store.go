// Package postgres keeps users and one-time codes in PostgreSQL, through
// pgx and a pgxpool connection pool. It is the store for replicas: every
// instance of a server opens the same database, and the database decides
// every race (unique indexes, row locks), so uniqueness,
// conditional updates, single redemption of codes and send throttling hold
// across processes.
//
// [Open] connects and creates or upgrades the tables (userinfo_users,
// userinfo_otp_records, userinfo_otp_throttle, userinfo_dpop_replay and
// userinfo_schema_migrations, in the first schema of the search_path);
// [Store] is a [userinfo.UserStore], [Store.OTP] an [otp.Store] and
// [Store.Replay] a [userinfo.ReplayStore].
//
//	db, err := postgres.Open(ctx, "postgres://idp@db.internal/idp?pool_max_conns=20")
//	if err != nil {
//		return err
//	}
//	defer db.Close()
//
// # Timeouts
//
// Every call honours its context: when it ends, pgx asks the server to
// cancel the statement. As a backstop for a cancel request that never
// arrives (a broken network, a client gone), [OpenOptions] gives each
// connection a statement_timeout of [DefaultStatementTimeout] (10 s, the
// handler's default request deadline) unless the DSN sets one itself, as a
// statement_timeout parameter or in options (-c statement_timeout=…, also
// from PGOPTIONS); [Options].StatementTimeout changes it. A statement that
// the server cancels so ends its transaction with nothing written, and the
// store's error then wraps context.DeadlineExceeded, which the handler
// answers 503 temporarily_unavailable. Migrations run without the default
// (they, and replicas waiting for them, may take longer). [NewOptions]
// leaves a pool of your own as it is.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/internal/attrjson"
	"github.com/ciamkit/userinfo/sqlstore/internal/sqlcommon"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a [userinfo.UserStore] in PostgreSQL. It is safe for concurrent
// use, also by several processes on one database.
//
// Attributes are kept as JSONB: numbers keep their value (PostgreSQL writes
// them in its canonical form, so 1.0e2 comes back as 100), strings may not
// contain NUL (the handler refuses those). Times are kept to the
// microsecond.
type Store struct {
	pool   *pgxpool.Pool
	owned  bool
	replay *ReplayStore
	otp    *OTPStore
}

// Options configures [OpenOptions] and [NewOptions].
type Options struct {
	// Registry gives the stored forms of email addresses and phone numbers
	// for the data migration that normalises them (migration 2): national
	// numbers are read in the first region of its phone policy. Give the
	// registry the server uses. Default: userinfo.NewRegistry with the
	// zero RegistryConfig (mainland China, ASCII email addresses).
	Registry *userinfo.Registry

	// StatementTimeout is the statement_timeout that OpenOptions sets on
	// every connection of its pool when the DSN sets none: PostgreSQL
	// cancels a statement that runs longer, whether or not its client is
	// still there. Negative: none is set (the server's own setting
	// applies). NewOptions, on a pool of the caller's, ignores it.
	// Default value: DefaultStatementTimeout.
	StatementTimeout time.Duration
}

// DefaultStatementTimeout is the default of [Options].StatementTimeout:
// the handler's default request deadline (userinfo.DefaultRequestTimeout),
// so that no statement of a request outlives the request by much when its
// cancellation is lost.
const DefaultStatementTimeout = 10 * time.Second

// Open connects to dsn as [OpenOptions] does with the zero Options.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return OpenOptions(ctx, dsn, Options{})
}

// OpenOptions connects to the database dsn with a new pool, creates or
// upgrades the tables, and returns the store; [Store.Close] closes the pool.
//
// dsn is a PostgreSQL URL or keyword/value string, as pgxpool.ParseConfig
// reads it: pool settings are its pool_max_conns, pool_min_conns,
// pool_max_conn_lifetime, pool_max_conn_idle_time and
// pool_health_check_period parameters (default: at most 4 connections or
// the number of CPUs, whichever is more), and the tables go into the first
// schema of search_path. Unless it sets a statement_timeout itself, the
// connections get opts.StatementTimeout (see the package doc). For settings
// a DSN cannot carry, build the pool yourself and call [New].
func OpenOptions(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	lift := setStatementTimeout(cfg.ConnConfig.RuntimeParams, opts.StatementTimeout)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s, err := newStore(ctx, pool, opts, lift)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// New returns a store on pool as [NewOptions] does with the zero Options.
func New(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	return NewOptions(ctx, pool, Options{})
}

// NewOptions returns a store on pool, after creating or upgrading the
// tables. The caller keeps the pool: [Store.Close] does not close it.
//
// Migrations, SQL and Go steps, run in one transaction that first takes an
// advisory lock for the schema, so any number of processes may call New or
// [Open] at once: the others wait. Migration 2 moves stored phone numbers to
// E.164 and email domains to their A-label form; when two users would then
// hold one address, it fails with an error that names them (not the
// address) and changes nothing.
func NewOptions(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	return newStore(ctx, pool, opts, false)
}

// setStatementTimeout sets statement_timeout in params, the runtime
// parameters of a connection, to d unless they set it already (directly
// or in options) or d is negative, and reports whether it did.
func setStatementTimeout(params map[string]string, d time.Duration) bool {
	if d < 0 || params["statement_timeout"] != "" || strings.Contains(params["options"], "statement_timeout") {
		return false
	}
	if d == 0 {
		d = DefaultStatementTimeout
	}
	params["statement_timeout"] = strconv.FormatInt(max(d.Milliseconds(), 1), 10) + "ms"
	return true
}

// newStore is NewOptions; liftTimeout lifts the statement_timeout that
// OpenOptions set for the migrations.
func newStore(ctx context.Context, pool *pgxpool.Pool, opts Options, liftTimeout bool) (*Store, error) {
	if pool == nil {
		return nil, errors.New("postgres: New: pool is nil")
	}
	reg := opts.Registry
	if reg == nil {
		var err error
		if reg, err = userinfo.NewRegistry(userinfo.RegistryConfig{}); err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
	}
	if err := migrate(ctx, pool, reg, liftTimeout); err != nil {
		return nil, fmt.Errorf("postgres: migrating: %w", err)
	}
	s := &Store{pool: pool}
	s.replay = &ReplayStore{s: s, purge: sqlcommon.Periodic{Interval: time.Minute}}
	s.otp = &OTPStore{s: s}
	return s, nil
}

// Close closes the pool if [Open] made it.
func (s *Store) Close() {
	if s.owned {
		s.pool.Close()
	}
}

// Ping checks that the database answers, for readiness checks
// ([userinfo.Handler.Ready]).
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Pool returns the store's connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// migrate applies the embedded migrations and Go steps that the schema
// lacks; liftTimeout runs them without a statement_timeout.
func migrate(ctx context.Context, pool *pgxpool.Pool, reg *userinfo.Registry, liftTimeout bool) error {
	ms, err := sqlcommon.Migrations(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	plan, err := sqlcommon.Plan(ms, []sqlcommon.Step[pgx.Tx]{
		{Version: 2, Name: "normalize addresses", Run: func(ctx context.Context, tx pgx.Tx) error {
			return normalizeAddresses(ctx, tx, reg)
		}},
	})
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if liftTimeout {
			if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
				return err
			}
		}
		// Serialise migrations of this schema, across processes; the lock
		// goes with the transaction.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('github.com/ciamkit/userinfo/sqlstore migrate ' || coalesce(current_schema(), ''), 0))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS userinfo_schema_migrations (
			version    integer     PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		var applied int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM userinfo_schema_migrations`).Scan(&applied); err != nil {
			return err
		}
		for _, m := range plan {
			if m.Version <= applied {
				continue
			}
			if m.SQL != "" {
				if _, err := tx.Exec(ctx, m.SQL); err != nil {
					return fmt.Errorf("migration %s: %w", m.Name, err)
				}
			}
			if m.Run != nil {
				if err := m.Run(ctx, tx); err != nil {
					return fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
				}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO userinfo_schema_migrations (version) VALUES ($1)`, m.Version); err != nil {
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
func normalizeAddresses(ctx context.Context, tx pgx.Tx, reg *userinfo.Registry) error {
	rows, err := tx.Query(ctx, `SELECT subject, attributes FROM userinfo_users ORDER BY subject`)
	if err != nil {
		return err
	}
	var users []sqlcommon.StoredUser
	for rows.Next() {
		var (
			subject string
			raw     []byte
		)
		if err := rows.Scan(&subject, &raw); err != nil {
			rows.Close()
			return err
		}
		attrs, err := attrjson.Decode(raw)
		if err != nil {
			rows.Close()
			return fmt.Errorf("user %q: %w", subject, err)
		}
		users = append(users, sqlcommon.StoredUser{Subject: subject, Attributes: attrs})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rewrites, _, err := sqlcommon.NormalizeAddresses(users, reg)
	if err != nil {
		return err
	}
	for _, r := range rewrites {
		if _, err := tx.Exec(ctx, `UPDATE userinfo_users SET email_key = NULL, phone_key = NULL WHERE subject = $1`, r.Subject); err != nil {
			return err
		}
	}
	for _, r := range rewrites {
		if _, err := tx.Exec(ctx, `UPDATE userinfo_users SET version = version + 1, attributes = $2::jsonb, email_key = $3, phone_key = $4 WHERE subject = $1`,
			r.Subject, string(r.Attributes), r.EmailKey, r.PhoneKey); err != nil {
			return err
		}
	}
	return nil
}

// Names of the unique constraints (migrations/0001_init.sql, 0002_addresses.sql).
const (
	emailConstraint = "userinfo_users_email_key"
	phoneConstraint = "userinfo_users_phone_key" // migrations/0002_addresses.sql
)

// mapError turns unique violations of the email and phone-number
// constraints into the userinfo sentinels.
func mapError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		switch pgErr.ConstraintName {
		case emailConstraint:
			return userinfo.ErrDuplicateEmail
		case phoneConstraint:
			return userinfo.ErrDuplicatePhoneNumber
		}
	}
	return err
}

// scanUser reads version, updated_at and attributes.
func scanUser(row pgx.Row, subject string) (*userinfo.User, error) {
	var (
		version int64
		at      time.Time
		raw     []byte
	)
	if err := row.Scan(&version, &at, &raw); err != nil {
		return nil, err
	}
	attrs, err := attrjson.Decode(raw)
	if err != nil {
		return nil, err
	}
	return &userinfo.User{Subject: subject, Version: uint64(version), UpdatedAt: at, Attributes: attrs}, nil
}

// swapRow is what an update returned: the previous updated_at and values
// of the attributes it touched, and the user as it left it; decoded after
// the commit, so that a hot user's row lock is not held while JSON is
// decoded.
type swapRow struct {
	at0, at1 time.Time
	v1       int64
	prev, a1 []byte
}

func (r *swapRow) scan(row pgx.Row) error {
	return row.Scan(&r.at0, &r.prev, &r.v1, &r.at1, &r.a1)
}

// users decodes r into the user as the update found it and as it left it:
// before is after with the touched attributes as they were.
func (r *swapRow) users(subject string, touched []string) (before, after *userinfo.User, err error) {
	after = &userinfo.User{Subject: subject, Version: uint64(r.v1), UpdatedAt: r.at1}
	if after.Attributes, err = attrjson.Decode(r.a1); err != nil {
		return nil, nil, err
	}
	prev, err := attrjson.Decode(r.prev)
	if err != nil {
		return nil, nil, err
	}
	before = after.Clone()
	before.Version, before.UpdatedAt = uint64(r.v1-1), r.at0
	for _, k := range touched {
		delete(before.Attributes, k)
	}
	maps.Copy(before.Attributes, prev)
	return before, after, nil
}

// GetUser implements [userinfo.UserStore].
func (s *Store) GetUser(ctx context.Context, subject string) (*userinfo.User, error) {
	if !sqlcommon.StorableSubject(subject) {
		return nil, userinfo.ErrUserNotFound
	}
	u, err := scanUser(s.pool.QueryRow(ctx,
		`SELECT version, updated_at, attributes FROM userinfo_users WHERE subject = $1`, subject), subject)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, userinfo.ErrUserNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: GetUser: %w", serverCanceled(err))
	}
	return u, nil
}

// updateSQL applies an update in one statement: the version check is its
// WHERE clause, the unique constraints check the new keys, and the row lock
// serialises it with concurrent updates of the user. JSONB's - removes the
// attributes named, then || sets the new values (whole values: an address
// is replaced, not merged).
// updateSQL updates the user (with its version, when $2 is not 0) and
// returns it as it was and as it is. Its SET expressions read the row it
// updates, the latest committed version, also when it had to wait for a
// concurrent update: it keeps the previous values of the attributes it
// touches ($10) and the previous updated_at in the row (migration 6) and
// returns them, and the version it replaced is its own minus one.
const updateSQL = `
UPDATE userinfo_users u SET
	previous     = (SELECT coalesce(jsonb_object_agg(k, u.attributes -> k), '{}') FROM unnest($10::text[]) k WHERE u.attributes ? k),
	previous_at  = u.updated_at,
	attributes   = (u.attributes - $3::text[]) || $4::jsonb,
	version      = u.version + 1,
	updated_at   = $5,
	email_key    = CASE WHEN $6 THEN $7 ELSE u.email_key END,
	phone_key    = CASE WHEN $8 THEN $9 ELSE u.phone_key END
WHERE u.subject = $1 AND ($2::bigint = 0 OR u.version = $2::bigint)
RETURNING u.previous_at, u.previous, u.version, u.updated_at, u.attributes`

// Bounds of the store's own waits.
const (
	// CommitTimeout bounds a commit under way: the request's context no
	// longer applies to it, so that a deadline never cancels a commit whose
	// outcome the caller could then not know.
	CommitTimeout = 5 * time.Second
	// maxTxAttempts bounds the runs of one transaction that PostgreSQL
	// aborts as a deadlock or a serialization failure.
	maxTxAttempts = 5
)

// UpdateUser implements [userinfo.UserStore]: one transaction of one UPDATE
// statement, atomic with its version check; a unique violation of the email
// or phone-number index is ErrDuplicateEmail or ErrDuplicatePhoneNumber.
//
// ctx bounds the transaction until it commits: when it ends first, nothing
// is written and the error wraps ctx's. The commit itself is awaited for up
// to CommitTimeout whatever ctx does; a commit whose outcome is unknown (the
// connection broke) is an error that does not wrap a context error. A
// deadlock or serialization failure, which two users swapping addresses can
// cause, is retried a few times.
func (s *Store) UpdateUser(ctx context.Context, u userinfo.Update) (*userinfo.User, error) {
	_, after, err := s.update(ctx, u, nil)
	return after, err
}

// UpdateUserRedeeming implements [userinfo.RedeemingStore]. The codes of the
// store's own OTP records (an otp.Service whose Config.Store is [Store.OTP])
// are spent in the write's transaction: their records are deleted after the
// UPDATE, and a refused, failed or timed-out write rolls that back, leaving
// every code redeemable, while a stored change always has its codes spent.
// Other redemptions are redeemed in the transaction once the UPDATE passed
// its checks (version, uniqueness); a commit that fails after that leaves
// them spent.
func (s *Store) UpdateUserRedeeming(ctx context.Context, u userinfo.Update, rs []userinfo.Redemption) (*userinfo.User, error) {
	_, after, err := s.SwapUser(ctx, u, rs)
	return after, err
}

// SwapUser implements [userinfo.SwappingStore]: UpdateUserRedeeming, whose
// one UPDATE also returns what it replaced (see migration 6).
func (s *Store) SwapUser(ctx context.Context, u userinfo.Update, rs []userinfo.Redemption) (before, after *userinfo.User, err error) {
	codes := sqlcommon.SplitCodes(ctx, rs, s.otp)
	before, after, err = s.update(ctx, u, codes)
	codes.Done(err)
	return before, after, err
}

func (s *Store) update(ctx context.Context, u userinfo.Update, codes *sqlcommon.Codes) (before, after *userinfo.User, err error) {
	if !sqlcommon.StorableSubject(u.Subject) {
		return nil, nil, userinfo.ErrUserNotFound
	}
	set, err := attrjson.Encode(u.Set)
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: UpdateUser: %w", err)
	}
	remove := u.Remove
	if remove == nil {
		remove = []string{}
	}
	ifVersion := int64(-1) // matches no stored version
	if u.IfVersion <= math.MaxInt64 {
		ifVersion = int64(u.IfVersion)
	}
	email, phone := sqlcommon.Changes(u.Set, u.Remove)
	touched := append(slices.Collect(maps.Keys(u.Set)), remove...)
	var row swapRow
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		err := row.scan(tx.QueryRow(ctx, updateSQL, u.Subject, ifVersion, remove, string(set), u.Now,
			email.Changed, email.Key, phone.Changed, phone.Key, touched))
		if err == nil {
			return codes.Spend(ctx, func(ctx context.Context, id string) (bool, error) {
				tag, err := tx.Exec(ctx, `DELETE FROM userinfo_otp_records WHERE id = $1`, id)
				return tag.RowsAffected() == 1, err
			})
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return mapError(err)
		}
		// No row changed: the user is missing, or has another version. The
		// UPDATE's snapshot is this statement's: read again.
		var version int64
		err = tx.QueryRow(ctx, `SELECT version FROM userinfo_users WHERE subject = $1`, u.Subject).Scan(&version)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return userinfo.ErrUserNotFound
		case err != nil:
			return err
		case u.IfVersion != 0:
			return userinfo.ErrVersionConflict
		}
		return errAppeared
	})
	switch {
	case err == nil:
		if before, after, err = row.users(u.Subject, touched); err != nil {
			return nil, nil, fmt.Errorf("postgres: UpdateUser: %w", err)
		}
		return before, after, nil
	case codes.Refused(err):
		return nil, nil, err
	case errors.Is(err, userinfo.ErrDuplicateEmail), errors.Is(err, userinfo.ErrDuplicatePhoneNumber),
		errors.Is(err, userinfo.ErrUserNotFound), errors.Is(err, userinfo.ErrVersionConflict):
		return nil, nil, err
	}
	return nil, nil, fmt.Errorf("postgres: UpdateUser: %w", err)
}

// errAppeared: a user that an unconditional UPDATE did not find exists when
// read again; the transaction runs again.
var errAppeared = errors.New("the user appeared during the update")

// errCommitUnknown wraps the failure of a commit whose outcome is unknown.
var errCommitUnknown = errors.New("commit failed; the write may or may not be stored")

// inTx runs f in a transaction and commits it, running it again (up to
// maxTxAttempts in all) when PostgreSQL aborts it as a deadlock or a
// serialization failure, or f returns errAppeared. ctx bounds everything
// but the commit, which gets CommitTimeout of its own: see
// [Store.UpdateUser].
func (s *Store) inTx(ctx context.Context, f func(tx pgx.Tx) error) error {
	var err error
	for attempt := 1; attempt <= maxTxAttempts; attempt++ {
		if attempt > 1 {
			// Back off a little, differently for each racer.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt*attempt) * time.Duration(1+rand.IntN(4)) * time.Millisecond):
			}
		}
		err = s.tryTx(ctx, f)
		if !retryable(err) {
			return serverCanceled(err)
		}
	}
	return serverCanceled(err)
}

// canceledError is the error of a statement that the server canceled
// (SQLSTATE 57014, query_canceled): its statement_timeout passed, or an
// operator canceled it. Its transaction wrote nothing, so it wraps
// context.DeadlineExceeded too, which the handler answers 503.
type canceledError struct{ err error }

func (e canceledError) Error() string   { return e.err.Error() }
func (e canceledError) Unwrap() []error { return []error{e.err, context.DeadlineExceeded} }

// serverCanceled wraps err in a canceledError when the server canceled its
// statement.
func serverCanceled(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "57014" {
		return canceledError{err}
	}
	return err
}

func (s *Store) tryTx(ctx context.Context, f func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		// Rolling back needs no live ctx: a connection whose ctx ended
		// mid-statement is closed by pgx, which ends the transaction too.
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CommitTimeout)
	defer cancel()
	if err := tx.Commit(cctx); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			// The server refused the commit: nothing is stored.
			return mapError(err)
		}
		return fmt.Errorf("%w: %v", errCommitUnknown, err)
	}
	return nil
}

// retryable reports whether err aborted a transaction that may succeed when
// run again: a deadlock (40P01), a serialization failure (40001), or a user
// that appeared meanwhile.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.Is(err, errAppeared) ||
		errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// Put creates the user subject with the attributes attrs, or replaces the
// attributes of an existing one (a new version), as the example server's
// -seed does. UpdatedAt is the current time. It enforces the same
// uniqueness as UpdateUser.
func (s *Store) Put(ctx context.Context, subject string, attrs map[string]any) (*userinfo.User, error) {
	raw, err := attrjson.Encode(attrs)
	if err != nil {
		return nil, fmt.Errorf("postgres: Put: %w", err)
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `
		INSERT INTO userinfo_users AS u (subject, version, updated_at, attributes, email_key, phone_key)
		VALUES ($1, 1, $2, $3::jsonb, $4, $5)
		ON CONFLICT (subject) DO UPDATE SET
			version      = u.version + 1,
			updated_at   = EXCLUDED.updated_at,
			attributes   = EXCLUDED.attributes,
			email_key    = EXCLUDED.email_key,
			phone_key    = EXCLUDED.phone_key
		RETURNING version, updated_at, attributes`,
		subject, time.Now(), string(raw), attrjson.EmailKey(attrs["email"]), attrjson.PhoneKey(attrs["phone_number"])), subject)
	if err != nil {
		if err := mapError(err); errors.Is(err, userinfo.ErrDuplicateEmail) || errors.Is(err, userinfo.ErrDuplicatePhoneNumber) {
			return nil, err
		}
		return nil, fmt.Errorf("postgres: Put: %w", err)
	}
	return u, nil
}

// Create creates the user subject with the attributes attrs, as the example
// server's -seed does, in one INSERT, and returns it with version 1. It
// fails, changing nothing, with userinfo.ErrUserExists when the subject is
// taken (by another replica too), and with ErrDuplicateEmail or
// ErrDuplicatePhoneNumber as UpdateUser does. When another replica creates
// the same user at the same moment, the loser may get the duplicate error of
// an address instead of ErrUserExists.
func (s *Store) Create(ctx context.Context, subject string, attrs map[string]any) (*userinfo.User, error) {
	raw, err := attrjson.Encode(attrs)
	if err != nil {
		return nil, fmt.Errorf("postgres: Create: %w", err)
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `
		INSERT INTO userinfo_users (subject, version, updated_at, attributes, email_key, phone_key)
		VALUES ($1, 1, $2, $3::jsonb, $4, $5)
		ON CONFLICT (subject) DO NOTHING
		RETURNING version, updated_at, attributes`,
		subject, time.Now(), string(raw), attrjson.EmailKey(attrs["email"]), attrjson.PhoneKey(attrs["phone_number"])), subject)
	switch {
	case err == nil:
		return u, nil
	case errors.Is(err, pgx.ErrNoRows):
		return nil, userinfo.ErrUserExists
	}
	if err := mapError(err); errors.Is(err, userinfo.ErrDuplicateEmail) || errors.Is(err, userinfo.ErrDuplicatePhoneNumber) {
		return nil, err
	}
	return nil, fmt.Errorf("postgres: Create: %w", err)
}
