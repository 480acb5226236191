package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/sqlstore/internal/sqlcommon"
)

// ReplayStore is a [userinfo.ReplayStore] in PostgreSQL, sharing its
// [Store]'s pool: the DPoP proofs that every replica on the database has
// accepted. Remember is one statement, so the primary key decides every
// race; expired entries are purged at most once a minute per process.
type ReplayStore struct {
	s     *Store
	purge sqlcommon.Periodic
}

// Replay returns the store's DPoP replay state. Every call returns the same
// store.
func (s *Store) Replay() *ReplayStore { return s.replay }

var _ userinfo.ReplayStore = (*ReplayStore)(nil)

// Remember implements [userinfo.ReplayStore]: an INSERT that takes over an
// expired entry of the key and does nothing to a live one.
func (r *ReplayStore) Remember(ctx context.Context, key string, until, now time.Time) (bool, error) {
	if r.purge.Due(now) {
		// Housekeeping only: Remember answers the same without it.
		_, _ = r.s.pool.Exec(ctx, `DELETE FROM userinfo_dpop_replay WHERE until <= $1`, now)
	}
	var fresh bool
	err := r.s.pool.QueryRow(ctx, `
		INSERT INTO userinfo_dpop_replay (key, until) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET until = EXCLUDED.until WHERE userinfo_dpop_replay.until <= $3
		RETURNING true`, key, until, now).Scan(&fresh)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("postgres: replay Remember: %w", err)
	}
	return fresh, nil
}
