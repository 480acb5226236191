package accesstoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/httprc/v3/errsink"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// maxJWKSBytes bounds a fetched JWK Set or discovery document.
const maxJWKSBytes = 1 << 20

// RemoteKeySetConfig configures [NewRemoteKeySet]. Exactly one of URL and
// Issuer is set.
type RemoteKeySetConfig struct {
	// URL is the address of the JWK Set, e.g. the "jwks_uri" of an OpenID
	// provider.
	URL string
	// Issuer, instead of URL, is an OpenID provider's issuer identifier: the
	// JWK Set's address is the "jwks_uri" of its discovery document,
	// Issuer + "/.well-known/openid-configuration" (OpenID Connect Discovery
	// 1.0 §4), whose "issuer" must equal Issuer.
	Issuer string

	// HTTPClient fetches the documents. Default: a client with a 10-second
	// timeout.
	HTTPClient *http.Client

	// MinRefreshInterval and MaxRefreshInterval bound the interval of the
	// background refresh, which otherwise follows the response's
	// Cache-Control max-age or Expires. A failed fetch is retried after
	// MinRefreshInterval. Defaults: 5 minutes and 24 hours.
	MinRefreshInterval time.Duration
	MaxRefreshInterval time.Duration

	// RefreshCooldown is the least time between two refreshes triggered by
	// a token whose "kid" is not in the set (a key rotated in before the
	// background refresh saw it). Tokens with random key ids therefore cause
	// at most one fetch per cooldown. Default: 1 minute.
	RefreshCooldown time.Duration

	// Now is the clock of the cooldown, so that one clock can drive it,
	// the tokens' times and the caches. The background refresh follows the
	// real time. Default: time.Now.
	Now func() time.Time

	// Logger receives a warning for every fetch of the set that fails
	// (the last good set keeps serving) and for every member of a fetched
	// set that is skipped because it cannot verify signatures (its kid,
	// kty and the reason; never key material). Default: slog.Default().
	Logger *slog.Logger
	// TracerProvider makes a span, accesstoken.jwks.fetch, for each fetch
	// of the JWK Set (not of the discovery document); the URL is no
	// attribute. Default: the global provider, otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// MeterProvider makes the counters userinfo.accesstoken.jwks.fetches
	// (every fetch of the JWK Set) and
	// userinfo.accesstoken.jwks.fetch_failures (no answer, a status other
	// than 200, a set that does not parse), once, in NewRemoteKeySet.
	// Default: the global provider, otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
}

// RemoteKeySet is a [KeySet] fetched over HTTP(S): fetched once by
// [NewRemoteKeySet], refreshed in the background, refetched (at most once
// per cooldown, one fetch shared by all waiting requests) when a token names
// an unknown key id. When a fetch fails the last good set keeps serving;
// before any fetch has succeeded, VerificationKeys returns an error wrapping
// [ErrNoKeySet].
//
// Its background refresh runs until Close is called, and only Close stops
// it: call Close when the set is no longer used.
type RemoteKeySet struct {
	url      string
	issuer   string
	logger   *slog.Logger
	ctrl     httprc.Controller
	res      *httprc.ResourceBase[*keyIndex]
	cooldown time.Duration
	now      func() time.Time
	// life is the context of the background work, made here and canceled
	// by Close alone: the set's one owner of its lifetime.
	life context.Context
	stop context.CancelFunc

	mu        sync.Mutex
	lastForce time.Time     // when the last refresh on an unknown kid began
	inflight  chan struct{} // closed when the refresh in flight ends; nil if none
	lastErr   error         // the error of the first fetch, then of the last forced refresh
}

// NewRemoteKeySet starts a [RemoteKeySet]. ctx bounds the requests made
// before it returns, and nothing after: with cfg.Issuer the discovery
// document, whose failure is an error, then the first fetch of the JWK Set.
// A first fetch that fails (the key server is down, ctx ends first) is no
// error, so that a key server that is down at start does not stop the
// embedding server from starting: its requests are answered 503 until a
// background fetch succeeds, and [RemoteKeySet.Ready] waits for one.
//
// The background refresh it starts runs until [RemoteKeySet.Close].
func NewRemoteKeySet(ctx context.Context, cfg RemoteKeySetConfig) (*RemoteKeySet, error) {
	if (cfg.URL == "") == (cfg.Issuer == "") {
		return nil, errors.New("accesstoken: RemoteKeySetConfig needs exactly one of URL and Issuer")
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	minInterval, maxInterval := cfg.MinRefreshInterval, cfg.MaxRefreshInterval
	if minInterval <= 0 {
		minInterval = 5 * time.Minute
	}
	if maxInterval <= 0 {
		maxInterval = 24 * time.Hour
	}
	if maxInterval < minInterval {
		maxInterval = minInterval
	}
	cooldown := cfg.RefreshCooldown
	if cooldown <= 0 {
		cooldown = time.Minute
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}

	jwksURL := cfg.URL
	if cfg.Issuer != "" {
		u, err := discoverJWKSURI(ctx, client, cfg.Issuer)
		if err != nil {
			return nil, err
		}
		jwksURL = u
	}
	if err := checkFetchURL(jwksURL); err != nil {
		return nil, err
	}

	transform := func(_ context.Context, res *http.Response) (*keyIndex, error) {
		return transformKeySet(res, logger)
	}
	// Telemetry: fetches of the set, not of the discovery document.
	tel := newFetchTelemetry(cfg.TracerProvider, cfg.MeterProvider)
	client = tel.client(client)

	res, err := httprc.NewResource[*keyIndex](jwksURL, httprc.TransformFunc[*keyIndex](tel.transform(transform)),
		httprc.WithHTTPClient(client), httprc.WithMinInterval(minInterval), httprc.WithMaxInterval(maxInterval))
	if err != nil {
		return nil, fmt.Errorf("accesstoken: JWK set resource: %w", err)
	}
	// The first fetch, with ctx. Failed or not, it schedules the next one
	// (at least MinRefreshInterval away), which the background refresh
	// registered below then makes.
	firstErr := res.Sync(ctx)
	if firstErr != nil {
		logger.Warn("accesstoken: JWK set fetch failed", "url", jwksURL, "error", firstErr)
	}

	life, stop := context.WithCancel(context.Background())
	sink := errsink.NewFunc(func(_ context.Context, err error) {
		logger.Warn("accesstoken: JWK set refresh failed", "url", jwksURL, "error", err)
	})
	ctrl, err := httprc.NewClient(httprc.WithWorkers(1), httprc.WithHTTPClient(client), httprc.WithErrorSink(sink)).Start(life)
	if err != nil {
		stop()
		return nil, fmt.Errorf("accesstoken: start JWK set refresh: %w", err)
	}
	if err := ctrl.Add(life, res, httprc.WithWaitReady(false)); err != nil {
		stop()
		return nil, fmt.Errorf("accesstoken: register JWK set: %w", err)
	}
	return &RemoteKeySet{url: jwksURL, issuer: cfg.Issuer, logger: logger, ctrl: ctrl, res: res, cooldown: cooldown, now: now,
		life: life, stop: stop, lastErr: firstErr}, nil
}

// transformKeySet turns a JWK Set response into a key index, logging the
// members it skips on logger. An error keeps the previous index.
func transformKeySet(res *http.Response, logger *slog.Logger) (*keyIndex, error) {
	data, err := io.ReadAll(io.LimitReader(res.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxJWKSBytes {
		return nil, errors.New("accesstoken: JWK set too large")
	}
	return parseKeySet(data, logger)
}

// checkFetchURL accepts absolute http and https URLs.
func checkFetchURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("accesstoken: %q is not an http(s) URL", s)
	}
	return nil
}

// discoverJWKSURI fetches issuer's OpenID provider metadata and returns its
// jwks_uri.
func discoverJWKSURI(ctx context.Context, client *http.Client, issuer string) (string, error) {
	if err := checkFetchURL(issuer); err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", nil)
	if err != nil {
		return "", fmt.Errorf("accesstoken: discovery: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("accesstoken: discovery: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("accesstoken: discovery: status %d", resp.StatusCode)
	}
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJWKSBytes)).Decode(&meta); err != nil {
		return "", fmt.Errorf("accesstoken: discovery: %w", err)
	}
	if meta.Issuer != issuer {
		return "", fmt.Errorf("accesstoken: discovery: issuer %q does not match %q", meta.Issuer, issuer)
	}
	if meta.JWKSURI == "" {
		return "", errors.New("accesstoken: discovery: no jwks_uri")
	}
	return meta.JWKSURI, nil
}

// URL returns the address of the JWK Set.
func (s *RemoteKeySet) URL() string { return s.url }

// Issuer returns [RemoteKeySetConfig.Issuer], the issuer whose discovery
// document named the set, or "" for a set given by URL. [NewJWTVerifier]
// checks tokens against it, so that the issuer is configured once.
func (s *RemoteKeySet) Issuer() string { return s.issuer }

// Ready waits until the set has been fetched once, or ctx is done. Once the
// set has been fetched it returns nil at once, even with a ctx that is done.
func (s *RemoteKeySet) Ready(ctx context.Context) error {
	if s.res.Resource() != nil {
		return nil
	}
	if err := s.res.Ready(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrNoKeySet, err)
	}
	return nil
}

// Close stops the background refresh and the refetches on unknown key ids.
// The last fetched set keeps serving. Close is safe to call more than once.
func (s *RemoteKeySet) Close() error {
	s.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.ctrl.ShutdownContext(ctx)
	return nil
}

// VerificationKeys implements [KeySet]. A kid not in the set triggers a
// refetch unless one began less than the cooldown ago; the request waits for
// that fetch (or its ctx) and is answered from whatever set is then current.
func (s *RemoteKeySet) VerificationKeys(ctx context.Context, kid string) ([]VerificationKey, error) {
	if ix := s.res.Resource(); ix != nil {
		if keys := ix.lookup(kid); len(keys) > 0 {
			return keys, nil
		}
	}
	if err := s.refresh(ctx); err != nil {
		return nil, err
	}
	ix := s.res.Resource()
	if ix == nil {
		s.mu.Lock()
		cause := s.lastErr
		s.mu.Unlock()
		if cause == nil {
			cause = errors.New("not fetched yet")
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrNoKeySet, s.url, cause)
	}
	return ix.lookupOrAnonymous(kid), nil
}

// refresh refetches the set unless the cooldown forbids it, sharing one fetch
// among concurrent callers, and waits for it or for ctx.
func (s *RemoteKeySet) refresh(ctx context.Context) error {
	s.mu.Lock()
	ch := s.inflight
	if ch == nil {
		now := s.now()
		if d := now.Sub(s.lastForce); !s.lastForce.IsZero() && d >= 0 && d < s.cooldown {
			s.mu.Unlock()
			return nil
		}
		s.lastForce = now
		ch = make(chan struct{})
		s.inflight = ch
		go func() {
			// Detached from the request: one request giving up must not
			// cancel the fetch the others wait for.
			err := s.ctrl.Refresh(s.life, s.url)
			if err != nil && s.life.Err() == nil {
				s.logger.Warn("accesstoken: JWK set refresh failed", "url", s.url, "error", err)
			}
			s.mu.Lock()
			s.lastErr = err
			s.inflight = nil
			s.mu.Unlock()
			close(ch)
		}()
	}
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
