package userinfotest_test

import (
	"testing"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/userinfotest"
)

// TestMemoryStore runs the kit against the package's in-memory store, as a
// store author runs it against theirs.
func TestMemoryStore(t *testing.T) {
	userinfotest.TestUserStore(t, func(t testing.TB) userinfotest.Store { return userinfo.NewMemoryStore() })
}
