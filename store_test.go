package userinfo_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/otp"
	"github.com/ciamkit/userinfo/userinfotest"
)

// The MemoryStore keeps the UserStore contract, its optional
// RedeemingStore, Create and Ping included.
func TestMemoryStore(t *testing.T) {
	userinfotest.TestUserStore(t, func(testing.TB) userinfotest.Store { return userinfo.NewMemoryStore() })
}

func TestMemoryStoreExactlyOnce(t *testing.T) {
	userinfotest.TestExactlyOnce(t, func(testing.TB) (userinfotest.Store, otp.Store) {
		return userinfo.NewMemoryStore(), otp.NewMemoryStore()
	})
}

// The user that Put and UpdateUser return is what GetUser returns next,
// whatever the values: those that decode to themselves are not decoded
// again, the others are.
func TestMemoryStoreReturnsDecoded(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		attrs map[string]any
	}{
		{"plain", map[string]any{"nickname": "张三", "b": true, "n": json.Number("1.0e1"), "address": map[string]any{"locality": "x"}}},
		{"invalid UTF-8", map[string]any{"nickname": "a\xffb"}},
		{"empty number", map[string]any{"n": json.Number("")}},
		{"other types", map[string]any{"f": 1.5, "i": 3, "list": []any{"a"}, "address": map[string]any{"n": 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := userinfo.NewMemoryStore()
			put, err := s.Put(ctx, "u1", tc.attrs)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.GetUser(ctx, "u1")
			if err != nil || !reflect.DeepEqual(put, got) {
				t.Fatalf("Put = %#v; GetUser = %#v, %v", put, got, err)
			}
			up, err := s.UpdateUser(ctx, userinfo.Update{Subject: "u1", Set: tc.attrs, Now: time.Unix(1, 0)})
			if err != nil {
				t.Fatal(err)
			}
			if got, err = s.GetUser(ctx, "u1"); err != nil || !reflect.DeepEqual(up, got) {
				t.Fatalf("UpdateUser = %#v; GetUser = %#v, %v", up, got, err)
			}
			if m, ok := tc.attrs["address"].(map[string]any); ok {
				m["injected"] = "x"
				if got, _ := s.GetUser(ctx, "u1"); got.Attributes["address"].(map[string]any)["injected"] != nil {
					t.Error("the store aliases the caller's map")
				}
			}
		})
	}
}
