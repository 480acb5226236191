package userinfo

import (
	"net/http"
	"strconv"
	"testing"
)

// BenchmarkPatch measures one PATCH of two attributes through the whole
// handler on the memory store, token verification stubbed out.
func BenchmarkPatch(b *testing.B) {
	hs := newHarness(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		w := hs.serve(newRequest(http.MethodPatch, "tok-u1", `{"nickname":"n`+strconv.Itoa(i)+`","locale":"en-US"}`))
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
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
			hs := newHarness(b)
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
