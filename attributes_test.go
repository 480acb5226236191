package userinfo

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ciamkit/userinfo/schema"
)

// registryFile is the contract's registry file with a few more attributes,
// and "birthdate" (a refinement of the standard claim) renamed "hire_date".
const registryFile = `{"attributes": [
  {"name": "employee_id", "type": "string", "pattern": "^E[0-9]{6}$"},
  {"name": "badge",       "type": "string", "pattern": "E[0-9]{6}"},
  {"name": "department",  "type": "string", "enum": ["eng", "sales", "ops"]},
  {"name": "vip_level",   "type": "integer", "minimum": 0, "maximum": 9, "mutable": false},
  {"name": "floor",       "type": "integer", "minimum": -3, "maximum": 120},
  {"name": "newsletter",  "type": "boolean"},
  {"name": "hire_date",   "type": "string", "format": "date"},
  {"name": "bio",         "type": "string", "max_length": 280}
]}`

func newTestRegistry(t testing.TB, phone PhonePolicy) *Registry {
	t.Helper()
	attrs, err := ParseAttributes(strings.NewReader(registryFile))
	if err != nil {
		t.Fatalf("ParseAttributes: %v", err)
	}
	r, err := NewRegistry(RegistryConfig{Phone: phone, Attributes: attrs})
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	return r
}

func decodeBody(t testing.TB, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decoding %s: %v", s, err)
	}
	return m
}

func TestParseAttributesContractFile(t *testing.T) {
	data, err := os.ReadFile("testdata/contract-registry.json")
	if err != nil {
		t.Fatal(err)
	}
	contract := string(data)
	// The contract's example defines "birthdate", a standard string claim
	// (OIDC Core §5.1): the entry refines it, so both rules hold.
	attrs, err := ParseAttributes(strings.NewReader(contract))
	if err != nil {
		t.Fatalf("ParseAttributes(contract example) = %v", err)
	}
	if len(attrs) != 6 || attrs[2].IsMutable() || !attrs[0].IsMutable() {
		t.Errorf("ParseAttributes = %+v", attrs)
	}
	r, err := NewRegistry(RegistryConfig{Attributes: attrs})
	if err != nil {
		t.Fatalf("NewRegistry(contract example) = %v", err)
	}
	for body, wantOK := range map[string]bool{
		`{"birthdate":"1990-01-31"}`: true,
		`{"birthdate":"1990"}`:       false, // a standard birthdate, but not a "date"
		`{"birthdate":"1990-02-30"}`: false,
	} {
		if _, err := r.validate(decodeBody(t, body)); (err == nil) != wantOK {
			t.Errorf("validate(%s) = %v, want ok %v", body, err, wantOK)
		}
	}
	for _, bad := range []string{
		`{"attributes": [{"name": "x", "type": "string", "unknown": 1}]}`,
		`{"attributes": [{"Name": "x", "type": "string"}]}`,
		`{"attributes": []} {}`,
		`{"attributes": [{"name": "x", "type": "string", "pattern": "(["}]}`,
		`{"attributes": [{"name": "email_otp", "type": "string"}]}`,
		`{"attributes": [{"name": "Phone_Number_OTP_Token", "type": "string"}]}`,
	} {
		if _, err := ParseAttributes(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseAttributes(%s) succeeded", bad)
		}
	}
}

func TestNewRegistryErrors(t *testing.T) {
	tests := []struct {
		name   string
		phone  PhonePolicy
		custom []Attribute
	}{
		{"unknown phone region", PhonePolicy{Regions: []string{"XX"}}, nil},
		{"phone region twice", PhonePolicy{Regions: []string{"CN", "cn"}}, nil},
		{"clash", PhonePolicy{}, []Attribute{{Name: "email", Type: "string"}}},
		{"refinement of another type", PhonePolicy{}, []Attribute{{Name: "zoneinfo", Type: "integer"}}},
		{"clash with an OTP field", PhonePolicy{}, []Attribute{{Name: "email_otp_token", Type: "string"}}},
		{"invalid regex", PhonePolicy{}, []Attribute{{Name: "x", Type: "string", Pattern: "(["}}},
		{"unknown type", PhonePolicy{}, []Attribute{{Name: "x", Type: "list"}}},
		{"unknown format", PhonePolicy{}, []Attribute{{Name: "x", Type: "string", Format: "zoneinfo"}}},
		{"duplicate", PhonePolicy{Regions: []string{AnyPhoneRegion}}, []Attribute{{Name: "x", Type: "string"}, {Name: "x", Type: "string"}}},
		{"empty name", PhonePolicy{Regions: []string{AnyPhoneRegion}}, []Attribute{{Type: "string"}}},
		{"enum of the wrong type", PhonePolicy{Regions: []string{AnyPhoneRegion}}, []Attribute{{Name: "x", Type: "boolean", Enum: []any{"yes"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRegistry(RegistryConfig{Phone: tt.phone, Attributes: tt.custom})
			if err == nil || r != nil {
				t.Fatalf("NewRegistry = %v, %v; want an error", r, err)
			}
			if !strings.HasPrefix(err.Error(), "userinfo: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
	if r, err := NewRegistry(RegistryConfig{}); err != nil || r == nil {
		t.Errorf("NewRegistry(no custom attributes) = %v, %v", r, err)
	}
}

func TestRegistryKnownWritable(t *testing.T) {
	r := newTestRegistry(t, PhonePolicy{})
	tests := []struct {
		name            string
		known, writable bool
	}{
		{"sub", true, false},
		{"email_verified", true, false},
		{"phone_number_verified", true, false},
		{"updated_at", true, false},
		{"vip_level", true, false},
		{"name", true, true},
		{"given_name", true, true},
		{"family_name", true, true},
		{"middle_name", true, true},
		{"nickname", true, true},
		{"preferred_username", true, true},
		{"profile", true, true},
		{"picture", true, true},
		{"website", true, true},
		{"gender", true, true},
		{"birthdate", true, true},
		{"zoneinfo", true, true},
		{"locale", true, true},
		{"email", true, true},
		{"phone_number", true, true},
		{"address", true, true},
		{"employee_id", true, true},
		{"email_otp_token", true, true},
		{"email_otp", true, true},
		{"phone_number_otp_token", true, true},
		{"phone_number_otp", true, true},
		{"hone_number_otp_token", false, false},
		{"EMAIL", false, false},
		{"ſub", false, false},
		{"Sub", false, false},
		{"email\x00", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		if got := r.known(tt.name); got != tt.known {
			t.Errorf("known(%q) = %v, want %v", tt.name, got, tt.known)
		}
		if got := r.writable(tt.name); got != tt.writable {
			t.Errorf("writable(%q) = %v, want %v", tt.name, got, tt.writable)
		}
	}
	names := r.Names()
	if len(names) != 20+8 || names[0] != "address" || !strings.Contains(strings.Join(names, ","), "vip_level") {
		t.Errorf("Names() = %v", names)
	}
}

func TestRegistryValidate(t *testing.T) {
	r := newTestRegistry(t, PhonePolicy{})
	illegal := func(name string) string { return `Invalid value for attribute "` + name + `".` }
	tests := []struct {
		name     string
		body     string
		want     string // normalised body; empty: body itself
		wantCode string
		wantDesc string
	}{
		{name: "seed sample", body: `{"nickname":"MOCK_NICKNAME"}`},
		{name: "empty", body: `{}`},
		{name: "profile", body: `{"name":"MOCK_NAME","zoneinfo":"Asia/Shanghai","locale":"zh-CN","birthdate":"0000-12-31","website":"https://example.com"}`},
		{name: "remove", body: `{"nickname":null,"address":null,"employee_id":null,"floor":null}`},
		{name: "address", body: `{"address":{"formatted":"a\nb","country":"CN"}}`},
		{name: "custom", body: `{"employee_id":"E000001","badge":"E000002","department":"ops","floor":"x"}`, wantCode: CodeIllegalParameterValue, wantDesc: illegal("floor")},
		{name: "integer normalised", body: `{"floor":1.2e2}`, want: `{"floor":120}`},
		{name: "email change", body: `{"email":"a@example.com","email_otp_token":"t","email_otp":"1"}`},
		{name: "phone change", body: `{"phone_number":"136 1234 5678","phone_number_otp_token":"t","phone_number_otp":"1"}`,
			want: `{"phone_number":"+8613612345678","phone_number_otp_token":"t","phone_number_otp":"1"}`},
		{name: "malformed phone", body: `{"phone_number":"+14155552671","email":"bad","nickname":1}`, wantCode: CodeMalformedPhoneNumber},
		{name: "malformed email", body: `{"email":"bad","nickname":1}`, wantCode: CodeMalformedEmail},
		{name: "zoneinfo", body: `{"zoneinfo":"Local"}`, wantCode: CodeIllegalParameterValue, wantDesc: illegal("zoneinfo")},
		{name: "locale", body: `{"locale":"en_US"}`, wantCode: CodeIllegalParameterValue, wantDesc: illegal("locale")},
		{name: "first in sorted order", body: `{"zoneinfo":"Local","locale":"en_US","bio":1}`, wantCode: CodeIllegalParameterValue, wantDesc: illegal("bio")},
		{name: "NUL", body: `{"nickname":"a\u0000"}`, wantCode: CodeIllegalParameterValue, wantDesc: illegal("nickname")},
		{name: "huge number", body: `{"floor":1e400}`, wantCode: CodeIllegalParameterValue, wantDesc: illegal("floor")},
		{name: "int64 overflow", body: `{"floor":92233720368547758070}`, wantCode: CodeIllegalParameterValue, wantDesc: illegal("floor")},
		{name: "pattern", body: `{"employee_id":"xE123456"}`, wantCode: CodeIllegalParameterValue, wantDesc: illegal("employee_id")},
		{name: "unanchored pattern", body: `{"badge":"xE123456"}`, wantCode: CodeIllegalParameterValue, wantDesc: illegal("badge")},
		{name: "enum", body: `{"department":"hr"}`, wantCode: CodeIllegalParameterValue, wantDesc: illegal("department")},
		{name: "format date", body: `{"hire_date":"2024-02-30"}`, wantCode: CodeIllegalParameterValue, wantDesc: illegal("hire_date")},
		{name: "length in characters", body: `{"bio":"` + strings.Repeat("好", 280) + `"}`},
		{name: "too long in characters", body: `{"bio":"` + strings.Repeat("好", 281) + `"}`, wantCode: CodeIllegalParameterValue, wantDesc: illegal("bio")},
		{name: "otp not a string", body: `{"email":"a@example.com","email_otp_token":"t","email_otp":123456}`, wantCode: CodeIllegalParameterValue, wantDesc: illegal("email_otp")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.validate(decodeBody(t, tt.body))
			if tt.wantCode != "" {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("validate(%s) = %v, want an *Error", tt.body, err)
				}
				if e.Status != http.StatusBadRequest || e.Code != tt.wantCode || e.Description != tt.wantDesc {
					t.Errorf("validate(%s) = %d %q %q, want 400 %q %q", tt.body, e.Status, e.Code, e.Description, tt.wantCode, tt.wantDesc)
				}
				if got != nil {
					t.Error("validate returned a body with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("validate(%s) = %v", tt.body, err)
			}
			want := tt.want
			if want == "" {
				want = tt.body
			}
			if w := decodeBody(t, want); !reflect.DeepEqual(got, w) {
				t.Errorf("validate(%s) = %#v, want %#v", tt.body, got, w)
			}
		})
	}
}

func TestRegistryValidateNeverEchoes(t *testing.T) {
	r := newTestRegistry(t, PhonePolicy{})
	const secret = "SECRET-VALUE-42"
	for _, body := range []string{
		`{"nickname":"` + secret + `\u0000"}`,
		`{"zoneinfo":"` + secret + `"}`,
		`{"email":"` + secret + `"}`,
		`{"phone_number":"` + secret + `"}`,
		`{"email_otp":"` + secret + strings.Repeat("x", 300) + `"}`,
	} {
		_, err := r.validate(decodeBody(t, body))
		if err == nil {
			t.Fatalf("validate(%s) succeeded", body)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("validate(%s) = %v: the error shows the value", body, err)
		}
	}
}

func TestRegistryCheckAddresses(t *testing.T) {
	cn := newTestRegistry(t, PhonePolicy{})
	e164 := newTestRegistry(t, PhonePolicy{Regions: []string{AnyPhoneRegion}})
	tests := []struct {
		name     string
		err      error
		wantCode string
	}{
		{"email ok", cn.CheckAddress(ChannelEmail, "a@example.com"), ""},
		{"email bad", cn.CheckAddress(ChannelEmail, "a@"), CodeMalformedEmail},
		{"email control", cn.CheckAddress(ChannelEmail, "a@example.com\n"), CodeMalformedEmail},
		{"mainland ok", cn.CheckAddress(ChannelSMS, "13612345678"), ""},
		{"mainland E.164", cn.CheckAddress(ChannelSMS, "+8613612345678"), ""},
		{"mainland, another region", cn.CheckAddress(ChannelSMS, "+14155552671"), CodeMalformedPhoneNumber},
		{"mainland short", cn.CheckAddress(ChannelSMS, "1361234567"), CodeMalformedPhoneNumber},
		{"E.164 ok", e164.CheckAddress(ChannelSMS, "+8613612345678"), ""},
		{"E.164 national", e164.CheckAddress(ChannelSMS, "13612345678"), CodeMalformedPhoneNumber},
		{"unknown channel", cn.CheckAddress("fax", "13612345678"), CodeInvalidRequest},
	}
	for _, tt := range tests {
		var e *Error
		switch {
		case tt.wantCode == "" && tt.err != nil:
			t.Errorf("%s: %v", tt.name, tt.err)
		case tt.wantCode != "" && (!errors.As(tt.err, &e) || e.Code != tt.wantCode || e.Status != http.StatusBadRequest):
			t.Errorf("%s: %v, want 400 %s", tt.name, tt.err, tt.wantCode)
		}
	}
}

func TestRegistrySchema(t *testing.T) {
	r := newTestRegistry(t, PhonePolicy{})
	attrs, err := ParseAttributes(strings.NewReader(registryFile))
	if err != nil {
		t.Fatal(err)
	}
	set, err := schema.New(schema.Options{OTPFields: otpSchemaFields(), Custom: attrs})
	if err != nil {
		t.Fatal(err)
	}
	got := r.Schema()
	if !bytes.Equal(got, set.JSON()) {
		t.Error("Schema() differs from the schema package's document (golden-tested there)")
	}
	var doc struct {
		Schema     string                     `json:"$schema"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %q", doc.Schema)
	}
	var phone struct{ Pattern string }
	_ = json.Unmarshal(doc.Properties["phone_number"], &phone)
	if phone.Pattern != `^\+?[0-9](?:[ -]?[0-9]){0,19}$` {
		t.Errorf("phone_number pattern = %q", phone.Pattern)
	}
	_ = json.Unmarshal(newTestRegistry(t, PhonePolicy{Regions: []string{AnyPhoneRegion}}).Schema(), &doc)
	_ = json.Unmarshal(doc.Properties["phone_number"], &phone)
	if phone.Pattern != `^\+[0-9](?:[ -]?[0-9]){0,19}$` {
		t.Errorf("E.164 phone_number pattern = %q", phone.Pattern)
	}
	got[0] = 'x'
	if r.Schema()[0] != '{' {
		t.Error("Schema() returned the registry's own bytes")
	}
}

func BenchmarkRegistryValidate(b *testing.B) {
	r := newTestRegistry(b, PhonePolicy{})
	body := decodeBody(b, `{"name":"张三","nickname":"zs","zoneinfo":"Asia/Shanghai","locale":"zh-CN",
"website":"https://example.com/~zs","birthdate":"1990-05-17","address":{"locality":"Shanghai","country":"CN"},
"employee_id":"E123456","department":"eng","floor":12,"newsletter":true,
"email":"zs@example.com","email_otp_token":"tok_abcdefghijklmnop","email_otp":"123456"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.validate(body); err != nil {
			b.Fatal(err)
		}
	}
}
