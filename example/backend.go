package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/otp"
)

// defaultDBFile is the SQLite file of an empty -db.
const defaultDBFile = "userinfo.db"

// backend is where the server keeps users and one-time codes.
type backend struct {
	// name describes the backend for the log, without credentials.
	name  string
	users userinfo.UserStore
	otp   otp.Store
	// put creates or replaces a user, for -seed and the demo user.
	put func(ctx context.Context, subject string, attrs map[string]any) error
	// keyFile is the default OTP key file, or "" for a fresh random key.
	keyFile string
	// shared is true when other processes may share the stores, so that
	// every one of them needs the same OTP key.
	shared bool
	close  func() error
}

// openBackend opens the stores that -db names: "" (the SQLite file
// userinfo.db), "memory", "sqlite:PATH" or a "postgres://" URL.
func openBackend(ctx context.Context, dsn string) (*backend, error) {
	switch {
	case dsn == "memory":
		users := userinfo.NewMemoryStore()
		return &backend{
			name:  "memory",
			users: users,
			otp:   otp.NewMemoryStore(),
			put: func(ctx context.Context, subject string, attrs map[string]any) error {
				_, err := users.Put(ctx, subject, attrs)
				return err
			},
			close: func() error { return nil },
		}, nil
	case dsn == "":
		return openSQLite(ctx, defaultDBFile)
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return nil, errors.New("-db sqlite: needs a file name, as in sqlite:userinfo.db")
		}
		return openSQLite(ctx, path)
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return openPostgres(ctx, dsn)
	}
	return nil, fmt.Errorf("-db: unknown store %q: use memory, sqlite:PATH or postgres://…", redactDSN(dsn))
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

// openSQLite opens the SQLite stores in the file at path.
func openSQLite(ctx context.Context, path string) (*backend, error) {
	// TODO(example): use package sqlstore once it lands.
	_ = ctx
	return nil, fmt.Errorf("-db sqlite:%s: the SQLite store is not available yet; use -db memory", path)
}

// openPostgres opens the PostgreSQL stores at the URL dsn.
func openPostgres(ctx context.Context, dsn string) (*backend, error) {
	// TODO(example): use package sqlstore once it lands.
	_ = ctx
	return nil, fmt.Errorf("-db %s: the PostgreSQL store is not available yet; use -db memory", redactDSN(dsn))
}
