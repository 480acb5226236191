package userinfo

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/ciamkit/userinfo/schema"
)

// Attribute describes one custom attribute; see [schema.Attribute]. A
// registry file is read with [ParseAttributes].
type Attribute = schema.Attribute

// PhoneRule says which phone numbers are valid.
type PhoneRule int

const (
	// PhoneMainlandChina accepts the seed's 11-digit mainland-China mobile
	// numbers: ^1[3-9][0-9]{9}$, such as 13612345678. It is the default.
	PhoneMainlandChina PhoneRule = iota
	// PhoneE164 accepts E.164 numbers: "+", a country code that does not
	// start with 0, and 7 to 15 digits in all, such as +8613612345678.
	PhoneE164
)

// The patterns of the phone rules, for schema.Options.PhonePattern.
const (
	phoneMainlandChinaPattern = `^1[3-9][0-9]{9}$`
	phoneE164Pattern          = `^\+[1-9][0-9]{6,14}$`
)

// ParseAttributes reads a registry file of custom attributes,
// {"attributes": [{"name": "employee_id", "type": "string", …}, …]}, as the
// contract describes it, and checks each attribute as [NewRegistry] does.
// Parsing is strict: unknown or duplicated members, member names in another
// case, trailing data and files over [schema.MaxRegistrySize] are errors. See
// [schema.Parse].
func ParseAttributes(r io.Reader) ([]Attribute, error) {
	attrs, err := schema.Parse(r)
	if err != nil {
		return nil, err
	}
	// schema.Parse does not know the names of the OTP fields, which are
	// ours (the Channel table); the registry checks the attributes against
	// them.
	if _, err := NewRegistry(RegistryConfig{Attributes: attrs}); err != nil {
		return nil, err
	}
	return attrs, nil
}

// Registry is the set of attributes a user has: the standard claims of OpenID
// Connect Core 1.0 §5.1 and the server's custom attributes, with their rules
// and the JSON Schema of a PATCH body generated from them. It is immutable
// and safe for concurrent use.
//
// The rules of the standard claims: name, given_name, family_name,
// middle_name, nickname, preferred_username and gender are strings of at most
// 256 characters; profile, picture and website absolute http or https URLs;
// birthdate YYYY-MM-DD, 0000-MM-DD or YYYY; zoneinfo a zone of the IANA
// database (embedded in the program); locale a BCP 47 tag with hyphens
// ("en_US" is refused); email an address by validator/v10's rule; phone_number
// the [PhoneRule]; address an object of the string members formatted,
// street_address, locality, region, postal_code and country. No string may
// hold a control character, except line breaks in address.formatted and
// address.street_address. sub, email_verified, phone_number_verified and
// updated_at are read-only.
type Registry struct {
	set *schema.Set
}

// RegistryConfig configures [NewRegistry]. The zero value is the standard
// claims with the default rules.
type RegistryConfig struct {
	// Attributes are the server's custom attributes ([ParseAttributes]
	// reads them from a registry file).
	Attributes []Attribute
	// Phone is the rule for phone numbers. Default: PhoneMainlandChina.
	Phone PhoneRule
}

// NewRegistry builds the registry of the standard claims and the custom
// attributes of cfg. It generates the JSON Schema of a PATCH body and
// compiles it once. A bad custom attribute (no or a bad name, a name that
// equals a standard claim, an OTP field or another attribute even
// case-insensitively, an unknown type or format, a pattern that does not
// compile, enum values of the wrong type, minimum above maximum, …) or an
// unknown phone rule is an error here, never a failure on a request.
//
// Build it once and give the same value to the handler ([Config.Registry])
// and to the OTP service, so that both apply the same rules.
func NewRegistry(cfg RegistryConfig) (*Registry, error) {
	var pattern string
	switch cfg.Phone {
	case PhoneMainlandChina:
		pattern = phoneMainlandChinaPattern
	case PhoneE164:
		pattern = phoneE164Pattern
	default:
		return nil, fmt.Errorf("userinfo: unknown phone rule %d", cfg.Phone)
	}
	set, err := schema.New(schema.Options{PhonePattern: pattern, OTPFields: otpSchemaFields(), Custom: cfg.Attributes})
	if err != nil {
		return nil, fmt.Errorf("userinfo: attribute registry: %w", err)
	}
	return &Registry{set: set}, nil
}

// otpSchemaFields returns the OTP fields of the request for the schema, from
// the Channel table.
func otpSchemaFields() []schema.OTPField {
	fields := make([]schema.OTPField, 0, len(channels))
	for _, c := range channels {
		fields = append(fields, schema.OTPField{Attribute: c.Attribute, Token: c.TokenParam, Code: c.CodeParam})
	}
	return fields
}

// Schema returns the generated JSON Schema (draft 2020-12) of a PATCH body:
// an object whose properties are the writable attributes and the OTP fields,
// with additionalProperties false, null allowed for every optional attribute
// and every custom pattern anchored. Read-only attributes are not listed: a
// PATCH may not send them. The bytes are the same on every call; the caller
// may modify them.
func (r *Registry) Schema() []byte { return r.set.JSON() }

// Names returns the names of the attributes, standard and custom, read-only
// or not, sorted. The OTP fields of the request are not attributes.
func (r *Registry) Names() []string { return r.set.Names() }

// CheckAddress returns nil if target is a valid address of the channel by
// the rules of PATCH /userinfo: an email address for ChannelEmail, a phone
// number for ChannelSMS. Otherwise it returns an *Error: the channel's
// malformed_email or malformed_phone_number, or invalid_request for an
// unknown channel. The OTP service checks the addresses it sends codes to
// with it.
func (r *Registry) CheckAddress(channel, target string) error {
	var ok bool
	switch channel {
	case ChannelEmail:
		ok = r.set.CheckEmail(target)
	case ChannelSMS:
		ok = r.set.CheckPhoneNumber(target)
	default:
		return errInvalidRequest("Unknown channel.")
	}
	if ok {
		return nil
	}
	ch, _ := LookupChannel(channel)
	return errBadRequest(ch.MalformedCode, "")
}

// known reports whether name is exactly a standard claim, a custom attribute
// or an OTP request field ("EMAIL" and "ſub" are unknown).
func (r *Registry) known(name string) bool { return r.set.Known(name) }

// stepUp reports whether changing name needs a recent authentication: a
// custom attribute marked step_up.
func (r *Registry) stepUp(name string) bool { return r.set.StepUp(name) }

// writable reports whether a PATCH may send name: a known name other than
// sub, email_verified, phone_number_verified, updated_at and the immutable
// custom attributes. The OTP fields are writable.
func (r *Registry) writable(name string) bool { return r.set.Writable(name) }

// validate performs checks 4 and 5 of the contract on body, a PATCH body
// decoded with json.Decoder.UseNumber that passed checks 1 to 3, and returns
// it normalised: integers and numbers in canonical form (a number that does
// not fit is illegal_parameter_value), the address copied, null kept (it
// removes the attribute).
//
// The error is an *Error: malformed_phone_number, else malformed_email, else
// illegal_parameter_value naming the first offending attribute in sorted
// order (the value is never echoed). Checks 1 to 3 are the handler's and are
// not repeated: a body that did not pass them gets an unspecified answer.
func (r *Registry) validate(body map[string]any) (map[string]any, error) {
	out, err := r.set.Validate(body)
	if err == nil {
		return out, nil
	}
	var ae *schema.AttributeError
	if !errors.As(err, &ae) {
		return nil, errServer(err)
	}
	switch {
	case errors.Is(ae.Err, schema.ErrMalformedPhoneNumber):
		return nil, errBadRequest(CodeMalformedPhoneNumber, "")
	case errors.Is(ae.Err, schema.ErrMalformedEmail):
		return nil, errBadRequest(CodeMalformedEmail, "")
	}
	return nil, &Error{
		Status:      http.StatusBadRequest,
		Code:        CodeIllegalParameterValue,
		Description: fmt.Sprintf("Invalid value for attribute %q.", ae.Name),
		Err:         err,
	}
}
