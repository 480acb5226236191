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

// PhonePolicy says which phone numbers are valid, by libphonenumber's
// metadata: mobile (or fixed-line-or-mobile) numbers of its regions, given
// in E.164 or in the national form of the first region, stored and returned
// in E.164. The zero value accepts the numbers of mainland China ("CN"),
// the seed's rule; see [schema.PhonePolicy].
type PhonePolicy = schema.PhonePolicy

// AnyPhoneRegion, as one of PhonePolicy.Regions, accepts the numbers of
// every region.
const AnyPhoneRegion = schema.AnyPhoneRegion

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
	// ours (the Channel table): check the attributes against them, without
	// compiling a schema that NewRegistry will compile anyway.
	if err := schema.CheckAttributes(attrs, otpSchemaFields()); err != nil {
		return nil, fmt.Errorf("userinfo: attribute registry: %w", err)
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
// ("en_US" is refused); email the HTML standard's valid e-mail address
// (ASCII; at most 254 characters; a domain of at least two labels of at most
// 63 characters, the last not all digits; internationalised domains mapped
// to A-labels with [RegistryConfig.EmailIDN]); phone_number the
// [PhonePolicy], stored in E.164; address an object of the string members formatted,
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
	// Phone is the policy of phone numbers. Default: the zero PhonePolicy,
	// the mobile numbers of mainland China.
	Phone PhonePolicy
	// EmailIDN, when true, accepts email addresses with an
	// internationalised domain name and stores them with the domain in
	// A-label form (UTS #46): a@bücher.test becomes a@xn--bcher-kva.test,
	// the form that uniqueness, the OTP's binding and the send limits then
	// compare. Default: false, ASCII addresses only.
	EmailIDN bool
}

// NewRegistry builds the registry of the standard claims and the custom
// attributes of cfg. It generates the JSON Schema of a PATCH body and
// compiles it once. A bad custom attribute (no or a bad name, a name that
// equals a standard claim, an OTP field or another attribute even
// case-insensitively, an unknown type or format, a pattern that does not
// compile, enum values of the wrong type, minimum above maximum, …) or a bad
// phone policy (an unknown region, one listed twice) is an error here, never
// a failure on a request.
//
// Build it once and give the same value to the handler ([Config.Registry])
// and to the OTP service, so that both apply the same rules.
func NewRegistry(cfg RegistryConfig) (*Registry, error) {
	set, err := schema.New(schema.Options{Phone: cfg.Phone, EmailIDN: cfg.EmailIDN, OTPFields: otpSchemaFields(), Custom: cfg.Attributes})
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
// the rules of PATCH /userinfo; see [Registry.NormalizeAddress].
func (r *Registry) CheckAddress(channel, target string) error {
	_, err := r.NormalizeAddress(channel, target)
	return err
}

// NormalizeAddress returns target as it is stored when it is a valid address
// of the channel by the rules of PATCH /userinfo: for ChannelSMS a phone
// number of the [PhonePolicy], in E.164 (13612345678 becomes
// +8613612345678); for ChannelEmail an email address, unchanged or, with
// [RegistryConfig.EmailIDN], with its domain in A-label form. Two addresses
// whose stored forms are equal ignoring ASCII case are one address for
// uniqueness, the OTP's binding and the send limits.
//
// Otherwise it returns an *Error: the channel's malformed_email or
// malformed_phone_number, or invalid_request for an unknown channel. The
// OTP service checks, binds and throttles the addresses it sends codes to
// with it.
func (r *Registry) NormalizeAddress(channel, target string) (string, error) {
	var (
		out string
		ok  bool
	)
	switch channel {
	case ChannelEmail:
		out, ok = r.set.NormalizeEmail(target)
	case ChannelSMS:
		out, ok = r.set.NormalizePhoneNumber(target)
	default:
		return "", errInvalidRequest("Unknown channel.")
	}
	if ok {
		return out, nil
	}
	ch, _ := LookupChannel(channel)
	return "", errBadRequest(ch.MalformedCode, "")
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
// not fit is illegal_parameter_value), phone_number in E.164, email in its
// stored form ([Registry.NormalizeAddress]), the address copied, null kept
// (it removes the attribute).
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
