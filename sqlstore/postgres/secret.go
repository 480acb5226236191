package postgres

import (
	"context"
	"errors"
	"fmt"
)

// Secret returns the secret called name, shared by every process on the
// database: the one stored, or, when there is none yet, the value of
// generate, stored by this call. Of replicas that ask at once, all get the
// value that the first insert stored (INSERT … ON CONFLICT DO NOTHING, then
// a read).
//
// A secret in the database protects nothing against whoever can read the
// database: for the key that codes are hashed with, production deployments
// give the key from a secret store instead (otp.Config.Key); this is for
// development and for deployments that accept that trade.
func (s *Store) Secret(ctx context.Context, name string, generate func() ([]byte, error)) ([]byte, error) {
	if name == "" || generate == nil {
		return nil, errors.New("postgres: Secret: a name and generate are required")
	}
	fresh, err := generate()
	if err != nil {
		return nil, fmt.Errorf("postgres: Secret %s: %w", name, err)
	}
	if len(fresh) == 0 {
		return nil, fmt.Errorf("postgres: Secret %s: generate returned no bytes", name)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO userinfo_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
		return nil, fmt.Errorf("postgres: Secret %s: %w", name, err)
	}
	var value []byte
	if err := s.pool.QueryRow(ctx, `SELECT value FROM userinfo_secrets WHERE name = $1`, name).Scan(&value); err != nil {
		return nil, fmt.Errorf("postgres: Secret %s: %w", name, err)
	}
	return value, nil
}
