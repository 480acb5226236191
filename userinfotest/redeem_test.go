package userinfotest

import (
	"context"
	"slices"
	"testing"

	"github.com/ciamkit/userinfo"
)

// redeemFlaw is one deliberate bug of a redeemFlawStore.
type redeemFlaw int

const (
	redeemNever          redeemFlaw = iota // writes and never spends the codes
	redeemBeforeChecks                     // spends the codes, then lets the write be refused
	redeemIgnoresFailure                   // writes even when a code cannot be spent
)

// redeemFlawStore is a MemoryStore whose UpdateUserRedeeming has one bug.
type redeemFlawStore struct {
	*userinfo.MemoryStore
	flaw redeemFlaw
}

func (s redeemFlawStore) UpdateUserRedeeming(ctx context.Context, u userinfo.Update, rs []userinfo.Redemption) (*userinfo.User, error) {
	switch s.flaw {
	case redeemBeforeChecks:
		if err := userinfo.RedeemAll(ctx, rs); err != nil {
			return nil, err
		}
	case redeemIgnoresFailure:
		next, err := s.UpdateUser(ctx, u)
		if err == nil {
			_ = userinfo.RedeemAll(ctx, rs)
		}
		return next, err
	}
	return s.UpdateUser(ctx, u)
}

func TestRedemptionsFindsFlaws(t *testing.T) {
	for _, tt := range []struct {
		name string
		flaw redeemFlaw
	}{
		{"never redeems", redeemNever},
		{"redeems before its checks", redeemBeforeChecks},
		{"writes when a code cannot be spent", redeemIgnoresFailure},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder(t)
			testUserStore(r, func(testing.TB) Store { return redeemFlawStore{userinfo.NewMemoryStore(), tt.flaw} }, "Redemptions")
			if !slices.Contains(r.failures(), "Redemptions") {
				t.Errorf("Redemptions passed a store that %s", tt.name)
			}
		})
	}
	r := newRecorder(t)
	testUserStore(r, func(testing.TB) Store { return userinfo.NewMemoryStore() }, "Redemptions")
	if f := r.failures(); len(f) > 0 {
		t.Errorf("the MemoryStore failed %v:\n%s", f, r)
	}
}

// overwritingCreate is a MemoryStore whose Create replaces an existing user.
type overwritingCreate struct{ *userinfo.MemoryStore }

func (s overwritingCreate) Create(ctx context.Context, subject string, attrs map[string]any) (*userinfo.User, error) {
	return s.Put(ctx, subject, attrs)
}

func TestCreateFindsFlaws(t *testing.T) {
	r := newRecorder(t)
	testUserStore(r, func(testing.TB) Store { return overwritingCreate{userinfo.NewMemoryStore()} }, "Create")
	if !slices.Contains(r.failures(), "Create") {
		t.Errorf("Create passed a store whose Create overwrites users: %v\n%s", r.failures(), r)
	}
}
