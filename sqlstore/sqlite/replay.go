package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/sqlstore/internal/sqlcommon"
)

// ReplayStore is a [userinfo.ReplayStore] in SQLite, sharing its [Store]'s
// database: the DPoP proofs that every process on the file has accepted.
// Remember is one write transaction; expired entries are purged at most once
// a minute per process.
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
	u, err := unixNano(until)
	if err != nil {
		return false, fmt.Errorf("sqlite: replay Remember: until: %w", err)
	}
	n, err := unixNano(now)
	if err != nil {
		return false, fmt.Errorf("sqlite: replay Remember: now: %w", err)
	}
	purge := r.purge.Due(now)
	var fresh bool
	err = r.s.write(ctx, func(tx *sql.Tx) error {
		if purge {
			if _, err := tx.ExecContext(ctx, `DELETE FROM userinfo_dpop_replay WHERE until <= ?`, n); err != nil {
				return err
			}
		}
		err := tx.QueryRowContext(ctx, `
			INSERT INTO userinfo_dpop_replay (key, until) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET until = excluded.until WHERE userinfo_dpop_replay.until <= ?
			RETURNING 1`, key, u, n).Scan(new(int))
		fresh = err == nil
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: replay Remember: %w", err)
	}
	return fresh, nil
}
