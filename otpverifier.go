package userinfo

import (
	"context"
	"errors"
)

// Errors that an [OTPVerifier] returns, wrapped or not; the handler tests
// them with errors.Is and answers bad_email_otp_token / bad_phone_number_otp_token
// and bad_email_otp / bad_phone_number_otp. Any other error is answered 500
// server_error and nothing is written.
var (
	// ErrBadOTPToken: the otp_token is unknown, expired, already redeemed,
	// dead after too many wrong codes, or was issued for another channel,
	// target, purpose or subject.
	ErrBadOTPToken = errors.New("userinfo: bad otp_token")
	// ErrBadOTP: the otp_token is good but the code is wrong.
	ErrBadOTP = errors.New("userinfo: bad otp")
)

// OTP channels.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
)

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

// OTPVerifier redeems one-time codes.
type OTPVerifier interface {
	// RedeemOTP checks c and, when it is good, spends the code so that it
	// can never be redeemed again, also by concurrent calls and other
	// processes. It returns nil, ErrBadOTPToken or ErrBadOTP; a wrong code
	// counts towards the token's attempt limit.
	RedeemOTP(ctx context.Context, c OTPCheck) error
}

// OTPVerifierFunc adapts a function to [OTPVerifier].
type OTPVerifierFunc func(ctx context.Context, c OTPCheck) error

// RedeemOTP calls f(ctx, c).
func (f OTPVerifierFunc) RedeemOTP(ctx context.Context, c OTPCheck) error { return f(ctx, c) }
