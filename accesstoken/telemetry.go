package accesstoken

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ciamkit/userinfo/internal/otelx"
)

// scope is the instrumentation scope of the package's spans and metrics.
const scope = "github.com/ciamkit/userinfo/accesstoken"

// cacheTelemetry counts the lookups of a [Cache].
type cacheTelemetry struct {
	hits, misses metric.Int64Counter
}

func newCacheTelemetry(mp metric.MeterProvider) cacheTelemetry {
	m := otelx.Meter(mp, scope)
	var t cacheTelemetry
	// Errors only report bad names or units: ours are constants.
	t.hits, _ = m.Int64Counter("userinfo.accesstoken.cache.hits", metric.WithUnit("{hit}"),
		metric.WithDescription("Tokens answered from the verified-token cache."))
	t.misses, _ = m.Int64Counter("userinfo.accesstoken.cache.misses", metric.WithUnit("{miss}"),
		metric.WithDescription("Tokens not in the verified-token cache, passed to the verifier."))
	return t
}

// fetchTelemetry counts and traces the fetches of a [RemoteKeySet].
type fetchTelemetry struct {
	tracer   trace.Tracer
	fetches  metric.Int64Counter
	failures metric.Int64Counter
}

func newFetchTelemetry(tp trace.TracerProvider, mp metric.MeterProvider) *fetchTelemetry {
	m := otelx.Meter(mp, scope)
	t := &fetchTelemetry{tracer: otelx.Tracer(tp, scope)}
	t.fetches, _ = m.Int64Counter("userinfo.accesstoken.jwks.fetches", metric.WithUnit("{fetch}"),
		metric.WithDescription("Fetches of the JWK Set, background refreshes and refetches on unknown key ids."))
	t.failures, _ = m.Int64Counter("userinfo.accesstoken.jwks.fetch_failures", metric.WithUnit("{fetch}"),
		metric.WithDescription("Fetches of the JWK Set that failed: no answer, a status other than 200, or a set that does not parse."))
	return t
}

// client returns a copy of c whose fetches are counted and traced. Each
// fetch is one span, accesstoken.jwks.fetch; its URL is no attribute.
func (t *fetchTelemetry) client(c *http.Client) *http.Client {
	cc := *c
	next := cc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	cc.Transport = fetchTransport{t: t, next: next}
	return &cc
}

// transform wraps the transform of fetched sets, counting a set that does
// not parse as a failed fetch.
func (t *fetchTelemetry) transform(f func(context.Context, *http.Response) (*keyIndex, error)) func(context.Context, *http.Response) (*keyIndex, error) {
	return func(ctx context.Context, res *http.Response) (*keyIndex, error) {
		ix, err := f(ctx, res)
		if err != nil {
			t.failures.Add(ctx, 1)
		}
		return ix, err
	}
}

type fetchTransport struct {
	t    *fetchTelemetry
	next http.RoundTripper
}

func (f fetchTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, span := f.t.tracer.Start(r.Context(), "accesstoken.jwks.fetch", trace.WithSpanKind(trace.SpanKindClient))
	defer span.End()
	f.t.fetches.Add(ctx, 1)
	res, err := f.next.RoundTrip(r.WithContext(ctx))
	if err != nil || res.StatusCode != http.StatusOK {
		f.t.failures.Add(ctx, 1)
		span.SetStatus(codes.Error, "fetch failed")
	}
	return res, err
}
