package otp

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is what [Store.Attempt] returns, wrapped or not, when no live
// record has the ID: it was never created, it expired, it was deleted
// (redeemed or killed) or purged.
var ErrNotFound = errors.New("otp: record not found")

// Record is one issued code as a [Store] keeps it. The code itself is never
// stored, only a keyed hash of it.
//
// The service fills every field; a store keeps them as they are and gives
// them back unchanged (Attempts aside). Strings are valid UTF-8 without NUL
// and at most 1024 bytes long; ID is at most 64 bytes of the base64url
// alphabet.
type Record struct {
	// ID identifies the record. It is derived from the otp_token by a one-way
	// function, so that a reader of the store cannot redeem codes with it.
	// It is unique: [Store.Create] never overwrites a record.
	ID string
	// Subject is the user the code was issued to.
	Subject string
	// Channel is userinfo.ChannelEmail or userinfo.ChannelSMS.
	Channel string
	// Target is the email address or phone number the code was sent to, as
	// the request gave it.
	Target string
	// Purpose is what the code authorises, e.g.
	// userinfo.PurposeUpdateUserinfo.
	Purpose string
	// CodeHash is the keyed hash (HMAC-SHA256, 32 bytes) of the code and the
	// fields above. A store returns a copy: changing the returned slice must
	// not change the stored record.
	CodeHash []byte
	// ExpiresAt is the end of the record's life: a record is live while the
	// time passed to [Store.Attempt] is before ExpiresAt. The service
	// truncates it to whole milliseconds, so a store may keep milliseconds.
	ExpiresAt time.Time
	// Attempts counts the calls of [Store.Attempt] on the record. It is 0
	// when the record is created.
	Attempts int
}

// Store keeps OTP records and the counters that throttle sending. One store
// is shared by every replica of a server; that is what makes redemption
// single-use and throttling global.
//
// Every method is atomic on its own: it behaves as if it ran alone, also
// when other goroutines or processes call methods on the same records or
// keys at the same time. A SQL store does each in one statement, or in one
// transaction that locks what it reads. Implementations must be safe for
// concurrent use.
//
// Times are passed in by the caller (the service's clock); a store never
// reads its own clock. Errors other than the documented sentinels mean the
// store failed; the service answers them 500 server_error and logs them, so
// they must not contain record contents.
type Store interface {
	// Create stores rec with rec.Attempts as given (the service passes 0).
	// It fails, with any error, if a record with rec.ID exists, live or
	// not; it never overwrites one. IDs are random, so that does not happen
	// in practice.
	Create(ctx context.Context, rec Record) error

	// Attempt adds one to the Attempts of the live record id and returns the
	// record after the increment. A record is live while now is before its
	// ExpiresAt. When no live record has the ID, Attempt changes nothing and
	// returns ErrNotFound.
	//
	// Concurrent calls on one record each see a different count: n calls
	// on a record created with 0 attempts return the counts 1 … n, each
	// exactly once. The service compares the code only when the count is
	// within its attempt limit, so this bounds guesses strictly. A SQL store
	// does it as
	//	UPDATE … SET attempts = attempts + 1 WHERE id = $1 AND expires_at > $2 RETURNING …
	Attempt(ctx context.Context, id string, now time.Time) (Record, error)

	// Refund takes back one attempt of the record id, when it has any
	// (Attempts > 0): the service calls it when the attempt presented the
	// right code, which must not count against the limit. A missing record
	// (spent or purged meanwhile) is no error. A SQL store does it as
	//	UPDATE … SET attempts = attempts - 1 WHERE id = $1 AND attempts > 0
	Refund(ctx context.Context, id string) error

	// Delete removes the record id, whether live or expired, and reports
	// whether this call removed it. Of concurrent calls on one record at
	// most one gets true, also across processes: that is the single use of a
	// code. Deleting an absent record (never created, deleted, or purged
	// after it expired) returns false and no error. A SQL store does it as
	//	DELETE … WHERE id = $1
	// and tests that one row was affected.
	Delete(ctx context.Context, id string) (deleted bool, err error)

	// Throttle counts one send under key, unless limit sends are already
	// counted under key within the window. A send counted at time t stays
	// counted while the now of later calls is before t+window (a sliding
	// window: at most limit sends in any window-long interval).
	//
	// When fewer than limit sends are counted, Throttle counts this one at
	// now and returns ok true. Otherwise it counts nothing and returns ok
	// false and retryAfter, the time from now until the oldest counted send
	// stops counting (> 0). limit is at least 1; window is positive. Keys
	// are opaque strings of at most 64 bytes of the base64url alphabet.
	//
	// Throttle is atomic per key: of concurrent calls on one key that find
	// limit-1 sends counted, exactly one gets ok. A SQL store counts and
	// inserts in one transaction that first locks the key (PostgreSQL:
	// pg_advisory_xact_lock, or SELECT … FOR UPDATE on a per-key row;
	// SQLite: BEGIN IMMEDIATE).
	Throttle(ctx context.Context, key string, now time.Time, window time.Duration, limit int) (ok bool, retryAfter time.Duration, err error)

	// Purge removes records that are no longer live at now (ExpiresAt not
	// after now) and counted sends that no longer count at now. It is
	// housekeeping: Attempt and Throttle answer the same whether or not it
	// ran (only Delete of an expired record can tell). A store may also purge
	// on its own. The service calls it from time to time (see
	// Config.PurgeEvery).
	Purge(ctx context.Context, now time.Time) error
}

// Limit is one limit of a send, for [BatchThrottler]: at most Limit sends
// counted under Key within the window.
type Limit struct {
	Key   string
	Limit int
}

// BatchThrottler is a [Store] that counts one send under several keys in
// one call, so that a SQL store throttles a send in one round trip. The
// service uses it when its Store has it, and calls Throttle key by key
// otherwise.
type BatchThrottler interface {
	// ThrottleAll counts one send under each of limits in order, as
	// Throttle would call by call with the same now and window, and stops
	// at the first limit that refuses it: the sends counted under the keys
	// before it stay counted, and nothing is counted under it or after it.
	// It returns the index of the refusing limit and its retryAfter, or -1
	// and 0 when every key counted the send. It is atomic per key, as
	// Throttle is, and takes the keys in order.
	ThrottleAll(ctx context.Context, now time.Time, window time.Duration, limits []Limit) (refused int, retryAfter time.Duration, err error)
}
