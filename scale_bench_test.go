package userinfo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
)

// subjectTokens is a verifier for the scaling benchmarks, whose subject is
// the token: they measure the handler and its store, not signatures.
var subjectTokens = userinfo.TokenVerifierFunc(func(_ context.Context, token string) (*userinfo.Principal, error) {
	return &userinfo.Principal{Subject: token, ClientID: "app", Scopes: []string{"openid"}}, nil
})

// scaleHandler returns a handler on a MemoryStore of users u0 … u<n-1>,
// each with attrs, and the registry reg.
func scaleHandler(b *testing.B, n int, reg *userinfo.Registry, attrs func(i int) map[string]any) http.Handler {
	b.Helper()
	mem := userinfo.NewMemoryStore()
	ctx := context.Background()
	for i := range n {
		if _, err := mem.Put(ctx, "u"+strconv.Itoa(i), attrs(i)); err != nil {
			b.Fatal(err)
		}
	}
	h, err := userinfo.New(userinfo.Config{Tokens: subjectTokens, Store: mem, Registry: reg})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

func patchRequest(subject, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPatch, "/userinfo", strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+subject)
	r.Header.Set("Content-Type", "application/json")
	return r
}

// BenchmarkPatchUsers compares a PATCH of a nickname on a MemoryStore of
// 100,000 users with one on a store of 1,000, call by call, each request
// for another user of its store. "ratio" is 100k over 1k (goal ≤ 1.15):
// the cost of a request must not grow with the number of users (the
// garbage collector scans the whole store). See README.md, Performance.
func BenchmarkPatchUsers(b *testing.B) {
	reg, err := userinfo.NewRegistry(userinfo.RegistryConfig{})
	if err != nil {
		b.Fatal(err)
	}
	user := func(i int) map[string]any {
		return map[string]any{"email": fmt.Sprintf("user%d@example.com", i), "email_verified": true,
			"phone_number": fmt.Sprintf("+86136%08d", i), "name": "User " + strconv.Itoa(i), "nickname": "u",
			"zoneinfo": "Asia/Shanghai", "locale": "zh-CN", "address": map[string]any{"locality": "Shanghai", "country": "CN"}}
	}
	side := func(name string, n int) pairSide {
		h := scaleHandler(b, n, reg, user)
		return pairSide{name, h, func(i int) *http.Request {
			// A stride through the store, so that requests land on
			// users all over it.
			return patchRequest("u"+strconv.Itoa(i*7919%n), `{"nickname":"n`+strconv.Itoa(i)+`"}`)
		}}
	}
	big, small := side("100k", 100_000), side("1k", 1_000)
	b.ResetTimer()
	runPair(b, big, small)
}

// customAttributes returns n custom attributes of every kind a registry
// file may hold: patterned, enumerated and formatted strings, bounded
// integers and numbers, booleans; all writable.
func customAttributes(n int) []userinfo.Attribute {
	attrs := make([]userinfo.Attribute, n)
	for i := range attrs {
		name := fmt.Sprintf("attr_%04d", i)
		lo, hi := json.Number("0"), json.Number(strconv.Itoa(1000+i))
		maxLen := 64
		switch i % 6 {
		case 0:
			attrs[i] = userinfo.Attribute{Name: name, Type: "string", Pattern: fmt.Sprintf("^[A-Z]%d[0-9]{0,6}$", i)}
		case 1:
			attrs[i] = userinfo.Attribute{Name: name, Type: "string", Enum: []any{"a", "b", "c" + strconv.Itoa(i)}}
		case 2:
			attrs[i] = userinfo.Attribute{Name: name, Type: "string", Format: "date", MaxLength: &maxLen}
		case 3:
			attrs[i] = userinfo.Attribute{Name: name, Type: "integer", Minimum: &lo, Maximum: &hi}
		case 4:
			attrs[i] = userinfo.Attribute{Name: name, Type: "number", Minimum: &lo}
		case 5:
			attrs[i] = userinfo.Attribute{Name: name, Type: "boolean"}
		}
	}
	return attrs
}

// BenchmarkPatchAttributes compares a PATCH of a nickname and two custom
// attributes with a registry of 1,000 custom attributes against one with
// 10, call by call; the users hold the same values. "ratio" is 1000 over
// 10 (goal ≤ 1.1).
func BenchmarkPatchAttributes(b *testing.B) {
	user := func(int) map[string]any {
		return map[string]any{"name": "U", "nickname": "u", "attr_0000": "A0", "attr_0003": json.Number("7"), "attr_0005": true}
	}
	side := func(name string, n int) pairSide {
		reg, err := userinfo.NewRegistry(userinfo.RegistryConfig{Attributes: customAttributes(n)})
		if err != nil {
			b.Fatal(err)
		}
		h := scaleHandler(b, 100, reg, user)
		return pairSide{name, h, func(i int) *http.Request {
			return patchRequest("u"+strconv.Itoa(i%100),
				`{"nickname":"n`+strconv.Itoa(i)+`","attr_0000":"A0`+strconv.Itoa(i%1000)+`","attr_0003":`+strconv.Itoa(i%1000)+`}`)
		}}
	}
	big, small := side("1000", 1000), side("10", 10)
	b.ResetTimer()
	runPair(b, big, small)
}

// BenchmarkNewAttributes measures building a registry of 1,000 custom
// attributes and a handler on it, as a server does once at its start
// (goal < 100 ms); "ms" is the time of one construction.
func BenchmarkNewAttributes(b *testing.B) {
	attrs := customAttributes(1000)
	start := time.Now()
	n := 0
	for b.Loop() {
		reg, err := userinfo.NewRegistry(userinfo.RegistryConfig{Attributes: attrs})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := userinfo.New(userinfo.Config{Tokens: subjectTokens, Store: userinfo.NewMemoryStore(), Registry: reg}); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(n), "ms")
}
