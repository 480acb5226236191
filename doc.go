// Package userinfo gives a Go identity server a self-service profile update
// endpoint, PATCH /userinfo, and the OpenID Connect GET /userinfo beside it.
//
// A logged-in user sends an OAuth 2.0 bearer access token with the openid
// scope and a JSON object of the attributes to change:
//
//	PATCH /userinfo HTTP/1.1
//	Authorization: Bearer ACCESS_TOKEN_WITH_OPENID_SCOPE
//	Content-Type: application/json
//
//	{"nickname": "MOCK_NICKNAME"}
//
// and gets back the claims that the server's policy releases:
//
//	HTTP/1.1 200 OK
//	Content-Type: application/json
//	Cache-Control: no-store
//	ETag: "7"
//
//	{"sub": "MOCK_USER_ID", "nickname": "MOCK_NICKNAME", …}
//
// # The request path
//
// A PATCH goes through these steps; the first that fails answers, and
// nothing is written unless every step passed:
//
//	Authorization header ─▶ Authenticator ─▶ TokenVerifier (signature, exp, iss, aud) ─▶ scope "openid"
//	   │ 400 invalid_request / 401 invalid_token / 403 insufficient_scope, with WWW-Authenticate
//	Content-Type, size, one strict JSON object          415 / 413 / 400 invalid_request (ReadJSONObject)
//	UserStore.GetUser                                   404 user_not_found
//	1. every key known to the Registry                  400 "Unknown attribute(s) found."
//	2. every key writable (registry, ClaimsPolicy)      400 "Unsupported user attribute(s) found."
//	3. email / phone_number come with their OTP fields  400 invalid_request, illegal_parameter_value
//	4. address formats                                  malformed_email, malformed_phone_number
//	5. every value against its rule (JSON Schema)       illegal_parameter_value
//	   If-Match against the user's version               412 precondition_failed
//	6. OTPVerifier.CheckOTP, every code before any      bad_*_otp_token, bad_*_otp
//	   is spent
//	7./8. UserStore.UpdateUser: one atomic write,       duplicate_email, duplicate_phone_number
//	   uniqueness by the store; the codes' Redemptions
//	   spent with it (RedeemingStore) or right before
//	Config.OnUpdate, then the claims the ClaimsPolicy releases
//
// Errors are *Error values written by [WriteError] as
// {"error": …, "error_description": …}; a failing or panicking plug-in is
// answered 500 server_error without details. Every handler of the module
// serves through [Endpoint], the one place that recovers, writes errors and
// logs them.
//
// # Plug-in points
//
//   - [TokenVerifier] checks access tokens: package accesstoken verifies
//     JWTs signed by keys of a JWK Set, or asks an introspection endpoint
//     about opaque tokens, and caches what it verified.
//   - [UserStore] reads and changes users: [MemoryStore] here, PostgreSQL
//     and SQLite in package sqlstore; package userinfotest checks any
//     implementation.
//   - [OTPVerifier] checks the one-time codes that email and phone changes
//     need and hands back [Redemption]s that the write spends; package otp
//     issues, sends and redeems them. The [Channel] table names each
//     channel's fields and error codes.
//   - [ClaimsPolicy] decides which claims are released and which a client
//     may write: [AllClaims], [StaticClaims], [PerClient], [ByScope].
//   - The [Registry] of standard claims and custom [Attribute]s, built once
//     by [NewRegistry] and shared with the OTP service, whose JSON Schema
//     [Handler.SchemaHandler] serves.
package userinfo
