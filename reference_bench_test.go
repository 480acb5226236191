package userinfo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/accesstoken"
	"github.com/ciamkit/userinfo/internal/testkeys"
	"github.com/ciamkit/userinfo/schema"
)

// refHandler is the reference the A/B benchmarks compare the Handler with:
// a minimal correct GET and PATCH /userinfo on the standard library alone.
// It verifies the token with testkeys.FloorVerifier (signature, exp, iss,
// aud), requires the scope openid, reads the body strictly (Content-Type,
// size limit, UTF-8, one object, no duplicated key, no trailing data,
// numbers as json.Number), refuses unknown and read-only names, validates
// with the same compiled schema.Set as the Handler's registry, writes to a
// map store under a lock (a new version, nothing aliased), and answers the
// claims with ETag and no-store. Its errors are bare statuses: they are not
// measured.
type refHandler struct {
	verifier *testkeys.FloorVerifier
	set      *schema.Set
	now      func() time.Time

	mu    sync.Mutex
	users map[string]*refUser
}

type refUser struct {
	version uint64
	updated time.Time
	attrs   map[string]any
}

func newRefHandler(v *testkeys.FloorVerifier, reg *userinfo.Registry, now func() time.Time) *refHandler {
	return &refHandler{verifier: v, set: userinfo.RegistrySet(reg), now: now, users: map[string]*refUser{}}
}

func (h *refHandler) put(sub string, attrs map[string]any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.users[sub] = &refUser{version: 1, updated: h.now(), attrs: maps.Clone(attrs)}
}

func (h *refHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPatch {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	c, err := h.verifier.Verify(token)
	if err != nil || c.Sub == "" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if !slices.Contains(strings.Fields(c.Scope), "openid") {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	var u *refUser
	if r.Method == http.MethodPatch {
		u, ok = h.patch(w, r, c.Sub)
	} else {
		h.mu.Lock()
		u = h.users[c.Sub]
		h.mu.Unlock()
		ok = u != nil
		if !ok {
			w.WriteHeader(http.StatusNotFound)
		}
	}
	if !ok {
		return
	}
	claims := make(map[string]any, len(u.attrs)+2)
	maps.Copy(claims, u.attrs)
	claims["sub"] = c.Sub
	claims["updated_at"] = u.updated.Unix()
	data, err := json.Marshal(claims)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Pragma", "no-cache")
	hdr.Set("ETag", `"`+strconv.FormatUint(u.version, 10)+`"`)
	hdr.Set("Content-Length", strconv.Itoa(len(data)+1))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(append(data, '\n'))
	}
}

// patch checks and applies a PATCH body; it answers the errors itself.
func (h *refHandler) patch(w http.ResponseWriter, r *http.Request, sub string) (*refUser, bool) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" && mt != "application/merge-patch+json" {
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return nil, false
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, userinfo.DefaultMaxBodyBytes))
	if err != nil {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return nil, false
	}
	body, err := refDecode(data)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return nil, false
	}
	for name, v := range body {
		if !h.set.Known(name) || !h.set.Writable(name) || (name == "email" || name == "phone_number") && v != nil {
			// No OTP service: addresses are not writable.
			w.WriteHeader(http.StatusBadRequest)
			return nil, false
		}
	}
	body, err = h.set.Validate(body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return nil, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	cur := h.users[sub]
	if cur == nil {
		w.WriteHeader(http.StatusNotFound)
		return nil, false
	}
	next := &refUser{version: cur.version + 1, updated: h.now(), attrs: maps.Clone(cur.attrs)}
	for name, v := range body {
		if v == nil {
			delete(next.attrs, name)
		} else {
			next.attrs[name] = v
		}
	}
	h.users[sub] = next
	return next, true
}

// refDecode decodes data, exactly one JSON object of valid UTF-8 without a
// duplicated key, numbers as json.Number.
func refDecode(data []byte) (map[string]any, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not an object")
	}
	obj, err := refMembers(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	return obj, nil
}

func refMembers(dec *json.Decoder) (map[string]any, error) {
	obj := map[string]any{}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if tok == json.Delim('}') {
			return obj, nil
		}
		key := tok.(string)
		if _, dup := obj[key]; dup {
			return nil, errors.New("duplicated key")
		}
		if tok, err = dec.Token(); err != nil {
			return nil, err
		}
		switch tok {
		case json.Delim('{'):
			if obj[key], err = refMembers(dec); err != nil {
				return nil, err
			}
		case json.Delim('['):
			return nil, errors.New("no attribute is an array")
		default:
			obj[key] = tok
		}
	}
}

// abSetup is one algorithm's pair: our Handler, on accesstoken's JWT
// verifier without a cache and a MemoryStore, and the reference, each with
// the user u1 and a token of it.
type abSetup struct {
	ours  http.Handler
	ref   *refHandler
	token string
	sign  func(claims map[string]any) string
}

var abUser = map[string]any{"email": "one@example.com", "email_verified": true, "phone_number": "+8613612345678",
	"name": "One", "nickname": "uno", "zoneinfo": "Asia/Shanghai", "locale": "zh-CN",
	"address": map[string]any{"locality": "Shanghai", "country": "CN"}}

func newABSetup(b testing.TB, alg string) *abSetup {
	b.Helper()
	now := time.Now()
	clock := func() time.Time { return now }
	key := testkeys.MustNew(alg)
	sign := func(edit map[string]any) string {
		claims := map[string]any{"iss": "https://issuer.example", "aud": "https://api.example",
			"sub": "u1", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "scope": "openid profile", "client_id": "app"}
		maps.Copy(claims, edit)
		token, err := key.Sign(claims)
		if err != nil {
			b.Fatal(err)
		}
		return token
	}
	token := sign(nil)
	keys, err := accesstoken.NewStaticKeySet(testkeys.JWKS(key))
	if err != nil {
		b.Fatal(err)
	}
	v, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: keys, Issuer: "https://issuer.example",
		Audience: []string{"https://api.example"}, Now: clock})
	if err != nil {
		b.Fatal(err)
	}
	reg, err := userinfo.NewRegistry(userinfo.RegistryConfig{})
	if err != nil {
		b.Fatal(err)
	}
	mem := userinfo.NewMemoryStore()
	if _, err := mem.Put(context.Background(), "u1", abUser); err != nil {
		b.Fatal(err)
	}
	h, err := userinfo.New(userinfo.Config{Tokens: v, Store: mem, Registry: reg, Now: clock})
	if err != nil {
		b.Fatal(err)
	}
	fv := testkeys.NewFloorVerifier(key)
	fv.Issuer, fv.Audience, fv.Now = "https://issuer.example", "https://api.example", clock
	ref := newRefHandler(fv, reg, clock)
	ref.put("u1", abUser)
	return &abSetup{ours: h, ref: ref, token: token, sign: sign}
}

// runAB serves the requests that mk makes through ours and through the
// reference; see runPair.
func runAB(b *testing.B, ours, ref http.Handler, mk func(i int) *http.Request) {
	b.Helper()
	runPair(b, pairSide{"ours", ours, mk}, pairSide{"ref", ref, mk})
}

// pairSide is one side of an interleaved benchmark: a handler and the
// requests it gets.
type pairSide struct {
	name string
	h    http.Handler
	mk   func(i int) *http.Request
}

// runPair serves a's and b's requests call by call, alternating which goes
// first, timing each side separately, and reports "ns/<name>" of each side,
// "ratio" (a over b) and the same of allocations, counted after the timed
// loop over a burst of each side alone. Every answer must be 200.
func runPair(b *testing.B, a, c pairSide) {
	b.Helper()
	serve := func(h http.Handler, r *http.Request) time.Duration {
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, r)
		d := time.Since(start)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
		return d
	}
	var ta, tc time.Duration
	n := 0
	runtime.GC() // the garbage of the setup is not the requests'
	for b.Loop() {
		ra, rc := a.mk(n), c.mk(n)
		if n%2 == 0 {
			ta += serve(a.h, ra)
			tc += serve(c.h, rc)
		} else {
			tc += serve(c.h, rc)
			ta += serve(a.h, ra)
		}
		n++
	}
	b.StopTimer()
	allocs := func(s pairSide) float64 {
		const burst = 200
		reqs := make([]*http.Request, burst)
		for i := range reqs {
			reqs[i] = s.mk(n + i)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for _, r := range reqs {
			s.h.ServeHTTP(httptest.NewRecorder(), r)
		}
		runtime.ReadMemStats(&after)
		return float64(after.Mallocs-before.Mallocs) / burst
	}
	aa, ac := allocs(a), allocs(c)
	b.ReportMetric(float64(ta.Nanoseconds())/float64(n), "ns/"+a.name)
	b.ReportMetric(float64(tc.Nanoseconds())/float64(n), "ns/"+c.name)
	b.ReportMetric(float64(ta)/float64(tc), "ratio")
	b.ReportMetric(aa, "allocs/"+a.name)
	b.ReportMetric(ac, "allocs/"+c.name)
	b.ReportMetric(aa/ac, "allocs-ratio")
}

// BenchmarkPatchAB compares a whole PATCH of a nickname through our
// Handler (accesstoken.JWTVerifier without a cache, MemoryStore) with the
// reference handler, call by call, for ES256, RS256 and EdDSA. The metric
// "ratio" is ours/reference (goal ≤ 1.10), "allocs-ratio" the same for
// allocations (goal ≤ 1.3). See README.md, Performance.
func BenchmarkPatchAB(b *testing.B) {
	for _, alg := range []string{"ES256", "RS256", "EdDSA"} {
		b.Run(alg, func(b *testing.B) {
			s := newABSetup(b, alg)
			runAB(b, s.ours, s.ref, func(i int) *http.Request {
				r := httptest.NewRequest(http.MethodPatch, "/userinfo", strings.NewReader(`{"nickname":"n`+strconv.Itoa(i)+`"}`))
				r.Header.Set("Authorization", "Bearer "+s.token)
				r.Header.Set("Content-Type", "application/json")
				return r
			})
		})
	}
}

// BenchmarkGetAB is BenchmarkPatchAB for GET /userinfo (goal ≤ 1.10).
func BenchmarkGetAB(b *testing.B) {
	for _, alg := range []string{"ES256", "RS256", "EdDSA"} {
		b.Run(alg, func(b *testing.B) {
			s := newABSetup(b, alg)
			runAB(b, s.ours, s.ref, func(int) *http.Request {
				r := httptest.NewRequest(http.MethodGet, "/userinfo", nil)
				r.Header.Set("Authorization", "Bearer "+s.token)
				return r
			})
		})
	}
}

// TestRefHandler holds the reference to the Handler's answers, so that it
// does every step of theirs: the same claims after the same PATCHes, and a
// refusal wherever the Handler refuses.
func TestRefHandler(t *testing.T) {
	s := newABSetup(t, "ES256")
	type req struct {
		name, method, token, ctype, body string
		ok                               bool
	}
	noScope := s.sign(map[string]any{"scope": "profile"})
	otherAud := s.sign(map[string]any{"aud": "https://other.example"})
	for _, rq := range []req{
		{name: "get", method: http.MethodGet, ok: true},
		{name: "patch", method: http.MethodPatch, body: `{"nickname":"n1","address":{"locality":"Beijing"},"website":null}`, ok: true},
		{name: "merge patch", method: http.MethodPatch, ctype: "application/merge-patch+json", body: `{"name":"N"}`, ok: true},
		{name: "get after", method: http.MethodGet, ok: true},
		{name: "no openid", method: http.MethodGet, token: noScope},
		{name: "other audience", method: http.MethodGet, token: otherAud},
		{name: "bad token", method: http.MethodGet, token: s.token + "x"},
		{name: "text/plain", method: http.MethodPatch, ctype: "text/plain", body: `{"nickname":"n"}`},
		{name: "duplicated key", method: http.MethodPatch, body: `{"nickname":"a","nickname":"b"}`},
		{name: "trailing data", method: http.MethodPatch, body: `{"nickname":"a"} {}`},
		{name: "not UTF-8", method: http.MethodPatch, body: "{\"nickname\":\"\xff\"}"},
		{name: "unknown", method: http.MethodPatch, body: `{"nick":"a"}`},
		{name: "read-only", method: http.MethodPatch, body: `{"email_verified":false}`},
		{name: "email without OTP", method: http.MethodPatch, body: `{"email":"new@example.com"}`},
		{name: "invalid value", method: http.MethodPatch, body: `{"zoneinfo":"Mars/Base"}`},
		{name: "too long", method: http.MethodPatch, body: `{"nickname":"` + strings.Repeat("x", 257) + `"}`},
	} {
		t.Run(rq.name, func(t *testing.T) {
			answers := make([]*httptest.ResponseRecorder, 2)
			for i, h := range []http.Handler{s.ours, s.ref} {
				token := rq.token
				if token == "" {
					token = s.token
				}
				var body io.Reader
				if rq.body != "" {
					body = strings.NewReader(rq.body)
				}
				r := httptest.NewRequest(rq.method, "/userinfo", body)
				r.Header.Set("Authorization", "Bearer "+token)
				if rq.body != "" {
					ct := rq.ctype
					if ct == "" {
						ct = "application/json"
					}
					r.Header.Set("Content-Type", ct)
				}
				answers[i] = httptest.NewRecorder()
				h.ServeHTTP(answers[i], r)
			}
			ours, ref := answers[0], answers[1]
			if ok := ours.Code == http.StatusOK; ok != rq.ok {
				t.Fatalf("ours: status %d, want ok=%v: %s", ours.Code, rq.ok, ours.Body)
			}
			if ok := ref.Code == http.StatusOK; ok != rq.ok {
				t.Fatalf("reference: status %d, want ok=%v", ref.Code, rq.ok)
			}
			if ours.Code != ref.Code {
				t.Fatalf("status: ours %d, reference %d: %s", ours.Code, ref.Code, ours.Body)
			}
			if !rq.ok {
				return
			}
			var o, f map[string]any
			if json.Unmarshal(ours.Body.Bytes(), &o) != nil || json.Unmarshal(ref.Body.Bytes(), &f) != nil {
				t.Fatalf("bodies %s, %s", ours.Body, ref.Body)
			}
			if !reflect.DeepEqual(o, f) {
				t.Errorf("claims differ:\nours %s\nref  %s", ours.Body, ref.Body)
			}
			if ours.Header().Get("ETag") != ref.Header().Get("ETag") {
				t.Errorf("ETag: ours %s, ref %s", ours.Header().Get("ETag"), ref.Header().Get("ETag"))
			}
		})
	}
}
