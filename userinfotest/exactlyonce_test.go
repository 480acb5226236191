package userinfotest

import (
	"context"
	"slices"
	"testing"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/otp"
)

// flawedRedeemer is a RedeemingStore over a MemoryStore that spends codes
// the wrong way.
type flawedRedeemer struct {
	*userinfo.MemoryStore
	flaw string
}

// noRestore hides the Restorer of a redemption.
type noRestore struct{ r userinfo.Redemption }

func (n noRestore) Redeem(ctx context.Context) error { return n.r.Redeem(ctx) }

func (f flawedRedeemer) UpdateUserRedeeming(ctx context.Context, u userinfo.Update, rs []userinfo.Redemption) (*userinfo.User, error) {
	switch f.flaw {
	case "spends before its checks":
		if err := userinfo.RedeemAll(ctx, rs); err != nil {
			return nil, err
		}
	case "spends codes one by one":
		hidden := make([]userinfo.Redemption, len(rs))
		for i, r := range rs {
			hidden[i] = noRestore{r}
		}
		return f.MemoryStore.UpdateUserRedeeming(ctx, u, hidden)
	case "never spends":
	}
	return f.MemoryStore.UpdateUser(ctx, u)
}

func TestTestExactlyOnceCorrect(t *testing.T) {
	TestExactlyOnce(t, func(testing.TB) (Store, otp.Store) { return userinfo.NewMemoryStore(), otp.NewMemoryStore() })
}

func TestTestExactlyOnceFindsFlaws(t *testing.T) {
	tests := []struct {
		flaw     string
		wantFail []string
	}{
		{"spends before its checks", []string{"RefusedWritesLeaveCodes"}},
		{"spends codes one by one", []string{"TwoCodesTogether"}},
		{"never spends", []string{"StoredWriteSpendsCode", "TwoCodesTogether", "ConcurrentWritesOneCode"}},
	}
	for _, tt := range tests {
		t.Run(tt.flaw, func(t *testing.T) {
			r := newRecorder(t)
			testExactlyOnce(r, func(testing.TB) (Store, otp.Store) {
				return flawedRedeemer{userinfo.NewMemoryStore(), tt.flaw}, otp.NewMemoryStore()
			})
			failed := r.failures()
			for _, want := range tt.wantFail {
				if !slices.Contains(failed, want) {
					t.Errorf("subtest %s passed a store that %s; want it to fail. Failures:\n%s", want, tt.flaw, r)
				}
			}
		})
	}
}

// staleSwapper is a SwappingStore whose SwapUser reads "before" apart from
// the write, after it.
type staleSwapper struct{ *userinfo.MemoryStore }

func (s staleSwapper) SwapUser(ctx context.Context, u userinfo.Update, rs []userinfo.Redemption) (before, after *userinfo.User, err error) {
	if after, err = s.UpdateUserRedeeming(ctx, u, rs); err != nil {
		return nil, nil, err
	}
	before, err = s.GetUser(ctx, u.Subject)
	return before, after, err
}

func TestTestUserStoreFindsStaleSwaps(t *testing.T) {
	r := newRecorder(t)
	testUserStore(r, func(testing.TB) Store { return staleSwapper{userinfo.NewMemoryStore()} }, "Swaps")
	if !slices.Contains(r.failures(), "Swaps") {
		t.Errorf("subtest Swaps passed a store whose SwapUser reads before after the write. Findings:\n%s", r)
	}
}
