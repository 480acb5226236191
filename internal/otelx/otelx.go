// Package otelx gives the module's packages their OpenTelemetry tracer and
// meter from the providers their configurations name, defaulting to the
// global ones, which are no-ops until the embedding server sets them.
package otelx

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Tracer returns tp's tracer of scope, or the global provider's when tp is
// nil.
func Tracer(tp trace.TracerProvider, scope string) trace.Tracer {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return tp.Tracer(scope)
}

// Meter returns mp's meter of scope, or the global provider's when mp is
// nil.
func Meter(mp metric.MeterProvider, scope string) metric.Meter {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	return mp.Meter(scope)
}
