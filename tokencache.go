package userinfo

import (
	"container/list"
	"context"
	"crypto/sha256"
	"slices"
	"sync"
	"time"
)

// Defaults of [TokenCacheConfig].
const (
	DefaultTokenCacheSize   = 10000
	DefaultTokenCacheMaxAge = 5 * time.Minute
)

// TokenCacheConfig configures [NewTokenCache].
type TokenCacheConfig struct {
	// Size is the most tokens kept; the least recently used goes first.
	// Default: DefaultTokenCacheSize (10000).
	Size int
	// MaxAge is the longest a verified token is trusted without being
	// verified again, whatever its "exp": a key removed from the key set
	// stops being honoured from the cache after at most MaxAge. Default:
	// DefaultTokenCacheMaxAge (5 minutes).
	MaxAge time.Duration
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// TokenCache is a [TokenVerifier] that remembers the tokens another verifier
// accepted, as Envoy's jwt_authn does, so that repeated requests with one
// token skip the signature check. Entries are keyed by the SHA-256 of the
// token (the token itself is not kept), bounded in number, and never
// outlive the token's expiry ([Principal.Expiry]; a principal without one is
// not cached) or MaxAge. Refusals and errors are not cached.
//
// The principals it returns share their Claims map with other requests for
// the same token: treat it as read-only. A TokenCache is safe for concurrent
// use.
type TokenCache struct {
	next   TokenVerifier
	maxAge time.Duration
	now    func() time.Time
	lru    *lruCache
}

// NewTokenCache returns a cache in front of next.
func NewTokenCache(next TokenVerifier, cfg TokenCacheConfig) *TokenCache {
	if cfg.Size <= 0 {
		cfg.Size = DefaultTokenCacheSize
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultTokenCacheMaxAge
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &TokenCache{next: next, maxAge: cfg.MaxAge, now: cfg.Now, lru: newLRU(cfg.Size)}
}

// VerifyToken implements [TokenVerifier].
func (c *TokenCache) VerifyToken(ctx context.Context, token string) (*Principal, error) {
	key := sha256.Sum256([]byte(token))
	now := c.now()
	if p, ok := c.lru.get(key, now); ok {
		return p.clone(), nil
	}
	p, err := c.next.VerifyToken(ctx, token)
	if err != nil || p == nil || p.Expiry.IsZero() {
		return p, err
	}
	until := now.Add(c.maxAge)
	if p.Expiry.Before(until) {
		until = p.Expiry
	}
	if until.After(now) {
		c.lru.put(key, p.clone(), until)
	}
	return p, nil
}

// Len returns the number of cached tokens, expired ones included until they
// are evicted.
func (c *TokenCache) Len() int { return c.lru.len() }

// clone returns a copy of p whose Scopes can be changed without affecting p.
// Claims is shared.
func (p *Principal) clone() *Principal {
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
	p       *Principal
	expires time.Time
}

func newLRU(size int) *lruCache {
	return &lruCache{size: size, order: list.New(), items: make(map[[sha256.Size]byte]*list.Element)}
}

// get returns the entry of key unless it is missing or expired at now (an
// expired entry is removed).
func (c *lruCache) get(key [sha256.Size]byte, now time.Time) (*Principal, bool) {
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
func (c *lruCache) put(key [sha256.Size]byte, p *Principal, expires time.Time) {
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
