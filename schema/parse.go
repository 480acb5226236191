package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// MaxRegistrySize is the largest registry file that [Parse] reads.
const MaxRegistrySize = 1 << 20

// maxDepth bounds the nesting of a registry file; a valid one needs 4.
const maxDepth = 32

var attributeKeys = []string{
	"description", "enum", "format", "max_length", "maximum", "min_length", "minimum", "mutable", "name",
	"pattern", "step_up", "type",
}

// Parse reads a registry file, {"attributes": [ … ]} with one object per
// [Attribute], and checks the attributes as [New] does, except against the
// names of the OTP fields: only New knows them ([Options.OTPFields]).
//
// Parsing is strict: the input must be one JSON object of at most
// [MaxRegistrySize] bytes with no trailing data; member names match exactly
// (encoding/json would accept "NAME" for "name"; Parse does not); unknown and
// duplicated members are errors, and so is a missing "attributes" member. A
// null member counts as absent. Numbers keep their exact literal.
func Parse(r io.Reader) ([]Attribute, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxRegistrySize+1))
	if err != nil {
		return nil, fmt.Errorf("schema: reading the registry: %w", err)
	}
	if len(data) > MaxRegistrySize {
		return nil, fmt.Errorf("schema: the registry is larger than %d bytes", MaxRegistrySize)
	}
	if err := checkJSON(data); err != nil {
		return nil, fmt.Errorf("schema: the registry is not valid: %w", err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("schema: the registry is not a JSON object: %w", err)
	}
	for k := range top {
		if k != "attributes" {
			return nil, fmt.Errorf("schema: the registry has an unknown member %q", k)
		}
	}
	raw, ok := top["attributes"]
	if !ok || string(raw) == "null" {
		return nil, errors.New(`schema: the registry has no "attributes" member`)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf(`schema: "attributes" is not an array: %w`, err)
	}
	attrs := make([]Attribute, 0, len(items))
	for i, item := range items {
		a, err := parseAttribute(item)
		if err != nil {
			return nil, fmt.Errorf("schema: attributes[%d]: %w", i, err)
		}
		attrs = append(attrs, a)
	}
	if _, err := checkCustom(attrs, nil); err != nil {
		return nil, err
	}
	return attrs, nil
}

func parseAttribute(item json.RawMessage) (Attribute, error) {
	var a Attribute
	var members map[string]json.RawMessage
	if err := json.Unmarshal(item, &members); err != nil || members == nil {
		return a, errors.New("not a JSON object")
	}
	for k, v := range members {
		if _, ok := slices.BinarySearch(attributeKeys, k); !ok {
			return a, fmt.Errorf("unknown member %q", k)
		}
		// encoding/json decodes "1" into a json.Number; a bound must be
		// a JSON number.
		if (k == "minimum" || k == "maximum") && len(v) > 0 && v[0] == '"' {
			return a, fmt.Errorf("%s is a string, not a number", k)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(item))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return a, err
	}
	return a, nil
}

// checkJSON reports whether data is exactly one JSON value without duplicated
// object members, nested at most maxDepth deep. It walks the tokens without
// recursion.
func checkJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		object    bool
		expectKey bool
		keys      map[string]struct{}
	}
	var stack []*frame
	values := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if top != nil && top.object && top.expectKey {
			key := tok.(string) // the decoder only returns strings in key position
			if _, dup := top.keys[key]; dup {
				return fmt.Errorf("member %q is duplicated", key)
			}
			top.keys[key] = struct{}{}
			top.expectKey = false
			continue
		}
		if top == nil {
			values++
			if values > 1 {
				return errors.New("trailing data after the JSON value")
			}
		} else if top.object {
			top.expectKey = true
		}
		if d, ok := tok.(json.Delim); ok {
			if len(stack) >= maxDepth {
				return errors.New("nested too deeply")
			}
			stack = append(stack, &frame{object: d == '{', expectKey: d == '{', keys: map[string]struct{}{}})
		}
	}
	if values == 0 {
		return errors.New("empty input")
	}
	return nil
}

// CheckAttributes checks custom attributes as [New] does, against each
// other, the standard claims and the OTP fields otp, without generating or
// compiling a schema: for a loader that knows the OTP fields but builds the
// Set later.
func CheckAttributes(attrs []Attribute, otp []OTPField) error {
	if err := checkOTPFields(otp); err != nil {
		return err
	}
	_, err := checkCustom(attrs, otp)
	return err
}

// checkCustom checks each attribute and their names against each other, the
// standard claims and the OTP fields otp, case-insensitively. The one
// exception is a string attribute named exactly as a refinable standard claim
// (see refinableClaims): it refines that claim.
//
// It returns the schema node of each attribute, so that its patterns are
// compiled once.
func checkCustom(attrs []Attribute, otp []OTPField) ([]*node, error) {
	seen := make(map[string]string, len(attrs))
	nodes := make([]*node, len(attrs))
	for i, a := range attrs {
		n, err := a.schemaNode()
		if err != nil {
			return nil, fmt.Errorf("schema: attributes[%d]: %w", i, err)
		}
		nodes[i] = n
		folded := strings.ToLower(a.Name)
		refines := slices.Contains(refinableClaims, a.Name)
		if refines && a.Type != "string" {
			return nil, fmt.Errorf("schema: attribute %q refines the standard claim %q and must be of type string", a.Name, a.Name)
		}
		for _, s := range standardClaims {
			if strings.EqualFold(s, a.Name) && !refines {
				return nil, fmt.Errorf("schema: attribute %q clashes with the standard name %q", a.Name, s)
			}
		}
		for _, f := range otp {
			for _, s := range []string{f.Token, f.Code} {
				if strings.EqualFold(s, a.Name) {
					return nil, fmt.Errorf("schema: attribute %q clashes with the OTP field %q", a.Name, s)
				}
			}
		}
		if prev, dup := seen[folded]; dup {
			return nil, fmt.Errorf("schema: attribute %q is defined twice (also as %q)", a.Name, prev)
		}
		seen[folded] = a.Name
	}
	return nodes, nil
}

// checkOTPFields checks that fields has one entry for each claim of otpClaims
// and none for another, and that the field names are valid and distinct from
// each other and the standard claims, case-insensitively.
func checkOTPFields(fields []OTPField) error {
	seen := make(map[string]string, 2*len(fields))
	for _, c := range standardClaims {
		seen[c] = c
	}
	claims := map[string]bool{}
	for _, f := range fields {
		if _, ok := otpClaims[f.Attribute]; !ok {
			return fmt.Errorf("schema: OTP fields for %q: only email and phone_number change with a one-time code", f.Attribute)
		}
		if claims[f.Attribute] {
			return fmt.Errorf("schema: OTP fields for %q are given twice", f.Attribute)
		}
		claims[f.Attribute] = true
		for _, name := range []string{f.Token, f.Code} {
			if !namePattern.MatchString(name) {
				return fmt.Errorf("schema: OTP field %q of %q: a name is 1 to 128 ASCII letters, digits, '_', '.', ':' or '-', starting with a letter or '_'", name, f.Attribute)
			}
			folded := strings.ToLower(name)
			if prev, dup := seen[folded]; dup {
				return fmt.Errorf("schema: OTP field %q of %q clashes with %q", name, f.Attribute, prev)
			}
			seen[folded] = name
		}
	}
	for _, c := range slices.Sorted(maps.Keys(otpClaims)) {
		if !claims[c] {
			return fmt.Errorf("schema: no OTP fields for %q", c)
		}
	}
	return nil
}
