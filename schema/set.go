package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ciamkit/userinfo/internal/address"
	"github.com/ciamkit/userinfo/internal/attrjson"
)

// Errors of [Set.Validate], each wrapped in an [*AttributeError] that names
// the attribute.
var (
	// ErrMalformedPhoneNumber: phone_number breaks the phone policy.
	ErrMalformedPhoneNumber = errors.New("malformed phone number")
	// ErrMalformedEmail: email is not an email address.
	ErrMalformedEmail = errors.New("malformed email address")
	// ErrInvalidValue: any other value breaks its rule.
	ErrInvalidValue = errors.New("invalid value")
)

// AttributeError is the error of [Set.Validate]: Err, one of the Err…
// variables, applies to the attribute Name. It never holds the value.
type AttributeError struct {
	Name string
	Err  error
}

// Error returns the attribute and the error.
func (e *AttributeError) Error() string {
	return fmt.Sprintf("schema: attribute %q: %v", e.Name, e.Err)
}

// Unwrap returns Err.
func (e *AttributeError) Unwrap() error { return e.Err }

type kind uint8

const (
	readOnly kind = iota + 1
	writable
	otpField
)

// entry is one attribute of a Set.
type entry struct {
	kind     kind
	typ      string // string, integer, number, boolean or object
	nullable bool   // null (remove) is allowed
	// check is the Go-side rule of a standard string claim, or nil.
	check func(string) bool
	// stepUp: changing the attribute needs a recent authentication.
	stepUp bool
	// minimum and maximum are a custom number's bounds, or nil.
	minimum, maximum *json.Number
	// node is the JSON Schema of the value (nil for read-only attributes),
	// sch its compiled form.
	node *node
	sch  *jsonschema.Schema
}

// PhonePolicy says which phone numbers are valid: a mobile number (or a
// fixed-line-or-mobile one, libphonenumber's type for regions whose two
// kinds cannot be told apart) of one of Regions, by libphonenumber's
// metadata (github.com/nyaruka/phonenumbers). A number is given in E.164
// (+8613612345678) or in the national form of the first region
// (13612345678), with at most a single space or hyphen between two
// digits; letters ("1-800-FLOWERS") and any other character are refused.
// Valid numbers are stored and returned in E.164, so that every spelling of
// a number is one number.
//
// The zero value is Regions ["CN"], the seed's rule: the 11-digit mobile
// numbers of mainland China.
type PhonePolicy struct {
	// Regions are CLDR region codes ("CN", "US", "GB", …; any case) whose
	// numbers are accepted, or "*" for every region. The first, unless it
	// is "*", is the region whose national form is accepted; with "*"
	// first, numbers must be given in E.164. ["CN", "*"] accepts
	// 13612345678 and every region's numbers in E.164. Default: ["CN"].
	Regions []string
}

// AnyPhoneRegion, as one of PhonePolicy.Regions, accepts the numbers of
// every region.
const AnyPhoneRegion = address.AnyRegion

// Options configures [New].
type Options struct {
	// Phone is the policy of phone_number. Default: the zero PhonePolicy,
	// mainland-China mobile numbers.
	Phone PhonePolicy
	// EmailIDN, when true, accepts email addresses whose domain is an
	// internationalised domain name: the domain is mapped by UTS #46
	// (golang.org/x/net/idna, nontransitional) to its A-label form, which
	// is then the stored and compared form (a@bücher.test is stored as
	// a@xn--bcher-kva.test, and a@ｘ.test as a@x.test). Default: false,
	// ASCII addresses only.
	EmailIDN bool
	// OTPFields names the OTP fields of a PATCH body: exactly one entry for
	// email and one for phone_number, the claims that change only with a
	// one-time code. Required. The Set knows these names, lists them in the
	// schema with a dependentRequired that ties each to its claim, and
	// refuses custom attributes that take them.
	OTPFields []OTPField
	// Custom lists the custom attributes.
	Custom []Attribute
}

// OTPField names the request fields of the one-time code that confirms a new
// value of the claim Attribute: Token, the otp_token returned when the code
// was sent, and Code, the code itself. Token and Code follow the rule of
// [Attribute.Name].
type OTPField struct {
	Attribute, Token, Code string
}

// Set is a compiled set of attributes: the standard claims, the OTP fields
// and the custom attributes, the JSON Schema of a PATCH body generated from
// them, and its compiled form. It is immutable and safe for concurrent use.
type Set struct {
	entries map[string]*entry
	names   []string // attribute names, sorted; no OTP fields
	phone   *address.Phone
	idn     bool
	root    *jsonschema.Schema
	doc     []byte
}

// New returns the Set of the standard claims, opts.OTPFields and
// opts.Custom. It checks the OTP fields, and the custom attributes as [Parse]
// does and against the OTP fields; it generates the JSON Schema and compiles
// it once. A bad registry is an error here, never a failure on a request.
func New(opts Options) (*Set, error) {
	phone, err := address.NewPhone(opts.Phone.Regions)
	if err != nil {
		return nil, fmt.Errorf("schema: phone policy: %w", err)
	}
	if err := checkOTPFields(opts.OTPFields); err != nil {
		return nil, err
	}
	nodes, err := checkCustom(opts.Custom, opts.OTPFields)
	if err != nil {
		return nil, err
	}
	entries := standardEntries(phone, opts.EmailIDN, opts.OTPFields)
	for i, a := range opts.Custom {
		n := nodes[i]
		e := &entry{kind: readOnly, typ: a.Type, nullable: true, minimum: n.Minimum, maximum: n.Maximum, stepUp: a.StepUp}
		if a.IsMutable() {
			e.kind, e.node = writable, n
		}
		if std := entries[a.Name]; std != nil {
			// A refinement of a standard claim: both rules hold.
			e.check = std.check
			if e.node != nil {
				desc := n.Description
				if a.Description == "" {
					desc = strings.TrimSpace(std.node.Description + " " + n.Description)
				}
				e.node = &node{Description: desc, AllOf: []*node{std.node, n}}
			}
		}
		entries[a.Name] = e
	}
	s := &Set{entries: entries, phone: phone, idn: opts.EmailIDN}
	for name, e := range entries {
		if e.kind != otpField {
			s.names = append(s.names, name)
		}
	}
	slices.Sort(s.names)

	doc := s.document(opts.OTPFields)
	if s.doc, err = json.MarshalIndent(doc, "", "  "); err != nil {
		return nil, fmt.Errorf("schema: generating the schema: %w", err)
	}
	s.doc = append(s.doc, '\n')
	if s.root, err = compile(s.doc); err != nil {
		return nil, err
	}
	for name, e := range entries {
		if e.node == nil {
			continue
		}
		if e.sch = s.root.Properties[name]; e.sch == nil {
			return nil, fmt.Errorf("schema: attribute %q missing from the compiled schema", name)
		}
	}
	return s, nil
}

// document builds the JSON Schema of a PATCH body; otp ties each OTP field
// to its claim.
func (s *Set) document(otp []OTPField) *node {
	doc := &node{
		Schema: draft,
		Title:  "PATCH /userinfo request body",
		Description: "The attributes to change, with the OTP fields that confirm a new email address or phone number. " +
			"null removes an optional attribute. String values must not contain control characters " +
			"(line breaks are allowed only in address.formatted and address.street_address). " +
			"Read-only attributes (sub, email_verified, phone_number_verified, updated_at and immutable custom attributes) are not listed and are refused.",
		Type:                 "object",
		Properties:           map[string]*node{},
		AdditionalProperties: ptr(false),
		DependentRequired:    map[string][]string{},
	}
	for _, f := range otp {
		doc.DependentRequired[f.Attribute] = []string{f.Token, f.Code}
		doc.DependentRequired[f.Token] = []string{f.Attribute, f.Code}
		doc.DependentRequired[f.Code] = []string{f.Attribute, f.Token}
	}
	for name, e := range s.entries {
		if e.node != nil {
			doc.Properties[name] = e.node
		}
	}
	return doc
}

// schemaURL names the generated schema inside the compiler; nothing is loaded
// from it.
const schemaURL = "urn:ciamkit:userinfo:patch"

// compile compiles doc as draft 2020-12 with format assertion on, the email
// format bound to the ASCII rule of the email claim, and external loading
// off.
// The compiler is local: no global of the jsonschema package is changed.
func compile(doc []byte) (sch *jsonschema.Schema, err error) {
	defer func() {
		// The patterns were checked and jsonschema/v6 reports a bad one
		// as an error, but a panic of the library must never escape.
		if p := recover(); p != nil {
			sch, err = nil, fmt.Errorf("schema: compiling the schema: %v", p)
		}
	}()
	// Decoded as jsonschema.UnmarshalJSON does, numbers as json.Number so
	// that the bounds and enum values stay exact, on attrjson's faster
	// path (held equal to encoding/json by its fuzz targets).
	parsed, err := attrjson.DecodeObject(doc, true)
	if err != nil {
		return nil, fmt.Errorf("schema: compiling the schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	// The default loader reads file URLs; the metaschemas are built in and
	// nothing else may be loaded.
	c.UseLoader(noLoader{})
	// One compilation per distinct pattern: the pattern of a format
	// recurs in every attribute of that format.
	compiled := map[string]jsonschema.Regexp{}
	c.UseRegexpEngine(func(s string) (jsonschema.Regexp, error) {
		if re, ok := compiled[s]; ok {
			return re, nil
		}
		re, err := compileRegexp(s)
		if err == nil {
			compiled[s] = re
		}
		return re, err
	})
	c.RegisterFormat(&jsonschema.Format{Name: "email", Validate: func(v any) error {
		if s, ok := v.(string); ok && !isEmail(s) {
			return errors.New("not an email address")
		}
		return nil
	}})
	c.RegisterFormat(&jsonschema.Format{Name: "uri", Validate: func(v any) error {
		if s, ok := v.(string); ok && !uriRegexp.MatchString(s) {
			return errors.New("not an RFC 3986 URI")
		}
		return nil
	}})
	c.RegisterFormat(&jsonschema.Format{Name: "uri-reference", Validate: func(v any) error {
		if s, ok := v.(string); ok && !uriReferenceRegexp.MatchString(s) {
			return errors.New("not an RFC 3986 URI reference")
		}
		return nil
	}})
	if err := c.AddResource(schemaURL, parsed); err != nil {
		return nil, fmt.Errorf("schema: compiling the schema: %w", err)
	}
	sch, err = c.Compile(schemaURL)
	if err != nil {
		return nil, fmt.Errorf("schema: compiling the schema: %w", err)
	}
	return sch, nil
}

// noLoader refuses to load any schema.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema: no external schema may be loaded (%s)", url)
}

// JSON returns the generated JSON Schema (draft 2020-12) of a PATCH body,
// indented, with a final newline. The same Set always returns the same
// bytes; the caller may modify the returned slice.
func (s *Set) JSON() []byte { return bytes.Clone(s.doc) }

// Names returns the names of the attributes, standard and custom, read-only
// or not, sorted. The OTP fields are not attributes and are not listed.
func (s *Set) Names() []string { return slices.Clone(s.names) }

// Known reports whether name is exactly a standard claim, a custom attribute
// or an OTP field.
func (s *Set) Known(name string) bool { return s.entries[name] != nil }

// Writable reports whether a PATCH may send name: a known name other than
// sub, email_verified, phone_number_verified, updated_at and the immutable
// custom attributes. OTP fields are writable.
func (s *Set) Writable(name string) bool {
	e := s.entries[name]
	return e != nil && e.kind != readOnly
}

// StepUp reports whether changing name needs a recent authentication: a
// custom attribute marked step_up.
func (s *Set) StepUp(name string) bool {
	e := s.entries[name]
	return e != nil && e.stepUp
}

// NormalizeEmail returns addr as it is stored when it is a valid email
// address by the rule of the email claim: unchanged, or with its domain in
// A-label form when Options.EmailIDN accepts internationalised domains. It
// returns false for an invalid address.
func (s *Set) NormalizeEmail(addr string) (string, bool) {
	return address.ParseEmail(addr, s.idn)
}

// NormalizePhoneNumber returns number in E.164 when it is valid by the
// phone policy, and false otherwise.
func (s *Set) NormalizePhoneNumber(number string) (string, bool) {
	return s.phone.Parse(number)
}

// Validate performs checks 4 and 5 of the contract on body, a PATCH body
// decoded with json.Decoder.UseNumber (values string, bool, json.Number, nil,
// map[string]any, []any), and returns it normalised: integers and numbers in
// canonical form, phone_number in E.164, email in its stored form (see
// [Set.NormalizeEmail]), the address copied. nil values (null: remove the attribute)
// are kept.
//
// body must have passed checks 1 to 3, which are the caller's: every key is
// [Set.Known] and [Set.Writable], and email and phone_number are not null.
// Validate does not check them again; for a key that breaks them it returns
// some error, unspecified, and never panics.
//
// The first failure answers, as an [*AttributeError]: a phone_number that
// breaks the phone policy (ErrMalformedPhoneNumber); then an invalid email
// (ErrMalformedEmail); then the first attribute, in sorted order, whose value
// breaks its rule (ErrInvalidValue). Whether the OTP fields come in pairs
// with email and phone_number is not checked here: it depends on the user's
// current values.
func (s *Set) Validate(body map[string]any) (map[string]any, error) {
	keys := slices.Sorted(maps.Keys(body))
	out := make(map[string]any, len(body))
	if v, ok := body["phone_number"]; ok {
		n, ok := v.(string)
		if ok {
			n, ok = s.NormalizePhoneNumber(n)
		}
		if !ok {
			return nil, &AttributeError{Name: "phone_number", Err: ErrMalformedPhoneNumber}
		}
		out["phone_number"] = n
	}
	if v, ok := body["email"]; ok {
		a, ok := v.(string)
		if ok {
			a, ok = s.NormalizeEmail(a)
		}
		if !ok {
			return nil, &AttributeError{Name: "email", Err: ErrMalformedEmail}
		}
		out["email"] = a
	}
	for _, k := range keys {
		if k == "email" || k == "phone_number" {
			// Checked above, by the rules that their schemas state
			// (and, for what JSON Schema cannot say, describe).
			continue
		}
		v, ok := s.value(s.entries[k], body[k])
		if !ok {
			return nil, &AttributeError{Name: k, Err: ErrInvalidValue}
		}
		out[k] = v
	}
	return out, nil
}

// value normalises and checks one value of e.
func (s *Set) value(e *entry, v any) (any, bool) {
	if e == nil || e.sch == nil {
		// An unknown or read-only name, which checks 1 and 2 refuse
		// before Validate: no value has a rule to pass.
		return nil, false
	}
	if v == nil {
		return nil, e.nullable
	}
	var out any
	switch e.typ {
	case "string":
		str, ok := v.(string)
		if !ok || hasControl(str, false) || e.check != nil && !e.check(str) {
			return nil, false
		}
		out = str
	case "integer", "number":
		n, ok := v.(json.Number)
		if !ok {
			return nil, false
		}
		if out, ok = canonical(e.typ, n); !ok {
			return nil, false
		}
		// The schema checks the bounds on the value rounded to a
		// double; the literal must be within them exactly, too.
		if e.minimum != nil {
			if c, ok := compareExact(string(n), string(*e.minimum)); !ok || c < 0 {
				return nil, false
			}
		}
		if e.maximum != nil {
			if c, ok := compareExact(string(n), string(*e.maximum)); !ok || c > 0 {
				return nil, false
			}
		}
	case "boolean":
		b, ok := v.(bool)
		if !ok {
			return nil, false
		}
		out = b
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		c := make(map[string]any, len(m))
		for k, mv := range m {
			lines, known := addressMembers[k]
			str, ok := mv.(string)
			if !known || !ok || hasControl(str, lines) {
				return nil, false
			}
			c[k] = str
		}
		out = c
	default:
		return nil, false
	}
	if !valid(e.sch, out) {
		return nil, false
	}
	return out, true
}

// valid reports whether v, a normalised value, is valid by sch. jsonschema/v6
// panics on a few raw values (a json.Number that math/big cannot parse, such
// as 0e99999999999999999999, checked against a minimum or maximum);
// normalised values never reach it, and a panic is still a refusal here,
// never a crash.
func valid(sch *jsonschema.Schema, v any) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return sch.Validate(v) == nil
}
