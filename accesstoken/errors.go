package accesstoken

import "github.com/ciamkit/userinfo"

// tokenError is a refusal of a token: it is a userinfo.ErrInvalidToken with a
// reason for logs. The reasons are fixed texts, never token content.
type tokenError struct{ reason string }

func (e *tokenError) Error() string        { return "accesstoken: invalid access token: " + e.reason }
func (e *tokenError) Is(target error) bool { return target == userinfo.ErrInvalidToken }

var (
	errTokenTooLarge    = &tokenError{"token exceeds the size limit"}
	errTokenJWE         = &tokenError{"encrypted tokens (JWE) are not accepted"}
	errTokenJSON        = &tokenError{"the JWS JSON serialisation is not accepted"}
	errTokenMalformed   = &tokenError{"not a JWS in compact serialisation"}
	errTokenBase64      = &tokenError{"a segment is not unpadded base64url"}
	errTokenHeader      = &tokenError{"the protected header is not a JSON object"}
	errTokenAlg         = &tokenError{"the algorithm is not allowed"}
	errTokenCrit        = &tokenError{"critical header parameters are not supported"}
	errTokenB64         = &tokenError{"unencoded payloads are not accepted"}
	errTokenNested      = &tokenError{"nested or non-JWT payloads (cty) are not accepted"}
	errTokenTyp         = &tokenError{"the header typ is not at+jwt"}
	errTokenUnknownKey  = &tokenError{"no key matches the kid"}
	errTokenKeyAlg      = &tokenError{"no key of the kid is for this algorithm"}
	errTokenSignature   = &tokenError{"the signature does not verify"}
	errTokenClaims      = &tokenError{"the claims are not a JSON object"}
	errTokenExpMissing  = &tokenError{"exp is missing or not a positive number"}
	errTokenExpired     = &tokenError{"the token has expired"}
	errTokenNbf         = &tokenError{"nbf is not a number"}
	errTokenNotYetValid = &tokenError{"the token is not valid yet"}
	errTokenIat         = &tokenError{"iat is not a number or in the future"}
	errTokenIssuer      = &tokenError{"iss does not match"}
	errTokenAudience    = &tokenError{"aud does not match"}
	errTokenSubject     = &tokenError{"sub is missing or not a string"}
	errTokenClaimType   = &tokenError{"auth_time or cnf is of the wrong type"}
	errTokenInactive    = &tokenError{"the token is not active"}
	errTokenNotAccess   = &tokenError{"the token is not an access token"}
)
