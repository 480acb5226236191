package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/otp"
	"github.com/ciamkit/userinfo/sqlstore/postgres"
	"github.com/ciamkit/userinfo/sqlstore/sqlite"
)

// defaultDBFile is the SQLite file of an empty -db.
const defaultDBFile = "userinfo.db"

// backend is where the server keeps users and one-time codes.
type backend struct {
	// name describes the backend for the log, without credentials.
	name  string
	users userinfo.UserStore
	otp   otp.Store
	// replay remembers the DPoP proofs seen, for every process on the
	// store.
	replay userinfo.ReplayStore
	// create creates a user unless the subject exists (then it fails with
	// userinfo.ErrUserExists), for -seed and the demo user.
	create func(ctx context.Context, subject string, attrs map[string]any) error
	// keyFile is the default OTP key file, or "" for a fresh random key.
	keyFile string
	// secret, on a backend that other processes share, returns a secret
	// kept in the database for every replica, generating it the first
	// time; nil elsewhere.
	secret func(ctx context.Context, name string, generate func() ([]byte, error)) ([]byte, error)
	close  func() error
}

// openBackend opens the stores that -db names: "" (the SQLite file
// userinfo.db), "memory", "sqlite:PATH" or a "postgres://" URL.
// The SQL stores normalise stored addresses by reg's rules when they
// migrate; timeout, the request deadline, is PostgreSQL's
// statement_timeout unless the DSN sets one.
func openBackend(ctx context.Context, dsn string, reg *userinfo.Registry, timeout time.Duration) (*backend, error) {
	switch {
	case dsn == "memory":
		users := userinfo.NewMemoryStore()
		return &backend{
			name:   "memory",
			users:  users,
			otp:    otp.NewMemoryStore(),
			replay: userinfo.NewMemoryReplayStore(0),
			create: createFunc(users),
			close:  func() error { return nil },
		}, nil
	case dsn == "":
		return openSQLite(ctx, defaultDBFile, reg)
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return nil, errors.New("-db sqlite: needs a file name, as in sqlite:userinfo.db")
		}
		return openSQLite(ctx, path, reg)
	case isPostgres(dsn):
		return openPostgres(ctx, dsn, reg, timeout)
	}
	return nil, fmt.Errorf("-db: unknown store %q: use memory, sqlite:PATH or postgres://…", redactDSN(dsn))
}

// isPostgres reports whether the -db value dsn is a PostgreSQL URL.
func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// redactDSN drops everything after the scheme of dsn, which may hold a
// password.
func redactDSN(dsn string) string {
	if scheme, _, ok := strings.Cut(dsn, "://"); ok {
		return scheme + "://…"
	}
	if len(dsn) > 16 {
		return dsn[:16] + "…"
	}
	return dsn
}

// openSQLite opens the SQLite stores in the file at path. The OTP key is
// kept beside it, in PATH.otp-key, so that codes survive a restart.
func openSQLite(ctx context.Context, path string, reg *userinfo.Registry) (*backend, error) {
	db, err := sqlite.OpenOptions(ctx, path, sqlite.Options{Registry: reg})
	if err != nil {
		return nil, fmt.Errorf("-db sqlite:%s: %w", path, err)
	}
	return &backend{
		name:    "sqlite " + path,
		users:   db,
		otp:     db.OTP(),
		replay:  db.Replay(),
		create:  createFunc(db),
		keyFile: path + ".otp-key",
		close:   db.Close,
	}, nil
}

// openPostgres opens the PostgreSQL stores at the URL dsn. Other processes
// may share them, so every one needs the same OTP key. Unless dsn sets a
// statement_timeout, it is timeout, the request deadline: no statement of
// a request outlives it by much, also when its cancellation is lost.
func openPostgres(ctx context.Context, dsn string, reg *userinfo.Registry, timeout time.Duration) (*backend, error) {
	db, err := postgres.OpenOptions(ctx, dsn, postgres.Options{Registry: reg, StatementTimeout: timeout})
	if err != nil {
		// pgx errors name the host and user, never the password; the DSN
		// itself is not repeated.
		return nil, fmt.Errorf("-db %s: %w", redactDSN(dsn), err)
	}
	return &backend{
		name:   "postgres",
		users:  db,
		otp:    db.OTP(),
		replay: db.Replay(),
		create: createFunc(db),
		secret: db.Secret,
		close:  func() error { db.Close(); return nil },
	}, nil
}

// createFunc adapts a store's Create to backend.create.
func createFunc(s interface {
	Create(ctx context.Context, subject string, attrs map[string]any) (*userinfo.User, error)
}) func(context.Context, string, map[string]any) error {
	return func(ctx context.Context, subject string, attrs map[string]any) error {
		_, err := s.Create(ctx, subject, attrs)
		return err
	}
}
