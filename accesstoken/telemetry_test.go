package accesstoken

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/ciamkit/userinfo"
)

// counterValues returns the Int64 sums of reader by name.
func counterValues(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if d, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, p := range d.DataPoints {
					if p.Attributes.Len() != 0 {
						t.Errorf("%s has attributes %v", m.Name, p.Attributes)
					}
					out[m.Name] += p.Value
				}
			}
		}
	}
	return out
}

func TestTelemetryKeySetFetches(t *testing.T) {
	for _, tt := range []struct {
		name string
		h    http.HandlerFunc
	}{
		{"status 500", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }},
		{"not a key set", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("not json")) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.h)
			defer srv.Close()
			reader := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			defer mp.Shutdown(context.Background())
			rs, err := NewRemoteKeySet(context.Background(), RemoteKeySetConfig{URL: srv.URL, MeterProvider: mp,
				MinRefreshInterval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			got := counterValues(t, reader)
			if got["userinfo.accesstoken.jwks.fetches"] != 1 || got["userinfo.accesstoken.jwks.fetch_failures"] != 1 {
				t.Errorf("counters = %v, want one fetch, one failure", got)
			}
		})
	}
}

func TestTelemetryCacheHitsMisses(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	c := NewCache(userinfo.TokenVerifierFunc(func(context.Context, string) (*userinfo.Principal, error) {
		return &userinfo.Principal{Subject: "u1", Expiry: now.Add(time.Hour)}, nil
	}), CacheConfig{Now: func() time.Time { return now }, MeterProvider: mp})
	for _, tok := range []string{"a", "a", "a", "b"} {
		if _, err := c.VerifyToken(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	got := counterValues(t, reader)
	if got["userinfo.accesstoken.cache.hits"] != 2 || got["userinfo.accesstoken.cache.misses"] != 2 {
		t.Errorf("counters = %v, want 2 hits, 2 misses", got)
	}
}
