package otp

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ciamkit/userinfo"
)

// newTelemetryEnv returns an env whose service reports to in-memory
// exporters.
func newTelemetryEnv(t *testing.T) (*env, *tracetest.InMemoryExporter, *sdkmetric.ManualReader) {
	t.Helper()
	spans, reader := tracetest.NewInMemoryExporter(), sdkmetric.NewManualReader()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
	e := newEnv(t, nil, func(c *Config) { c.TracerProvider, c.MeterProvider = tp, mp })
	return e, spans, reader
}

// sums returns the points of every Int64 sum, "name{k=v …}" → value.
func sums(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if d, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, p := range d.DataPoints {
					out[m.Name+"{"+setString(p.Attributes)+"}"] += p.Value
				}
			}
		}
	}
	return out
}

func setString(s attribute.Set) string {
	var b []string
	for _, kv := range s.ToSlice() {
		b = append(b, string(kv.Key)+"="+kv.Value.String())
	}
	return strings.Join(b, " ")
}

func TestTelemetrySendsChecksThrottles(t *testing.T) {
	e, spans, reader := newTelemetryEnv(t)
	ctx := context.Background()
	body := `{"usage":"update_userinfo","email":"secret.addr@x.test"}`
	for range DefaultTargetLimit {
		if w := e.post(t, "subj-secret", jsonType, body); w.Code != 200 {
			t.Fatalf("send: %d %s", w.Code, w.Body.String())
		}
	}
	if w := e.post(t, "subj-secret", jsonType, body); w.Code != 429 {
		t.Fatalf("6th send: %d, want 429", w.Code)
	}
	if w := e.post(t, "subj-secret", jsonType, `{"usage":"update_userinfo","email":"not an address"}`); w.Code != 400 {
		t.Fatalf("malformed send: %d, want 400", w.Code)
	}
	if _, err := e.svc.Send(ctx, "subj-secret", "pigeon", "x", userinfo.PurposeUpdateUserinfo); err == nil {
		t.Fatal("send by pigeon: no error")
	}
	m, _ := e.sender.Last()
	check := userinfo.OTPCheck{Subject: "subj-secret", Channel: userinfo.ChannelEmail, Target: m.Target,
		Purpose: userinfo.PurposeUpdateUserinfo, Token: m.Token, Code: "000000"}
	if m.Code == "000000" {
		check.Code = "111111"
	}
	if _, err := e.svc.CheckOTP(ctx, check); !errors.Is(err, userinfo.ErrBadOTP) {
		t.Fatalf("wrong code: %v", err)
	}
	bad := check
	bad.Token = "garbage"
	if _, err := e.svc.CheckOTP(ctx, bad); !errors.Is(err, userinfo.ErrBadOTPToken) {
		t.Fatalf("bad token: %v", err)
	}
	check.Code = m.Code
	r, err := e.svc.CheckOTP(ctx, check)
	if err != nil {
		t.Fatalf("right code: %v", err)
	}
	if err := r.Redeem(ctx); err != nil {
		t.Fatalf("Redeem: %v", err)
	}
	if err := r.Redeem(ctx); !errors.Is(err, userinfo.ErrBadOTPToken) {
		t.Fatalf("second Redeem: %v", err)
	}

	want := map[string]int64{
		"userinfo.otp.sends{userinfo.otp.channel=email userinfo.otp.outcome=sent}":            5,
		"userinfo.otp.sends{userinfo.otp.channel=email userinfo.otp.outcome=throttled}":       1,
		"userinfo.otp.sends{userinfo.otp.channel=email userinfo.otp.outcome=malformed}":       1,
		"userinfo.otp.sends{userinfo.otp.channel=other userinfo.otp.outcome=malformed}":       1,
		"userinfo.otp.throttles{userinfo.otp.channel=email userinfo.otp.limit=target}":        1,
		"userinfo.otp.checks{userinfo.otp.channel=email userinfo.otp.outcome=bad_code}":       1,
		"userinfo.otp.checks{userinfo.otp.channel=email userinfo.otp.outcome=bad_token}":      1,
		"userinfo.otp.checks{userinfo.otp.channel=email userinfo.otp.outcome=ok}":             1,
		"userinfo.otp.redemptions{userinfo.otp.channel=email userinfo.otp.outcome=ok}":        1,
		"userinfo.otp.redemptions{userinfo.otp.channel=email userinfo.otp.outcome=bad_token}": 1,
	}
	got := sums(t, reader)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("metrics = %v, want %v", got, want)
	}

	names := map[string]int{}
	var secrets []string
	for _, msg := range e.sender.Messages() {
		secrets = append(secrets, msg.Code, msg.Token)
	}
	secrets = append(secrets, "secret.addr", "x.test", "subj-secret", "garbage")
	for _, s := range spans.GetSpans() {
		names[s.Name]++
		values := []string{s.Name, s.Status.Description}
		for _, kv := range s.Attributes {
			values = append(values, kv.Value.String())
		}
		for _, v := range values {
			for _, sec := range secrets {
				if sec != "" && strings.Contains(v, sec) {
					t.Errorf("span %s: %q holds the secret %q", s.Name, v, sec)
				}
			}
		}
	}
	for k := range got {
		for _, sec := range secrets {
			if sec != "" && strings.Contains(k, sec) {
				t.Errorf("metric %s holds the secret %q", k, sec)
			}
		}
	}
	if names["otp.send"] != 8 || names["otp.check"] != 3 || names["otp.redeem"] != 2 {
		t.Errorf("spans = %v, want 8 otp.send, 3 otp.check, 2 otp.redeem", names)
	}
}
