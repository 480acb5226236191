package userinfo_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ciamkit/userinfo"
)

func TestCreate(t *testing.T) {
	s := userinfo.NewMemoryStore()
	ctx := context.Background()
	u1, err := s.Create(ctx, "u1", map[string]any{"email": "A@x.test", "nickname": "A"})
	if err != nil || u1.Version != 1 || u1.Attributes["nickname"] != "A" {
		t.Fatalf("Create(u1): %+v, %v", u1, err)
	}
	if _, err := s.Create(ctx, "u1", map[string]any{"nickname": "B"}); !errors.Is(err, userinfo.ErrUserExists) {
		t.Errorf("Create of an existing user: got %v, want %v", err, userinfo.ErrUserExists)
	}
	if _, err := s.Create(ctx, "u2", map[string]any{"email": "a@X.TEST"}); !errors.Is(err, userinfo.ErrDuplicateEmail) {
		t.Errorf("Create with another user's email: got %v, want %v", err, userinfo.ErrDuplicateEmail)
	}
	if _, err := s.GetUser(ctx, "u2"); !errors.Is(err, userinfo.ErrUserNotFound) {
		t.Errorf("GetUser(u2) after a refused Create: %v, want %v", err, userinfo.ErrUserNotFound)
	}
	got, err := s.GetUser(ctx, "u1")
	if err != nil || got.Version != 1 || got.Attributes["nickname"] != "A" {
		t.Errorf("GetUser(u1) after a second Create: %+v, %v; want it unchanged", got, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}
