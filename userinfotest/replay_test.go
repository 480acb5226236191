package userinfotest

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
)

// replayFlaw is one deliberate bug of a flawedReplay.
type replayFlaw int

const (
	replayNone         replayFlaw = iota
	replayForgets                 // every key is always fresh
	replayOwnClock                // judges expiry by the wall clock
	replayNeverExpires            // keeps keys forever
	replayCheckThenAct            // looks, unlocks, then records
	replayFoldsCase               // compares keys ignoring case
	replayIgnoresCtx              // works with canceled contexts
)

type flawedReplay struct {
	flaw  replayFlaw
	mu    sync.Mutex
	until map[string]time.Time
}

func (f *flawedReplay) Remember(ctx context.Context, key string, until, now time.Time) (bool, error) {
	if f.flaw != replayIgnoresCtx {
		if err := ctx.Err(); err != nil {
			return false, err
		}
	}
	if f.flaw == replayForgets {
		return true, nil
	}
	if f.flaw == replayFoldsCase {
		key = strings.ToLower(key)
	}
	if f.flaw == replayOwnClock {
		now = time.Now()
	}
	f.mu.Lock()
	u, ok := f.until[key]
	live := ok && (u.After(now) || f.flaw == replayNeverExpires)
	if f.flaw == replayCheckThenAct {
		f.mu.Unlock()
		time.Sleep(time.Millisecond)
		f.mu.Lock()
	}
	defer f.mu.Unlock()
	if live {
		return false, nil
	}
	f.until[key] = until
	return true, nil
}

func TestTestReplayStore(t *testing.T) {
	t.Run("MemoryReplayStore", func(t *testing.T) {
		TestReplayStore(t, func(testing.TB) userinfo.ReplayStore { return userinfo.NewMemoryReplayStore(0) })
	})
	for _, tt := range []struct {
		name     string
		flaw     replayFlaw
		wantFail []string
	}{
		{"forgets", replayForgets, []string{"Once", "Expiry", "ConcurrentRemember"}},
		{"own clock", replayOwnClock, []string{"Once", "Expiry"}},
		{"never expires", replayNeverExpires, []string{"Expiry"}},
		{"check then act", replayCheckThenAct, []string{"ConcurrentRemember"}},
		{"folds case", replayFoldsCase, []string{"KeysApart"}},
		{"ignores context", replayIgnoresCtx, []string{"ContextCanceled"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder(t)
			testReplayStore(r, func(testing.TB) userinfo.ReplayStore {
				return &flawedReplay{flaw: tt.flaw, until: map[string]time.Time{}}
			})
			for _, want := range tt.wantFail {
				if !slices.Contains(r.failures(), want) {
					t.Errorf("%s passed a store that %s. Findings:\n%s", want, tt.name, r)
				}
			}
		})
	}
	r := newRecorder(t)
	testReplayStore(r, func(testing.TB) userinfo.ReplayStore { return &flawedReplay{until: map[string]time.Time{}} })
	if f := r.failures(); len(f) > 0 {
		t.Errorf("a correct store failed %v:\n%s", f, r)
	}
}
