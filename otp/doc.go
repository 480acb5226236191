// Package otp is the reference [userinfo.OTPVerifier]: it issues one-time
// codes for changes of email address and phone number (POST /otp/send),
// delivers them through a [Sender], and redeems them exactly once.
//
// Codes are 6 digits from crypto/rand. A [Store] keeps only a keyed hash
// (HMAC-SHA256 with a server secret shared by every replica) of each code,
// bound to the user, channel, address and purpose it was issued for, with a
// lifetime and an attempt limit; redemption is an atomic compare-and-delete,
// so a code is spent at most once also across replicas. Sends are throttled
// per address and per user. Neither codes nor otp_tokens are ever logged.
package otp
