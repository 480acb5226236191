package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/otp"
)

// OTPStore is an [otp.Store] in SQLite, sharing its [Store]'s database.
// Every write is one BEGIN IMMEDIATE transaction, so it runs alone, also
// among processes sharing the file. Times are kept to the nanosecond, as
// Unix times: they must lie between the years 1678 and 2262.
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

// unixNano returns t in Unix nanoseconds, or an error when int64 cannot hold
// it.
func unixNano(t time.Time) (int64, error) {
	if t.Year() < 1678 || t.Year() > 2261 {
		return 0, fmt.Errorf("time %v out of range", t)
	}
	return t.UnixNano(), nil
}

// Create implements [otp.Store]. A record with the ID already there is an
// error (a unique violation).
func (o *OTPStore) Create(ctx context.Context, rec otp.Record) error {
	exp, err := unixNano(rec.ExpiresAt)
	if err != nil {
		return fmt.Errorf("sqlite: OTP Create: ExpiresAt: %w", err)
	}
	err = o.s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO userinfo_otp_records (id, subject, channel, target, purpose, code_hash, expires_at, attempts)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			rec.ID, rec.Subject, rec.Channel, rec.Target, rec.Purpose, rec.CodeHash, exp, rec.Attempts)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: OTP Create: %w", err)
	}
	return nil
}

// Attempt implements [otp.Store] with one UPDATE … RETURNING.
func (o *OTPStore) Attempt(ctx context.Context, id string, now time.Time) (otp.Record, error) {
	n, err := unixNano(now)
	if err != nil {
		return otp.Record{}, fmt.Errorf("sqlite: OTP Attempt: now: %w", err)
	}
	rec := otp.Record{ID: id}
	var exp int64
	err = o.s.write(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `
			UPDATE userinfo_otp_records SET attempts = attempts + 1
			WHERE id = ? AND expires_at > ?
			RETURNING subject, channel, target, purpose, code_hash, expires_at, attempts`, id, n).
			Scan(&rec.Subject, &rec.Channel, &rec.Target, &rec.Purpose, &rec.CodeHash, &exp, &rec.Attempts)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return otp.Record{}, otp.ErrNotFound
	}
	if err != nil {
		return otp.Record{}, fmt.Errorf("sqlite: OTP Attempt: %w", err)
	}
	rec.ExpiresAt = time.Unix(0, exp).UTC()
	return rec, nil
}

// Refund implements [otp.Store] in one UPDATE.
func (o *OTPStore) Refund(ctx context.Context, id string) error {
	err := o.s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE userinfo_otp_records SET attempts = attempts - 1 WHERE id = ? AND attempts > 0`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: OTP Refund: %w", err)
	}
	return nil
}

// Delete implements [otp.Store].
func (o *OTPStore) Delete(ctx context.Context, id string) (bool, error) {
	var deleted bool
	err := o.s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM userinfo_otp_records WHERE id = ?`, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		deleted = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: OTP Delete: %w", err)
	}
	return deleted, nil
}

// Throttle implements [otp.Store]: in one write transaction, the count of
// sends still counting, then the new send.
func (o *OTPStore) Throttle(ctx context.Context, key string, now time.Time, window time.Duration, limit int) (ok bool, retryAfter time.Duration, err error) {
	n, err := unixNano(now)
	if err != nil {
		return false, 0, fmt.Errorf("sqlite: OTP Throttle: now: %w", err)
	}
	end, err := unixNano(now.Add(window))
	if err != nil {
		return false, 0, fmt.Errorf("sqlite: OTP Throttle: window: %w", err)
	}
	err = o.s.write(ctx, func(tx *sql.Tx) error {
		var (
			count  int
			oldest sql.NullInt64
		)
		if err := tx.QueryRowContext(ctx, `SELECT count(*), min(ends_at) FROM userinfo_otp_sends WHERE key = ? AND ends_at > ?`, key, n).
			Scan(&count, &oldest); err != nil {
			return err
		}
		if count >= limit {
			ok, retryAfter = false, time.Duration(oldest.Int64-n)
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO userinfo_otp_sends (key, ends_at) VALUES (?, ?)`, key, end); err != nil {
			return err
		}
		ok, retryAfter = true, 0
		return nil
	})
	if err != nil {
		return false, 0, fmt.Errorf("sqlite: OTP Throttle: %w", err)
	}
	return ok, retryAfter, nil
}

// Purge implements [otp.Store].
func (o *OTPStore) Purge(ctx context.Context, now time.Time) error {
	n, err := unixNano(now)
	if err != nil {
		return fmt.Errorf("sqlite: OTP Purge: now: %w", err)
	}
	err = o.s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM userinfo_otp_records WHERE expires_at <= ?`, n); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM userinfo_otp_sends WHERE ends_at <= ?`, n)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: OTP Purge: %w", err)
	}
	return nil
}
