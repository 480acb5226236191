package otp

import (
	"context"
	"errors"
	"fmt"

	"github.com/ciamkit/userinfo"
)

// InTransaction lets a user store that keeps its users in the same database
// as store spend codes in the transaction of its write, so that a code is
// spent if and only if the change it pays for is stored.
//
// When r is a redemption of a [Service] whose Config.Store is store (or
// wraps one, through an Unwrap() userinfo.Redemption method, as the
// redemptions that the handler passes to
// [userinfo.RedeemingStore.UpdateUserRedeeming] do), InTransaction returns
// the ID of the record to delete, ok true, and done. The user store then
// deletes the record in its write's transaction, as [Store.Delete] does,
// instead of calling r.Redeem; when no row was deleted (the code was spent
// meanwhile), it rolls back and returns
//
//	userinfo.RedemptionError(r, otp.ErrSpent)
//
// It calls done exactly once, with nil when the transaction committed and
// with the error it returns otherwise, so that the service's traces and
// metrics count the redemption: as spent, as spent meanwhile (an error
// wrapping userinfo.ErrBadOTPToken), or not at all when the write failed or
// was refused for its own reasons and the code stays redeemable.
//
// Otherwise ok is false and the store spends r with r.Redeem, as for any
// other OTP verifier.
func InTransaction(ctx context.Context, r userinfo.Redemption, store Store) (id string, done func(error), ok bool) {
	for r != nil {
		if own, is := r.(*redemption); is {
			if own.s.cfg.Store != store {
				return "", nil, false
			}
			_, span := own.s.tel.tracer.Start(ctx, "otp.redeem")
			return own.id, func(err error) {
				if err != nil && !errors.Is(err, userinfo.ErrBadOTPToken) {
					span.End() // not spent: the write's own failure or refusal
					return
				}
				outcome := checkOutcome(err)
				own.s.tel.end(ctx, span, own.s.tel.redemptions, own.channel, outcome, false)
			}, true
		}
		w, is := r.(interface{ Unwrap() userinfo.Redemption })
		if !is {
			break
		}
		r = w.Unwrap()
	}
	return "", nil, false
}

// ErrSpent is the error of spending a code that another request spent
// first; it wraps userinfo.ErrBadOTPToken. See [InTransaction].
var ErrSpent = fmt.Errorf("%w: spent concurrently", userinfo.ErrBadOTPToken)
