package userinfo

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
)

// countUpdates makes the benchmark's OnUpdate count the events instead of
// keeping them, as the harness does for tests: a benchmark that retains
// every UpdateEvent measures a growing heap, not the handler.
func countUpdates(n *atomic.Int64) func(*Config) {
	return func(cfg *Config) {
		cfg.OnUpdate = func(context.Context, UpdateEvent) { n.Add(1) }
	}
}

// BenchmarkPatch measures one PATCH of two attributes through the whole
// handler on the memory store, token verification stubbed out. OnUpdate
// counts the events and keeps none.
func BenchmarkPatch(b *testing.B) {
	var updates atomic.Int64
	hs := newHarness(b, countUpdates(&updates))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		w := hs.serve(newRequest(http.MethodPatch, "tok-u1", `{"nickname":"n`+strconv.Itoa(i)+`","locale":"en-US"}`))
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
	}
	if updates.Load() != int64(i) {
		b.Fatalf("%d update events for %d PATCHes", updates.Load(), i)
	}
}

// BenchmarkGet measures one GET /userinfo.
func BenchmarkGet(b *testing.B) {
	hs := newHarness(b)
	b.ReportAllocs()
	for b.Loop() {
		if w := hs.serve(newRequest(http.MethodGet, "tok-u1", "")); w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkPatchTelemetry compares a PATCH through the handler with the
// no-op providers of OpenTelemetry (what a server that sets none gets)
// against the same handler with instrumentation off (noTelemetry, the path
// before it existed). Run with -count 6 and compare the medians:
//
//	go test -run '^$' -bench PatchTelemetry -count 6 .
func BenchmarkPatchTelemetry(b *testing.B) {
	for _, bc := range []struct {
		name string
		off  bool
	}{{"noop", false}, {"off", true}} {
		b.Run(bc.name, func(b *testing.B) {
			var updates atomic.Int64
			hs := newHarness(b, countUpdates(&updates))
			if bc.off {
				hs.h.tel = noTelemetry
				hs.h.auth.tel = noTelemetry
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				w := hs.serve(newRequest(http.MethodPatch, "tok-u1", `{"nickname":"n`+strconv.Itoa(i)+`","locale":"en-US"}`))
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body.String())
				}
			}
		})
	}
}
