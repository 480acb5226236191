package schema

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // zoneinfo is checked against the embedded IANA database

	"golang.org/x/text/language"

	"github.com/ciamkit/userinfo/internal/address"
)

// Lengths, in characters, of the standard claims.
const (
	maxText      = 256  // names, nickname, gender, address lines
	maxLongText  = 1024 // address.formatted, address.street_address
	maxURL       = 2048 // profile, picture, website
	maxEmail     = address.MaxEmailLen
	maxZoneinfo  = 64
	maxLocale    = 64
	maxOTP       = 256
	textPattern  = `^[^\x00-\x1f\x7f-\x9f]*$`
	linesPattern = `^[^\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]*$` // also CR and LF
)

// Read-only standard claims.
var readOnlyClaims = []string{"email_verified", "phone_number_verified", "sub", "updated_at"}

// standardClaims are the standard claims (OpenID Connect Core 1.0 §5.1). A
// custom attribute may not take their names, nor those of the OTP fields
// ([Options.OTPFields]).
var standardClaims = []string{
	"address", "birthdate", "email", "email_verified", "family_name", "gender", "given_name", "locale",
	"middle_name", "name", "nickname", "phone_number", "phone_number_verified", "picture",
	"preferred_username", "profile", "sub", "updated_at", "website", "zoneinfo",
}

// otpClaims are the standard claims that change only with a one-time code,
// each with its description (completed with the names of its OTP fields)
// and the medium that the code is sent by, for the OTP fields' descriptions.
var otpClaims = map[string]struct{ desc, medium string }{
	"email":        {"Email address. Changing it requires %s and %s; it cannot be removed.", "email"},
	"phone_number": {"Mobile phone number. Changing it requires %s and %s; it cannot be removed.", "SMS"},
}

// refinableClaims are the standard string claims that a registry may
// refine: an attribute of type string with the claim's name adds its rules
// (pattern, format, enum, lengths) to the standard rule, or makes the claim
// read-only with "mutable": false. The other standard claims (sub, email,
// phone_number, the *_verified flags, updated_at, address) and the OTP fields
// keep their meaning and may not be redefined.
var refinableClaims = []string{
	"birthdate", "family_name", "gender", "given_name", "locale", "middle_name", "name", "nickname",
	"picture", "preferred_username", "profile", "website", "zoneinfo",
}

// addressMembers are the members of the address claim (OIDC Core §5.1.1);
// the value says whether the member may hold line breaks.
var addressMembers = map[string]bool{
	"formatted": true, "street_address": true, "locality": false, "region": false, "postal_code": false,
	"country": false,
}

// standardEntries returns the JSON Schemas of the writable standard claims
// and the OTP fields, with their Go-side checks. otp must have passed
// checkOTPFields.
func standardEntries(phone *address.Phone, idn bool, otp []OTPField) map[string]*entry {
	text := func(desc string) *entry {
		return &entry{typ: "string", nullable: true, node: &node{
			Description: desc, Type: nullable("string", true), Pattern: textPattern, MaxLength: ptr(maxText),
		}}
	}
	link := func(desc string) *entry {
		return &entry{typ: "string", nullable: true, node: &node{
			Description: desc, Type: nullable("string", true), Pattern: httpURLPattern, MaxLength: ptr(maxURL),
		}}
	}
	otpEntry := func(desc string) *entry {
		return &entry{typ: "string", kind: otpField, node: &node{
			Description: desc, Type: "string", Pattern: textPattern, MinLength: ptr(1), MaxLength: ptr(maxOTP), WriteOnly: true,
		}}
	}
	addr := &node{
		Description:          "Preferred postal address (OpenID Connect Core 1.0 §5.1.1). It replaces the whole stored address.",
		Type:                 nullable("object", true),
		Properties:           map[string]*node{},
		AdditionalProperties: ptr(false),
	}
	for m, lines := range addressMembers {
		n := &node{Type: "string", Pattern: textPattern, MaxLength: ptr(maxText)}
		if lines {
			n.Pattern, n.MaxLength = linesPattern, ptr(maxLongText)
		}
		addr.Properties[m] = n
	}
	addr.Properties["formatted"].Description = "Full mailing address; lines are separated by \"\\n\" or \"\\r\\n\"."
	addr.Properties["street_address"].Description = "Street address; lines are separated by \"\\n\" or \"\\r\\n\"."
	addr.Properties["country"].Description = "Country name."
	entries := map[string]*entry{
		"name":               text("Full name."),
		"given_name":         text("Given name(s) or first name(s)."),
		"family_name":        text("Surname(s) or last name(s)."),
		"middle_name":        text("Middle name(s)."),
		"nickname":           text("Casual name."),
		"preferred_username": text("Shorthand name by which the user wishes to be referred to."),
		"gender":             text(`Gender: "female", "male" or another value.`),
		"profile":            link("Profile page URL: an absolute http or https URI (RFC 3986) with a host."),
		"picture":            link("Profile picture URL: an absolute http or https URI (RFC 3986) with a host."),
		"website":            link("Web page or blog URL: an absolute http or https URI (RFC 3986) with a host."),
		"birthdate": {typ: "string", nullable: true, check: isBirthdate, node: &node{
			Description: "Birthday: YYYY-MM-DD, 0000-MM-DD when the year is withheld, or YYYY alone; a real calendar date (which JSON Schema cannot state; the server checks it).",
			Type:        nullable("string", true),
			Pattern:     `^[0-9]{4}(?:-[0-9]{2}-[0-9]{2})?$`,
		}},
		"zoneinfo": {typ: "string", nullable: true, check: isZoneinfo, node: &node{
			Description: "Time zone: a name of the IANA time zone database, such as Asia/Shanghai or Europe/Paris (which JSON Schema cannot state; the server checks it against its embedded copy of the database).",
			Type:        nullable("string", true),
			Pattern:     `^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*$`,
			MaxLength:   ptr(maxZoneinfo),
		}},
		"locale": {typ: "string", nullable: true, check: isLocale, node: &node{
			Description: "Locale: a well-formed and valid BCP 47 language tag with hyphens, such as zh-CN or en-US (validity, which JSON Schema cannot state, is checked by the server).",
			Type:        nullable("string", true),
			Pattern:     `^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$`,
			MaxLength:   ptr(maxLocale),
		}},
		"email":        {typ: "string", node: emailNode(idn)},
		"phone_number": {typ: "string", node: phoneNode(phone)},
		"address":      {typ: "object", nullable: true, node: addr},
	}
	for _, f := range otp {
		c := otpClaims[f.Attribute]
		n := entries[f.Attribute].node
		n.Description = fmt.Sprintf(c.desc, f.Token, f.Code) + " " + n.Description
		entries[f.Token] = otpEntry(fmt.Sprintf("The otp_token returned when the %s verification code was sent.", c.medium))
		entries[f.Code] = otpEntry(fmt.Sprintf("The verification code received by %s.", c.medium))
	}
	for _, e := range entries {
		if e.kind == 0 {
			e.kind = writable
		}
	}
	for _, name := range readOnlyClaims {
		entries[name] = &entry{kind: readOnly}
	}
	return entries
}

// emailNode returns the schema of the email claim: the rule of
// address.ParseEmail, in patterns and a length.
func emailNode(idn bool) *node {
	if idn {
		return &node{
			Type: "string",
			AllOf: []*node{
				{Pattern: address.EmailIDNPattern},
				{Pattern: textPattern},
			},
			Description: "The HTML standard's valid e-mail address with an ASCII local part; the domain may be " +
				"internationalised: it is mapped by UTS #46 (nontransitional) to its A-label form, which is stored " +
				"and returned, and which must have at most 254 characters in all and at least two labels of at most " +
				"63 characters, the last not all digits. JSON Schema cannot state the UTS #46 mapping. " +
				"Addresses are compared ignoring ASCII case.",
		}
	}
	return &node{
		Type:      "string",
		MaxLength: ptr(maxEmail),
		AllOf: []*node{
			{Pattern: address.EmailPattern},
			{Pattern: address.EmailLastLabelPattern},
		},
		Description: "The HTML standard's valid e-mail address, ASCII only (no quoted local parts, comments or IP literals), " +
			"of at most 254 characters, with a domain of at least two labels of at most 63 characters, the last not all digits. " +
			"Addresses are compared ignoring ASCII case.",
	}
}

// phoneNode returns the schema of the phone_number claim: the accepted
// spellings in a pattern, and the validity by libphonenumber's metadata in
// the description, which JSON Schema cannot state.
func phoneNode(p *address.Phone) *node {
	var where string
	regions := strings.ReplaceAll(strings.Join(p.Regions(), ", "), address.AnyRegion, "any region")
	if p.National() != "" {
		where = fmt.Sprintf("given in E.164 (+8613612345678) or in the national form of %s", p.National())
	} else {
		where = "given in E.164 (+8613612345678)"
	}
	pattern := address.PhonePattern
	if p.National() == "" {
		pattern = address.PhoneE164Pattern
	}
	return &node{
		Type:    "string",
		Pattern: pattern,
		Description: fmt.Sprintf("A mobile (or fixed-line-or-mobile) number of the regions %s by libphonenumber's metadata, %s; "+
			"a single space or hyphen may separate two digits. It is stored and returned in E.164. "+
			"JSON Schema cannot state libphonenumber's validity.", regions, where),
	}
}

// isBirthdate reports whether s is an OIDC birthdate: a real date
// YYYY-MM-DD, 0000-MM-DD (year withheld; February 29 allowed) or YYYY other
// than 0000.
func isBirthdate(s string) bool {
	switch len(s) {
	case 4:
		if s == "0000" {
			return false
		}
		for i := range 4 {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
		return true
	case 10:
		// Year 0000 is a leap year in the proleptic Gregorian calendar,
		// so 0000-02-29 is accepted, as a withheld year should allow.
		_, err := time.Parse(time.DateOnly, s)
		return err == nil
	}
	return false
}

var zonePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*$`)

// knownZones caches the time zone names found valid; it holds at most the
// few hundred names of the database, never request input that failed.
var knownZones sync.Map

// isZoneinfo reports whether s names a zone of the IANA time zone database.
// "Local", "", relative paths and the database's auxiliary files are refused.
func isZoneinfo(s string) bool {
	if _, ok := knownZones.Load(s); ok {
		return true
	}
	if len(s) > maxZoneinfo || !zonePattern.MatchString(s) {
		return false
	}
	switch first, _, _ := strings.Cut(s, "/"); first {
	case "Local", "localtime", "posix", "posixrules", "right", "Factory":
		return false
	}
	if _, err := time.LoadLocation(s); err != nil {
		return false
	}
	knownZones.Store(s, struct{}{})
	return true
}

var localePattern = regexp.MustCompile(`^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$`)

// isLocale reports whether s is a well-formed and valid BCP 47 language tag
// written with hyphens (OIDC Core §5.1); "en_US" is refused.
func isLocale(s string) bool {
	if len(s) > maxLocale || !localePattern.MatchString(s) {
		return false
	}
	_, err := language.Parse(s)
	return err == nil
}

// hasControl reports whether s holds a control character (Unicode Cc: C0, DEL
// or C1); with lines, CR and LF are allowed.
func hasControl(s string, lines bool) bool {
	for _, r := range s {
		if r < 0x20 || r >= 0x7f && r <= 0x9f {
			if lines && (r == '\n' || r == '\r') {
				continue
			}
			return true
		}
	}
	return false
}
