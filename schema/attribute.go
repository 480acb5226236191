package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ciamkit/userinfo/internal/address"
)

// Attribute describes one custom attribute of a registry, in the JSON form of
// a registry file ({"attributes": [ … ]}); [Parse] reads such a file.
//
// Every attribute is optional: a PATCH may set it, or remove it with null.
type Attribute struct {
	// Name is the claim name: 1 to 128 ASCII letters, digits, "_", ".", ":"
	// or "-", starting with a letter or "_". It must not equal a standard
	// claim or an OTP field of the request, nor another attribute's name,
	// even when compared case-insensitively ("Email" is refused), with one
	// exception: a string attribute named exactly as a standard string claim
	// (birthdate, name, nickname, locale, zoneinfo, …; not sub, email,
	// phone_number, address or the *_verified flags) refines that claim: its
	// rules are checked on top of the standard ones, and "mutable": false
	// makes the claim read-only.
	Name string `json:"name"`
	// Type is "string", "integer", "number" or "boolean". An integer is a
	// JSON number without a fractional part within the I-JSON range
	// ±(2^53−1) (RFC 7493 §2.2), which every JSON parser keeps exactly; a
	// number is an IEEE 754 double. A string never holds a control
	// character (Unicode Cc).
	Type string `json:"type"`
	// Pattern is a regular expression that the whole value must match; see
	// the package documentation for the dialect. Strings only.
	Pattern string `json:"pattern,omitempty"`
	// Format is a JSON Schema format, asserted: "date", "date-time", "time",
	// "duration", "email", "hostname", "ipv4", "ipv6", "uri",
	// "uri-reference", "iri", "iri-reference", "uri-template", "uuid",
	// "json-pointer", "relative-json-pointer" or "regex". Strings only.
	// "email" is the rule of the email claim (ASCII), and "uri" and
	// "uri-reference" RFC 3986; the generated schema states these, "date"
	// and "uuid" with explicit patterns beside the format, so that
	// validators that differ on formats still agree with the server.
	Format string `json:"format,omitempty"`
	// Enum lists the allowed values, each of the attribute's type. In Go,
	// integers and numbers may be given as any Go number or json.Number.
	Enum []any `json:"enum,omitempty"`
	// MinLength and MaxLength bound a string's length in characters
	// (Unicode code points), not bytes.
	MinLength *int `json:"min_length,omitempty"`
	MaxLength *int `json:"max_length,omitempty"`
	// Minimum and Maximum bound an integer or a number, inclusive. For an
	// integer they must lie within ±(2^53−1).
	Minimum *json.Number `json:"minimum,omitempty"`
	Maximum *json.Number `json:"maximum,omitempty"`
	// Mutable, when false, makes the attribute read-only for PATCH.
	// Default: true.
	Mutable *bool `json:"mutable,omitempty"`
	// StepUp, when true, makes every change of the attribute, null
	// included, need a recent authentication when the handler has a
	// step-up policy (RFC 9470): a stolen access token must not be enough
	// to change it. The schema's description says so. Default: false.
	StepUp bool `json:"step_up,omitempty"`
	// Description is a human description, copied into the schema.
	Description string `json:"description,omitempty"`
}

// stepUpNote ends the schema description of every step_up attribute, so
// that clients can tell them.
const stepUpNote = "Changing it requires a recent authentication (step-up)."

// IsMutable reports whether a PATCH may change the attribute: Mutable is nil
// or true.
func (a Attribute) IsMutable() bool { return a.Mutable == nil || *a.Mutable }

// Check reports whether a is a well-formed attribute on its own: a valid
// name, a known type and format, a pattern that compiles, enum values of the
// attribute's type, and bounds that make sense. [New] also checks names
// against each other and the standard claims.
func (a Attribute) Check() error {
	_, err := a.schemaNode()
	return err
}

// formats lists the values that [Attribute.Format] accepts, sorted.
var formats = []string{
	"date", "date-time", "duration", "email", "hostname", "ipv4", "ipv6", "iri", "iri-reference",
	"json-pointer", "regex", "relative-json-pointer", "time", "uri", "uri-reference", "uri-template", "uuid",
}

var namePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$`)

// schemaNode returns the JSON Schema of a's value in a PATCH body.
func (a Attribute) schemaNode() (*node, error) {
	if a.Name == "" {
		return nil, errors.New("schema: an attribute has no name")
	}
	if !namePattern.MatchString(a.Name) {
		return nil, fmt.Errorf("schema: attribute %q: a name is 1 to 128 ASCII letters, digits, '_', '.', ':' or '-', starting with a letter or '_'", a.Name)
	}
	errorf := func(format string, args ...any) error {
		return fmt.Errorf("schema: attribute %q: "+format, append([]any{a.Name}, args...)...)
	}
	switch a.Type {
	case "string", "integer", "number", "boolean":
	default:
		return nil, errorf("unknown type %q (want string, integer, number or boolean)", a.Type)
	}
	n := &node{Description: a.Description, Type: nullable(a.Type, true)}
	if a.StepUp {
		n.Description = strings.TrimSpace(n.Description + " " + stepUpNote)
	}
	isString := a.Type == "string"
	isNumber := a.Type == "integer" || a.Type == "number"
	if !isString && (a.Pattern != "" || a.Format != "" || a.MinLength != nil || a.MaxLength != nil) {
		return nil, errorf("pattern, format, min_length and max_length apply to strings only")
	}
	if !isNumber && (a.Minimum != nil || a.Maximum != nil) {
		return nil, errorf("minimum and maximum apply to integers and numbers only")
	}
	var patterns []string
	if a.Pattern != "" {
		if err := checkPattern(a.Pattern); err != nil {
			return nil, errorf("%v", err)
		}
		patterns = append(patterns, anchor(a.Pattern))
	}
	if a.Format != "" {
		if _, ok := slices.BinarySearch(formats, a.Format); !ok {
			return nil, errorf("unknown format %q", a.Format)
		}
		n.Format = a.Format
		patterns = append(patterns, formatPatterns[a.Format]...)
	}
	if isString {
		patterns = append(patterns, textPattern)
	}
	if len(patterns) > 0 {
		n.Pattern = patterns[0]
		for _, p := range patterns[1:] {
			n.AllOf = append(n.AllOf, &node{Pattern: p})
		}
	}
	if a.Format == "email" {
		n.AllOf = append(n.AllOf, &node{MaxLength: ptr(maxEmail)})
	}
	if a.MinLength != nil && *a.MinLength < 0 || a.MaxLength != nil && *a.MaxLength < 0 {
		return nil, errorf("min_length and max_length must not be negative")
	}
	if a.MinLength != nil && a.MaxLength != nil && *a.MinLength > *a.MaxLength {
		return nil, errorf("min_length %d is greater than max_length %d", *a.MinLength, *a.MaxLength)
	}
	n.MinLength, n.MaxLength = a.MinLength, a.MaxLength
	for i, b := range []*json.Number{a.Minimum, a.Maximum} {
		if b == nil {
			continue
		}
		c, ok := canonical(a.Type, *b)
		if !ok {
			return nil, errorf("%s %q is not a valid %s", [2]string{"minimum", "maximum"}[i], b.String(), a.Type)
		}
		cn := c.(json.Number)
		if i == 0 {
			n.Minimum = &cn
		} else {
			n.Maximum = &cn
		}
	}
	if a.Type == "integer" {
		for i, b := range []*json.Number{n.Minimum, n.Maximum} {
			if b != nil && !safeInteger(string(*b)) {
				return nil, errorf("%s %s is outside the I-JSON range ±(2^53−1)", [2]string{"minimum", "maximum"}[i], *b)
			}
		}
		if n.Minimum == nil {
			n.Minimum = ptr(json.Number(minSafeInteger))
		}
		if n.Maximum == nil {
			n.Maximum = ptr(json.Number(maxSafeInteger))
		}
	}
	if a.Type == "number" {
		// The finite doubles; what overflows them is refused.
		if n.Minimum == nil {
			n.Minimum = ptr(json.Number("-" + maxDouble))
		}
		if n.Maximum == nil {
			n.Maximum = ptr(json.Number(maxDouble))
		}
	}
	if n.Minimum != nil && n.Maximum != nil && greater(a.Type, *n.Minimum, *n.Maximum) {
		return nil, errorf("minimum %s is greater than maximum %s", *n.Minimum, *n.Maximum)
	}
	if a.Enum != nil {
		if len(a.Enum) == 0 {
			return nil, errorf("enum is empty")
		}
		for _, v := range a.Enum {
			c, ok := canonical(a.Type, v)
			if !ok {
				return nil, errorf("enum value %v is not a %s", v, a.Type)
			}
			if a.Type == "integer" && !safeInteger(string(c.(json.Number))) {
				return nil, errorf("enum value %v is outside the I-JSON range ±(2^53−1)", v)
			}
			if slices.Contains(n.Enum, c) {
				return nil, errorf("enum value %v is listed twice", v)
			}
			n.Enum = append(n.Enum, c)
		}
		// null removes the attribute, so it is allowed too.
		n.Enum = append(n.Enum, nil)
	}
	return n, nil
}

// canonical returns v as a value of JSON type typ in canonical form: a
// string, a bool, or a canonical json.Number. Go numbers are accepted for
// integer and number, so that registries built in Go may write Enum: []any{1, 2}.
func canonical(typ string, v any) (any, bool) {
	switch typ {
	case "string":
		s, ok := v.(string)
		return s, ok
	case "boolean":
		b, ok := v.(bool)
		return b, ok
	case "integer", "number":
		s, ok := numberString(v)
		if !ok {
			return nil, false
		}
		conv := canonicalNumber
		if typ == "integer" {
			conv = canonicalInteger
		}
		c, ok := conv(s)
		if !ok {
			return nil, false
		}
		return json.Number(c), true
	}
	return nil, false
}

// numberString returns the JSON literal of a number given as a json.Number or
// a Go number.
func numberString(v any) (string, bool) {
	switch n := v.(type) {
	case json.Number:
		return string(n), true
	case int:
		return strconv.FormatInt(int64(n), 10), true
	case int8:
		return strconv.FormatInt(int64(n), 10), true
	case int16:
		return strconv.FormatInt(int64(n), 10), true
	case int32:
		return strconv.FormatInt(int64(n), 10), true
	case int64:
		return strconv.FormatInt(n, 10), true
	case uint:
		return strconv.FormatUint(uint64(n), 10), true
	case uint8:
		return strconv.FormatUint(uint64(n), 10), true
	case uint16:
		return strconv.FormatUint(uint64(n), 10), true
	case uint32:
		return strconv.FormatUint(uint64(n), 10), true
	case uint64:
		return strconv.FormatUint(n, 10), true
	case float32:
		return strconv.FormatFloat(float64(n), 'g', -1, 32), true
	case float64:
		return strconv.FormatFloat(n, 'g', -1, 64), true
	}
	return "", false
}

// greater reports whether the canonical number x is greater than y.
func greater(typ string, x, y json.Number) bool {
	if typ == "integer" {
		a, _ := strconv.ParseInt(string(x), 10, 64)
		b, _ := strconv.ParseInt(string(y), 10, 64)
		return a > b
	}
	a, _ := strconv.ParseFloat(string(x), 64)
	b, _ := strconv.ParseFloat(string(y), 64)
	return a > b
}

// The I-JSON range of integers (RFC 7493 §2.2): ±(2^53−1).
const (
	maxSafeInteger = "9007199254740991"
	minSafeInteger = "-9007199254740991"
)

// maxDouble is the largest finite IEEE 754 double, in canonical form.
const maxDouble = "1.7976931348623157e+308"

// safeInteger reports whether the canonical integer s is within the I-JSON
// range.
func safeInteger(s string) bool {
	v, err := strconv.ParseInt(s, 10, 64)
	return err == nil && v >= -(1<<53-1) && v <= 1<<53-1
}

// formatPatterns are the patterns that state a format's rule beside it, so
// that validators that differ on formats agree with this package.
var formatPatterns = map[string][]string{
	"email":         {address.EmailPattern, address.EmailLastLabelPattern},
	"uri":           {uriPattern},
	"uri-reference": {uriReferencePattern},
	"date":          {`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`},
	"uuid":          {`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`},
}
