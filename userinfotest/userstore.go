package userinfotest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
)

// Store is a [userinfo.UserStore] that the kit can fill with users: the
// interface has no method that creates one. userinfo.MemoryStore and the
// stores of package sqlstore have Put; another store needs a small wrapper
// that adds it.
type Store interface {
	userinfo.UserStore

	// Put creates the user subject with exactly the attributes attrs, or
	// replaces the user if it exists. Stored users have a Version other
	// than 0; Put need not honour uniqueness beyond what the kit asks of it
	// (the kit never seeds two users with one email or phone number).
	Put(ctx context.Context, subject string, attrs map[string]any) (*userinfo.User, error)
}

// MakeStore returns a new, empty store for one subtest. It may use t to
// register cleanups (closing the store, dropping its database), to make
// temporary directories, or to fail or skip the test. The stores it returns
// must not share users: subtests seed the same subjects.
type MakeStore func(t testing.TB) Store

// TestUserStore checks that the stores made by newStore keep the contract
// of [userinfo.UserStore]: reads, updates, versions, conditional updates,
// the uniqueness of email addresses (ignoring case) and phone numbers under
// concurrent writers, atomicity when an update fails, removal, value round
// trips, aliasing and contexts, and, for a [userinfo.RedeemingStore], that
// codes are spent exactly with the writes that succeed; a store with the
// optional Create (create if absent) and Ping methods is held to them too. Each check is a
// subtest on a fresh store;
// failures are reported through t.
//
// Typical usage inside a test:
//
//	func TestStore(t *testing.T) {
//		userinfotest.TestUserStore(t, func(t testing.TB) userinfotest.Store {
//			return mystore.New(t.TempDir())
//		})
//	}
//
// The subtests run one after another; each uses at most a few dozen
// goroutines. Run them with -race.
func TestUserStore(t *testing.T, newStore MakeStore) {
	testUserStore(realT{t}, newStore)
}

// userChecks are the subtests of TestUserStore, in order.
var userChecks = []check[Store]{
	{"GetUser", checkGetUser},
	{"NotFound", checkNotFound},
	{"Update", checkUpdate},
	{"UpdatedAt", checkUpdatedAt},
	{"Versions", checkVersions},
	{"IfVersionConflict", checkIfVersionConflict},
	{"ConcurrentConditionalUpdates", checkConcurrentConditionalUpdates},
	{"DuplicateEmail", checkDuplicateEmail},
	{"DuplicatePhoneNumber", checkDuplicatePhoneNumber},
	{"UniqueEmailRace", func(t tester, ctx context.Context, s Store) {
		checkUniqueRace(t, ctx, s, "email", "race@example.test", userinfo.ErrDuplicateEmail)
	}},
	{"UniquePhoneRace", func(t tester, ctx context.Context, s Store) {
		checkUniqueRace(t, ctx, s, "phone_number", "13999999999", userinfo.ErrDuplicatePhoneNumber)
	}},
	{"AtomicOnFailure", checkAtomicOnFailure},
	{"NullRemoval", checkNullRemoval},
	{"ReleasedEmailReusable", checkReleasedEmailReusable},
	{"ReleasedPhoneReusable", checkReleasedPhoneReusable},
	{"RoundTrip", checkRoundTrip},
	{"Aliasing", checkAliasing},
	{"ContextCanceled", checkContextCanceled},
	{"ConcurrentUse", checkConcurrentUse},
	{"Redemptions", checkRedemptions},
	{"Swaps", checkSwaps},
	{"UniqueAcrossSpellings", checkUniqueAcrossSpellings},
	{"Create", checkCreate},
}

func testUserStore(t tester, newStore MakeStore, names ...string) {
	t.Helper()
	runChecks(t, "userinfotest.TestUserStore", newStore, userChecks, names)
}

// The times of updates: distinct, whole seconds (so that a store may keep
// seconds, milliseconds or microseconds), not UTC and not now.
var (
	time1 = time.Date(2001, 2, 3, 4, 5, 6, 0, time.FixedZone("UTC+1", 3600))
	time2 = time.Date(2002, 3, 4, 5, 6, 7, 0, time.FixedZone("UTC-7", -7*3600))
	time3 = time.Date(2003, 4, 5, 6, 7, 8, 0, time.UTC)
)

// baseAttrs returns the attributes of seeded user n: an email address and a
// phone number of its own, and a few other claims.
func baseAttrs(n int) map[string]any {
	return map[string]any{
		"email":          fmt.Sprintf("user%d@example.test", n),
		"email_verified": true,
		"phone_number":   fmt.Sprintf("136%08d", n),
		"nickname":       fmt.Sprintf("User %d", n),
		"given_name":     "Given",
		"locale":         "en-US",
	}
}

// seed puts the user subject with attrs and returns it as GetUser reads it.
func seed(t tester, ctx context.Context, s Store, subject string, attrs map[string]any) *userinfo.User {
	t.Helper()
	if _, err := s.Put(ctx, subject, cloneAttrs(attrs)); err != nil {
		t.Fatalf("Put(ctx, %q, %s): %v", subject, show(attrs), err)
	}
	u, err := s.GetUser(ctx, subject)
	if err != nil {
		t.Fatalf("GetUser(ctx, %q) after Put: %v", subject, err)
	}
	if u == nil {
		t.Fatalf("GetUser(ctx, %q) after Put: got nil user and nil error", subject)
	}
	return u
}

// get calls GetUser and fails the test on error.
func get(t tester, ctx context.Context, s Store, subject string) *userinfo.User {
	t.Helper()
	u, err := s.GetUser(ctx, subject)
	if err != nil {
		t.Fatalf("GetUser(ctx, %q): %v", subject, err)
	}
	if u == nil {
		t.Fatalf("GetUser(ctx, %q): got nil user and nil error", subject)
	}
	return u
}

// update calls UpdateUser, which must succeed, and checks the user it
// returns: subject, attributes want, a version above prev, UpdatedAt = u.Now.
// It returns the user, or nil after reporting an error.
func update(t tester, ctx context.Context, s Store, u userinfo.Update, prev uint64, want map[string]any) *userinfo.User {
	t.Helper()
	call := fmt.Sprintf("UpdateUser(ctx, %s)", showUpdate(u))
	got, err := s.UpdateUser(ctx, u)
	if err != nil {
		t.Errorf("%s: got err %v, want nil", call, err)
		return nil
	}
	if got == nil {
		t.Errorf("%s: got nil user and nil error", call)
		return nil
	}
	checkUser(t, call, got, u.Subject, want)
	if got.Version <= prev {
		t.Errorf("%s: got Version %d, want above %d (the version before)", call, got.Version, prev)
	}
	if !got.UpdatedAt.Equal(u.Now) {
		t.Errorf("%s: got UpdatedAt %v, want %v (Update.Now)", call, got.UpdatedAt, u.Now)
	}
	return got
}

// checkUser reports how u differs from the user subject with attributes
// want. It reports whether they agree.
func checkUser(t tester, call string, u *userinfo.User, subject string, want map[string]any) bool {
	t.Helper()
	ok := true
	if u.Subject != subject {
		t.Errorf("%s: got Subject %q, want %q", call, u.Subject, subject)
		ok = false
	}
	if d := diffAttrs(u.Attributes, want); d != "" {
		t.Errorf("%s: attributes differ: %s", call, d)
		ok = false
	}
	return ok
}

// unchanged checks that the user subject is still as before.
func unchanged(t tester, ctx context.Context, s Store, before *userinfo.User, why string) {
	t.Helper()
	stored(t, ctx, s, before, fmt.Sprintf("GetUser(ctx, %q) after %s", before.Subject, why), "unchanged")
}

// matches checks that GetUser returns what UpdateUser returned.
func matches(t tester, ctx context.Context, s Store, after *userinfo.User) {
	t.Helper()
	if after == nil {
		return
	}
	stored(t, ctx, s, after, fmt.Sprintf("GetUser(ctx, %q) after UpdateUser", after.Subject), "as UpdateUser returned")
}

// stored checks that GetUser returns want, reporting failures of call with
// the reason (as) that want is expected.
func stored(t tester, ctx context.Context, s Store, want *userinfo.User, call, as string) {
	t.Helper()
	u, err := s.GetUser(ctx, want.Subject)
	if err != nil {
		t.Errorf("%s: %v", call, err)
		return
	}
	checkUser(t, call, u, want.Subject, want.Attributes)
	if u.Version != want.Version {
		t.Errorf("%s: got Version %d, want %d (%s)", call, u.Version, want.Version, as)
	}
	if !u.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("%s: got UpdatedAt %v, want %v (%s)", call, u.UpdatedAt, want.UpdatedAt, as)
	}
}

// wantErr checks that err is target.
func wantErr(t tester, call string, err, target error) bool {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got err %v, want %v", call, err, target)
		return false
	}
	return true
}

func checkGetUser(t tester, ctx context.Context, s Store) {
	for _, n := range []int{1, 2} {
		sub := fmt.Sprintf("u%d", n)
		seed(t, ctx, s, sub, baseAttrs(n))
	}
	for _, n := range []int{1, 2} {
		sub := fmt.Sprintf("u%d", n)
		call := fmt.Sprintf("GetUser(ctx, %q)", sub)
		u := get(t, ctx, s, sub)
		checkUser(t, call, u, sub, baseAttrs(n))
		if u.Version == 0 {
			t.Errorf("%s: got Version 0, want a stored user's version (not 0)", call)
		}
		again := get(t, ctx, s, sub)
		if again.Version != u.Version {
			t.Errorf("%s, called twice: got Versions %d and %d, want equal", call, u.Version, again.Version)
		}
	}
}

func checkNotFound(t tester, ctx context.Context, s Store) {
	if _, err := s.GetUser(ctx, "nobody"); !errors.Is(err, userinfo.ErrUserNotFound) {
		t.Errorf("GetUser(ctx, %q) on an empty store: got err %v, want %v", "nobody", err, userinfo.ErrUserNotFound)
	}
	seed(t, ctx, s, "u1", baseAttrs(1))
	// A subject no store can hold (NUL, invalid UTF-8) is no user either,
	// never a store failure.
	for _, sub := range []string{"nobody", "U1", "u1 ", "", "u1\x00", "\x00", "u\xff1"} {
		call := fmt.Sprintf("GetUser(ctx, %q) with only %q stored", sub, "u1")
		_, err := s.GetUser(ctx, sub)
		wantErr(t, call, err, userinfo.ErrUserNotFound)
	}
	for _, sub := range []string{"nobody", "u1\x00", "u\xff1"} {
		up := userinfo.Update{Subject: sub, Set: map[string]any{"nickname": "Ghost"}, Now: time1}
		_, err := s.UpdateUser(ctx, up)
		wantErr(t, fmt.Sprintf("UpdateUser(ctx, %s)", showUpdate(up)), err, userinfo.ErrUserNotFound)
	}
	up := userinfo.Update{Subject: "nobody", IfVersion: 1, Set: map[string]any{"nickname": "Ghost"}, Now: time1}
	if _, err := s.UpdateUser(ctx, up); !errors.Is(err, userinfo.ErrUserNotFound) && !errors.Is(err, userinfo.ErrVersionConflict) {
		t.Errorf("UpdateUser(ctx, %s): got err %v, want %v or %v", showUpdate(up), err, userinfo.ErrUserNotFound, userinfo.ErrVersionConflict)
	}
	if _, err := s.GetUser(ctx, "nobody"); !errors.Is(err, userinfo.ErrUserNotFound) {
		t.Errorf("GetUser(ctx, %q) after UpdateUser of a missing user: got err %v, want %v (an update must not create a user)", "nobody", err, userinfo.ErrUserNotFound)
	}
}

func checkUpdate(t tester, ctx context.Context, s Store) {
	u1 := seed(t, ctx, s, "u1", baseAttrs(1))
	u2 := seed(t, ctx, s, "u2", baseAttrs(2))
	set := map[string]any{"nickname": "New", "family_name": "Family", "email": "changed@example.test"}
	up := userinfo.Update{Subject: "u1", Set: set, Now: time1}
	after := update(t, ctx, s, up, u1.Version, with(baseAttrs(1), set))
	matches(t, ctx, s, after)
	unchanged(t, ctx, s, u2, "an update of another user")
}

func checkUpdatedAt(t tester, ctx context.Context, s Store) {
	u := seed(t, ctx, s, "u1", baseAttrs(1))
	want := baseAttrs(1)
	// time2 is later than time1 and time3 later still; then back to time1:
	// the store records Update.Now, whatever it is.
	for i, now := range []time.Time{time2, time3, time1} {
		set := map[string]any{"nickname": fmt.Sprintf("N%d", i)}
		want = with(want, set)
		after := update(t, ctx, s, userinfo.Update{Subject: "u1", Set: set, Now: now}, u.Version, want)
		if after == nil {
			return
		}
		matches(t, ctx, s, after)
		u = after
	}
}

func checkVersions(t tester, ctx context.Context, s Store) {
	u := seed(t, ctx, s, "u1", baseAttrs(1))
	if u.Version == 0 {
		t.Errorf("GetUser(ctx, %q) after Put: got Version 0, want not 0", "u1")
	}
	want := baseAttrs(1)
	seen := map[uint64]bool{u.Version: true}
	for i := range 4 {
		set := map[string]any{"nickname": fmt.Sprintf("V%d", i)}
		want = with(want, set)
		after := update(t, ctx, s, userinfo.Update{Subject: "u1", Set: set, Now: time1}, u.Version, want)
		if after == nil {
			return
		}
		if seen[after.Version] {
			t.Errorf("UpdateUser #%d: got Version %d again, want a new version", i+1, after.Version)
		}
		seen[after.Version] = true
		matches(t, ctx, s, after)
		u = after
	}
}

func checkIfVersionConflict(t tester, ctx context.Context, s Store) {
	u := seed(t, ctx, s, "u1", baseAttrs(1))
	v0 := u.Version

	up := userinfo.Update{Subject: "u1", IfVersion: v0 + 1000, Set: map[string]any{"nickname": "Future"}, Now: time1}
	_, err := s.UpdateUser(ctx, up)
	wantErr(t, fmt.Sprintf("UpdateUser(ctx, %s) with the stored version %d", showUpdate(up), v0), err, userinfo.ErrVersionConflict)
	unchanged(t, ctx, s, u, "a version conflict")

	set := map[string]any{"nickname": "Current"}
	after := update(t, ctx, s, userinfo.Update{Subject: "u1", IfVersion: v0, Set: set, Now: time2}, v0, with(baseAttrs(1), set))
	if after == nil {
		return
	}
	matches(t, ctx, s, after)

	up = userinfo.Update{Subject: "u1", IfVersion: v0, Set: map[string]any{"nickname": "Stale"}, Remove: []string{"given_name"}, Now: time3}
	_, err = s.UpdateUser(ctx, up)
	wantErr(t, fmt.Sprintf("UpdateUser(ctx, %s) with the stored version %d", showUpdate(up), after.Version), err, userinfo.ErrVersionConflict)
	unchanged(t, ctx, s, after, "a version conflict")
}

func checkConcurrentConditionalUpdates(t tester, ctx context.Context, s Store) {
	const n = 20
	u := seed(t, ctx, s, "u1", baseAttrs(1))
	var (
		mu      sync.Mutex
		winners []int
		results = make([]*userinfo.User, n)
	)
	gate(n, func(i int) {
		up := userinfo.Update{Subject: "u1", IfVersion: u.Version, Set: map[string]any{"nickname": fmt.Sprintf("writer %d", i)}, Now: time1}
		got, err := s.UpdateUser(ctx, up)
		switch {
		case err == nil:
			mu.Lock()
			winners = append(winners, i)
			results[i] = got
			mu.Unlock()
		case !errors.Is(err, userinfo.ErrVersionConflict):
			t.Errorf("UpdateUser(ctx, %s), %d concurrent calls on one version: got err %v, want nil or %v", showUpdate(up), n, err, userinfo.ErrVersionConflict)
		}
	})
	if len(winners) != 1 {
		t.Errorf("%d concurrent UpdateUser calls with IfVersion %d: %d succeeded (writers %v), want exactly 1", n, u.Version, len(winners), winners)
		return
	}
	w := winners[0]
	got := get(t, ctx, s, "u1")
	checkUser(t, fmt.Sprintf("GetUser(ctx, %q) after the concurrent conditional updates (writer %d won)", "u1", w), got, "u1",
		with(baseAttrs(1), map[string]any{"nickname": fmt.Sprintf("writer %d", w)}))
	if results[w] != nil && got.Version != results[w].Version {
		t.Errorf("GetUser(ctx, %q) after the concurrent conditional updates: got Version %d, want %d (the winner's)", "u1", got.Version, results[w].Version)
	}
}

func checkDuplicateEmail(t tester, ctx context.Context, s Store) {
	seed(t, ctx, s, "u1", baseAttrs(1))
	u2 := seed(t, ctx, s, "u2", baseAttrs(2))
	for _, email := range []string{"user1@example.test", "USER1@EXAMPLE.TEST", "User1@Example.Test"} {
		up := userinfo.Update{Subject: "u2", Set: map[string]any{"email": email}, Now: time1}
		_, err := s.UpdateUser(ctx, up)
		wantErr(t, fmt.Sprintf("UpdateUser(ctx, %s) while u1 has %q", showUpdate(up), "user1@example.test"), err, userinfo.ErrDuplicateEmail)
		unchanged(t, ctx, s, u2, "a duplicate email")
	}
	// Its own address, in another case, is no duplicate.
	set := map[string]any{"email": "USER2@example.test"}
	after := update(t, ctx, s, userinfo.Update{Subject: "u2", Set: set, Now: time2}, u2.Version, with(baseAttrs(2), set))
	matches(t, ctx, s, after)
	// Nor is setting it again unchanged.
	if after != nil {
		after2 := update(t, ctx, s, userinfo.Update{Subject: "u2", Set: set, Now: time3}, after.Version, with(baseAttrs(2), set))
		matches(t, ctx, s, after2)
	}
}

func checkDuplicatePhoneNumber(t tester, ctx context.Context, s Store) {
	u1 := seed(t, ctx, s, "u1", baseAttrs(1))
	u2 := seed(t, ctx, s, "u2", baseAttrs(2))
	up := userinfo.Update{Subject: "u2", Set: map[string]any{"phone_number": u1.Attributes["phone_number"]}, Now: time1}
	_, err := s.UpdateUser(ctx, up)
	wantErr(t, fmt.Sprintf("UpdateUser(ctx, %s) while u1 has it", showUpdate(up)), err, userinfo.ErrDuplicatePhoneNumber)
	unchanged(t, ctx, s, u2, "a duplicate phone number")
	// Setting one's own number again is no duplicate.
	set := map[string]any{"phone_number": u2.Attributes["phone_number"], "nickname": "Same number"}
	after := update(t, ctx, s, userinfo.Update{Subject: "u2", Set: set, Now: time2}, u2.Version, with(baseAttrs(2), set))
	matches(t, ctx, s, after)
}

// caseVariant returns s in the i-th of a few letter cases.
func caseVariant(s string, i int) string {
	switch i % 3 {
	case 1:
		return strings.ToUpper(s)
	case 2:
		r := []rune(s)
		for j := 0; j < len(r); j += 2 {
			r[j] = []rune(strings.ToUpper(string(r[j])))[0]
		}
		return string(r)
	}
	return s
}

// checkUniqueRace lets n users claim one value of attr at once: exactly one
// must win, the others fail with dup.
func checkUniqueRace(t tester, ctx context.Context, s Store, attr, value string, dup error) {
	const n = 20
	before := make([]*userinfo.User, n)
	for i := range n {
		attrs := baseAttrs(100 + i)
		delete(attrs, attr)
		before[i] = seed(t, ctx, s, fmt.Sprintf("r%d", i), attrs)
	}
	var (
		mu      sync.Mutex
		winners []int
	)
	gate(n, func(i int) {
		v := value
		if attr == "email" {
			v = caseVariant(value, i)
		}
		up := userinfo.Update{Subject: fmt.Sprintf("r%d", i), Set: map[string]any{attr: v, "nickname": "claimant"}, Now: time1}
		_, err := s.UpdateUser(ctx, up)
		switch {
		case err == nil:
			mu.Lock()
			winners = append(winners, i)
			mu.Unlock()
		case !errors.Is(err, dup):
			t.Errorf("UpdateUser(ctx, %s), %d users claiming one %s at once: got err %v, want nil or %v", showUpdate(up), n, attr, err, dup)
		}
	})
	if len(winners) != 1 {
		t.Errorf("%d users claiming %s %q (in several letter cases) at once: %d succeeded (r%v), want exactly 1", n, attr, value, len(winners), winners)
	}
	var holders []string
	for i := range n {
		u := get(t, ctx, s, fmt.Sprintf("r%d", i))
		if v, ok := u.Attributes[attr].(string); ok && strings.EqualFold(v, value) {
			holders = append(holders, u.Subject)
			continue
		}
		// A loser must be unchanged: the nickname set with the claim too.
		checkUser(t, fmt.Sprintf("GetUser(ctx, %q) after its claim of %s %q failed", u.Subject, attr, value), u, u.Subject, before[i].Attributes)
	}
	if len(holders) != 1 {
		t.Errorf("after %d users claimed %s %q at once: %d users hold it (%v), want exactly 1", n, attr, value, len(holders), holders)
	}
}

func checkAtomicOnFailure(t tester, ctx context.Context, s Store) {
	u1 := seed(t, ctx, s, "u1", baseAttrs(1))
	u2 := seed(t, ctx, s, "u2", baseAttrs(2))

	ups := []struct {
		up  userinfo.Update
		err error
	}{
		{userinfo.Update{Subject: "u2", Set: map[string]any{
			"nickname": "Changed", "locale": "fr-FR", "phone_number": u1.Attributes["phone_number"],
		}, Remove: []string{"given_name"}, Now: time1}, userinfo.ErrDuplicatePhoneNumber},
		{userinfo.Update{Subject: "u2", Set: map[string]any{
			"nickname": "Changed", "email": "USER1@example.test",
		}, Remove: []string{"given_name", "phone_number"}, Now: time1}, userinfo.ErrDuplicateEmail},
		// A free email address in a change that fails on the phone number
		// must not be claimed.
		{userinfo.Update{Subject: "u2", Set: map[string]any{
			"email": "free@example.test", "phone_number": u1.Attributes["phone_number"],
		}, Now: time1}, userinfo.ErrDuplicatePhoneNumber},
		// Nor a free phone number in one that fails on the email.
		{userinfo.Update{Subject: "u2", Set: map[string]any{
			"phone_number": "13700000000", "email": "user1@EXAMPLE.test",
		}, Now: time1}, userinfo.ErrDuplicateEmail},
	}
	for _, c := range ups {
		_, err := s.UpdateUser(ctx, c.up)
		wantErr(t, fmt.Sprintf("UpdateUser(ctx, %s)", showUpdate(c.up)), err, c.err)
		unchanged(t, ctx, s, u2, "a failed update")
	}
	unchanged(t, ctx, s, u1, "failed updates of another user")

	// The free values are still free.
	u3 := seed(t, ctx, s, "u3", map[string]any{"nickname": "Three"})
	set := map[string]any{"email": "Free@example.test", "phone_number": "13700000000"}
	after := update(t, ctx, s, userinfo.Update{Subject: "u3", Set: set, Now: time2}, u3.Version, with(u3.Attributes, set))
	matches(t, ctx, s, after)
}

func checkNullRemoval(t tester, ctx context.Context, s Store) {
	u1 := seed(t, ctx, s, "u1", baseAttrs(1))
	u2 := seed(t, ctx, s, "u2", baseAttrs(2))

	set := map[string]any{"given_name": "Other"}
	up := userinfo.Update{Subject: "u1", Set: set, Remove: []string{"nickname", "no_such_attribute"}, Now: time1}
	after := update(t, ctx, s, up, u1.Version, with(baseAttrs(1), set, "nickname"))
	matches(t, ctx, s, after)
	if after == nil {
		return
	}

	// Removing the phone number and the email address frees them.
	up = userinfo.Update{Subject: "u1", Remove: []string{"phone_number", "email"}, Now: time2}
	after = update(t, ctx, s, up, after.Version, with(baseAttrs(1), set, "nickname", "phone_number", "email"))
	matches(t, ctx, s, after)
	set2 := map[string]any{"phone_number": u1.Attributes["phone_number"], "email": "USER1@example.test"}
	after2 := update(t, ctx, s, userinfo.Update{Subject: "u2", Set: set2, Now: time3}, u2.Version, with(baseAttrs(2), set2))
	matches(t, ctx, s, after2)
}

// checkReleased moves u1's attr from old to another value, then lets u2
// take old (in another case for email) and checks that u1 cannot take it
// back.
func checkReleased(t tester, ctx context.Context, s Store, attr, replacement, taken string, dup error) {
	u1 := seed(t, ctx, s, "u1", baseAttrs(1))
	u2 := seed(t, ctx, s, "u2", baseAttrs(2))
	old := u1.Attributes[attr]
	set := map[string]any{attr: replacement}
	after := update(t, ctx, s, userinfo.Update{Subject: "u1", Set: set, Now: time1}, u1.Version, with(baseAttrs(1), set))
	if after == nil {
		return
	}
	set2 := map[string]any{attr: taken}
	after2 := update(t, ctx, s, userinfo.Update{Subject: "u2", Set: set2, Now: time2}, u2.Version, with(baseAttrs(2), set2))
	matches(t, ctx, s, after2)

	up := userinfo.Update{Subject: "u1", Set: map[string]any{attr: old}, Now: time3}
	_, err := s.UpdateUser(ctx, up)
	wantErr(t, fmt.Sprintf("UpdateUser(ctx, %s) after u2 took it", showUpdate(up)), err, dup)
	unchanged(t, ctx, s, after, "a failed update")
}

func checkReleasedEmailReusable(t tester, ctx context.Context, s Store) {
	checkReleased(t, ctx, s, "email", "moved@example.test", "User1@Example.test", userinfo.ErrDuplicateEmail)
}

func checkReleasedPhoneReusable(t tester, ctx context.Context, s Store) {
	checkReleased(t, ctx, s, "phone_number", "13611111111", baseAttrs(1)["phone_number"].(string), userinfo.ErrDuplicatePhoneNumber)
}

// roundTripAttrs holds values of every kind that encoding/json decodes with
// UseNumber.
func roundTripAttrs() map[string]any {
	return map[string]any{
		"email":          "Mixed.Case+tag@Example.test",
		"email_verified": false,
		"newsletter":     true,
		"nickname":       "Zoë \"Z\" \\ 🙂 <&> \u2028 tab\tnewline\n",
		"middle_name":    "",
		"employee_id":    "0012",
		"vip_level":      json.Number("7"),
		"zero":           json.Number("0"),
		"balance":        json.Number("-3.25"),
		"large":          json.Number("9007199254740993"),
		"negative_large": json.Number("-9223372036854775808"),
		"looks_true":     "true",
		"address": map[string]any{
			"street_address": "1 Rue de la Paix\nAppt 2",
			"locality":       "Paris",
			"postal_code":    "75002",
			"country":        "FR",
		},
	}
}

func checkRoundTrip(t tester, ctx context.Context, s Store) {
	u1 := seed(t, ctx, s, "u1", roundTripAttrs())
	checkUser(t, fmt.Sprintf("GetUser(ctx, %q) after Put with values of every JSON kind", "u1"), u1, "u1", roundTripAttrs())

	u2 := seed(t, ctx, s, "u2", baseAttrs(2))
	set := roundTripAttrs()
	set["email"] = "Other+tag@Example.test"
	after := update(t, ctx, s, userinfo.Update{Subject: "u2", Set: set, Now: time1}, u2.Version, with(baseAttrs(2), set))
	matches(t, ctx, s, after)

	// An address is replaced as a whole, not merged.
	addr := map[string]any{"locality": "Lyon", "country": "FR"}
	want := with(with(baseAttrs(2), set), map[string]any{"address": addr})
	if after != nil {
		after2 := update(t, ctx, s, userinfo.Update{Subject: "u2", Set: map[string]any{"address": addr}, Now: time2}, after.Version, want)
		matches(t, ctx, s, after2)
	}
}

func checkAliasing(t tester, ctx context.Context, s Store) {
	attrs := baseAttrs(1)
	attrs["address"] = map[string]any{"locality": "Paris", "country": "FR"}
	seed(t, ctx, s, "u1", attrs)

	// The user GetUser returns is the caller's.
	u := get(t, ctx, s, "u1")
	u.Attributes["nickname"] = "Mutated"
	delete(u.Attributes, "given_name")
	if a, ok := u.Attributes["address"].(map[string]any); ok {
		a["locality"] = "Mutated"
	}
	u.Version += 100
	u = get(t, ctx, s, "u1")
	checkUser(t, fmt.Sprintf("GetUser(ctx, %q) after the caller modified the user an earlier GetUser returned", "u1"), u, "u1", attrs)

	// So is the Update: changing its maps afterwards changes nothing.
	addr := map[string]any{"locality": "Lyon", "country": "FR"}
	set := map[string]any{"nickname": "Set", "address": addr}
	up := userinfo.Update{Subject: "u1", Set: set, Now: time1}
	want := with(attrs, set)
	after := update(t, ctx, s, up, u.Version, want)
	if after == nil {
		return
	}
	set["nickname"] = "Mutated"
	set["family_name"] = "Mutated"
	addr["locality"] = "Mutated"
	u = get(t, ctx, s, "u1")
	checkUser(t, fmt.Sprintf("GetUser(ctx, %q) after the caller modified the maps of an Update it had passed to UpdateUser", "u1"), u, "u1", want)

	// And the user UpdateUser returns.
	after.Attributes["nickname"] = "Mutated"
	if a, ok := after.Attributes["address"].(map[string]any); ok {
		a["locality"] = "Mutated"
	}
	u = get(t, ctx, s, "u1")
	checkUser(t, fmt.Sprintf("GetUser(ctx, %q) after the caller modified the user UpdateUser returned", "u1"), u, "u1", want)
}

func checkContextCanceled(t tester, ctx context.Context, s Store) {
	u := seed(t, ctx, s, "u1", baseAttrs(1))
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if got, err := s.GetUser(canceled, "u1"); err == nil {
		t.Errorf("GetUser(canceled ctx, %q): got user version %d and nil error, want an error", "u1", got.Version)
	}
	up := userinfo.Update{Subject: "u1", Set: map[string]any{"nickname": "Canceled"}, Now: time1}
	if _, err := s.UpdateUser(canceled, up); err == nil {
		t.Errorf("UpdateUser(canceled ctx, %s): got nil error, want an error", showUpdate(up))
		return
	}
	unchanged(t, ctx, s, u, "UpdateUser with a canceled context failed")
}

func checkConcurrentUse(t tester, ctx context.Context, s Store) {
	const (
		users   = 3
		writers = 8
		ops     = 24
	)
	for k := range users {
		seed(t, ctx, s, fmt.Sprintf("c%d", k), baseAttrs(200+k))
	}
	var (
		mu sync.Mutex
		// last[k][g] is the last value writer g wrote to user k.
		last     [users][writers]string
		versions [users]map[uint64]int // version → writer that got it
	)
	for k := range versions {
		versions[k] = make(map[uint64]int)
	}
	gate(writers, func(g int) {
		attr := fmt.Sprintf("w%d", g)
		for i := range ops {
			k := (g + i) % users
			sub := fmt.Sprintf("c%d", k)
			val := json.Number(fmt.Sprint(i))
			var up userinfo.Update
			switch i % 3 {
			case 0:
				if _, err := s.GetUser(ctx, sub); err != nil {
					t.Errorf("GetUser(ctx, %q) among concurrent calls: %v", sub, err)
				}
				continue
			case 1:
				up = userinfo.Update{Subject: sub, Set: map[string]any{attr: val}, Now: time1}
			case 2:
				cur, err := s.GetUser(ctx, sub)
				if err != nil {
					t.Errorf("GetUser(ctx, %q) among concurrent calls: %v", sub, err)
					continue
				}
				up = userinfo.Update{Subject: sub, IfVersion: cur.Version, Set: map[string]any{attr: val}, Now: time2}
			}
			got, err := s.UpdateUser(ctx, up)
			if err != nil {
				if up.IfVersion == 0 || !errors.Is(err, userinfo.ErrVersionConflict) {
					t.Errorf("UpdateUser(ctx, %s) among concurrent calls: %v", showUpdate(up), err)
				}
				continue
			}
			mu.Lock()
			last[k][g] = string(val)
			if other, dup := versions[k][got.Version]; dup {
				t.Errorf("UpdateUser(ctx, %s) among concurrent calls: got Version %d, which writer %d's update also got; want a new version per change", showUpdate(up), got.Version, other)
			}
			versions[k][got.Version] = g
			mu.Unlock()
			if v, _ := got.Attributes[attr].(json.Number); v != val {
				t.Errorf("UpdateUser(ctx, %s) among concurrent calls: got %q: %s, want %s", showUpdate(up), attr, show(got.Attributes[attr]), val)
			}
		}
	})
	// Every writer's last value survives: no update was lost.
	for k := range users {
		sub := fmt.Sprintf("c%d", k)
		want := baseAttrs(200 + k)
		for g := range writers {
			if last[k][g] != "" {
				want[fmt.Sprintf("w%d", g)] = json.Number(last[k][g])
			}
		}
		u := get(t, ctx, s, sub)
		checkUser(t, fmt.Sprintf("GetUser(ctx, %q) after concurrent updates (a lost update?)", sub), u, sub, want)
	}
}
