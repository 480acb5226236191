package otp

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ciamkit/userinfo"
)

// wrapped is a redemption wrapped as the handler wraps the ones it hands
// to a store.
type wrapped struct{ r userinfo.Redemption }

func (w wrapped) Redeem(ctx context.Context) error { return w.r.Redeem(ctx) }
func (w wrapped) Unwrap() userinfo.Redemption      { return w.r }

// InTransaction recognises the service's own redemptions, also wrapped, on
// its own store only, and its done counts a redemption as spent or spent
// meanwhile, but not one whose write failed or was refused for its own
// reasons, which leaves the code redeemable.
func TestInTransaction(t *testing.T) {
	e, _, reader := newTelemetryEnv(t)
	ctx := context.Background()
	token, code := e.send(t, "u1", userinfo.ChannelEmail, "a@x.test")
	r, err := e.svc.CheckOTP(ctx, check(token, code))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := InTransaction(ctx, r, NewMemoryStore()); ok {
		t.Error("InTransaction with another store: ok, want false")
	}
	if _, _, ok := InTransaction(ctx, userinfo.RedemptionFunc(func(context.Context) error { return nil }), e.store); ok {
		t.Error("InTransaction of a foreign redemption: ok, want false")
	}
	id, done, ok := InTransaction(ctx, wrapped{r}, e.store)
	if !ok || id != r.(*redemption).id {
		t.Fatalf("InTransaction of a wrapped redemption of the service's store: %q, %v; want its record ID, true", id, ok)
	}
	redemptions := func() string {
		var out []string
		for k, v := range sums(t, reader) {
			if strings.HasPrefix(k, "userinfo.otp.redemptions{") {
				out = append(out, fmt.Sprint(k, "=", v))
			}
		}
		return fmt.Sprint(out)
	}
	done(userinfo.ErrDuplicateEmail)
	if got := redemptions(); got != "[]" {
		t.Errorf("after a write refused as a duplicate: redemptions %s, want none counted", got)
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{ErrSpent, "userinfo.otp.redemptions{userinfo.otp.channel=email userinfo.otp.outcome=bad_token}=1"},
		{nil, "userinfo.otp.redemptions{userinfo.otp.channel=email userinfo.otp.outcome=ok}=1"},
	} {
		_, done, _ := InTransaction(ctx, r, e.store)
		done(tc.err)
		if got := redemptions(); !strings.Contains(got, tc.want) {
			t.Errorf("after done(%v): redemptions %s, want %s among them", tc.err, got, tc.want)
		}
	}
}
