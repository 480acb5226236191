package userinfo

import (
	"context"
	"slices"
)

// Access says what a [ClaimsPolicy] is asked about: releasing a claim in a
// response, or letting a client write an attribute.
type Access int

const (
	// ReleaseClaim is releasing a claim in a response of GET or PATCH
	// /userinfo.
	ReleaseClaim Access = iota
	// WriteAttribute is changing an attribute through PATCH /userinfo.
	WriteAttribute
)

// ClaimsPolicy decides, per caller, which claims responses release and which
// attributes a client may write. "sub" is always released whatever the
// policy says; attributes that are never writable ("sub", "email_verified",
// "phone_number_verified", "updated_at", immutable custom attributes) stay
// so whatever it says.
//
// A policy is asked once per claim per request, so it should answer from
// memory.
type ClaimsPolicy interface {
	// Allow reports whether p may have access to the claim.
	Allow(ctx context.Context, p *Principal, access Access, claim string) bool
}

// ClaimsPolicyFunc adapts a function to [ClaimsPolicy].
type ClaimsPolicyFunc func(ctx context.Context, p *Principal, access Access, claim string) bool

// Allow calls f(ctx, p, access, claim).
func (f ClaimsPolicyFunc) Allow(ctx context.Context, p *Principal, access Access, claim string) bool {
	return f(ctx, p, access, claim)
}

// AllClaims releases every claim and lets every client write every writable
// attribute. It is the default policy.
var AllClaims ClaimsPolicy = ClaimsPolicyFunc(func(context.Context, *Principal, Access, string) bool { return true })

// StaticClaims releases only the named claims (and "sub") to everyone and
// leaves writing unrestricted.
func StaticClaims(claims ...string) ClaimsPolicy {
	set := setOf(claims)
	return ClaimsPolicyFunc(func(_ context.Context, _ *Principal, access Access, claim string) bool {
		return access == WriteAttribute || set[claim]
	})
}

// ClientClaims is what one client may read and write, as an application's
// "Claims" configuration in identity services.
type ClientClaims struct {
	// Read lists the claims released to the client.
	Read []string
	// Write lists the attributes the client may change.
	Write []string
}

// PerClient decides by the principal's ClientID: a client in clients gets its
// lists; any other client gets fallback, or nothing but "sub" and no writes
// when fallback is nil.
func PerClient(clients map[string]ClientClaims, fallback ClaimsPolicy) ClaimsPolicy {
	type sets struct{ read, write map[string]bool }
	bySet := make(map[string]sets, len(clients))
	for id, c := range clients {
		bySet[id] = sets{setOf(c.Read), setOf(c.Write)}
	}
	return ClaimsPolicyFunc(func(ctx context.Context, p *Principal, access Access, claim string) bool {
		s, ok := bySet[p.ClientID]
		if !ok {
			return fallback != nil && fallback.Allow(ctx, p, access, claim)
		}
		if access == WriteAttribute {
			return s.write[claim]
		}
		return s.read[claim]
	})
}

// scopeClaims are the claims of the OpenID Connect Core 1.0 §5.4 scopes.
var scopeClaims = map[string][]string{
	"profile": {"name", "family_name", "given_name", "middle_name", "nickname", "preferred_username",
		"profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at"},
	"email":   {"email", "email_verified"},
	"address": {"address"},
	"phone":   {"phone_number", "phone_number_verified"},
}

// ByScope releases the claims of the token's scopes as OpenID Connect Core
// 1.0 §5.4 defines them (profile, email, address, phone), plus the claims
// that extra maps to further scopes (for custom attributes, say
// {"employee": {"employee_id", "department"}}). Writing follows reading: a
// client may change what its token's scopes release.
func ByScope(extra map[string][]string) ClaimsPolicy {
	byClaim := make(map[string][]string)
	for _, m := range []map[string][]string{scopeClaims, extra} {
		for scope, claims := range m {
			for _, c := range claims {
				byClaim[c] = append(byClaim[c], scope)
			}
		}
	}
	return ClaimsPolicyFunc(func(_ context.Context, p *Principal, _ Access, claim string) bool {
		return slices.ContainsFunc(byClaim[claim], p.HasScope)
	})
}

func setOf(names []string) map[string]bool {
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	return set
}
