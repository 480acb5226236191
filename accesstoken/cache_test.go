package accesstoken_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/accesstoken"
	"github.com/ciamkit/userinfo/internal/bearertest"
)

// countingVerifier accepts tokens "ok-…" with an expiry of exp, counting
// calls.
type countingVerifier struct {
	calls atomic.Int64
	exp   time.Time
}

func (v *countingVerifier) VerifyToken(_ context.Context, token string) (*userinfo.Principal, error) {
	v.calls.Add(1)
	switch {
	case token == "unavailable":
		return nil, errors.New("down")
	case token == "no-exp":
		return &userinfo.Principal{Subject: "u1", Scopes: []string{"openid"}}, nil
	case len(token) > 3 && token[:3] == "ok-":
		return &userinfo.Principal{Subject: token[3:], Scopes: []string{"openid"}, Expiry: v.exp}, nil
	}
	return nil, userinfo.ErrInvalidToken
}

func TestCache(t *testing.T) {
	ctx := context.Background()
	clock := newClock(btNow)
	next := &countingVerifier{exp: btNow.Add(2 * time.Minute)}
	c := accesstoken.NewCache(next, accesstoken.CacheConfig{Size: 3, MaxAge: 5 * time.Minute, Now: clock.Now})

	verify := func(token string, wantCalls int64) *userinfo.Principal {
		t.Helper()
		p, err := c.VerifyToken(ctx, token)
		if got := next.calls.Load(); got != wantCalls {
			t.Fatalf("after %q: calls = %d, want %d", token, got, wantCalls)
		}
		if err != nil {
			return nil
		}
		return p
	}

	if p := verify("ok-a", 1); p == nil || p.Subject != "a" {
		t.Fatalf("first verify = %+v", p)
	}
	p := verify("ok-a", 1)
	if p == nil || p.Subject != "a" {
		t.Fatalf("cached verify = %+v", p)
	}
	// A caller changing its principal does not change the cached one.
	p.Scopes[0] = "changed"
	if p := verify("ok-a", 1); p.Scopes[0] != "openid" {
		t.Fatalf("cached scopes = %v", p.Scopes)
	}

	// Refusals, failures and principals without expiry are not cached.
	verify("bad", 2)
	verify("bad", 3)
	verify("unavailable", 4)
	verify("unavailable", 5)
	verify("no-exp", 6)
	verify("no-exp", 7)

	// No entry outlives the token's exp.
	clock.Advance(2*time.Minute - time.Nanosecond)
	verify("ok-a", 7)
	clock.Advance(time.Nanosecond)
	verify("ok-a", 8)

	// Nor MaxAge.
	next.exp = clock.Now().Add(time.Hour)
	verify("ok-b", 9)
	clock.Advance(5*time.Minute - time.Nanosecond)
	verify("ok-b", 9)
	clock.Advance(time.Nanosecond)
	verify("ok-b", 10)

	// Bounded: the least recently used goes first.
	next.exp = clock.Now().Add(time.Hour)
	verify("ok-1", 11)
	verify("ok-2", 12)
	verify("ok-3", 13)
	verify("ok-1", 13) // 1 is now the most recent
	verify("ok-4", 14) // evicts 2
	if n := c.Len(); n != 3 {
		t.Fatalf("Len = %d, want 3", n)
	}
	verify("ok-1", 14)
	verify("ok-3", 14)
	verify("ok-2", 15)
}

func TestCacheConcurrent(t *testing.T) {
	next := &countingVerifier{exp: time.Now().Add(time.Hour)}
	c := accesstoken.NewCache(next, accesstoken.CacheConfig{Size: 8})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				tok := fmt.Sprintf("ok-%d", (g*7+i)%16)
				p, err := c.VerifyToken(context.Background(), tok)
				if err != nil || p.Subject != tok[3:] {
					t.Errorf("VerifyToken(%q) = %+v, %v", tok, p, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := c.Len(); n > 8 {
		t.Fatalf("Len = %d, want at most 8", n)
	}
}

// TestCacheThroughMiddleware: a cached token is still checked for the
// scope, and the cache hides nothing of the answers.
func TestCacheThroughMiddleware(t *testing.T) {
	next := &countingVerifier{exp: time.Now().Add(time.Hour)}
	a := &userinfo.Authenticator{Verifier: accesstoken.NewCache(next, accesstoken.CacheConfig{})}
	for range 3 {
		bearertest.Check(t, bearertest.Serve(a, "/", "Bearer ok-u1"), 200, "", "")
		bearertest.Check(t, bearertest.Serve(a, "/", "Bearer bad"), 401, "invalid_token", bearertest.ChallengeInvalidToken)
		bearertest.Check(t, bearertest.Serve(a, "/", "Bearer unavailable"), 503, "temporarily_unavailable", "")
	}
	if got := next.calls.Load(); got != 7 {
		t.Fatalf("calls = %d, want 7 (one for the good token, three each for the others)", got)
	}
	a.Scope = "admin"
	bearertest.Check(t, bearertest.Serve(a, "/", "Bearer ok-u1"), 403, "insufficient_scope",
		`Bearer error="insufficient_scope", error_description="The request requires higher privileges than provided by the access token.", error_uri="https://tools.ietf.org/html/rfc6750#section-3.1", scope="admin"`)
}

// agingVerifier is a countingVerifier that is a MaxAger.
type agingVerifier struct {
	countingVerifier
	maxAge time.Duration
}

func (v *agingVerifier) MaxAge() time.Duration { return v.maxAge }

// TestCacheMaxAger: an entry lives until the earliest of exp, the Cache's
// MaxAge and the MaxAge of the verifier behind it; behind a MaxAger, a
// principal without exp is cached for that long.
func TestCacheMaxAger(t *testing.T) {
	tests := []struct {
		name        string
		cacheMaxAge time.Duration
		next        userinfo.TokenVerifier // its tokens expire at btNow + exp
		exp         time.Duration
		token       string
		wantLife    time.Duration // 0: not cached
	}{
		{name: "exp first", cacheMaxAge: time.Hour, next: &agingVerifier{maxAge: 30 * time.Minute}, exp: 10 * time.Minute, token: "ok-u1", wantLife: 10 * time.Minute},
		{name: "verifier's MaxAge first", cacheMaxAge: time.Hour, next: &agingVerifier{maxAge: time.Minute}, exp: 10 * time.Minute, token: "ok-u1", wantLife: time.Minute},
		{name: "cache's MaxAge first", cacheMaxAge: 2 * time.Minute, next: &agingVerifier{maxAge: time.Hour}, exp: 10 * time.Minute, token: "ok-u1", wantLife: 2 * time.Minute},
		{name: "no exp behind a MaxAger", cacheMaxAge: time.Hour, next: &agingVerifier{maxAge: time.Minute}, token: "no-exp", wantLife: time.Minute},
		{name: "no exp behind another verifier", cacheMaxAge: time.Hour, next: &countingVerifier{}, token: "no-exp"},
		{name: "MaxAge zero: never cached", cacheMaxAge: time.Hour, next: &agingVerifier{}, exp: 10 * time.Minute, token: "ok-u1"},
		{name: "MaxAge negative: never cached", cacheMaxAge: time.Hour, next: &agingVerifier{maxAge: -time.Second}, exp: 10 * time.Minute, token: "ok-u1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls func() int64
			switch v := tt.next.(type) {
			case *agingVerifier:
				v.exp, calls = btNow.Add(tt.exp), v.calls.Load
			case *countingVerifier:
				v.exp, calls = btNow.Add(tt.exp), v.calls.Load
			}
			clock := newClock(btNow)
			c := accesstoken.NewCache(tt.next, accesstoken.CacheConfig{MaxAge: tt.cacheMaxAge, Now: clock.Now})
			if _, err := c.VerifyToken(context.Background(), tt.token); err != nil {
				t.Fatal(err)
			}
			// Cached for wantLife: the last nanosecond is served from the
			// cache, the next asks again.
			if tt.wantLife > 0 {
				clock.Advance(tt.wantLife - time.Nanosecond)
				if _, err := c.VerifyToken(context.Background(), tt.token); err != nil {
					t.Fatal(err)
				}
				if got := calls(); got != 1 {
					t.Fatalf("calls before %v = %d, want 1 (cached)", tt.wantLife, got)
				}
				clock.Advance(time.Nanosecond)
			}
			_, _ = c.VerifyToken(context.Background(), tt.token)
			if got := calls(); got != 2 {
				t.Fatalf("calls at %v = %d, want 2 (verified again)", tt.wantLife, got)
			}
		})
	}
}
