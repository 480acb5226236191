// Package schema describes the attributes of a user for PATCH /userinfo: the
// standard claims of OpenID Connect Core 1.0 §5.1, the one-time-password
// fields of the request, and a server's custom attributes. From them it
// generates one JSON Schema (draft 2020-12) of a PATCH body, compiles it once
// with github.com/santhosh-tekuri/jsonschema/v6, and validates request values
// with it and with the Go checks that JSON Schema cannot express (an IANA
// time zone, a BCP 47 language tag, a calendar date, a phone number by
// libphonenumber's metadata, an internationalised email domain by UTS #46),
// which the schema's descriptions state instead.
//
// The caller gives the phone policy, the email option and the names of the
// one-time-password fields ([Options]). [Set.Validate] checks values (checks 4 and 5 of the
// contract of PATCH /userinfo); refusing unknown and read-only names and a
// null email or phone_number (checks 1 to 3) is the caller's job, with
// [Set.Known] and [Set.Writable].
//
// The package userinfo wraps a [Set] in its Registry, passes its phone policy
// and OTP fields, runs checks 1 to 3 in its handler and turns the errors of
// [Set.Validate] into the responses of the API; most programs use that and
// only load a registry file here with [Parse].
//
// # Regular expressions
//
// JSON Schema patterns are ECMA-262 regular expressions; this package compiles
// them with Go's regexp (RE2). A registry pattern must compile with Go's
// regexp, and constructs that ECMA-262 does not know (inline flags such as
// (?i), \A, \z, \Q…\E, (?P<name>…), [[:alpha:]], \pL, \x{…}) are refused so
// that other validators of the published schema read the pattern the same
// way. A pattern must match the whole value: the generated schema anchors it
// as ^(?:pattern)$ unless it is already anchored at both ends. Two differences
// remain and are accepted: \s and "." treat a few Unicode line and space
// characters differently in the two dialects.
package schema
