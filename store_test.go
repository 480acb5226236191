package userinfo_test

import (
	"testing"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/otp"
	"github.com/ciamkit/userinfo/userinfotest"
)

// The MemoryStore keeps the UserStore contract, its optional
// RedeemingStore, Create and Ping included.
func TestMemoryStore(t *testing.T) {
	userinfotest.TestUserStore(t, func(testing.TB) userinfotest.Store { return userinfo.NewMemoryStore() })
}

func TestMemoryStoreExactlyOnce(t *testing.T) {
	userinfotest.TestExactlyOnce(t, func(testing.TB) (userinfotest.Store, otp.Store) {
		return userinfo.NewMemoryStore(), otp.NewMemoryStore()
	})
}
