package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/otp"
)

// OTPStore is an [otp.Store] in PostgreSQL, sharing its [Store]'s pool and
// tables. Create, Attempt, Refund, Delete and Throttle are one statement
// each, atomic under a row lock; so redemption is single-use and
// throttling global across every process on the database.
// Times are kept to the microsecond.
type OTPStore struct {
	s *Store
}

// OTP returns the store's one-time codes, the same store on every call. An
// otp.Service on it spends its codes in the transaction of
// [Store.UpdateUserRedeeming].
func (s *Store) OTP() *OTPStore { return s.otp }

var (
	_ otp.Store              = (*OTPStore)(nil)
	_ userinfo.SwappingStore = (*Store)(nil)
)

// Create implements [otp.Store]. A record with the ID already there is an
// error (a unique violation).
func (o *OTPStore) Create(ctx context.Context, rec otp.Record) error {
	_, err := o.s.pool.Exec(ctx, `
		INSERT INTO userinfo_otp_records (id, subject, channel, target, purpose, code_hash, expires_at, attempts)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		rec.ID, rec.Subject, rec.Channel, rec.Target, rec.Purpose, rec.CodeHash, rec.ExpiresAt, rec.Attempts)
	if err != nil {
		return fmt.Errorf("postgres: OTP Create: %w", serverCanceled(err))
	}
	return nil
}

// Attempt implements [otp.Store] in one UPDATE … RETURNING: the row lock
// gives concurrent calls distinct counts.
func (o *OTPStore) Attempt(ctx context.Context, id string, now time.Time) (otp.Record, error) {
	rec := otp.Record{ID: id}
	err := o.s.pool.QueryRow(ctx, `
		UPDATE userinfo_otp_records SET attempts = attempts + 1
		WHERE id = $1 AND expires_at > $2
		RETURNING subject, channel, target, purpose, code_hash, expires_at, attempts`, id, now).
		Scan(&rec.Subject, &rec.Channel, &rec.Target, &rec.Purpose, &rec.CodeHash, &rec.ExpiresAt, &rec.Attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return otp.Record{}, otp.ErrNotFound
	}
	if err != nil {
		return otp.Record{}, fmt.Errorf("postgres: OTP Attempt: %w", serverCanceled(err))
	}
	return rec, nil
}

// Refund implements [otp.Store] in one UPDATE.
func (o *OTPStore) Refund(ctx context.Context, id string) error {
	if _, err := o.s.pool.Exec(ctx, `UPDATE userinfo_otp_records SET attempts = attempts - 1 WHERE id = $1 AND attempts > 0`, id); err != nil {
		return fmt.Errorf("postgres: OTP Refund: %w", serverCanceled(err))
	}
	return nil
}

// Delete implements [otp.Store]: of concurrent DELETEs of one row, the row
// lock lets exactly one see it.
func (o *OTPStore) Delete(ctx context.Context, id string) (bool, error) {
	tag, err := o.s.pool.Exec(ctx, `DELETE FROM userinfo_otp_records WHERE id = $1`, id)
	if err != nil {
		return false, fmt.Errorf("postgres: OTP Delete: %w", serverCanceled(err))
	}
	return tag.RowsAffected() == 1, nil
}

// Throttle implements [otp.Store] in one statement, as ThrottleAll of one
// limit: INSERT … ON CONFLICT DO UPDATE locks the key's row, so concurrent
// sends under one key queue on it and each sees the ends that the one
// before it left.
func (o *OTPStore) Throttle(ctx context.Context, key string, now time.Time, window time.Duration, limit int) (ok bool, retryAfter time.Duration, err error) {
	refused, retryAfter, err := o.ThrottleAll(ctx, now, window, []otp.Limit{{Key: key, Limit: limit}})
	return err == nil && refused < 0, retryAfter, err
}

// ThrottleAll implements [otp.BatchThrottler] in one statement: a chain of
// the INSERTs of Throttle, one for each limit, each of which runs only when
// the one before it counted the send (it reads that one's RETURNING), so
// that the keys' rows are locked in order and a refusal stops the chain. A
// refused send reads the oldest end of its key for its Retry-After.
func (o *OTPStore) ThrottleAll(ctx context.Context, now time.Time, window time.Duration, limits []otp.Limit) (refused int, retryAfter time.Duration, err error) {
	if len(limits) == 0 {
		return -1, 0, nil
	}
	args := []any{now, now.Add(window)}
	for _, l := range limits {
		args = append(args, l.Key, l.Limit)
	}
	counted := make([]bool, len(limits))
	dest := make([]any, len(limits))
	for i := range counted {
		dest[i] = &counted[i]
	}
	if err := o.s.pool.QueryRow(ctx, throttleSQL(len(limits)), args...).Scan(dest...); err != nil {
		return 0, 0, fmt.Errorf("postgres: OTP ThrottleAll: %w", serverCanceled(err))
	}
	refused = slices.Index(counted, false)
	if refused < 0 {
		return -1, 0, nil
	}
	var oldest *time.Time
	if err := o.s.pool.QueryRow(ctx, `SELECT min(e) FROM userinfo_otp_throttle, unnest(ends) e WHERE key = $1 AND e > $2`,
		limits[refused].Key, now).Scan(&oldest); err != nil {
		return 0, 0, fmt.Errorf("postgres: OTP ThrottleAll: %w", serverCanceled(err))
	}
	retryAfter = time.Nanosecond // the oldest ended meanwhile
	if oldest != nil {
		retryAfter = max(oldest.Sub(now), time.Nanosecond)
	}
	return refused, retryAfter, nil
}

// throttleSQLs caches the statement of ThrottleAll by the number of limits
// (the service uses two), so that a send does not build it again.
var throttleSQLs sync.Map // int → string

// throttleSQL returns the statement of ThrottleAll for n limits: $1 is now,
// $2 the end of the new send, then each limit's key and count.
func throttleSQL(n int) string {
	if q, ok := throttleSQLs.Load(n); ok {
		return q.(string)
	}
	var q strings.Builder
	q.WriteString("WITH ")
	for i := range n {
		k, lim := 3+2*i, 4+2*i
		if i > 0 {
			q.WriteString(",\n")
		}
		source := fmt.Sprintf("VALUES ($%d, ARRAY[$2::timestamptz])", k)
		if i > 0 {
			source = fmt.Sprintf("SELECT $%d, ARRAY[$2::timestamptz] WHERE EXISTS (SELECT 1 FROM t%d)", k, i-1)
		}
		fmt.Fprintf(&q, `t%d AS (
			INSERT INTO userinfo_otp_throttle AS t (key, ends) %s
			ON CONFLICT (key) DO UPDATE
			SET ends = ARRAY(SELECT e FROM unnest(t.ends) e WHERE e > $1 ORDER BY e) || $2::timestamptz
			WHERE (SELECT count(*) FROM unnest(t.ends) e WHERE e > $1) < $%d
			RETURNING true)`, i, source, lim)
	}
	q.WriteString("\nSELECT ")
	for i := range n {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "EXISTS (SELECT 1 FROM t%d)", i)
	}
	throttleSQLs.Store(n, q.String())
	return q.String()
}

// Purge implements [otp.Store].
func (o *OTPStore) Purge(ctx context.Context, now time.Time) error {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM userinfo_otp_records WHERE expires_at <= $1`, now)
	b.Queue(`DELETE FROM userinfo_otp_throttle WHERE NOT EXISTS (SELECT 1 FROM unnest(ends) e WHERE e > $1)`, now)
	if err := o.s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: OTP Purge: %w", serverCanceled(err))
	}
	return nil
}
