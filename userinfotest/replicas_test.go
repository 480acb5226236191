package userinfotest

import (
	"testing"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/otp"
)

// Two handles on one memory store are replicas sharing their data: they
// pass. Two separate memory stores share nothing, as replicas each on a
// database of their own: both checks must catch that.
func TestTestReplicas(t *testing.T) {
	t.Run("shared", func(t *testing.T) {
		users, codes := userinfo.NewMemoryStore(), otp.NewMemoryStore()
		TestReplicas(t, []Replica{{users, codes}, {users, codes}})
	})
	t.Run("not shared", func(t *testing.T) {
		r := newRecorder(t)
		testReplicas(r, []Replica{
			{userinfo.NewMemoryStore(), otp.NewMemoryStore()},
			{userinfo.NewMemoryStore(), otp.NewMemoryStore()},
		})
		failed := r.failures()
		for _, want := range []string{"UniqueEmailAcrossReplicas", "SingleRedemptionAcrossReplicas"} {
			if !contains(failed, want) {
				t.Errorf("%s passed two replicas that share nothing. Failures:\n%s", want, r)
			}
		}
	})
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
