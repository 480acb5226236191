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
