package sqlcommon

import (
	"context"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/otp"
)

// Codes are the redemptions that pay for one write of a SQL store, split by
// who spends them: the codes of the store's own OTP records, which the
// write's transaction deletes, and any others, which the transaction
// redeems through their Redeem after the write's checks passed.
type Codes struct {
	own     []ownCode
	foreign []userinfo.Redemption
	spent   bool // the foreign ones were redeemed, by an earlier attempt
	err     error
}

type ownCode struct {
	r    userinfo.Redemption
	id   string
	done func(error)
}

// SplitCodes sorts rs into the codes of records in store (the store's own
// OTP records, see otp.InTransaction) and the others.
func SplitCodes(ctx context.Context, rs []userinfo.Redemption, store otp.Store) *Codes {
	c := &Codes{}
	for _, r := range rs {
		if id, done, ok := otp.InTransaction(ctx, r, store); ok {
			c.own = append(c.own, ownCode{r: r, id: id, done: done})
		} else {
			c.foreign = append(c.foreign, r)
		}
	}
	return c
}

// Spend spends the codes inside a write's transaction, after the write's
// statements succeeded: it deletes each own record with del, which reports
// whether it deleted a row, and then redeems the foreign ones (only once,
// however often the transaction runs again). A code that was spent meanwhile
// is its redemption's error, which [Codes.Refused] recognises; the caller
// then rolls back.
func (c *Codes) Spend(ctx context.Context, del func(ctx context.Context, id string) (bool, error)) error {
	if c == nil {
		return nil
	}
	for _, o := range c.own {
		deleted, err := del(ctx, o.id)
		if err != nil {
			return err
		}
		if !deleted {
			c.err = userinfo.RedemptionError(o.r, otp.ErrSpent)
			return c.err
		}
	}
	if !c.spent && len(c.foreign) > 0 {
		if err := userinfo.RedeemAll(ctx, c.foreign); err != nil {
			c.err = err
			return err
		}
		c.spent = true
	}
	return nil
}

// Refused reports whether err is the error of a code that could not be
// spent, to be returned as it is.
func (c *Codes) Refused(err error) bool { return c != nil && c.err != nil && err == c.err }

// Done reports the outcome of the write to the OTP service of the own codes:
// nil when the transaction committed.
func (c *Codes) Done(err error) {
	if c == nil {
		return
	}
	for _, o := range c.own {
		o.done(err)
	}
}
