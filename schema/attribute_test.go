package schema

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestNewRejectsBadRegistries(t *testing.T) {
	num := func(s string) *json.Number { n := json.Number(s); return &n }
	length := func(n int) *int { return &n }
	str := func(name string) Attribute { return Attribute{Name: name, Type: "string"} }
	tests := []struct {
		name  string
		attrs []Attribute
	}{
		{"empty name", []Attribute{str("")}},
		{"name with a space", []Attribute{str("employee id")}},
		{"name with a slash", []Attribute{str("a/b")}},
		{"non-ASCII name", []Attribute{str("ſub")}},
		{"name starting with a digit", []Attribute{str("1st")}},
		{"name too long", []Attribute{str(strings.Repeat("a", 129))}},
		{"standard claim", []Attribute{str("email")}},
		{"standard claim, read-only", []Attribute{{Name: "sub", Type: "string", Mutable: new(bool)}}},
		{"standard claim in another case", []Attribute{str("Email")}},
		{"standard claim refined with another type", []Attribute{{Name: "birthdate", Type: "integer"}}},
		{"standard claim refined in another case", []Attribute{{Name: "Birthdate", Type: "string", Format: "date"}}},
		{"standard claim address refined", []Attribute{{Name: "address", Type: "string"}}},
		{"standard claim phone_number refined", []Attribute{{Name: "phone_number", Type: "string", Pattern: "^1[0-9]{10}$"}}},
		{"OTP field", []Attribute{str("email_otp")}},
		{"OTP field in another case", []Attribute{str("PHONE_NUMBER_OTP_TOKEN")}},
		{"duplicate", []Attribute{str("x"), str("x")}},
		{"duplicate in another case", []Attribute{str("dept"), str("Dept")}},
		{"no type", []Attribute{{Name: "x"}}},
		{"unknown type", []Attribute{{Name: "x", Type: "date"}}},
		{"type array", []Attribute{{Name: "x", Type: "array"}}},
		{"type in another case", []Attribute{{Name: "x", Type: "String"}}},
		{"unknown format", []Attribute{{Name: "x", Type: "string", Format: "phone"}}},
		{"format not asserted by jsonschema", []Attribute{{Name: "x", Type: "string", Format: "idn-email"}}},
		{"format on an integer", []Attribute{{Name: "x", Type: "integer", Format: "date"}}},
		{"invalid regex", []Attribute{{Name: "x", Type: "string", Pattern: "["}}},
		{"lookahead", []Attribute{{Name: "x", Type: "string", Pattern: "^(?=a)"}}},
		{"backreference", []Attribute{{Name: "x", Type: "string", Pattern: `(a)\1`}}},
		{"inline flag", []Attribute{{Name: "x", Type: "string", Pattern: `(?i)^e[0-9]+$`}}},
		{"pattern on a boolean", []Attribute{{Name: "x", Type: "boolean", Pattern: "true"}}},
		{"min_length on a number", []Attribute{{Name: "x", Type: "number", MinLength: length(1)}}},
		{"negative min_length", []Attribute{{Name: "x", Type: "string", MinLength: length(-1)}}},
		{"min_length above max_length", []Attribute{{Name: "x", Type: "string", MinLength: length(3), MaxLength: length(2)}}},
		{"minimum on a string", []Attribute{{Name: "x", Type: "string", Minimum: num("1")}}},
		{"minimum above maximum", []Attribute{{Name: "x", Type: "integer", Minimum: num("10"), Maximum: num("9")}}},
		{"minimum above maximum near int64 max", []Attribute{{Name: "x", Type: "integer", Minimum: num("9223372036854775807"), Maximum: num("9223372036854775806")}}},
		{"number minimum above maximum", []Attribute{{Name: "x", Type: "number", Minimum: num("1.5"), Maximum: num("1.25")}}},
		{"fractional integer bound", []Attribute{{Name: "x", Type: "integer", Maximum: num("9.5")}}},
		{"huge bound", []Attribute{{Name: "x", Type: "number", Maximum: num("1e400")}}},
		{"bound not a number", []Attribute{{Name: "x", Type: "number", Minimum: num("abc")}}},
		{"empty enum", []Attribute{{Name: "x", Type: "string", Enum: []any{}}}},
		{"enum of the wrong type", []Attribute{{Name: "x", Type: "string", Enum: []any{"a", json.Number("1")}}}},
		{"integer enum with a string", []Attribute{{Name: "x", Type: "integer", Enum: []any{"1"}}}},
		{"integer enum with a fraction", []Attribute{{Name: "x", Type: "integer", Enum: []any{1.5}}}},
		{"number enum with NaN", []Attribute{{Name: "x", Type: "number", Enum: []any{math.NaN()}}}},
		{"number enum with Inf", []Attribute{{Name: "x", Type: "number", Enum: []any{math.Inf(1)}}}},
		{"boolean enum with a string", []Attribute{{Name: "x", Type: "boolean", Enum: []any{"true"}}}},
		{"enum with null", []Attribute{{Name: "x", Type: "string", Enum: []any{"a", nil}}}},
		{"enum with an object", []Attribute{{Name: "x", Type: "string", Enum: []any{map[string]any{}}}}},
		{"duplicate enum", []Attribute{{Name: "x", Type: "integer", Enum: []any{1, json.Number("1.0")}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := newSet(Options{Custom: tt.attrs})
			if err == nil || s != nil {
				t.Fatalf("New(%+v) = %v, %v; want an error", tt.attrs, s, err)
			}
			if !strings.HasPrefix(err.Error(), "schema: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if len(tt.attrs) == 1 && tt.attrs[0].Check() == nil && !strings.Contains(tt.name, "claim") && !strings.Contains(tt.name, "OTP") {
				t.Errorf("Check accepts %+v", tt.attrs[0])
			}
		})
	}
}

func TestNewAcceptsGoRegistries(t *testing.T) {
	yes := true
	attrs := []Attribute{
		{Name: "level", Type: "integer", Enum: []any{1, int64(2), uint8(3), 4.0, json.Number("5")}},
		{Name: "ratio", Type: "number", Enum: []any{0.5, float32(0.25), 1}},
		{Name: "flag", Type: "boolean", Enum: []any{true}},
		{Name: "_internal.code:v2-x", Type: "string", Mutable: &yes},
		{Name: "empty_enum_nil", Type: "string", Enum: nil},
	}
	s, err := newSet(Options{Custom: attrs})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		body string
		ok   bool
	}{
		{`{"level":4}`, true},
		{`{"level":6}`, false},
		{`{"ratio":0.25}`, true},
		{`{"ratio":0.3}`, false},
		{`{"flag":true}`, true},
		{`{"flag":false}`, false},
		{`{"_internal.code:v2-x":"a"}`, true},
	} {
		if _, err := s.Validate(decode(t, tt.body)); (err == nil) != tt.ok {
			t.Errorf("Validate(%s) = %v, want ok %v", tt.body, err, tt.ok)
		}
	}
}

func TestParse(t *testing.T) {
	const good = `{"attributes": [
  {"name": "employee_id", "type": "string", "pattern": "^E[0-9]{6}$"},
  {"name": "vip_level", "type": "integer", "minimum": 0, "maximum": 9.0, "mutable": false, "description": "VIP"},
  {"name": "score", "type": "number", "minimum": 0.10, "mutable": null}
]}`
	attrs, err := Parse(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(attrs) != 3 || attrs[0].Pattern != "^E[0-9]{6}$" || attrs[1].IsMutable() || attrs[1].Description != "VIP" || !attrs[2].IsMutable() {
		t.Errorf("Parse = %+v", attrs)
	}
	if attrs[2].Minimum == nil || *attrs[2].Minimum != "0.10" || *attrs[1].Maximum != "9.0" {
		t.Errorf("Parse did not keep the number literals: %+v", attrs)
	}
	if attrs, err := Parse(strings.NewReader(`{"attributes": []}`)); err != nil || len(attrs) != 0 {
		t.Errorf("Parse(empty list) = %v, %v", attrs, err)
	}

	bad := []struct{ name, file string }{
		{"empty", ``},
		{"not JSON", `attributes`},
		{"array", `[]`},
		{"null", `null`},
		{"no attributes", `{}`},
		{"attributes null", `{"attributes": null}`},
		{"attributes not a list", `{"attributes": {}}`},
		{"unknown top member", `{"attributes": [], "version": 1}`},
		{"top member in another case", `{"Attributes": []}`},
		{"duplicate top member", `{"attributes": [], "attributes": []}`},
		{"trailing data", `{"attributes": []} x`},
		{"two objects", `{"attributes": []}{"attributes": []}`},
		{"truncated", `{"attributes": [`},
		{"attribute not an object", `{"attributes": ["x"]}`},
		{"attribute null", `{"attributes": [null]}`},
		{"unknown member", `{"attributes": [{"name": "x", "type": "string", "required": true}]}`},
		{"member in another case", `{"attributes": [{"NAME": "x", "type": "string"}]}`},
		{"camelCase member", `{"attributes": [{"name": "x", "type": "string", "maxLength": 3}]}`},
		{"duplicate member", `{"attributes": [{"name": "x", "name": "y", "type": "string"}]}`},
		{"name not a string", `{"attributes": [{"name": 1, "type": "string"}]}`},
		{"mutable not a bool", `{"attributes": [{"name": "x", "type": "string", "mutable": "no"}]}`},
		{"max_length fractional", `{"attributes": [{"name": "x", "type": "string", "max_length": 1.5}]}`},
		{"max_length huge", `{"attributes": [{"name": "x", "type": "string", "max_length": 1e400}]}`},
		{"minimum a string", `{"attributes": [{"name": "x", "type": "integer", "minimum": "1"}]}`},
		{"bad attribute", `{"attributes": [{"name": "x", "type": "text"}]}`},
		{"clash", `{"attributes": [{"name": "email", "type": "string"}]}`},
		{"duplicate attribute", `{"attributes": [{"name": "x", "type": "string"}, {"name": "x", "type": "boolean"}]}`},
		{"deeply nested", `{"attributes": [{"name": "x", "type": "string", "enum": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}]}`},
		{"too large", `{"attributes": [], "pad": "` + strings.Repeat(" ", MaxRegistrySize) + `"}`},
		{"invalid UTF-8 name", "{\"attributes\": [{\"name\": \"\xff\", \"type\": \"string\"}]}"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if attrs, err := Parse(strings.NewReader(tt.file)); err == nil {
				t.Errorf("Parse(%.80s) = %+v, want an error", tt.file, attrs)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"attributes": [{"name": "employee_id", "type": "string", "pattern": "^E[0-9]{6}$"}]}`))
	f.Add([]byte(`{"attributes": [{"name": "vip", "type": "integer", "minimum": 0, "maximum": 9, "mutable": false}]}`))
	f.Add([]byte(`{"attributes": [{"name": "d", "type": "string", "enum": ["a", "b"], "format": "date"}]}`))
	f.Add([]byte(`{"attributes": [{"name": "n", "type": "number", "enum": [1e400]}]}`))
	f.Add([]byte(`{"attributes": [{"name": "p", "type": "string", "pattern": "(?i)x"}]}`))
	f.Add([]byte(`{"attributes": [], "attributes": []}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		attrs, err := Parse(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		// What Parse accepts, New accepts, unless an attribute takes the
		// name of an OTP field, which only New knows.
		for _, a := range attrs {
			for _, f := range testOTPFields {
				if strings.EqualFold(a.Name, f.Token) || strings.EqualFold(a.Name, f.Code) {
					return
				}
			}
		}
		if _, err := newSet(Options{Custom: attrs}); err != nil {
			t.Fatalf("Parse accepted %q but New fails: %v", data, err)
		}
	})
}

func TestTablesSorted(t *testing.T) {
	for name, list := range map[string][]string{"formats": formats, "attributeKeys": attributeKeys, "readOnlyClaims": readOnlyClaims} {
		if !slices.IsSorted(list) {
			t.Errorf("%s is not sorted; binary search fails: %v", name, list)
		}
	}
}

// TestFormatsAsserted checks that every format a registry may name is
// asserted, not just annotated: jsonschema/v6 knows it (or the compiler binds
// it, as email), so a value that breaks it is refused and one that keeps it
// is not.
func TestFormatsAsserted(t *testing.T) {
	tests := []struct{ format, good, bad string }{
		{"date", "2024-02-29", "2024-02-30"},
		{"date-time", "2024-01-01T00:00:00Z", "2024-01-01"},
		{"duration", "P1D", "P"},
		{"email", "a@example.com", "a@"},
		{"hostname", "example.com", "-example.com"},
		{"ipv4", "192.0.2.1", "256.0.2.1"},
		{"ipv6", "2001:db8::1", "2001:db8::1::2"},
		{"iri", "urn:isbn:0451450523", "relative"},
		{"iri-reference", "/relative", "%zz"},
		{"json-pointer", "/a/b", "a/b"},
		{"regex", "^a+$", "(["},
		{"relative-json-pointer", "0/a", "/a"},
		{"time", "12:00:00Z", "25:00:00Z"},
		{"uri", "https://example.com/", "relative"},
		{"uri-reference", "/relative", "%zz"},
		{"uri-template", "/users/{id}", "/users/{id"},
		{"uuid", "123e4567-e89b-12d3-a456-426614174000", "123e4567"},
	}
	var listed []string
	for _, tt := range tests {
		listed = append(listed, tt.format)
		t.Run(tt.format, func(t *testing.T) {
			s, err := newSet(Options{Custom: []Attribute{{Name: "x", Type: "string", Format: tt.format}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Validate(map[string]any{"x": tt.good}); err != nil {
				t.Errorf("Validate(%q) = %v, want success", tt.good, err)
			}
			if _, err := s.Validate(map[string]any{"x": tt.bad}); !errors.Is(err, ErrInvalidValue) {
				t.Errorf("Validate(%q) = %v, want %v", tt.bad, err, ErrInvalidValue)
			}
		})
	}
	if !slices.Equal(listed, formats) {
		t.Errorf("the test covers %v, want every format of the registry: %v", listed, formats)
	}
}

func TestSetConcurrentUse(t *testing.T) {
	s := testSet(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				body := map[string]any{"zoneinfo": []string{"Asia/Shanghai", "Europe/Paris", "Mars/Base"}[(i+j)%3],
					"floor": json.Number("1e1"), "nickname": "n"}
				_, err := s.Validate(body)
				if wantErr := (i+j)%3 == 2; (err != nil) != wantErr {
					t.Errorf("Validate(%v) = %v", body, err)
				}
			}
		})
	}
	wg.Wait()
}
