package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// With -metrics-addr the program's metrics are served in the Prometheus
// text format; a refused and an accepted request show in the counter.
func TestMetricsEndpoint(t *testing.T) {
	o, err := parseFlags([]string{"-db", "memory", "-metrics-addr", "127.0.0.1:0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := setup(ctx, o, io.Discard)
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	defer a.Close()
	srv := httptest.NewServer(a.handler)
	defer srv.Close()
	metrics := httptest.NewServer(a.metrics)
	defer metrics.Close()

	tok := mint(t, srv.URL, `{"sub":"demo"}`)
	if status, _, _ := call(t, http.MethodGet, srv.URL+"/userinfo", tok, ""); status != 200 {
		t.Fatalf("GET /userinfo: %d", status)
	}
	if status, _, _ := call(t, http.MethodGet, srv.URL+"/userinfo", "not-a-jwt", ""); status != 401 {
		t.Fatalf("GET /userinfo with a bad token: %d", status)
	}
	resp, err := http.Get(metrics.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	text := string(body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`userinfo_requests_total{http_request_method="GET",http_response_status_code="200",http_route="/userinfo"`,
		`userinfo_requests_total{http_request_method="GET",http_response_status_code="401",http_route="/userinfo",`,
		`userinfo_error="invalid_token"`,
		"userinfo_request_duration_seconds_bucket{",
		`userinfo_store_duration_seconds_count{`,
		"userinfo_accesstoken_cache_misses_total",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, text)
		}
	}
	if strings.Contains(text, tok) || strings.Contains(text, "not-a-jwt") || strings.Contains(text, "demo") {
		t.Errorf("/metrics holds a token or the subject:\n%s", text)
	}
}

func TestMetricsOffByDefault(t *testing.T) {
	o, err := parseFlags([]string{"-db", "memory"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a, err := setup(context.Background(), o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.metrics != nil || a.meters != nil {
		t.Error("metrics are on without -metrics-addr")
	}
}
