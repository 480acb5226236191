package userinfotest

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// tester is what the checks need of a test: testing.TB and subtests. The
// exported functions pass a *testing.T; the kit's own tests pass a recorder,
// so that they can run the checks against broken stores and see them fail.
type tester interface {
	testing.TB
	Run(name string, f func(t tester)) bool
}

// realT adapts *testing.T to tester.
type realT struct{ *testing.T }

func (r realT) Run(name string, f func(t tester)) bool {
	return r.T.Run(name, func(t *testing.T) { f(realT{t}) })
}

// watchdogTimeout is how long one subtest may take before its context is
// canceled and it fails; watchdogGrace is how long the store then has to
// return before the binary panics. Variables so that the kit's own tests can
// shorten them.
var (
	watchdogTimeout = time.Minute
	watchdogGrace   = 30 * time.Second
)

// subtest runs f as the subtest name, with a context that a watchdog cancels
// when f has not returned after watchdogTimeout (as nettest's
// timeoutWrapper), so that a deadlocked store fails instead of hanging.
func subtest(t tester, name string, f func(t tester, ctx context.Context)) {
	t.Run(name, func(t tester) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var once sync.Once
		done := make(chan struct{})
		timer := time.AfterFunc(watchdogTimeout, func() {
			fired := false
			once.Do(func() {
				fired = true
				t.Errorf("%s: the store did not return within %v (deadlock?); canceled the context", name, watchdogTimeout)
				cancel()
			})
			if !fired {
				return
			}
			select {
			case <-done:
			case <-time.After(watchdogGrace):
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				panic(fmt.Sprintf("userinfotest: %s: the store is still blocked %v after its context was canceled\n\n%s", t.Name(), watchdogGrace, buf))
			}
		})
		defer func() {
			once.Do(func() {})
			close(done)
			timer.Stop()
		}()
		f(t, ctx)
	})
}

// only reports whether the subtest name is selected: all when names is
// empty. The kit's own tests use it to run one check against a store that
// would block the others.
func only(names []string, name string) bool {
	if len(names) == 0 {
		return true
	}
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// gate starts n goroutines at once, as far as the scheduler allows, and
// waits for them: f(i) runs for i in [0, n).
func gate(n int, f func(i int)) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			f(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
}

// check is one named subtest of a kit, run on a fresh store of type S.
type check[S comparable] struct {
	name string
	run  func(t tester, ctx context.Context, s S)
}

// runChecks runs the checks named in names (all when none are named), each
// in its own subtest on a fresh store from newStore.
func runChecks[S comparable](t tester, kit string, newStore func(testing.TB) S, checks []check[S], names []string) {
	t.Helper()
	if newStore == nil {
		t.Fatal(kit + ": newStore is nil")
	}
	for _, c := range checks {
		if !only(names, c.name) {
			continue
		}
		subtest(t, c.name, func(t tester, ctx context.Context) {
			var zero S
			s := newStore(t)
			if s == zero {
				t.Fatal("newStore returned nil")
			}
			c.run(t, ctx, s)
		})
	}
}
