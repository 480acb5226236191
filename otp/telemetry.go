package otp

import (
	"context"
	"errors"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/internal/otelx"
)

// scope is the instrumentation scope of the package's spans and metrics.
const scope = "github.com/ciamkit/userinfo/otp"

// Attribute keys; every value comes from a bounded set. No code, otp_token,
// address or subject is ever an attribute.
const (
	attrChannel = attribute.Key("userinfo.otp.channel")
	attrOutcome = attribute.Key("userinfo.otp.outcome")
	attrLimit   = attribute.Key("userinfo.otp.limit")
)

// Outcomes of sends, checks and redemptions.
const (
	outcomeSent      = "sent"
	outcomeThrottled = "throttled"
	outcomeMalformed = "malformed"
	outcomeFailed    = "failed"
	outcomeOK        = "ok"
	outcomeBadToken  = "bad_token"
	outcomeBadCode   = "bad_code"
	outcomeError     = "error"
)

// telemetry holds the tracer and instruments of a Service, made once in New.
type telemetry struct {
	tracer      trace.Tracer
	sends       metric.Int64Counter
	checks      metric.Int64Counter
	redemptions metric.Int64Counter
	throttles   metric.Int64Counter
}

// newTelemetry makes the tracer and instruments of tp and mp; nil ones are
// the global providers.
func newTelemetry(tp trace.TracerProvider, mp metric.MeterProvider) *telemetry {
	m := otelx.Meter(mp, scope)
	t := &telemetry{tracer: otelx.Tracer(tp, scope)}
	// Errors only report bad names or units, and ours are constants; the
	// instrument returned beside one is a working no-op.
	t.sends, _ = m.Int64Counter("userinfo.otp.sends", metric.WithUnit("{send}"),
		metric.WithDescription("Code sends, by channel and outcome (sent, throttled, malformed, failed)."))
	t.checks, _ = m.Int64Counter("userinfo.otp.checks", metric.WithUnit("{check}"),
		metric.WithDescription("Code checks, by channel and outcome (ok, bad_token, bad_code, error)."))
	t.redemptions, _ = m.Int64Counter("userinfo.otp.redemptions", metric.WithUnit("{redemption}"),
		metric.WithDescription("Code redemptions, by channel and outcome (ok, bad_token, error)."))
	t.throttles, _ = m.Int64Counter("userinfo.otp.throttles", metric.WithUnit("{throttle}"),
		metric.WithDescription("Sends refused by a limit, by channel and limit (target, subject)."))
	return t
}

// boundedChannel returns channel when it is a known one, else "other": the
// channel of a send is the client's word.
func boundedChannel(channel string) string {
	if _, ok := userinfo.LookupChannel(channel); ok {
		return channel
	}
	return "other"
}

// end records the outcome of one operation in its span and counter c.
func (t *telemetry) end(ctx context.Context, span trace.Span, c metric.Int64Counter, channel, outcome string, failed bool) {
	attrs := [...]attribute.KeyValue{attrChannel.String(boundedChannel(channel)), attrOutcome.String(outcome)}
	if span.IsRecording() {
		span.SetAttributes(attrs[:]...)
		if failed {
			span.SetStatus(codes.Error, outcome)
		}
	}
	span.End()
	if c.Enabled(ctx) {
		c.Add(ctx, 1, metric.WithAttributes(attrs[:]...))
	}
}

// sendOutcome classifies the error of Send.
func sendOutcome(err error) string {
	var e *userinfo.Error
	switch {
	case err == nil:
		return outcomeSent
	case errors.As(err, &e) && e.Status == http.StatusTooManyRequests:
		return outcomeThrottled
	case errors.As(err, &e) && e.Status == http.StatusBadRequest:
		return outcomeMalformed
	}
	return outcomeFailed
}

// checkOutcome classifies the error of CheckOTP or Redeem.
func checkOutcome(err error) string {
	switch {
	case err == nil:
		return outcomeOK
	case errors.Is(err, userinfo.ErrBadOTPToken):
		return outcomeBadToken
	case errors.Is(err, userinfo.ErrBadOTP):
		return outcomeBadCode
	}
	return outcomeError
}
