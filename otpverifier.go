package userinfo

import (
	"context"
	"errors"
	"slices"
)

// Errors that an [OTPVerifier] and a [Redemption] return, wrapped or not; the
// handler tests them with errors.Is and answers bad_email_otp_token /
// bad_phone_number_otp_token and bad_email_otp / bad_phone_number_otp. Any
// other error is answered 500 server_error and nothing is written.
var (
	// ErrBadOTPToken: the otp_token is unknown, expired, already redeemed,
	// dead after too many wrong codes, or was issued for another channel,
	// target, purpose or subject.
	ErrBadOTPToken = errors.New("userinfo: bad otp_token")
	// ErrBadOTP: the otp_token is good but the code is wrong.
	ErrBadOTP = errors.New("userinfo: bad otp")
)

// Names of the OTP channels, as [OTPCheck.Channel] carries them.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
)

// Channel describes one way one-time codes reach a user and the attribute
// whose change they pay for: the one table of the channels, which the
// handler, the registry's JSON Schema and package otp all read.
type Channel struct {
	// Name is ChannelSMS or ChannelEmail.
	Name string
	// Attribute is the claim that a code of the channel pays for:
	// "phone_number" or "email".
	Attribute string
	// VerifiedClaim is the claim set to true when Attribute changes with a
	// code: "phone_number_verified" or "email_verified".
	VerifiedClaim string
	// TokenParam and CodeParam are the PATCH body's members that carry the
	// otp_token and the code: "phone_number_otp_token" and
	// "phone_number_otp", or "email_otp_token" and "email_otp".
	TokenParam, CodeParam string
	// The error codes of the channel: the address is malformed, another
	// user holds it, the otp_token is bad, the code is wrong, too many
	// codes were sent.
	MalformedCode, DuplicateCode, BadTokenCode, BadCodeCode, RateLimitCode string
}

var channels = [...]Channel{
	{
		Name: ChannelSMS, Attribute: "phone_number", VerifiedClaim: "phone_number_verified",
		TokenParam: "phone_number_otp_token", CodeParam: "phone_number_otp",
		MalformedCode: CodeMalformedPhoneNumber, DuplicateCode: CodeDuplicatePhoneNumber,
		BadTokenCode: CodeBadPhoneNumberOTPToken, BadCodeCode: CodeBadPhoneNumberOTP,
		RateLimitCode: CodeSMSRateLimitExceeded,
	},
	{
		Name: ChannelEmail, Attribute: "email", VerifiedClaim: "email_verified",
		TokenParam: "email_otp_token", CodeParam: "email_otp",
		MalformedCode: CodeMalformedEmail, DuplicateCode: CodeDuplicateEmail,
		BadTokenCode: CodeBadEmailOTPToken, BadCodeCode: CodeBadEmailOTP,
		RateLimitCode: CodeEmailRateLimitExceeded,
	},
}

// Channels returns the OTP channels: SMS (phone_number), then email. The
// caller may modify the returned slice.
func Channels() []Channel { return slices.Clone(channels[:]) }

// LookupChannel returns the channel named name, ChannelSMS or ChannelEmail.
func LookupChannel(name string) (Channel, bool) {
	for _, c := range channels {
		if c.Name == name {
			return c, true
		}
	}
	return Channel{}, false
}

// isOTPField reports whether name is one of the OTP members of a PATCH body.
func isOTPField(name string) bool {
	for _, c := range channels {
		if name == c.TokenParam || name == c.CodeParam {
			return true
		}
	}
	return false
}

// PurposeUpdateUserinfo is the purpose ("usage" in the send-OTP API) of codes
// that authorise a change of email or phone number through PATCH /userinfo.
const PurposeUpdateUserinfo = "update_userinfo"

// OTPCheck is one one-time code presented by a user.
type OTPCheck struct {
	// Subject is the user who presents the code.
	Subject string
	// Channel is ChannelEmail or ChannelSMS.
	Channel string
	// Target is the new email address or phone number, as the request sent it.
	Target string
	// Purpose is what the code must have been issued for:
	// PurposeUpdateUserinfo.
	Purpose string
	// Token is the otp_token returned when the code was sent.
	Token string
	// Code is the code the user received.
	Code string
}

// OTPVerifier checks the one-time codes that pay for changes of email
// address and phone number.
//
// The handler checks every code of a request first and spends none until
// all are good, so that a right code beside a wrong one is not lost. It then
// hands the [Redemption]s to the write: a [RedeemingStore] spends them with
// the write (in the write's own transaction where it shares one with the OTP
// service's store), any other store gets them spent right before its write.
type OTPVerifier interface {
	// CheckOTP checks c without spending the code and, when it is good,
	// returns the Redemption that spends it. Otherwise it returns
	// ErrBadOTPToken, ErrBadOTP or another error (the service failed). A
	// wrong code counts against the token's attempt limit at once, for
	// good: brute-force protection must not depend on what happens to the
	// write.
	CheckOTP(ctx context.Context, c OTPCheck) (Redemption, error)
}

// Redemption spends one code that [OTPVerifier.CheckOTP] found good.
type Redemption interface {
	// Redeem spends the code so that it can never be redeemed again, also
	// under concurrent calls and on other replicas: of two Redeems of one
	// code at most one returns nil. It returns ErrBadOTPToken when the
	// code can no longer be spent (spent meanwhile by another request), or
	// another error when the service failed.
	Redeem(ctx context.Context) error
}

// OTPVerifierFunc adapts a function to [OTPVerifier].
type OTPVerifierFunc func(ctx context.Context, c OTPCheck) (Redemption, error)

// CheckOTP calls f(ctx, c).
func (f OTPVerifierFunc) CheckOTP(ctx context.Context, c OTPCheck) (Redemption, error) {
	return f(ctx, c)
}

// RedemptionFunc adapts a function to [Redemption].
type RedemptionFunc func(ctx context.Context) error

// Redeem calls f(ctx).
func (f RedemptionFunc) Redeem(ctx context.Context) error { return f(ctx) }

// Restorer is a [Redemption] that can give back the code it spent. The
// redemptions of the reference OTP service (package otp) implement it.
type Restorer interface {
	// Restore makes the code that Redeem spent redeemable again, as it was
	// before Redeem. It is only called after a Redeem that returned nil.
	Restore(ctx context.Context) error
}

// RedeemAll spends every redemption of rs, in order, and returns the first
// error, for a [RedeemingStore] that cannot spend codes inside its
// transaction and calls it right before its write. When one fails, the
// ones it spent before are restored, where they are [Restorer]s, so that of
// the codes of one request either all are spent or none; a failed Restore
// leaves its code spent.
func RedeemAll(ctx context.Context, rs []Redemption) error {
	for i, r := range rs {
		if err := r.Redeem(ctx); err != nil {
			for _, spent := range rs[:i] {
				if rr, ok := spent.(Restorer); ok {
					_ = rr.Restore(context.WithoutCancel(ctx))
				}
			}
			return err
		}
	}
	return nil
}

// RedemptionError returns err, an error of spending the code of r, as
// r.Redeem would return it: for a [RedeemingStore] that spends a code in its
// own transaction rather than through Redeem, and finds it spent (see
// otp.InTransaction).
func RedemptionError(r Redemption, err error) error {
	if c, ok := r.(channelRedemption); ok {
		return otpError(c.ch, err)
	}
	return err
}

// channelRedemption is a redemption the handler hands to the write: its
// errors are the channel's answers.
type channelRedemption struct {
	r  Redemption
	ch Channel
}

// Redeem implements [Redemption].
func (c channelRedemption) Redeem(ctx context.Context) error {
	return otpError(c.ch, c.r.Redeem(ctx))
}

// Restore implements [Restorer] when the verifier's redemption does.
func (c channelRedemption) Restore(ctx context.Context) error {
	if rr, ok := c.r.(Restorer); ok {
		return rr.Restore(ctx)
	}
	return errors.New("userinfo: the redemption cannot be restored")
}

// Unwrap returns the verifier's redemption, so that a store that shares a
// transaction with the OTP service can recognise it.
func (c channelRedemption) Unwrap() Redemption { return c.r }

// otpError maps an error of an OTPVerifier or a Redemption of channel ch to
// its answer.
func otpError(ch Channel, err error) error {
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return err
	case errors.Is(err, ErrBadOTPToken):
		return &Error{Status: 400, Code: ch.BadTokenCode, Err: err}
	case errors.Is(err, ErrBadOTP):
		return &Error{Status: 400, Code: ch.BadCodeCode, Err: err}
	}
	return errServer(err)
}
