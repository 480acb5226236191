package otp

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// MemoryStore is a [Store] in memory, for one process: tests, development
// and single-instance servers. Replicas must share a database store instead
// (package sqlstore). It is safe for concurrent use; the zero value is an
// empty store ready to use.
type MemoryStore struct {
	mu      sync.Mutex
	records map[string]Record
	// sends holds, per throttle key, the times at which counted sends stop
	// counting.
	sends map[string][]time.Time
	// swept is the now of the last automatic purge.
	swept time.Time
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// sweepEvery is how often, in the callers' time, the store purges itself.
const sweepEvery = time.Minute

// errExists is returned by Create for a duplicate ID.
var errExists = errors.New("otp: record exists")

// Create implements [Store].
func (m *MemoryStore) Create(ctx context.Context, rec Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.records[rec.ID]; ok {
		return errExists
	}
	if m.records == nil {
		m.records = make(map[string]Record)
	}
	rec.CodeHash = slices.Clone(rec.CodeHash)
	m.records[rec.ID] = rec
	return nil
}

// Attempt implements [Store].
func (m *MemoryStore) Attempt(ctx context.Context, id string, now time.Time) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked(now)
	rec, ok := m.records[id]
	if !ok || !now.Before(rec.ExpiresAt) {
		return Record{}, ErrNotFound
	}
	rec.Attempts++
	m.records[id] = rec
	rec.CodeHash = slices.Clone(rec.CodeHash)
	return rec, nil
}

// Refund implements [Store].
func (m *MemoryStore) Refund(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if rec, ok := m.records[id]; ok && rec.Attempts > 0 {
		rec.Attempts--
		m.records[id] = rec
	}
	return nil
}

// Delete implements [Store].
func (m *MemoryStore) Delete(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.records[id]; !ok {
		return false, nil
	}
	delete(m.records, id)
	return true, nil
}

// Throttle implements [Store].
func (m *MemoryStore) Throttle(ctx context.Context, key string, now time.Time, window time.Duration, limit int) (bool, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return false, 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked(now)
	live := slices.DeleteFunc(m.sends[key], func(end time.Time) bool { return !now.Before(end) })
	if len(live) >= limit {
		m.sends[key] = live
		return false, slices.MinFunc(live, time.Time.Compare).Sub(now), nil
	}
	if m.sends == nil {
		m.sends = make(map[string][]time.Time)
	}
	m.sends[key] = append(live, now.Add(window))
	return true, 0, nil
}

// Purge implements [Store].
func (m *MemoryStore) Purge(ctx context.Context, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.purgeLocked(now)
	return nil
}

// sweepLocked purges when sweepEvery has passed since the last purge, so that
// a store whose owner never calls Purge stays bounded.
func (m *MemoryStore) sweepLocked(now time.Time) {
	if now.Sub(m.swept) >= sweepEvery || now.Before(m.swept) {
		m.purgeLocked(now)
	}
}

func (m *MemoryStore) purgeLocked(now time.Time) {
	m.swept = now
	for id, rec := range m.records {
		if !now.Before(rec.ExpiresAt) {
			delete(m.records, id)
		}
	}
	for key, ends := range m.sends {
		ends = slices.DeleteFunc(ends, func(end time.Time) bool { return !now.Before(end) })
		if len(ends) == 0 {
			delete(m.sends, key)
		} else {
			m.sends[key] = ends
		}
	}
}
