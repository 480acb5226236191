// Package otp is the reference [userinfo.OTPVerifier]: it issues one-time
// codes for changes of email address and phone number (POST /otp/send),
// delivers them through a [Sender], and redeems them exactly once.
//
// # Security
//
// Codes are 6 digits from crypto/rand, without modulo bias. A [Store] keeps
// only a keyed hash of each code (HMAC-SHA256 under Config.Key, a server
// secret kept out of the database), bound to the user, channel, address and
// purpose it was issued for, with a lifetime (5 minutes) and an attempt limit
// (5): every presentation counts one attempt, atomically in the store and
// committed on its own, and the code is compared, in constant time, only
// within the limit, so even concurrent guesses are bounded; a right code
// gives its attempt back ([Store.Refund]). Redemption ends with an atomic
// compare-and-delete, so a code is spent at most once, also across
// replicas. A SQL user store on the same database as the Store does that
// delete in the transaction of its write ([InTransaction]), so a code is
// spent if and only if the change it pays for is stored. Sends are throttled per address (5) and per user (10) in a
// sliding 10-minute window, answered 429 with Retry-After; a send refused
// for its address does not count against the user, so asking again for one
// address never costs the user codes for others. The otp_token is
// 128 random bits; the store holds only a hash of it. Neither codes,
// otp_tokens nor addresses are logged, and a [Message] does not print its
// code.
//
// # Wiring
//
// One Service serves both endpoints: it is the PATCH handler's
// Config.OTP, and its [Service.SendHandler] sits behind the same
// bearer-token middleware:
//
//	reg, err := userinfo.NewRegistry(userinfo.RegistryConfig{Attributes: custom})
//	svc, err := otp.New(otp.Config{
//		Store:    store,  // otp.NewMemoryStore(), or a SQL store shared by replicas
//		Sender:   sender, // the server's SMS / email gateway
//		Registry: reg,    // the rules PATCH uses too
//		Key:      key,    // the same secret on every replica
//	})
//	h, err := userinfo.New(userinfo.Config{ /* … */ Registry: reg, OTP: svc, OnUpdate: svc.NotifyOnUpdate})
//	mux.Handle("/userinfo", h)
//	mux.Handle("/otp/send", h.Authenticator().Middleware(svc.SendHandler()))
//
// [Service.NotifyOnUpdate] tells the previous address when an email address
// or phone number was replaced; a server with its own update hook calls it,
// or [Service.NotifyChanged], from there.
//
// # Replicas
//
// Every replica MUST use the same Store (a SQL store: single use and
// throttling are only as global as the store) and the same Key (codes
// issued by one replica are checked by another). Clocks should agree to
// within a second or so: expiry and throttling use the clock of the replica
// that asks.
package otp
