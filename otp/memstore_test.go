package otp

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// These tests pin MemoryStore to the Store contract; the conformance kit in
// package userinfotest checks any Store through the interface.

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func testRecord(id string) Record {
	return Record{ID: id, Subject: "u1", Channel: "email", Target: "a@x.test", Purpose: "update_userinfo",
		CodeHash: []byte{1, 2, 3}, ExpiresAt: t0.Add(time.Minute)}
}

func TestMemoryStoreRecords(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryStore()
	rec := testRecord("r1")
	if err := m.Create(ctx, rec); err != nil {
		t.Fatalf("Create: %v", err)
	}
	rec.CodeHash[0] = 9 // the store must have copied it
	if err := m.Create(ctx, testRecord("r1")); err == nil {
		t.Errorf("Create of an existing ID: got nil error")
	}
	for want := 1; want <= 3; want++ {
		got, err := m.Attempt(ctx, "r1", t0)
		if err != nil || got.Attempts != want || got.CodeHash[0] != 1 || got.Subject != "u1" || !got.ExpiresAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("Attempt #%d: got %+v, %v", want, got, err)
		}
		got.CodeHash[0] = 7 // must not reach the store
	}
	if _, err := m.Attempt(ctx, "nope", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("Attempt of an unknown ID: got %v, want ErrNotFound", err)
	}
	if ok, err := m.Delete(ctx, "r1"); !ok || err != nil {
		t.Errorf("Delete: got %v, %v, want true", ok, err)
	}
	if ok, err := m.Delete(ctx, "r1"); ok || err != nil {
		t.Errorf("second Delete: got %v, %v, want false, nil", ok, err)
	}
	if _, err := m.Attempt(ctx, "r1", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("Attempt after Delete: got %v, want ErrNotFound", err)
	}
	if err := m.Create(ctx, testRecord("r2")); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Attempt(ctx, "r2", t0.Add(time.Minute-time.Nanosecond)); err != nil {
		t.Errorf("Attempt just before ExpiresAt: %v", err)
	}
	if _, err := m.Attempt(ctx, "r2", t0.Add(time.Minute)); !errors.Is(err, ErrNotFound) {
		t.Errorf("Attempt at ExpiresAt: got %v, want ErrNotFound", err)
	}
	var zero MemoryStore // the zero value is usable
	if ok, err := zero.Delete(ctx, "x"); ok || err != nil {
		t.Errorf("Delete on a zero MemoryStore: got %v, %v", ok, err)
	}
	if err := zero.Create(ctx, testRecord("x")); err != nil {
		t.Errorf("Create on a zero MemoryStore: %v", err)
	}
}

func TestMemoryStoreConcurrentAttemptsAndDeletes(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryStore()
	if err := m.Create(ctx, testRecord("r1")); err != nil {
		t.Fatal(err)
	}
	const n = 50
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		counts  []int
		deleted int
	)
	for range n {
		wg.Go(func() {
			rec, err := m.Attempt(ctx, "r1", t0)
			if err != nil {
				t.Errorf("Attempt: %v", err)
				return
			}
			mu.Lock()
			counts = append(counts, rec.Attempts)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Fatalf("concurrent Attempt counts: got %v, want 1 … %d each once", counts, n)
		}
	}
	for range n {
		wg.Go(func() {
			ok, err := m.Delete(ctx, "r1")
			if err != nil {
				t.Errorf("Delete: %v", err)
			}
			if ok {
				mu.Lock()
				deleted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if deleted != 1 {
		t.Errorf("%d concurrent Deletes returned true, want exactly 1", deleted)
	}
}

func TestMemoryStoreThrottle(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryStore()
	const window = 10 * time.Minute
	steps := []struct {
		at        time.Duration
		key       string
		wantOK    bool
		wantRetry time.Duration
	}{
		{0, "k", true, 0},
		{time.Minute, "k", true, 0},
		{2 * time.Minute, "k", true, 0},
		{3 * time.Minute, "k", false, 7 * time.Minute}, // limit 3: the send at 0 counts until 10m
		{3 * time.Minute, "other", true, 0},            // keys are independent
		{9 * time.Minute, "k", false, time.Minute},     // refused sends are not counted
		{10 * time.Minute, "k", true, 0},               // the send at 0 no longer counts
		{10 * time.Minute, "k", false, time.Minute},
		{12 * time.Minute, "k", true, 0},
	}
	for _, s := range steps {
		ok, retry, err := m.Throttle(ctx, s.key, t0.Add(s.at), window, 3)
		if err != nil || ok != s.wantOK || retry != s.wantRetry {
			t.Errorf("Throttle(%q) at %v: got %v, %v, %v; want %v, %v", s.key, s.at, ok, retry, err, s.wantOK, s.wantRetry)
		}
	}
}

func TestMemoryStoreConcurrentThrottle(t *testing.T) {
	m := NewMemoryStore()
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		ok int
	)
	for range 50 {
		wg.Go(func() {
			got, _, err := m.Throttle(context.Background(), "k", t0, time.Minute, 5)
			if err != nil {
				t.Errorf("Throttle: %v", err)
			}
			if got {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ok != 5 {
		t.Errorf("50 concurrent Throttle calls at limit 5: %d ok, want 5", ok)
	}
}

func TestMemoryStorePurge(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryStore()
	live, dead := testRecord("live"), testRecord("dead")
	live.ExpiresAt = t0.Add(time.Hour)
	for _, r := range []Record{live, dead} {
		if err := m.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	m.Throttle(ctx, "old", t0, time.Minute, 1)
	m.Throttle(ctx, "new", t0, time.Hour, 1)
	if err := m.Purge(ctx, t0.Add(time.Minute)); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	if _, ok := m.records["dead"]; ok || len(m.records) != 1 {
		t.Errorf("after Purge: records %v, want only live", m.records)
	}
	if _, ok := m.sends["old"]; ok || len(m.sends) != 1 {
		t.Errorf("after Purge: throttle keys %v, want only new", m.sends)
	}
	// Purge changes no outcome: "new" still counts.
	if ok, _, _ := m.Throttle(ctx, "new", t0.Add(time.Minute), time.Hour, 1); ok {
		t.Errorf("Throttle after Purge forgot a counted send")
	}
}

func TestMemoryStoreCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := NewMemoryStore()
	if err := m.Create(ctx, testRecord("r")); !errors.Is(err, context.Canceled) {
		t.Errorf("Create: got %v, want context.Canceled", err)
	}
	if _, err := m.Attempt(ctx, "r", t0); !errors.Is(err, context.Canceled) {
		t.Errorf("Attempt: got %v, want context.Canceled", err)
	}
}
