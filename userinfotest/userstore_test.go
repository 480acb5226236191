package userinfotest

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
)

// flaw is one deliberate bug of a flawedStore.
type flaw int

const (
	flawNone               flaw = iota
	flawIgnoresIfVersion        // treats every update as unconditional
	flawCheckThenAct            // checks version and uniqueness, unlocks, then writes
	flawAliasesReturned         // returns its own attribute map
	flawAliasesSet              // keeps the caller's nested maps
	flawNonAtomic               // writes attributes one by one, stopping at a duplicate
	flawCaseSensitiveEmail      // compares email addresses with their case
	flawKeepsReleased           // never releases an email address or phone number
	flawIgnoresRemove           // never removes an attribute
	flawFloatNumbers            // turns json.Number into float64
	flawIgnoresNow              // records its own clock
	flawNoVersionBump           // keeps the version
	flawVersionZero             // stores users with version 0
	flawIgnoresContext          // works with canceled contexts
	flawUpdateCreates           // UpdateUser of a missing user creates it
	flawFoldsSubject            // finds users ignoring the case of the subject
	flawBlocks                  // GetUser blocks until its context is done
)

// flawedStore is a small, otherwise correct UserStore with one bug, to show
// that the kit finds it (fstest tests itself against failPermFS the same way).
type flawedStore struct {
	flaw flaw

	mu     sync.Mutex
	users  map[string]*userinfo.User
	owners map[string]string // index key → subject

	// rendezvous makes the first two updates meet between check and write.
	updates atomic.Int32
	arrived chan struct{}
}

func newFlawedStore(f flaw) *flawedStore {
	return &flawedStore{flaw: f, users: make(map[string]*userinfo.User), owners: make(map[string]string), arrived: make(chan struct{})}
}

func (s *flawedStore) key(subject string) string {
	if s.flaw == flawFoldsSubject {
		return strings.ToLower(subject)
	}
	return subject
}

func (s *flawedStore) indexKeys(attrs map[string]any) map[string]string {
	keys := make(map[string]string)
	if e, ok := attrs["email"].(string); ok {
		if s.flaw != flawCaseSensitiveEmail {
			e = strings.ToLower(e)
		}
		keys["email"] = "e:" + e
	}
	if p, ok := attrs["phone_number"].(string); ok {
		keys["phone_number"] = "p:" + p
	}
	return keys
}

func (s *flawedStore) copyUser(u *userinfo.User) *userinfo.User {
	c := *u
	if s.flaw != flawAliasesReturned {
		c.Attributes = cloneAttrs(u.Attributes)
	}
	return &c
}

func (s *flawedStore) Put(ctx context.Context, subject string, attrs map[string]any) (*userinfo.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &userinfo.User{Subject: subject, Version: 1, UpdatedAt: time.Now(), Attributes: cloneAttrs(attrs)}
	if s.flaw == flawVersionZero {
		u.Version = 0
	}
	if old := s.users[s.key(subject)]; old != nil {
		for _, k := range s.indexKeys(old.Attributes) {
			delete(s.owners, k)
		}
	}
	for _, k := range s.indexKeys(u.Attributes) {
		s.owners[k] = subject
	}
	s.users[s.key(subject)] = u
	return s.copyUser(u), nil
}

func (s *flawedStore) GetUser(ctx context.Context, subject string) (*userinfo.User, error) {
	if s.flaw == flawBlocks {
		<-ctx.Done()
	}
	if err := ctx.Err(); err != nil && s.flaw != flawIgnoresContext {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[s.key(subject)]
	if u == nil {
		return nil, userinfo.ErrUserNotFound
	}
	return s.copyUser(u), nil
}

// duplicate returns the error for attr's index key k held by someone else.
func (s *flawedStore) duplicate(subject string, keys map[string]string) error {
	for _, attr := range []string{"email", "phone_number"} {
		if k, ok := keys[attr]; ok {
			if owner, taken := s.owners[k]; taken && owner != subject {
				if attr == "email" {
					return userinfo.ErrDuplicateEmail
				}
				return userinfo.ErrDuplicatePhoneNumber
			}
		}
	}
	return nil
}

func (s *flawedStore) UpdateUser(ctx context.Context, up userinfo.Update) (*userinfo.User, error) {
	if err := ctx.Err(); err != nil && s.flaw != flawIgnoresContext {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.users[s.key(up.Subject)]
	if cur == nil {
		if s.flaw != flawUpdateCreates {
			return nil, userinfo.ErrUserNotFound
		}
		cur = &userinfo.User{Subject: up.Subject, Version: 1, Attributes: map[string]any{}}
		s.users[s.key(up.Subject)] = cur
	}
	if up.IfVersion != 0 && up.IfVersion != cur.Version && s.flaw != flawIgnoresIfVersion {
		return nil, userinfo.ErrVersionConflict
	}
	next := cur
	if s.flaw != flawNonAtomic {
		next = s.copyUser(cur)
		next.Attributes = cloneAttrs(cur.Attributes)
	}
	if s.flaw != flawIgnoresRemove {
		for _, name := range up.Remove {
			delete(next.Attributes, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(up.Set)) {
		v := up.Set[name]
		switch {
		case s.flaw == flawFloatNumbers:
			if n, ok := v.(json.Number); ok {
				v, _ = n.Float64()
			}
		case s.flaw == flawAliasesSet:
		default:
			if m, ok := v.(map[string]any); ok {
				v = cloneAttrs(m)
			}
		}
		if s.flaw == flawNonAtomic {
			if err := s.duplicate(up.Subject, s.indexKeys(map[string]any{name: v})); err != nil {
				return nil, err
			}
		}
		next.Attributes[name] = v
	}
	oldKeys, newKeys := s.indexKeys(cur.Attributes), s.indexKeys(next.Attributes)
	if s.flaw == flawNonAtomic {
		oldKeys = nil
	}
	if err := s.duplicate(up.Subject, newKeys); err != nil {
		return nil, err
	}
	if s.flaw == flawCheckThenAct {
		// Checked; now let go of the lock before writing, as a store that
		// reads, checks and writes in separate statements does.
		s.mu.Unlock()
		switch s.updates.Add(1) {
		case 1:
			select {
			case <-s.arrived:
			case <-ctx.Done():
			}
		case 2:
			close(s.arrived)
		}
		s.mu.Lock()
	}
	if s.flaw != flawNoVersionBump {
		next.Version = cur.Version + 1
	}
	next.UpdatedAt = up.Now
	if s.flaw == flawIgnoresNow {
		next.UpdatedAt = time.Now()
	}
	if s.flaw != flawKeepsReleased {
		for _, k := range oldKeys {
			delete(s.owners, k)
		}
	}
	for _, k := range newKeys {
		s.owners[k] = up.Subject
	}
	s.users[s.key(up.Subject)] = next
	return s.copyUser(next), nil
}

// TestTestUserStoreMemory runs the kit against userinfo.MemoryStore and the
// flawless flawedStore: a correct store passes.
func TestTestUserStoreCorrect(t *testing.T) {
	t.Run("MemoryStore", func(t *testing.T) {
		TestUserStore(t, func(t testing.TB) Store { return userinfo.NewMemoryStore() })
	})
	t.Run("flawedStore without flaws", func(t *testing.T) {
		r := newRecorder(t)
		testUserStore(r, func(t testing.TB) Store { return newFlawedStore(flawNone) })
		if f := r.failures(); len(f) > 0 {
			t.Errorf("a correct store failed %v:\n%s", f, r)
		}
	})
}

// TestTestUserStoreFindsFlaws runs the kit against stores with one bug each
// and checks that the subtests meant to find the bug report it.
func TestTestUserStoreFindsFlaws(t *testing.T) {
	tests := []struct {
		name string
		flaw flaw
		// run limits the run to these subtests, when the flaw would block
		// the others; nil runs them all.
		run      []string
		wantFail []string
	}{
		{"ignores IfVersion", flawIgnoresIfVersion, nil, []string{"IfVersionConflict", "ConcurrentConditionalUpdates"}},
		{"check then act", flawCheckThenAct, []string{"ConcurrentConditionalUpdates", "UniqueEmailRace", "UniquePhoneRace"}, []string{"ConcurrentConditionalUpdates"}},
		{"check then act, email", flawCheckThenAct, []string{"UniqueEmailRace"}, []string{"UniqueEmailRace"}},
		{"check then act, phone", flawCheckThenAct, []string{"UniquePhoneRace"}, []string{"UniquePhoneRace"}},
		{"aliases returned users", flawAliasesReturned, nil, []string{"Aliasing"}},
		{"aliases Update.Set", flawAliasesSet, nil, []string{"Aliasing"}},
		{"non-atomic on failure", flawNonAtomic, nil, []string{"AtomicOnFailure"}},
		{"case-sensitive email", flawCaseSensitiveEmail, nil, []string{"DuplicateEmail", "UniqueEmailRace", "ReleasedEmailReusable", "UniqueAcrossSpellings"}},
		{"keeps released values", flawKeepsReleased, nil, []string{"ReleasedEmailReusable", "ReleasedPhoneReusable", "NullRemoval"}},
		{"ignores Remove", flawIgnoresRemove, nil, []string{"NullRemoval"}},
		{"float numbers", flawFloatNumbers, nil, []string{"RoundTrip", "ConcurrentUse"}},
		{"ignores Now", flawIgnoresNow, nil, []string{"Update", "UpdatedAt"}},
		{"no version bump", flawNoVersionBump, nil, []string{"Update", "Versions"}},
		{"version zero", flawVersionZero, nil, []string{"GetUser", "Versions"}},
		{"ignores context", flawIgnoresContext, nil, []string{"ContextCanceled"}},
		{"update creates", flawUpdateCreates, nil, []string{"NotFound"}},
		{"folds subject", flawFoldsSubject, nil, []string{"NotFound"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder(t)
			testUserStore(r, func(t testing.TB) Store { return newFlawedStore(tt.flaw) }, tt.run...)
			failed := r.failures()
			for _, want := range tt.wantFail {
				if !slices.Contains(failed, want) {
					t.Errorf("subtest %s passed a store that %s; want it to fail. Failures:\n%s", want, tt.name, r)
				}
			}
			if testing.Verbose() {
				t.Logf("findings:\n%s", r)
			}
		})
	}
}

// TestWatchdog shows that a store that blocks fails the subtest instead of
// hanging it: the watchdog cancels the context.
func TestWatchdog(t *testing.T) {
	defer func(d time.Duration) { watchdogTimeout = d }(watchdogTimeout)
	watchdogTimeout = 10 * time.Millisecond
	r := newRecorder(t)
	testUserStore(r, func(t testing.TB) Store { return newFlawedStore(flawBlocks) }, "GetUser")
	msgs := r.messages("GetUser")
	if !slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, "did not return within") }) {
		t.Errorf("a blocking store: got findings %q, want the watchdog's", msgs)
	}
	if !slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, context.Canceled.Error()) }) {
		t.Errorf("a blocking store: got findings %q, want its GetUser to fail with the canceled context", msgs)
	}
}

// TestRecorder checks the recorder itself: Fatal ends a subtest, failures
// propagate, cleanups run.
func TestRecorder(t *testing.T) {
	r := newRecorder(t)
	cleaned := false
	ok := r.Run("a", func(t tester) {
		t.Cleanup(func() { cleaned = true })
		t.Fatalf("stop %d", 1)
		panic("not reached")
	})
	if ok || !r.Failed() || !cleaned {
		t.Errorf("after Fatalf in a subtest: Run = %v, parent Failed = %v, cleaned = %v; want false, true, true", ok, r.Failed(), cleaned)
	}
	if got := r.messages("a"); len(got) != 1 || got[0] != "stop 1" {
		t.Errorf("messages(a) = %q, want [stop 1]", got)
	}
}
