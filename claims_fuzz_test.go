package userinfo

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"testing"
	"time"
)

// claimsMap is the map that writeClaims once marshalled: the reference
// that appendClaims must write byte for byte as json.Marshal does.
func claimsMap(ctx context.Context, h *Handler, p *Principal, u *User) map[string]any {
	out := make(map[string]any, len(u.Attributes)+2)
	for name, v := range u.Attributes {
		if h.policy.Allow(ctx, p, ReleaseClaim, name) {
			out[name] = v
		}
	}
	if !u.UpdatedAt.IsZero() && h.policy.Allow(ctx, p, ReleaseClaim, "updated_at") {
		out["updated_at"] = u.UpdatedAt.Unix()
	}
	out["sub"] = u.Subject
	return out
}

// checkClaims compares appendClaims with json.Marshal of claimsMap for
// every client of the harness's policy.
func checkClaims(t *testing.T, h *Handler, u *User) {
	t.Helper()
	ctx := context.Background()
	for _, client := range []string{"", "readonly-app"} {
		p := &Principal{Subject: u.Subject, ClientID: client}
		want, wantErr := json.Marshal(claimsMap(ctx, h, p, u))
		got, err := h.appendClaims(nil, ctx, p, u)
		if (err == nil) != (wantErr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("appendClaims(%s, %#v) = %s, %v; json.Marshal: %s, %v", client, u, got, err, want, wantErr)
		}
	}
}

func TestAppendClaims(t *testing.T) {
	h := newHarness(t).h
	at := time.Unix(1700000000, 0)
	for _, u := range []*User{
		{Subject: "u1", UpdatedAt: at, Attributes: map[string]any{"nickname": "<a&b>", "address": map[string]any{"country": "CN"}, "n": json.Number("1.5")}},
		{Subject: "u\u2028\"", Attributes: map[string]any{}},
		{Subject: "u1", UpdatedAt: at, Attributes: map[string]any{"sub": "other", "updated_at": json.Number("1")}},
		{Subject: "u1", Attributes: map[string]any{"sub": "other", "updated_at": json.Number("1")}},
		{Subject: "u1", Attributes: map[string]any{"bad": json.Number("x")}},
		{Subject: "u1", Attributes: map[string]any{"list": []any{1.5, "x", nil}, "i": 3}},
	} {
		checkClaims(t, h, u)
	}
}

// FuzzAppendClaims holds appendClaims equal to json.Marshal of the claims
// map on any attributes that a JSON document decodes to.
func FuzzAppendClaims(f *testing.F) {
	f.Add(`{"nickname":"x","sub":"y","updated_at":3}`, "u1", int64(1700000000))
	f.Add(`{"address":{"locality":"<&>"},"name":"\u2028\ufffd","n":-0.5e3}`, "u\xff", int64(0))
	h := newHarness(f).h
	f.Fuzz(func(t *testing.T, doc, subject string, at int64) {
		dec := json.NewDecoder(bytes.NewReader([]byte(doc)))
		dec.UseNumber()
		var attrs map[string]any
		if dec.Decode(&attrs) != nil {
			return
		}
		u := &User{Subject: subject, Attributes: maps.Clone(attrs)}
		if at != 0 {
			u.UpdatedAt = time.Unix(at, 0)
		}
		checkClaims(t, h, u)
	})
}
