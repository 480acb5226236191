package accesstoken

import (
	"container/list"
	"context"
	"crypto/sha256"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/ciamkit/userinfo"
)

// Defaults of [CacheConfig].
const (
	DefaultCacheSize   = 10000
	DefaultCacheMaxAge = 5 * time.Minute
)

// CacheConfig configures [NewCache].
type CacheConfig struct {
	// Size is the most tokens kept; the least recently used goes first.
	// Default: DefaultCacheSize (10000).
	Size int
	// MaxAge is the longest a verified token is trusted without being
	// verified again, whatever its "exp": a key removed from the key set
	// stops being honoured from the cache after at most MaxAge. A verifier
	// behind the cache that is a [MaxAger] may shorten it, never lengthen
	// it. Default: DefaultCacheMaxAge (5 minutes).
	MaxAge time.Duration
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// MeterProvider makes the counters userinfo.accesstoken.cache.hits and
	// userinfo.accesstoken.cache.misses, once, in NewCache. Default: the
	// global provider, otel.GetMeterProvider(), a no-op until the server
	// sets one.
	MeterProvider metric.MeterProvider
}

// MaxAger is the optional interface of a [userinfo.TokenVerifier] whose
// answers go stale sooner than the tokens expire: an introspection
// endpoint's "active" holds until the token is revoked, which the verifier
// cannot see. A [Cache] in front of a MaxAger reuses a principal for at most
// MaxAge, however long its own MaxAge; [IntrospectionVerifier] is one, with
// [IntrospectionConfig.CacheMaxAge].
//
// The Cache asks once, in [NewCache], and only the verifier it wraps: a
// decorator between the two must implement MaxAger itself, forwarding the
// answer, or the limit is lost.
type MaxAger interface {
	// MaxAge returns the longest a principal that VerifyToken returned may
	// be reused without asking again. Zero or less: never.
	MaxAge() time.Duration
}

// Cache is a [userinfo.TokenVerifier] that remembers the tokens another
// verifier accepted, as Envoy's jwt_authn does, so that repeated requests
// with one token skip the signature check or the introspection request.
// Entries are keyed by the SHA-256 of the token (the token itself is not
// kept) and bounded in number. An entry lives until the earliest of:
//
//   - the token's expiry, [userinfo.Principal.Expiry];
//   - CacheConfig.MaxAge after it was verified;
//   - the wrapped verifier's MaxAge after it was verified, when that
//     verifier is a [MaxAger].
//
// A principal without an expiry is cached only behind a MaxAger, whose
// MaxAge then bounds it; behind any other verifier it is not cached.
// Refusals and errors are never cached.
//
// The principals it returns share their Claims map with other requests for
// the same token: treat it as read-only. A Cache is safe for concurrent
// use.
type Cache struct {
	next   userinfo.TokenVerifier
	maxAge time.Duration
	// bounded reports that next is a MaxAger: maxAge is then no longer
	// than its MaxAge, and principals without an expiry may be cached.
	bounded bool
	now     func() time.Time
	lru     *lruCache
	tel     cacheTelemetry
}

// NewCache returns a cache in front of next. When next is a [MaxAger], its
// MaxAge is read here, once.
func NewCache(next userinfo.TokenVerifier, cfg CacheConfig) *Cache {
	if cfg.Size <= 0 {
		cfg.Size = DefaultCacheSize
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultCacheMaxAge
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Cache{next: next, maxAge: cfg.MaxAge, now: cfg.Now, lru: newLRU(cfg.Size),
		tel: newCacheTelemetry(cfg.MeterProvider)}
	if m, ok := next.(MaxAger); ok {
		c.bounded = true
		c.maxAge = min(c.maxAge, m.MaxAge())
	}
	return c
}

// VerifyToken implements [userinfo.TokenVerifier].
func (c *Cache) VerifyToken(ctx context.Context, token string) (*userinfo.Principal, error) {
	key := sha256.Sum256([]byte(token))
	now := c.now()
	if p, ok := c.lru.get(key, now); ok {
		c.tel.hits.Add(ctx, 1)
		return clonePrincipal(p), nil
	}
	c.tel.misses.Add(ctx, 1)
	p, err := c.next.VerifyToken(ctx, token)
	if err != nil || p == nil || c.maxAge <= 0 || (p.Expiry.IsZero() && !c.bounded) {
		return p, err
	}
	// The time before the verification: an entry never outlives the
	// limits counted from when the answer was asked for.
	until := now.Add(c.maxAge)
	if !p.Expiry.IsZero() && p.Expiry.Before(until) {
		until = p.Expiry
	}
	if until.After(now) {
		c.lru.put(key, clonePrincipal(p), until)
	}
	return p, nil
}

// Len returns the number of cached tokens, expired ones included until they
// are evicted.
func (c *Cache) Len() int { return c.lru.len() }

// clonePrincipal returns a copy of p whose Scopes can be changed without affecting p.
// Claims is shared.
func clonePrincipal(p *userinfo.Principal) *userinfo.Principal {
	q := *p
	q.Scopes = slices.Clone(p.Scopes)
	return &q
}

// lruCache is a size-bounded map from token hashes to principals with an
// expiry each. Safe for concurrent use.
type lruCache struct {
	mu    sync.Mutex
	size  int
	order *list.List // of *lruEntry, most recently used first
	items map[[sha256.Size]byte]*list.Element
}

type lruEntry struct {
	key     [sha256.Size]byte
	p       *userinfo.Principal
	expires time.Time
}

func newLRU(size int) *lruCache {
	return &lruCache{size: size, order: list.New(), items: make(map[[sha256.Size]byte]*list.Element)}
}

// get returns the entry of key unless it is missing or expired at now (an
// expired entry is removed).
func (c *lruCache) get(key [sha256.Size]byte, now time.Time) (*userinfo.Principal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*lruEntry)
	if !now.Before(e.expires) {
		c.order.Remove(el)
		delete(c.items, key)
		return nil, false
	}
	c.order.MoveToFront(el)
	return e.p, true
}

// put stores p under key until expires, evicting the least recently used
// entry when full.
func (c *lruCache) put(key [sha256.Size]byte, p *userinfo.Principal, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		e := el.Value.(*lruEntry)
		e.p, e.expires = p, expires
		c.order.MoveToFront(el)
		return
	}
	for c.order.Len() >= c.size {
		last := c.order.Back()
		delete(c.items, last.Value.(*lruEntry).key)
		c.order.Remove(last)
	}
	c.items[key] = c.order.PushFront(&lruEntry{key: key, p: p, expires: expires})
}

func (c *lruCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
