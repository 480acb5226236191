package accesstoken

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ciamkit/userinfo"
)

// claimRules are what a verifier requires of the claims of a token it has
// verified, beyond its times: the issuer and the audience.
type claimRules struct {
	issuer   string   // when set, "iss" must equal it
	audience []string // when set, "aud" must hold one of them
}

// principal is the one place claims become a [userinfo.Principal], for JWTs
// and introspection responses alike. It checks "iss" and "aud" as r says and
// requires "sub", a non-empty string. The principal has that subject; the
// client "client_id", else "azp"; the scopes of "scope" (a string, split at
// U+0020 spaces alone) then of "scp" (an array of strings), each once; expiry, the
// token's "exp" that the caller parsed and checked (zero when the token has
// none); the authentication time "auth_time" (a number) and class "acr" (a
// string), for step-up; the key the token is bound to, "cnf"."jkt" (RFC 9449
// §6); and claims itself, not copied. An "auth_time" or "cnf" of the wrong
// type makes the token invalid: a bound token must not pass as an unbound
// one.
func (r *claimRules) principal(claims map[string]any, expiry time.Time) (*userinfo.Principal, error) {
	if r.issuer != "" {
		if iss, _ := claims["iss"].(string); iss != r.issuer {
			return nil, errTokenIssuer
		}
	}
	if len(r.audience) > 0 && !audienceMatches(r.audience, claims["aud"]) {
		return nil, errTokenAudience
	}
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return nil, errTokenSubject
	}
	p := &userinfo.Principal{Subject: sub, Expiry: expiry, Claims: claims}
	p.Scopes = appendScopes(appendScopes(nil, claims["scope"]), claims["scp"])
	if p.ClientID, _ = claims["client_id"].(string); p.ClientID == "" {
		p.ClientID, _ = claims["azp"].(string)
	}
	if raw, ok := claims["auth_time"]; ok {
		at, ok := raw.(float64)
		if !ok {
			return nil, errTokenClaimType
		}
		p.AuthTime = numericDate(at)
	}
	p.ACR, _ = claims["acr"].(string)
	if raw, ok := claims["cnf"]; ok {
		cnf, ok := raw.(map[string]any)
		jkt, okJKT := cnf["jkt"].(string)
		if _, has := cnf["jkt"]; !ok || (has && (!okJKT || jkt == "")) {
			return nil, errTokenClaimType
		}
		p.JKT = jkt
	}
	return p, nil
}

// audienceMatches reports whether the "aud" claim aud, a string or an array
// of strings, holds one of want.
func audienceMatches(want []string, aud any) bool {
	switch aud := aud.(type) {
	case string:
		return slices.Contains(want, aud)
	case []any:
		for _, a := range aud {
			if s, ok := a.(string); ok && slices.Contains(want, s) {
				return true
			}
		}
	}
	return false
}

// appendScopes appends the scopes of a "scope" or "scp" claim that scopes
// does not hold yet: a string split at U+0020 spaces (RFC 6749 §3.3), or an
// array of strings, whose empty strings are skipped. Other values add
// nothing.
func appendScopes(scopes []string, claim any) []string {
	switch c := claim.(type) {
	case string:
		// RFC 6749 §3.3: scope tokens are delimited by U+0020 alone; a
		// tab or a no-break space is part of a token.
		for s := range strings.SplitSeq(c, " ") {
			if s != "" && !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
	case []any:
		for _, e := range c {
			if s, ok := e.(string); ok && s != "" && !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
	}
	return scopes
}

// maxNumericDate is 9999-12-31T23:59:59Z; later dates are clamped to it.
const maxNumericDate = 253402300799

// numericDate converts an RFC 7519 NumericDate (seconds, possibly
// fractional) to a time, clamped to years 0001 to 9999.
func numericDate(f float64) time.Time {
	switch {
	case f > maxNumericDate:
		f = maxNumericDate
	case f < -62135596800:
		f = -62135596800
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}
