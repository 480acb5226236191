package userinfo_test

import (
	"context"
	"encoding/json"
	"errors"
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

// A nickname change keeps the index entries of the unchanged addresses,
// and a change or removal of one moves them.
func TestMemoryStoreIndexKept(t *testing.T) {
	ctx := context.Background()
	s := userinfo.NewMemoryStore()
	if _, err := s.Put(ctx, "u1", map[string]any{"email": "a@example.com", "phone_number": "+8613612345678"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "u2", nil); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1, 0)
	if _, err := s.UpdateUser(ctx, userinfo.Update{Subject: "u1", Set: map[string]any{"nickname": "n"}, Now: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUser(ctx, userinfo.Update{Subject: "u2", Set: map[string]any{"email": "A@example.com"}, Now: now}); !errors.Is(err, userinfo.ErrDuplicateEmail) {
		t.Fatalf("u2 takes u1's email after u1's nickname change: %v", err)
	}
	if _, err := s.UpdateUser(ctx, userinfo.Update{Subject: "u1", Remove: []string{"email"}, Now: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUser(ctx, userinfo.Update{Subject: "u2", Set: map[string]any{"email": "A@example.com"}, Now: now}); err != nil {
		t.Fatalf("u2 cannot take the email u1 removed: %v", err)
	}
	if _, err := s.UpdateUser(ctx, userinfo.Update{Subject: "u2", Set: map[string]any{"phone_number": "+8613612345678"}, Now: now}); !errors.Is(err, userinfo.ErrDuplicatePhoneNumber) {
		t.Fatalf("u2 takes u1's phone number: %v", err)
	}
	if u, err := s.GetUser(ctx, "u2"); err != nil || u.Attributes == nil {
		t.Fatalf("GetUser(u2) = %+v, %v", u, err)
	}
}
