package userinfotest

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// recorder is a tester that records failures instead of failing the real
// test, as fstest's tests inspect the error TestFS returns. It embeds the
// real test for everything else (TempDir, Context, Logf).
type recorder struct {
	testing.TB
	name   string
	parent *recorder
	report *report

	mu       sync.Mutex
	failed   bool
	skipped  bool
	cleanups []func()
}

// report collects the findings of one run of the kit.
type report struct {
	mu    sync.Mutex
	byRun map[string][]string // subtest name → messages
}

func newRecorder(t testing.TB) *recorder {
	return &recorder{TB: t, report: &report{byRun: make(map[string][]string)}}
}

// failures returns the names of the subtests that reported failures.
func (r *recorder) failures() []string {
	r.report.mu.Lock()
	defer r.report.mu.Unlock()
	var names []string
	for name := range r.report.byRun {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// messages returns what the subtest name reported.
func (r *recorder) messages(name string) []string {
	r.report.mu.Lock()
	defer r.report.mu.Unlock()
	return slices.Clone(r.report.byRun[name])
}

func (r *recorder) String() string {
	r.report.mu.Lock()
	defer r.report.mu.Unlock()
	var b strings.Builder
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range r.report.byRun {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, m := range r.report.byRun[name] {
			fmt.Fprintf(&b, "\t%s: %s\n", name, m)
		}
	}
	return b.String()
}

func (r *recorder) fail(msg string) {
	r.report.mu.Lock()
	r.report.byRun[r.name] = append(r.report.byRun[r.name], msg)
	r.report.mu.Unlock()
	for p := r; p != nil; p = p.parent {
		p.mu.Lock()
		p.failed = true
		p.mu.Unlock()
	}
}

func (r *recorder) Name() string                      { return r.name }
func (r *recorder) Helper()                           {}
func (r *recorder) Error(args ...any)                 { r.fail(fmt.Sprint(args...)) }
func (r *recorder) Errorf(format string, args ...any) { r.fail(fmt.Sprintf(format, args...)) }
func (r *recorder) Fail()                             { r.fail("Fail called") }
func (r *recorder) FailNow()                          { r.fail("FailNow called"); runtime.Goexit() }
func (r *recorder) Fatal(args ...any)                 { r.fail(fmt.Sprint(args...)); runtime.Goexit() }
func (r *recorder) Fatalf(format string, args ...any) {
	r.fail(fmt.Sprintf(format, args...))
	runtime.Goexit()
}
func (r *recorder) Log(args ...any)                 {}
func (r *recorder) Logf(format string, args ...any) {}
func (r *recorder) Skip(args ...any)                { r.SkipNow() }
func (r *recorder) Skipf(format string, args ...any) {
	r.SkipNow()
}
func (r *recorder) SkipNow() {
	r.mu.Lock()
	r.skipped = true
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func (r *recorder) Skipped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.skipped
}

func (r *recorder) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

// Run runs f on its own goroutine, as testing does, so that Fatal and Skip
// end only the subtest, then runs its cleanups.
func (r *recorder) Run(name string, f func(t tester)) bool {
	child := &recorder{TB: r.TB, name: name, parent: r, report: r.report}
	if r.name != "" {
		child.name = r.name + "/" + name
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			child.mu.Lock()
			cs := child.cleanups
			child.mu.Unlock()
			for _, c := range slices.Backward(cs) {
				c()
			}
		}()
		f(child)
	}()
	<-done
	return !child.Failed()
}
