package userinfotest

import (
	"context"
	"errors"

	"github.com/ciamkit/userinfo"
)

// creator is the optional create-if-absent of a store (MemoryStore and the
// stores of package sqlstore have it): the example seeds users with it.
type creator interface {
	Create(ctx context.Context, subject string, attrs map[string]any) (*userinfo.User, error)
}

// pinger is the optional health check of a store.
type pinger interface {
	Ping(ctx context.Context) error
}

// checkCreate checks the optional Create and Ping of a store: Create makes a
// missing user, refuses an existing one with ErrUserExists and another
// user's address with ErrDuplicateEmail, changing nothing; Ping answers. A
// store without them passes.
func checkCreate(t tester, ctx context.Context, s Store) {
	if p, ok := s.(pinger); ok {
		if err := p.Ping(ctx); err != nil {
			t.Errorf("Ping(ctx): %v", err)
		}
	}
	c, ok := s.(creator)
	if !ok {
		t.Log("no Create method: nothing to check")
		return
	}
	u1, err := c.Create(ctx, "u1", map[string]any{"email": "A@example.test", "nickname": "A"})
	if err != nil || u1 == nil || u1.Version == 0 || u1.Attributes["nickname"] != "A" {
		t.Fatalf("Create(ctx, %q, …) of a new user: %+v, %v", "u1", u1, err)
	}
	if _, err := c.Create(ctx, "u1", map[string]any{"nickname": "B"}); !errors.Is(err, userinfo.ErrUserExists) {
		t.Errorf("Create(ctx, %q, …) of an existing user: got %v, want %v", "u1", err, userinfo.ErrUserExists)
	}
	if _, err := c.Create(ctx, "u2", map[string]any{"email": "a@EXAMPLE.test"}); !errors.Is(err, userinfo.ErrDuplicateEmail) {
		t.Errorf("Create(ctx, %q, …) with another user's email: got %v, want %v", "u2", err, userinfo.ErrDuplicateEmail)
	}
	if _, err := s.GetUser(ctx, "u2"); !errors.Is(err, userinfo.ErrUserNotFound) {
		t.Errorf("GetUser(ctx, %q) after a refused Create: %v, want %v", "u2", err, userinfo.ErrUserNotFound)
	}
	unchanged(t, ctx, s, u1, "after a second Create of it")
}
