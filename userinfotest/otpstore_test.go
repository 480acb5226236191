package userinfotest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ciamkit/userinfo/otp"
)

// otpFlaw is one deliberate bug of a flawedOTPStore.
type otpFlaw int

const (
	otpFlawNone              otpFlaw = iota
	otpFlawRacyAttempt               // reads the count, unlocks, writes count+1
	otpFlawRacyDelete                // checks existence, unlocks, deletes
	otpFlawRacyThrottle              // counts, unlocks, records the last send
	otpFlawIgnoresExpiry             // Attempt finds expired records
	otpFlawExpiryInclusive           // a record is live at its ExpiresAt
	otpFlawCreateOverwrites          // Create replaces an existing record
	otpFlawAliasesCodeHash           // keeps and returns the caller's slice
	otpFlawCountsDenied              // Throttle counts refused sends too
	otpFlawOffByOne                  // Throttle allows limit+1 sends
	otpFlawRetryFromNewest           // retryAfter from the newest send, not the oldest
	otpFlawPurgesLive                // Purge drops every throttle count
	otpFlawIgnoresOTPContext         // works with canceled contexts
	otpFlawRefundBelowZero           // Refund takes attempts below zero
	otpFlawRacyRefund                // reads the count, unlocks, writes count-1
)

// flawedOTPStore is a small otp.Store with one bug.
type flawedOTPStore struct {
	flaw otpFlaw

	mu      sync.Mutex
	records map[string]otp.Record
	sends   map[string][]time.Time // key → times of counted sends

	calls   atomic.Int32
	arrived chan struct{}
}

func newFlawedOTPStore(f otpFlaw) *flawedOTPStore {
	return &flawedOTPStore{flaw: f, records: make(map[string]otp.Record), sends: make(map[string][]time.Time), arrived: make(chan struct{})}
}

// race, called with s.mu held by a racy method between its check and its
// write, lets go of the lock until a second racy call has checked too.
func (s *flawedOTPStore) race(ctx context.Context) {
	s.mu.Unlock()
	switch s.calls.Add(1) {
	case 1:
		select {
		case <-s.arrived:
		case <-ctx.Done():
		}
	case 2:
		close(s.arrived)
	}
	s.mu.Lock()
}

func (s *flawedOTPStore) ctxErr(ctx context.Context) error {
	if s.flaw == otpFlawIgnoresOTPContext {
		return nil
	}
	return ctx.Err()
}

func (s *flawedOTPStore) live(rec otp.Record, now time.Time) bool {
	switch s.flaw {
	case otpFlawIgnoresExpiry:
		return true
	case otpFlawExpiryInclusive:
		return !now.After(rec.ExpiresAt)
	}
	return now.Before(rec.ExpiresAt)
}

func (s *flawedOTPStore) Create(ctx context.Context, rec otp.Record) error {
	if err := s.ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.records[rec.ID]; ok && s.flaw != otpFlawCreateOverwrites {
		return errors.New("exists")
	}
	if s.flaw != otpFlawAliasesCodeHash {
		rec.CodeHash = slices.Clone(rec.CodeHash)
	}
	s.records[rec.ID] = rec
	return nil
}

func (s *flawedOTPStore) Attempt(ctx context.Context, id string, now time.Time) (otp.Record, error) {
	if err := s.ctxErr(ctx); err != nil {
		return otp.Record{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[id]
	if !ok || !s.live(rec, now) {
		return otp.Record{}, otp.ErrNotFound
	}
	if s.flaw == otpFlawRacyAttempt {
		s.race(ctx)
	}
	rec.Attempts++
	s.records[id] = rec
	if s.flaw != otpFlawAliasesCodeHash {
		rec.CodeHash = slices.Clone(rec.CodeHash)
	}
	return rec, nil
}

func (s *flawedOTPStore) Refund(ctx context.Context, id string) error {
	if err := s.ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[id]
	if !ok || rec.Attempts == 0 && s.flaw != otpFlawRefundBelowZero {
		return nil
	}
	if s.flaw == otpFlawRacyRefund {
		s.race(ctx) // rec keeps the count read before
	}
	rec.Attempts--
	s.records[id] = rec
	return nil
}

func (s *flawedOTPStore) Delete(ctx context.Context, id string) (bool, error) {
	if err := s.ctxErr(ctx); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.records[id]; !ok {
		return false, nil
	}
	if s.flaw == otpFlawRacyDelete {
		s.race(ctx)
	}
	delete(s.records, id)
	return true, nil
}

func (s *flawedOTPStore) Throttle(ctx context.Context, key string, now time.Time, window time.Duration, limit int) (bool, time.Duration, error) {
	if err := s.ctxErr(ctx); err != nil {
		return false, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var counted []time.Time
	for _, at := range s.sends[key] {
		if now.Before(at.Add(window)) {
			counted = append(counted, at)
		}
	}
	if s.flaw == otpFlawOffByOne {
		limit++
	}
	if len(counted) >= limit {
		if s.flaw == otpFlawCountsDenied {
			s.sends[key] = append(s.sends[key], now)
		}
		oldest := slices.MinFunc(counted, time.Time.Compare)
		if s.flaw == otpFlawRetryFromNewest {
			oldest = slices.MaxFunc(counted, time.Time.Compare)
		}
		return false, oldest.Add(window).Sub(now), nil
	}
	if s.flaw == otpFlawRacyThrottle && len(counted) == limit-1 {
		s.race(ctx)
	}
	s.sends[key] = append(s.sends[key], now)
	return true, 0, nil
}

func (s *flawedOTPStore) Purge(ctx context.Context, now time.Time) error {
	if err := s.ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, rec := range s.records {
		if !now.Before(rec.ExpiresAt) {
			delete(s.records, id)
		}
	}
	if s.flaw == otpFlawPurgesLive {
		clear(s.sends)
	}
	return nil
}

// TestTestOTPStoreCorrect runs the kit against otp.MemoryStore and the
// flawless flawedOTPStore.
func TestTestOTPStoreCorrect(t *testing.T) {
	t.Run("MemoryStore", func(t *testing.T) {
		TestOTPStore(t, func(t testing.TB) otp.Store { return otp.NewMemoryStore() })
	})
	t.Run("flawedOTPStore without flaws", func(t *testing.T) {
		r := newRecorder(t)
		testOTPStore(r, func(t testing.TB) otp.Store { return newFlawedOTPStore(otpFlawNone) })
		if f := r.failures(); len(f) > 0 {
			t.Errorf("a correct store failed %v:\n%s", f, r)
		}
	})
}

// TestTestOTPStoreFindsFlaws runs the kit against OTP stores with one bug
// each and checks that the subtests meant to find it report it.
func TestTestOTPStoreFindsFlaws(t *testing.T) {
	tests := []struct {
		name     string
		flaw     otpFlaw
		run      []string // when the flaw would block other subtests
		wantFail []string
	}{
		{"racy Attempt", otpFlawRacyAttempt, []string{"ConcurrentAttempts"}, []string{"ConcurrentAttempts"}},
		{"racy Delete", otpFlawRacyDelete, []string{"SingleRedemption"}, []string{"SingleRedemption"}},
		{"racy Throttle", otpFlawRacyThrottle, []string{"ConcurrentThrottle"}, []string{"ConcurrentThrottle"}},
		{"ignores expiry", otpFlawIgnoresExpiry, nil, []string{"Expiry"}},
		{"expiry inclusive", otpFlawExpiryInclusive, nil, []string{"Expiry"}},
		{"Create overwrites", otpFlawCreateOverwrites, nil, []string{"CreateDuplicate"}},
		{"aliases CodeHash", otpFlawAliasesCodeHash, nil, []string{"CodeHashAliasing"}},
		{"counts refused sends", otpFlawCountsDenied, nil, []string{"Throttle"}},
		{"allows one send too many", otpFlawOffByOne, nil, []string{"Throttle", "ThrottleAcrossSpellings"}},
		{"retryAfter from the newest send", otpFlawRetryFromNewest, nil, []string{"Throttle"}},
		{"Purge drops live counts", otpFlawPurgesLive, nil, []string{"Purge"}},
		{"ignores context", otpFlawIgnoresOTPContext, nil, []string{"OTPContextCanceled"}},
		{"Refund below zero", otpFlawRefundBelowZero, nil, []string{"Refund"}},
		{"racy Refund", otpFlawRacyRefund, []string{"Refund"}, []string{"Refund"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder(t)
			testOTPStore(r, func(t testing.TB) otp.Store { return newFlawedOTPStore(tt.flaw) }, tt.run...)
			failed := r.failures()
			for _, want := range tt.wantFail {
				if !slices.Contains(failed, want) {
					t.Errorf("subtest %s passed an OTP store that %s; want it to fail. Failures:\n%s", want, tt.name, r)
				}
			}
			if testing.Verbose() {
				t.Logf("findings:\n%s", r)
			}
		})
	}
}

// batchThrottler adds a ThrottleAll to an OTP store that calls Throttle
// key by key, with one bug when flawed: it goes on after a refusal.
type batchThrottler struct {
	otp.Store
	flawed bool
}

func (b batchThrottler) ThrottleAll(ctx context.Context, now time.Time, window time.Duration, limits []otp.Limit) (int, time.Duration, error) {
	refused, retryAfter := -1, time.Duration(0)
	for i, l := range limits {
		ok, retry, err := b.Throttle(ctx, l.Key, now, window, l.Limit)
		if err != nil {
			return 0, 0, err
		}
		if !ok && refused < 0 {
			refused, retryAfter = i, retry
			if !b.flawed {
				break
			}
		}
	}
	return refused, retryAfter, nil
}

func TestTestOTPStoreThrottleAll(t *testing.T) {
	t.Run("correct", func(t *testing.T) {
		TestOTPStore(t, func(t testing.TB) otp.Store { return batchThrottler{otp.NewMemoryStore(), false} })
	})
	t.Run("counts after a refusal", func(t *testing.T) {
		r := newRecorder(t)
		testOTPStore(r, func(t testing.TB) otp.Store { return batchThrottler{otp.NewMemoryStore(), true} }, "ThrottleAll")
		if !slices.Contains(r.failures(), "ThrottleAll") {
			t.Errorf("subtest ThrottleAll passed a ThrottleAll that counts keys after a refusal. Findings:\n%s", r)
		}
	})
}
