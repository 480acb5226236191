package userinfo

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// telemetryHarness is a harness whose handler reports to in-memory
// exporters.
type telemetryHarness struct {
	*harness
	spans  *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
}

func newTelemetryHarness(t *testing.T) *telemetryHarness {
	t.Helper()
	th := &telemetryHarness{spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(th.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(th.reader))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
	th.harness = newHarness(t, func(c *Config) { c.TracerProvider, c.MeterProvider = tp, mp })
	return th
}

// metrics collects the metrics recorded so far.
func (th *telemetryHarness) metrics(t *testing.T) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := th.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	return rm
}

// attrString renders a set as k=v pairs, sorted by key.
func attrString(s attribute.Set) string {
	var b []string
	for _, kv := range s.ToSlice() {
		b = append(b, string(kv.Key)+"="+kv.Value.String())
	}
	return strings.Join(b, " ")
}

// counts returns the sums of the Int64 counter name by attribute set.
func counts(rm metricdata.ResourceMetrics, name string) map[string]int64 {
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[attrString(p.Attributes)] += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[attrString(p.Attributes)] += int64(p.Count)
				}
			}
		}
	}
	return out
}

// allAttributeValues returns every attribute value of the spans and
// metrics, with where it was found.
func allAttributeValues(spans tracetest.SpanStubs, rm metricdata.ResourceMetrics) map[string]string {
	out := map[string]string{}
	for _, s := range spans {
		out["span "+s.Name+" name"] = s.Name
		out["span "+s.Name+" status"] = s.Status.Description
		for _, kv := range s.Attributes {
			out["span "+s.Name+" "+string(kv.Key)] = kv.Value.String()
		}
		for _, e := range s.Events {
			for _, kv := range e.Attributes {
				out["span "+s.Name+" event "+string(kv.Key)] = kv.Value.String()
			}
		}
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			var sets []attribute.Set
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			}
			for i, s := range sets {
				out["metric "+m.Name+" "+string(rune('0'+i))] = attrString(s)
			}
		}
	}
	return out
}

// checkNoSecrets fails when any attribute value holds one of secrets.
func checkNoSecrets(t *testing.T, values map[string]string, secrets ...string) {
	t.Helper()
	for where, v := range values {
		for _, s := range secrets {
			if s != "" && strings.Contains(v, s) {
				t.Errorf("%s = %q holds the secret %q", where, v, s)
			}
		}
	}
}

func TestTelemetryRequests(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		token      string
		body       string
		edit       func(*harness)
		wantStatus int
		wantCode   string
		wantSpans  []string
	}{
		{name: "patch ok", method: http.MethodPatch, token: "tok-u1", body: `{"nickname":"neo"}`, wantStatus: 200,
			wantSpans: []string{"userinfo.verify_token", "userinfo.store.get", "userinfo.store.update", "PATCH /userinfo"}},
		{name: "get ok", method: http.MethodGet, token: "tok-u1", wantStatus: 200,
			wantSpans: []string{"userinfo.verify_token", "userinfo.store.get", "GET /userinfo"}},
		{name: "400 code", method: http.MethodPatch, token: "tok-u1", body: `{"nickname":7}`, wantStatus: 400, wantCode: "illegal_parameter_value",
			wantSpans: []string{"userinfo.verify_token", "userinfo.store.get", "PATCH /userinfo"}},
		{name: "400 no token", method: http.MethodPatch, body: `{}`, wantStatus: 400, wantCode: "invalid_request",
			wantSpans: []string{"PATCH /userinfo"}},
		{name: "401", method: http.MethodPatch, token: "tok-unknown", body: `{}`, wantStatus: 401, wantCode: "invalid_token",
			wantSpans: []string{"userinfo.verify_token", "PATCH /userinfo"}},
		{name: "403", method: http.MethodPatch, token: "tok-noscope", body: `{}`, wantStatus: 403, wantCode: "insufficient_scope",
			wantSpans: []string{"userinfo.verify_token", "PATCH /userinfo"}},
		{name: "404", method: http.MethodPatch, token: "tok-ghost", body: `{}`, wantStatus: 404, wantCode: "user_not_found",
			wantSpans: []string{"userinfo.verify_token", "userinfo.store.get", "PATCH /userinfo"}},
		{name: "500", method: http.MethodPatch, token: "tok-u1", body: `{"nickname":"x"}`, edit: func(hs *harness) { hs.store.failGet = true },
			wantStatus: 500, wantCode: "server_error",
			wantSpans: []string{"userinfo.verify_token", "userinfo.store.get", "PATCH /userinfo"}},
		{name: "unknown method", method: "BREW", token: "tok-u1", wantStatus: 405, wantCode: "invalid_request",
			wantSpans: []string{"other /userinfo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := newTelemetryHarness(t)
			if tt.edit != nil {
				tt.edit(th.harness)
			}
			w := th.serve(newRequest(tt.method, tt.token, tt.body))
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", w.Code, tt.wantStatus, w.Body.String())
			}
			spans := th.spans.GetSpans()
			var names []string
			for _, s := range spans {
				names = append(names, s.Name)
			}
			if got, want := strings.Join(names, ","), strings.Join(tt.wantSpans, ","); got != want {
				t.Errorf("spans = %s, want %s", got, want)
			}
			root := spans[len(spans)-1]
			for _, s := range spans[:len(spans)-1] {
				if s.Parent.SpanID() != root.SpanContext.SpanID() {
					t.Errorf("span %s is not a child of the request span", s.Name)
				}
			}
			method := tt.method
			if method == "BREW" {
				method = "other"
			}
			want := "http.request.method=" + method + " http.response.status_code=" + strconv.Itoa(tt.wantStatus) + " http.route=/userinfo"
			if tt.wantCode != "" {
				want = "http.request.method=" + method + " http.response.status_code=" + strconv.Itoa(tt.wantStatus) + " http.route=/userinfo userinfo.error=" + tt.wantCode
			}
			if got := attrString(attribute.NewSet(root.Attributes...)); got != want {
				t.Errorf("request span attributes = %s, want %s", got, want)
			}
			rm := th.metrics(t)
			if got := counts(rm, "userinfo.requests"); len(got) != 1 || got[want] != 1 {
				t.Errorf("userinfo.requests = %v, want {%s: 1}", got, want)
			}
			if got := counts(rm, "userinfo.request.duration"); len(got) != 1 || got[want] != 1 {
				t.Errorf("userinfo.request.duration counts = %v, want {%s: 1}", got, want)
			}
			checkNoSecrets(t, allAttributeValues(spans, rm), tt.token, "u1", "ghost", "one@example.com")
		})
	}
}

func TestTelemetryStoreLatency(t *testing.T) {
	th := newTelemetryHarness(t)
	if w := th.serve(newRequest(http.MethodPatch, "tok-u1", `{"nickname":"neo"}`)); w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	got := counts(th.metrics(t), "userinfo.store.duration")
	if got["userinfo.store.operation=get"] != 1 || got["userinfo.store.operation=update"] != 1 || len(got) != 2 {
		t.Errorf("userinfo.store.duration counts = %v, want one get, one update", got)
	}
}

// TestTelemetryNoSecrets sends a PATCH with a code, an otp_token, an address
// and a subject and finds none of them in any span or metric.
func TestTelemetryNoSecrets(t *testing.T) {
	th := newTelemetryHarness(t)
	th.otp.issue("otp-tok-secret", issuedOTP{"u1", ChannelEmail, "secret.new@example.com", "424242"})
	w := th.serve(newRequest(http.MethodPatch, "tok-u1",
		`{"email":"secret.new@example.com","email_otp_token":"otp-tok-secret","email_otp":"424242"}`))
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	// And a refused one, whose cause names the store's host.
	th.store.failGet = true
	th.serve(newRequest(http.MethodPatch, "tok-u1", `{"nickname":"x"}`))
	checkNoSecrets(t, allAttributeValues(th.spans.GetSpans(), th.metrics(t)),
		"tok-u1", "otp-tok-secret", "424242", "secret.new", "example.com", "u1", "10.0.0.7")
}

// TestTelemetryMiddleware counts requests through Authenticator.Middleware
// under the ServeMux route.
func TestTelemetryMiddleware(t *testing.T) {
	th := newTelemetryHarness(t)
	mux := http.NewServeMux()
	mux.Handle("POST /otp/send", th.h.Authenticator().Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
	for _, tok := range []string{"tok-u1", "tok-unknown"} {
		r := httptest.NewRequest(http.MethodPost, "/otp/send?x=secret-query", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		mux.ServeHTTP(httptest.NewRecorder(), r)
	}
	rm := th.metrics(t)
	want := map[string]int64{
		"http.request.method=POST http.response.status_code=204 http.route=/otp/send":                              1,
		"http.request.method=POST http.response.status_code=401 http.route=/otp/send userinfo.error=invalid_token": 1,
	}
	got := counts(rm, "userinfo.requests")
	if len(got) != len(want) {
		t.Errorf("userinfo.requests = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("userinfo.requests[%s] = %d, want %d", k, got[k], v)
		}
	}
	spans := th.spans.GetSpans()
	if n := len(spans); n != 4 || spans[1].Name != "POST /otp/send" {
		t.Errorf("spans = %v", spans)
	}
	checkNoSecrets(t, allAttributeValues(spans, rm), "tok-u1", "tok-unknown", "secret-query", "u1")
}
