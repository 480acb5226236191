// Package accesstoken verifies OAuth 2.0 access tokens for the
// [userinfo.Authenticator]: each verifier here is a [userinfo.TokenVerifier]
// that turns a token into a [userinfo.Principal] or refuses it with an error
// wrapping [userinfo.ErrInvalidToken].
//
//   - [NewJWTVerifier] checks JWT access tokens (RFC 7519, RFC 9068) against
//     a [KeySet]: a fixed one ([NewStaticKeySet], [ReadKeySetFile]) or one
//     fetched from a URL or by OpenID Connect discovery and kept fresh
//     ([NewRemoteKeySet]).
//   - [NewIntrospectionVerifier] asks the authorization server about opaque
//     tokens (RFC 7662).
//   - [NewDPoPVerifier] checks DPoP proofs (RFC 9449) for
//     [userinfo.Authenticator.DPoP]: a [userinfo.ProofVerifier] that returns
//     the thumbprint of the proof's key, which the token's cnf.jkt must
//     equal, and remembers each proof in a [userinfo.ReplayStore].
//   - [NewCache] remembers what another verifier accepted, for no longer
//     than the token's expiry, its own MaxAge and the MaxAge the verifier
//     behind allows.
//
// The JWT verifier checks "iss" and "aud", the introspection verifier
// "aud" (and "iss" when configured), unless the configuration skips a check
// by name (SkipIssuerCheck, SkipAudienceCheck): a verifier without them is a
// construction error.
//
// It is a package of its own so that a program that brings its own
// TokenVerifier does not link the JOSE library these verifiers use.
package accesstoken
