package accesstoken_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/accesstoken"
	"github.com/ciamkit/userinfo/internal/testkeys"
)

// TestJWXPitfalls pins down, for the jwx version in go.mod (v3.4.0 when this
// was written), what the library's defaults do with each "known pitfall" of
// issue 3, next to what our verifier does with the same token. Every jwx
// expectation below was observed, not assumed: when a jwx upgrade changes one
// of them this test fails, and the row (and the closing note of issue 3) must
// be revisited. The jwx side uses the real clock, since its default
// validation does; the tokens are valid for an hour around time.Now.
func TestJWXPitfalls(t *testing.T) {
	es := testkeys.MustNew("ES256")
	rs := testkeys.MustNew("RS256")
	now := time.Now()

	// psSameKey signs PS256 with rs's RSA key and kid: the JWK Set still says
	// the key is for RS256 only.
	psSameKey := &testkeys.Key{ID: rs.ID, Alg: "PS256", Signer: rs.Signer}
	rsSet, err := jwk.Parse(testkeys.JWKS(rs))
	if err != nil {
		t.Fatal(err)
	}

	valid := btSign(t, es, nil, pfClaims(now, nil))

	// jwx paths, each a default call of the library (or, where named, the
	// opt-in that closes the pitfall).
	parseES := func(opts ...jwt.ParseOption) func(string) error {
		return func(tok string) error {
			_, err := jwt.Parse([]byte(tok), append([]jwt.ParseOption{jwt.WithKey(jwa.ES256(), es.Public())}, opts...)...)
			return err
		}
	}
	verifyES := func(opts ...jws.VerifyOption) func(string) error {
		return func(tok string) error {
			_, err := jws.Verify([]byte(tok), append([]jws.VerifyOption{jws.WithKey(jwa.ES256(), es.Public())}, opts...)...)
			return err
		}
	}
	parseRSSet := func(tok string) error {
		_, err := jwt.Parse([]byte(tok), jwt.WithKeySet(rsSet))
		return err
	}
	verifyRSSet := func(opts ...jws.VerifyOption) func(string) error {
		return func(tok string) error {
			_, err := jws.Verify([]byte(tok), append([]jws.VerifyOption{jws.WithKeySet(rsSet)}, opts...)...)
			return err
		}
	}

	type jwxPath struct {
		name    string
		run     func(token string) error
		accepts bool
		// because, for a refusal, is a word the error must contain, so
		// that the row fails if jwx refuses for an unrelated reason.
		because string
	}
	tests := []struct {
		name  string
		token string
		jwx   []jwxPath
		// ours: our verifier on a static set of oursKeys.
		oursKeys     []*testkeys.Key
		requireATJWT bool
		// oursBecause is a word our refusal must contain.
		oursBecause string
	}{
		{
			// Pitfall present: "exp" is optional for jwt.Parse; only
			// jwt.WithRequiredClaim("exp") makes it required.
			name:  "no exp",
			token: btSign(t, es, nil, pfClaims(now, map[string]any{"exp": nil})),
			jwx: []jwxPath{
				{name: "jwt.Parse", run: parseES(), accepts: true},
				{name: "jwt.Parse+WithRequiredClaim(exp)", run: parseES(jwt.WithRequiredClaim("exp")), because: "exp"},
			},
			oursKeys:    []*testkeys.Key{es},
			oursBecause: "exp is missing",
		},
		{
			// Not a pitfall in v3.4.0: "exp": 0 decodes to 1970-01-01 (not
			// to the zero time.Time that means "absent") and fails
			// validation as expired.
			name:        "exp 0",
			token:       btSign(t, es, nil, pfClaims(now, map[string]any{"exp": 0})),
			jwx:         []jwxPath{{name: "jwt.Parse", run: parseES(), because: "expired"}},
			oursKeys:    []*testkeys.Key{es},
			oursBecause: "exp is missing",
		},
		{
			// Pitfall present: a NumericDate that is not a number is parsed
			// as RFC 3339 as a fallback, so an "exp" date string an hour
			// ahead passes (one in the past is refused as expired). Only
			// the global jwt.Settings(jwt.WithNumericDateParsePedantic(true))
			// turns the fallback off; it is not exercised here because it
			// would change every jwt.Parse of the test binary.
			name:        "exp as a date string",
			token:       btSign(t, es, nil, pfClaims(now, map[string]any{"exp": now.Add(time.Hour).UTC().Format(time.RFC3339)})),
			jwx:         []jwxPath{{name: "jwt.Parse", run: parseES(), accepts: true}},
			oursKeys:    []*testkeys.Key{es},
			oursBecause: "exp is missing",
		},
		{
			// Half a pitfall: jwt.Parse refuses an unknown "crit"
			// extension, but a bare jws.Verify ignores "crit" unless
			// jws.WithCritValidation(true) is passed.
			name:  "crit header",
			token: btSign(t, es, map[string]any{"crit": []string{"x-must-understand"}, "x-must-understand": "v"}, pfClaims(now, nil)),
			jwx: []jwxPath{
				{name: "jwt.Parse", run: parseES(), because: "crit"},
				{name: "jws.Verify", run: verifyES(), accepts: true},
				{name: "jws.Verify+WithCritValidation", run: verifyES(jws.WithCritValidation(true)), because: "crit"},
			},
			oursKeys:    []*testkeys.Key{es},
			oursBecause: "critical",
		},
		{
			// Pitfall present: jwt.Parse does not look at "typ", so an ID
			// token or any other "typ": "JWT" token of the issuer passes
			// where an RFC 9068 access token is wanted.
			name:         "typ JWT where at+jwt is wanted",
			token:        btSign(t, es, map[string]any{"typ": "JWT"}, pfClaims(now, nil)),
			jwx:          []jwxPath{{name: "jwt.Parse", run: parseES(), accepts: true}},
			oursKeys:     []*testkeys.Key{es},
			oursBecause:  "typ",
			requireATJWT: true,
		},
		{
			// Half a pitfall: jwt.Parse only takes the compact
			// serialisation, but jws.Verify accepts the (flattened) JSON
			// serialisation of the same signature.
			name:  "JSON serialisation",
			token: pfFlattenedJSON(t, valid),
			jwx: []jwxPath{
				{name: "jwt.Parse", run: parseES(), because: "compact"},
				{name: "jws.Verify", run: verifyES(), accepts: true},
			},
			oursKeys:    []*testkeys.Key{es},
			oursBecause: "json serialisation",
		},
		{
			// Not a pitfall as such: with WithKeySet, jwx verifies with the
			// JWK's own "alg" (RS256), so a genuine PS256 signature made
			// with the same RSA key does not verify.
			name:        "PS256 token, JWK alg RS256, same key",
			token:       btSign(t, psSameKey, nil, pfClaims(now, nil)),
			jwx:         []jwxPath{{name: "jwt.Parse+WithKeySet", run: parseRSSet, because: "verification error"}},
			oursKeys:    []*testkeys.Key{rs},
			oursBecause: "for this algorithm",
		},
		{
			// Pitfall present: the header "alg" is never compared with the
			// algorithm actually used. A header that says PS256 over an
			// RS256 signature passes jwt.Parse and jws.Verify; only
			// jws.WithAlgorithmMatch(true) (jws only) refuses it.
			name:  "header alg PS256 over an RS256 signature, JWK alg RS256",
			token: btSign(t, rs, map[string]any{"alg": "PS256"}, pfClaims(now, nil)),
			jwx: []jwxPath{
				{name: "jwt.Parse+WithKeySet", run: parseRSSet, accepts: true},
				{name: "jws.Verify+WithKeySet", run: verifyRSSet(), accepts: true},
				{name: "jws.Verify+WithKeySet+WithAlgorithmMatch", run: verifyRSSet(jws.WithAlgorithmMatch(true)), because: "does not match"},
			},
			oursKeys:    []*testkeys.Key{rs},
			oursBecause: "for this algorithm",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range tt.jwx {
				err := p.run(tt.token)
				switch {
				case p.accepts && err != nil:
					t.Errorf("jwx %s: refused (%v); v3.4.0 accepted it", p.name, err)
				case !p.accepts && err == nil:
					t.Errorf("jwx %s: accepted; v3.4.0 refused it", p.name)
				case !p.accepts && !strings.Contains(strings.ToLower(err.Error()), p.because):
					t.Errorf("jwx %s: refused for another reason than %q: %v", p.name, p.because, err)
				}
			}
			v := pfVerifier(t, tt.requireATJWT, tt.oursKeys...)
			p, err := v.VerifyToken(context.Background(), tt.token)
			switch {
			case !errors.Is(err, userinfo.ErrInvalidToken):
				t.Errorf("ours: VerifyToken = %v, %v; want an ErrInvalidToken", p, err)
			case !strings.Contains(strings.ToLower(err.Error()), tt.oursBecause):
				t.Errorf("ours: refused for another reason than %q: %v", tt.oursBecause, err)
			}
		})
	}

	// The same valid token is accepted by both sides, so the refusals above
	// are about the pitfall and not about the keys or the claims.
	t.Run("control: valid token", func(t *testing.T) {
		if err := parseES()(valid); err != nil {
			t.Errorf("jwx jwt.Parse: %v", err)
		}
		v := pfVerifier(t, true, es)
		if _, err := v.VerifyToken(context.Background(), valid); err != nil {
			t.Errorf("ours: %v", err)
		}
		rsTok := btSign(t, rs, nil, pfClaims(now, nil))
		if err := parseRSSet(rsTok); err != nil {
			t.Errorf("jwx jwt.Parse+WithKeySet, RS256: %v", err)
		}
		if _, err := pfVerifier(t, false, rs).VerifyToken(context.Background(), rsTok); err != nil {
			t.Errorf("ours, RS256: %v", err)
		}
	})

	t.Run("Authorization header scheme", func(t *testing.T) {
		// Neither pitfall is present in v3.4.0: jwt.ParseHeader and
		// jwt.ParseRequest match the scheme case-insensitively (as RFC 7235
		// §2.1 wants, so ours accepts "bearer" too), and "BearerTOKEN" is
		// parsed as a whole, which breaks its first segment. What they do
		// accept instead is a bare token with no scheme at all, which ours
		// answers 400 as a missing bearer token.
		auth := &userinfo.Authenticator{Verifier: pfVerifier(t, false, es)}
		for _, tc := range []struct {
			name, value string
			jwxAccepts  bool
			oursStatus  int // 0: accepted
			oursCode    string
		}{
			{name: "Bearer TOKEN", value: "Bearer " + valid, jwxAccepts: true},
			{name: "bearer TOKEN", value: "bearer " + valid, jwxAccepts: true},
			{name: "BearerTOKEN", value: "Bearer" + valid, oursStatus: 400, oursCode: userinfo.CodeInvalidRequest},
			{name: "TOKEN without scheme", value: valid, jwxAccepts: true, oursStatus: 400, oursCode: userinfo.CodeInvalidRequest},
			{name: "bearer x", value: "bearer x", oursStatus: 401, oursCode: userinfo.CodeInvalidToken},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h := http.Header{}
				h.Set("Authorization", tc.value)
				_, errHeader := jwt.ParseHeader(h, "Authorization", jwt.WithKey(jwa.ES256(), es.Public()))
				r := httptest.NewRequest(http.MethodGet, "/userinfo", nil)
				r.Header.Set("Authorization", tc.value)
				_, errRequest := jwt.ParseRequest(r, jwt.WithKey(jwa.ES256(), es.Public()))
				for name, err := range map[string]error{"jwt.ParseHeader": errHeader, "jwt.ParseRequest": errRequest} {
					if tc.jwxAccepts != (err == nil) {
						t.Errorf("jwx %s: accepted = %v (err %v); v3.4.0: accepted = %v", name, err == nil, err, tc.jwxAccepts)
					}
				}

				_, err := auth.Authenticate(r)
				if tc.oursStatus == 0 {
					if err != nil {
						t.Errorf("ours: %v; want accepted", err)
					}
					return
				}
				var e *userinfo.Error
				if !errors.As(err, &e) || e.Status != tc.oursStatus || e.Code != tc.oursCode {
					t.Errorf("ours: %v; want %d %s", err, tc.oursStatus, tc.oursCode)
				}
			})
		}
	})

	t.Run("cache: unknown kid and forced refresh", func(t *testing.T) {
		// Both pitfalls are present in v3.4.0: a jwt.Parse against a
		// jwk.CachedSet does not refetch the set when the token's kid is
		// not in it (the key rotated in stays unknown until the next
		// background refresh, an hour away here), and every Cache.Refresh
		// is a fetch, however often it is called. Ours refetches once on
		// an unknown kid and then not again within RefreshCooldown.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rotated := testkeys.MustNew("ES256")
		tokRotated := btSign(t, rotated, nil, pfClaims(now, nil))

		// jwx: jwk.Cache on its own JWKS server.
		jwxSrv := newPfJWKSServer(t, es)
		cache, err := jwk.NewCache(ctx, httprc.NewClient())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer scancel()
			_ = cache.Shutdown(sctx)
		})
		// Register waits (bounded by ctx) for the first fetch.
		if err := cache.Register(ctx, jwxSrv.URL, jwk.WithMinInterval(time.Hour), jwk.WithMaxInterval(time.Hour)); err != nil {
			t.Fatal(err)
		}
		cached, err := cache.CachedSet(jwxSrv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if got := jwxSrv.fetches.Load(); got != 1 {
			t.Fatalf("jwx: fetches after Register = %d, want 1", got)
		}
		jwxSrv.serve(es, rotated)
		// The fetch, if jwx made one, would happen inside jwt.Parse: the
		// count after it returns is final.
		if _, err := jwt.Parse([]byte(tokRotated), jwt.WithKeySet(cached)); err == nil || !strings.Contains(err.Error(), "failed to find key") {
			t.Errorf("jwx: jwt.Parse with a rotated-in kid: err = %v; v3.4.0 refused it, the kid not found", err)
		}
		if got := jwxSrv.fetches.Load(); got != 1 {
			t.Errorf("jwx: fetches after an unknown kid = %d; v3.4.0 made none (1 in all)", got)
		}
		const forced = 5
		for range forced {
			if _, err := cache.Refresh(ctx, jwxSrv.URL); err != nil {
				t.Fatalf("jwx: Refresh: %v", err)
			}
		}
		if got := jwxSrv.fetches.Load(); got != 1+forced {
			t.Errorf("jwx: fetches after %d back-to-back Refresh calls = %d; v3.4.0 fetched every time (%d)", forced, got, 1+forced)
		}
		if _, err := jwt.Parse([]byte(tokRotated), jwt.WithKeySet(cached)); err != nil {
			t.Errorf("jwx: jwt.Parse after Refresh: %v", err)
		}

		// Ours: a RemoteKeySet on another JWKS server, with a fake clock
		// for the cooldown.
		ourSrv := newPfJWKSServer(t, es)
		var offset atomic.Int64
		clock := func() time.Time { return now.Add(time.Duration(offset.Load())) }
		set, err := accesstoken.NewRemoteKeySet(ctx, accesstoken.RemoteKeySetConfig{
			URL: ourSrv.URL, MinRefreshInterval: time.Hour, MaxRefreshInterval: time.Hour,
			RefreshCooldown: time.Minute, Now: clock,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = set.Close() })
		if err := set.Ready(ctx); err != nil {
			t.Fatal(err)
		}
		v, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: set, SkipIssuerCheck: true, SkipAudienceCheck: true})
		if err != nil {
			t.Fatal(err)
		}
		start := ourSrv.fetches.Load()
		ourSrv.serve(es, rotated)
		if _, err := v.VerifyToken(ctx, tokRotated); err != nil {
			t.Errorf("ours: the rotated-in kid: %v; want verified after one refetch", err)
		}
		if got := ourSrv.fetches.Load() - start; got != 1 {
			t.Errorf("ours: fetches for an unknown kid = %d, want 1", got)
		}
		// Tokens with made-up kids within the cooldown: refused, no fetch.
		for i := range forced {
			tok := btSign(t, rotated, map[string]any{"kid": "made-up-" + strings.Repeat("x", i+1)}, pfClaims(now, nil))
			if _, err := v.VerifyToken(ctx, tok); !errors.Is(err, userinfo.ErrInvalidToken) {
				t.Errorf("ours: made-up kid: %v; want an ErrInvalidToken", err)
			}
		}
		if got := ourSrv.fetches.Load() - start; got != 1 {
			t.Errorf("ours: fetches after %d made-up kids within the cooldown = %d, want 1", forced, got)
		}
		// After the cooldown, one more unknown kid may fetch once.
		offset.Add(int64(time.Minute + time.Second))
		tok := btSign(t, rotated, map[string]any{"kid": "made-up-after"}, pfClaims(now, nil))
		if _, err := v.VerifyToken(ctx, tok); !errors.Is(err, userinfo.ErrInvalidToken) {
			t.Errorf("ours: made-up kid after the cooldown: %v; want an ErrInvalidToken", err)
		}
		if got := ourSrv.fetches.Load() - start; got != 2 {
			t.Errorf("ours: fetches after the cooldown = %d, want 2", got)
		}
	})
}

// pfClaims returns claims valid for an hour around now; edit changes them
// (a nil value deletes the claim).
func pfClaims(now time.Time, edit map[string]any) map[string]any {
	c := map[string]any{
		"sub":   "u1",
		"scope": "openid",
		"iat":   now.Unix(),
		"exp":   now.Add(time.Hour).Unix(),
	}
	return edited(c, edit)
}

// pfFlattenedJSON returns the JWS JSON serialisation (flattened, RFC 7515
// §7.2.2) of a compact JWS: the same protected header, payload and signature.
func pfFlattenedJSON(t testing.TB, compact string) string {
	t.Helper()
	parts := strings.Split(compact, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %d segments", len(parts))
	}
	b, err := json.Marshal(map[string]string{"protected": parts[0], "payload": parts[1], "signature": parts[2]})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// pfVerifier returns our verifier on a static key set of keys, with the
// default clock.
func pfVerifier(t testing.TB, requireATJWT bool, keys ...*testkeys.Key) *accesstoken.JWTVerifier {
	t.Helper()
	set, err := accesstoken.NewStaticKeySet(testkeys.JWKS(keys...))
	if err != nil {
		t.Fatal(err)
	}
	v, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: set, RequireATJWT: requireATJWT, SkipIssuerCheck: true, SkipAudienceCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// pfJWKSServer serves a JWK Set on loopback and counts its fetches.
type pfJWKSServer struct {
	*httptest.Server
	body    atomic.Pointer[[]byte]
	fetches atomic.Int64
}

func newPfJWKSServer(t testing.TB, keys ...*testkeys.Key) *pfJWKSServer {
	t.Helper()
	s := &pfJWKSServer{}
	s.serve(keys...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(*s.body.Load())
	}))
	t.Cleanup(s.Close)
	return s
}

// serve changes the set served from the next fetch on.
func (s *pfJWKSServer) serve(keys ...*testkeys.Key) {
	b := testkeys.JWKS(keys...)
	s.body.Store(&b)
}
