package userinfo

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ciamkit/userinfo/internal/otelx"
)

// scope is the instrumentation scope of the package's spans and metrics.
const scope = "github.com/ciamkit/userinfo"

// Attribute keys. Every value comes from a bounded set: methods, status
// codes, the seed's error codes, the handler's routes and store operations.
// No token, code, otp_token, address or subject is ever an attribute.
const (
	attrMethod    = attribute.Key("http.request.method")
	attrStatus    = attribute.Key("http.response.status_code")
	attrRoute     = attribute.Key("http.route")
	attrError     = attribute.Key("userinfo.error")
	attrOperation = attribute.Key("userinfo.store.operation")
)

// telemetry holds the tracer and instruments of one handler, made once at
// construction. The zero value (noTelemetry) records nothing and costs next
// to nothing: it is the uninstrumented path.
type telemetry struct {
	tracer   trace.Tracer
	requests metric.Int64Counter
	duration metric.Float64Histogram
	store    metric.Float64Histogram
}

// noTelemetry turns instrumentation off.
var noTelemetry = &telemetry{}

// noopSpan is the span of a telemetry that records nothing.
var noopSpan = trace.SpanFromContext(context.Background())

// defaultTelemetry is the telemetry of an [Authenticator] built without
// [New]: the global providers.
var defaultTelemetry = sync.OnceValue(func() *telemetry { return newTelemetry(nil, nil) })

// newTelemetry makes the tracer and instruments of tp and mp; nil ones are
// the global providers (otel.GetTracerProvider, otel.GetMeterProvider),
// which are no-ops until the embedding server sets them.
func newTelemetry(tp trace.TracerProvider, mp metric.MeterProvider) *telemetry {
	m := otelx.Meter(mp, scope)
	t := &telemetry{tracer: otelx.Tracer(tp, scope)}
	// The API returns a working no-op instrument beside any error, which
	// only reports a bad name or unit: ours are constants.
	t.requests, _ = m.Int64Counter("userinfo.requests", metric.WithUnit("{request}"),
		metric.WithDescription("Requests answered, by method, route, status and error code."))
	t.duration, _ = m.Float64Histogram("userinfo.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of requests, by method, route, status and error code."))
	t.store, _ = m.Float64Histogram("userinfo.store.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of user store calls, by operation (get, update)."))
	return t
}

// start starts a span named name, a child of ctx's. Under a parent that
// is not recorded (sampled out, or no provider set) it starts none, so that
// the no-op path costs nothing: a child is recorded only with its parent.
func (t *telemetry) start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if t.tracer == nil || !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, noopSpan
	}
	return t.tracer.Start(ctx, name, opts...)
}

// noStoreCall is the end of a store call that is neither traced nor timed.
func noStoreCall(error) {}

// storeCall times one call of the user store, operation "get" or "update",
// in a span; call the returned function with the call's error.
func (t *telemetry) storeCall(ctx context.Context, operation string) (context.Context, func(error)) {
	if t.tracer == nil || (!trace.SpanFromContext(ctx).IsRecording() && !t.store.Enabled(ctx)) {
		return ctx, noStoreCall
	}
	begin := time.Now()
	ctx, span := t.start(ctx, "userinfo.store."+operation, trace.WithSpanKind(trace.SpanKindClient))
	return ctx, func(err error) {
		if t.store.Enabled(ctx) {
			t.store.Record(ctx, time.Since(begin).Seconds(), metric.WithAttributes(attrOperation.String(operation)))
		}
		if err != nil && !errors.Is(err, ErrUserNotFound) && !errors.Is(err, ErrVersionConflict) {
			span.SetStatus(codes.Error, "store failed")
		}
		span.End()
	}
}

// serve runs next for r in a server span named after the method and route
// (empty: none), and counts and times the request by method, route, status
// and the seed error code that [WriteError] wrote.
func (t *telemetry) serve(w http.ResponseWriter, r *http.Request, route string, next func(http.ResponseWriter, *http.Request)) {
	if t.tracer == nil {
		next(w, r)
		return
	}
	begin := time.Now()
	method := boundedMethod(r.Method)
	name := method
	if route != "" {
		name += " " + route
	}
	ctx, span := t.tracer.Start(r.Context(), name, trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	recording := span.IsRecording()
	counting := t.requests.Enabled(ctx) || t.duration.Enabled(ctx)
	if !recording && !counting {
		// The no-op path: nothing to record, nothing to pass on.
		next(w, r)
		return
	}
	tw := &telemetryWriter{ResponseWriter: w}
	if recording {
		r = r.WithContext(ctx)
	}
	next(tw, r)
	status := tw.status
	if status == 0 {
		status = http.StatusOK
	}
	attrs := make([]attribute.KeyValue, 0, 4)
	attrs = append(attrs, attrMethod.String(method), attrStatus.Int(status))
	if route != "" {
		attrs = append(attrs, attrRoute.String(route))
	}
	if tw.code != "" {
		attrs = append(attrs, attrError.String(tw.code))
	}
	if recording {
		span.SetAttributes(attrs...)
		if status >= 500 {
			span.SetStatus(codes.Error, tw.code)
		}
	}
	if counting {
		set := metric.WithAttributeSet(attribute.NewSet(attrs...))
		t.requests.Add(ctx, 1, set)
		t.duration.Record(ctx, time.Since(begin).Seconds(), set)
	}
}

// boundedMethod returns method when it is one of RFC 9110's or PATCH, else
// "other": a client chooses the method, and attributes come from bounded
// sets.
func boundedMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return "other"
}

// telemetryWriter records the status and the error code of an answer.
type telemetryWriter struct {
	http.ResponseWriter
	status int
	code   string
}

func (w *telemetryWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *telemetryWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *telemetryWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// noteErrorCode tells the telemetryWriter below w, if any, the error code
// of the answer being written.
func noteErrorCode(w http.ResponseWriter, code string) {
	for w != nil {
		if tw, ok := w.(*telemetryWriter); ok {
			if tw.code == "" {
				tw.code = code
			}
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}
