package schema

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

//go:embed testdata
var testdata embed.FS

// testAttributes returns the attributes of testdata/registry.json.
func testAttributes(t testing.TB) []Attribute {
	t.Helper()
	f, err := testdata.Open("testdata/registry.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	attrs, err := Parse(f)
	if err != nil {
		t.Fatalf("Parse(testdata/registry.json): %v", err)
	}
	return attrs
}

// testOTPFields is the root package's table of OTP fields (otpChannels in
// handler.go).
var testOTPFields = []OTPField{
	{Attribute: "email", Token: "email_otp_token", Code: "email_otp"},
	{Attribute: "phone_number", Token: "phone_number_otp_token", Code: "phone_number_otp"},
}

// newSet calls New with the OTP fields of testOTPFields unless opts names
// others.
func newSet(opts Options) (*Set, error) {
	if opts.OTPFields == nil {
		opts.OTPFields = testOTPFields
	}
	return New(opts)
}

func testSet(t testing.TB) *Set {
	t.Helper()
	s, err := newSet(Options{Custom: testAttributes(t)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// decode decodes a JSON object as the handler does.
func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decoding %s: %v", s, err)
	}
	return m
}

func TestSchemaGolden(t *testing.T) {
	s := testSet(t)
	got := s.JSON()
	const golden = "testdata/schema.golden.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := testdata.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("the schema is not JSON: %v", err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON() differs from %s (run go test -update ./schema/ to accept):\n%s", golden, got)
	}
	// Stable output: another Set of the same registry writes the same bytes,
	// and the caller owns the returned slice.
	got[0] = 'x'
	if again := testSet(t).JSON(); !bytes.Equal(again, s.JSON()) {
		t.Error("two Sets of one registry wrote different schemas")
	}
}

func TestSchemaShape(t *testing.T) {
	var doc struct {
		Schema               string                     `json:"$schema"`
		AdditionalProperties *bool                      `json:"additionalProperties"`
		Properties           map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(testSet(t).JSON(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != draft {
		t.Errorf("$schema = %q, want %q", doc.Schema, draft)
	}
	if doc.AdditionalProperties == nil || *doc.AdditionalProperties {
		t.Error("additionalProperties is not false")
	}
	for _, name := range []string{"sub", "email_verified", "phone_number_verified", "updated_at", "vip_level"} {
		if _, ok := doc.Properties[name]; ok {
			t.Errorf("read-only %q is a property of the PATCH schema", name)
		}
	}
	for _, name := range []string{"nickname", "address", "email", "phone_number", "email_otp", "email_otp_token", "phone_number_otp", "phone_number_otp_token", "employee_id", "newsletter"} {
		if _, ok := doc.Properties[name]; !ok {
			t.Errorf("%q is missing from the PATCH schema", name)
		}
	}
	var badge struct{ Pattern string }
	if err := json.Unmarshal(doc.Properties["badge"], &badge); err != nil {
		t.Fatal(err)
	}
	if badge.Pattern != "^(?:E[0-9]{6})$" {
		t.Errorf("badge pattern = %q, want it anchored", badge.Pattern)
	}
}

func TestSetNamesKnownWritable(t *testing.T) {
	s := testSet(t)
	tests := []struct {
		name              string
		known, writable   bool
		listedAsAttribute bool
	}{
		{"sub", true, false, true},
		{"email_verified", true, false, true},
		{"phone_number_verified", true, false, true},
		{"updated_at", true, false, true},
		{"vip_level", true, false, true},
		{"nickname", true, true, true},
		{"address", true, true, true},
		{"email", true, true, true},
		{"phone_number", true, true, true},
		{"employee_id", true, true, true},
		{"email_otp", true, true, false},
		{"email_otp_token", true, true, false},
		{"phone_number_otp", true, true, false},
		{"phone_number_otp_token", true, true, false},
		{"hone_number_otp_token", false, false, false},
		{"EMAIL", false, false, false},
		{"ſub", false, false, false},
		{"Nickname", false, false, false},
		{"nickname ", false, false, false},
		{"", false, false, false},
		{"address.locality", false, false, false},
	}
	names := s.Names()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Known(tt.name); got != tt.known {
				t.Errorf("Known(%q) = %v, want %v", tt.name, got, tt.known)
			}
			if got := s.Writable(tt.name); got != tt.writable {
				t.Errorf("Writable(%q) = %v, want %v", tt.name, got, tt.writable)
			}
			listed := false
			for _, n := range names {
				listed = listed || n == tt.name
			}
			if listed != tt.listedAsAttribute {
				t.Errorf("Names() lists %q: %v, want %v", tt.name, listed, tt.listedAsAttribute)
			}
		})
	}
	if len(names) != 20+12 {
		t.Errorf("Names() has %d names, want 20 standard claims and 12 custom attributes: %v", len(names), names)
	}
	names[0] = "changed"
	if s.Names()[0] == "changed" {
		t.Error("Names() returned the Set's own slice")
	}
}

// validateTest is one row of TestSetValidate: body, a JSON object, gives
// either want (the normalised body, JSON; empty: body itself) or the error
// wantErr on the attribute wantName.
type validateTest struct {
	name     string
	body     string
	want     string
	wantErr  error
	wantName string
}

var validateTests = []validateTest{
	{name: "empty", body: `{}`},
	// Free-text standard claims.
	{name: "names", body: `{"name":"张三 Zhang","given_name":"San","family_name":"Zhang","middle_name":"","nickname":"🐼","preferred_username":"zs","gender":"other"}`},
	{name: "name of 256 characters, 768 bytes", body: `{"name":"` + strings.Repeat("张", 256) + `"}`},
	{name: "name of 257 characters", body: `{"name":"` + strings.Repeat("a", 257) + `"}`, wantErr: ErrInvalidValue, wantName: "name"},
	{name: "NUL", body: `{"nickname":"a\u0000b"}`, wantErr: ErrInvalidValue, wantName: "nickname"},
	{name: "BEL", body: `{"nickname":"a\u0007"}`, wantErr: ErrInvalidValue, wantName: "nickname"},
	{name: "line feed", body: `{"name":"a\nb"}`, wantErr: ErrInvalidValue, wantName: "name"},
	{name: "DEL", body: `{"name":"a\u007f"}`, wantErr: ErrInvalidValue, wantName: "name"},
	{name: "C1 NEL", body: `{"name":"a\u0085"}`, wantErr: ErrInvalidValue, wantName: "name"},
	{name: "number for a string", body: `{"nickname":12}`, wantErr: ErrInvalidValue, wantName: "nickname"},
	{name: "huge number for a string", body: `{"nickname":1e999999999}`, wantErr: ErrInvalidValue, wantName: "nickname"},
	{name: "bool for a string", body: `{"nickname":true}`, wantErr: ErrInvalidValue, wantName: "nickname"},
	{name: "object for a string", body: `{"nickname":{}}`, wantErr: ErrInvalidValue, wantName: "nickname"},
	{name: "array for a string", body: `{"nickname":["a"]}`, wantErr: ErrInvalidValue, wantName: "nickname"},
	{name: "null removes", body: `{"nickname":null,"address":null,"zoneinfo":null,"employee_id":null,"floor":null,"newsletter":null,"department":null}`},
	// URLs.
	{name: "urls", body: `{"profile":"https://example.com/u/1","picture":"HTTP://img.example.com:8080/a.png?x=1#f","website":"https://xn--fsqu00a.xn--0zwm56d/%E4%BE%8B"}`},
	{name: "url with an IPv6 host", body: `{"website":"https://[2001:db8::1]/"}`},
	{name: "url with an IRI host", body: `{"website":"https://例子.测试/"}`, wantErr: ErrInvalidValue, wantName: "website"},
	{name: "url with a bad IPv6 host", body: `{"website":"https://[2001:db8:::1]/"}`, wantErr: ErrInvalidValue, wantName: "website"},
	{name: "url with a bad percent escape", body: `{"website":"https://example.com/%zz"}`, wantErr: ErrInvalidValue, wantName: "website"},
	{name: "url with a backslash", body: `{"website":"https://example.com\\a"}`, wantErr: ErrInvalidValue, wantName: "website"},
	{name: "url without scheme", body: `{"website":"example.com"}`, wantErr: ErrInvalidValue, wantName: "website"},
	{name: "ftp url", body: `{"website":"ftp://example.com/"}`, wantErr: ErrInvalidValue, wantName: "website"},
	{name: "javascript url", body: `{"profile":"javascript:alert(1)"}`, wantErr: ErrInvalidValue, wantName: "profile"},
	{name: "url without host", body: `{"picture":"https://"}`, wantErr: ErrInvalidValue, wantName: "picture"},
	{name: "url with a space", body: `{"picture":"https://example.com/a b"}`, wantErr: ErrInvalidValue, wantName: "picture"},
	{name: "url too long", body: `{"website":"https://example.com/` + strings.Repeat("a", 2048) + `"}`, wantErr: ErrInvalidValue, wantName: "website"},
	// birthdate.
	{name: "birthdate", body: `{"birthdate":"1990-01-31"}`},
	{name: "birthdate without year", body: `{"birthdate":"0000-02-29"}`},
	{name: "birth year", body: `{"birthdate":"1990"}`},
	{name: "birthdate Feb 30", body: `{"birthdate":"1990-02-30"}`, wantErr: ErrInvalidValue, wantName: "birthdate"},
	{name: "birthdate Feb 29 not leap", body: `{"birthdate":"2023-02-29"}`, wantErr: ErrInvalidValue, wantName: "birthdate"},
	{name: "birthdate month 13", body: `{"birthdate":"1990-13-01"}`, wantErr: ErrInvalidValue, wantName: "birthdate"},
	{name: "birthdate 0000", body: `{"birthdate":"0000"}`, wantErr: ErrInvalidValue, wantName: "birthdate"},
	{name: "birthdate short", body: `{"birthdate":"1990-1-1"}`, wantErr: ErrInvalidValue, wantName: "birthdate"},
	{name: "birthdate with time", body: `{"birthdate":"1990-01-01T00:00:00Z"}`, wantErr: ErrInvalidValue, wantName: "birthdate"},
	// zoneinfo.
	{name: "zones", body: `{"zoneinfo":"Asia/Shanghai"}`},
	{name: "zone Paris", body: `{"zoneinfo":"Europe/Paris"}`},
	{name: "zone UTC", body: `{"zoneinfo":"UTC"}`},
	{name: "zone three parts", body: `{"zoneinfo":"America/Argentina/Buenos_Aires"}`},
	{name: "zone Etc/GMT+8", body: `{"zoneinfo":"Etc/GMT+8"}`},
	{name: "zone Local", body: `{"zoneinfo":"Local"}`, wantErr: ErrInvalidValue, wantName: "zoneinfo"},
	{name: "zone empty", body: `{"zoneinfo":""}`, wantErr: ErrInvalidValue, wantName: "zoneinfo"},
	{name: "zone unknown", body: `{"zoneinfo":"Asia/Nowhere"}`, wantErr: ErrInvalidValue, wantName: "zoneinfo"},
	{name: "zone dot dot", body: `{"zoneinfo":"../../etc/passwd"}`, wantErr: ErrInvalidValue, wantName: "zoneinfo"},
	{name: "zone absolute", body: `{"zoneinfo":"/etc/localtime"}`, wantErr: ErrInvalidValue, wantName: "zoneinfo"},
	{name: "zone posix dir", body: `{"zoneinfo":"posix/Asia/Shanghai"}`, wantErr: ErrInvalidValue, wantName: "zoneinfo"},
	{name: "zone table file", body: `{"zoneinfo":"zone.tab"}`, wantErr: ErrInvalidValue, wantName: "zoneinfo"},
	{name: "zone offset", body: `{"zoneinfo":"+08:00"}`, wantErr: ErrInvalidValue, wantName: "zoneinfo"},
	// locale.
	{name: "locales", body: `{"locale":"zh-CN"}`},
	{name: "locale en-US", body: `{"locale":"en-US"}`},
	{name: "locale script", body: `{"locale":"zh-Hant-TW"}`},
	{name: "locale language only", body: `{"locale":"fr"}`},
	{name: "locale underscore", body: `{"locale":"en_US"}`, wantErr: ErrInvalidValue, wantName: "locale"},
	{name: "locale unknown language", body: `{"locale":"xx"}`, wantErr: ErrInvalidValue, wantName: "locale"},
	{name: "locale not well-formed", body: `{"locale":"english"}`, wantErr: ErrInvalidValue, wantName: "locale"},
	{name: "locale trailing hyphen", body: `{"locale":"zh-CN-"}`, wantErr: ErrInvalidValue, wantName: "locale"},
	{name: "locale empty", body: `{"locale":""}`, wantErr: ErrInvalidValue, wantName: "locale"},
	// address.
	{name: "address", body: `{"address":{"formatted":"1 Main St\nSpringfield\r\nUS","street_address":"1 Main St\nApt 2","locality":"Springfield","region":"IL","postal_code":"62701","country":"US"}}`},
	{name: "address empty", body: `{"address":{}}`},
	{name: "address unknown member", body: `{"address":{"city":"x"}}`, wantErr: ErrInvalidValue, wantName: "address"},
	{name: "address number member", body: `{"address":{"postal_code":62701}}`, wantErr: ErrInvalidValue, wantName: "address"},
	{name: "address null member", body: `{"address":{"region":null}}`, wantErr: ErrInvalidValue, wantName: "address"},
	{name: "address line break in locality", body: `{"address":{"locality":"a\nb"}}`, wantErr: ErrInvalidValue, wantName: "address"},
	{name: "address tab in formatted", body: `{"address":{"formatted":"a\tb"}}`, wantErr: ErrInvalidValue, wantName: "address"},
	{name: "address string", body: `{"address":"1 Main St"}`, wantErr: ErrInvalidValue, wantName: "address"},
	{name: "address member too long", body: `{"address":{"region":"` + strings.Repeat("r", 257) + `"}}`, wantErr: ErrInvalidValue, wantName: "address"},
	// email and phone_number (check 4).
	{name: "email and phone", body: `{"email":"a@example.com","email_otp_token":"t","email_otp":"123456","phone_number":"13612345678","phone_number_otp_token":"t","phone_number_otp":"123456"}`,
		want: `{"email":"a@example.com","email_otp_token":"t","email_otp":"123456","phone_number":"+8613612345678","phone_number_otp_token":"t","phone_number_otp":"123456"}`},
	{name: "email unicode", body: `{"email":"用户@例子.广告"}`, wantErr: ErrMalformedEmail, wantName: "email"},
	{name: "email quoted", body: `{"email":"\"victim\"@x.test"}`, wantErr: ErrMalformedEmail, wantName: "email"},
	{name: "email zero-width space", body: `{"email":"victim\u200b@x.test"}`, wantErr: ErrMalformedEmail, wantName: "email"},
	{name: "email malformed", body: `{"email":"not-an-email"}`, wantErr: ErrMalformedEmail, wantName: "email"},
	{name: "email without domain", body: `{"email":"a@"}`, wantErr: ErrMalformedEmail, wantName: "email"},
	{name: "email too long", body: `{"email":"` + strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + `.com"}`, wantErr: ErrMalformedEmail, wantName: "email"},
	{name: "email with line feed", body: `{"email":"a@example.com\n"}`, wantErr: ErrMalformedEmail, wantName: "email"},
	{name: "email number", body: `{"email":5}`, wantErr: ErrMalformedEmail, wantName: "email"},
	{name: "phone short", body: `{"phone_number":"1361234567"}`, wantErr: ErrMalformedPhoneNumber, wantName: "phone_number"},
	{name: "phone long", body: `{"phone_number":"136123456789"}`, wantErr: ErrMalformedPhoneNumber, wantName: "phone_number"},
	{name: "phone 12 prefix", body: `{"phone_number":"12612345678"}`, wantErr: ErrMalformedPhoneNumber, wantName: "phone_number"},
	{name: "phone E.164", body: `{"phone_number":"+86 136-1234-5678"}`, want: `{"phone_number":"+8613612345678"}`},
	{name: "phone of another region", body: `{"phone_number":"+14155552671"}`, wantErr: ErrMalformedPhoneNumber, wantName: "phone_number"},
	{name: "phone with letters", body: `{"phone_number":"1-800-FLOWERS"}`, wantErr: ErrMalformedPhoneNumber, wantName: "phone_number"},
	{name: "phone as a number", body: `{"phone_number":13612345678}`, wantErr: ErrMalformedPhoneNumber, wantName: "phone_number"},
	{name: "phone with line feed", body: `{"phone_number":"13612345678\n"}`, wantErr: ErrMalformedPhoneNumber, wantName: "phone_number"},
	{name: "phone fullwidth digits", body: `{"phone_number":"１３６１２３４５６７８"}`, wantErr: ErrMalformedPhoneNumber, wantName: "phone_number"},
	// Order: phone, then email, then the rest in sorted order.
	{name: "phone before email", body: `{"email":"x","phone_number":"1"}`, wantErr: ErrMalformedPhoneNumber, wantName: "phone_number"},
	{name: "email before other values", body: `{"email":"x","nickname":1,"address":1}`, wantErr: ErrMalformedEmail, wantName: "email"},
	{name: "first in sorted order", body: `{"zoneinfo":"Mars/Base","nickname":1,"locale":"??"}`, wantErr: ErrInvalidValue, wantName: "locale"},
	{name: "custom before standard", body: `{"zoneinfo":"Mars/Base","badge":"x"}`, wantErr: ErrInvalidValue, wantName: "badge"},
	// OTP fields.
	{name: "otp empty", body: `{"email_otp":""}`, wantErr: ErrInvalidValue, wantName: "email_otp"},
	{name: "otp too long", body: `{"email_otp_token":"` + strings.Repeat("t", 257) + `"}`, wantErr: ErrInvalidValue, wantName: "email_otp_token"},
	{name: "otp number", body: `{"phone_number_otp":123456}`, wantErr: ErrInvalidValue, wantName: "phone_number_otp"},
	{name: "otp null", body: `{"phone_number_otp_token":null}`, wantErr: ErrInvalidValue, wantName: "phone_number_otp_token"},
	{name: "otp NUL", body: `{"phone_number_otp":"12\u00003"}`, wantErr: ErrInvalidValue, wantName: "phone_number_otp"},
	// Custom attributes: pattern.
	{name: "pattern", body: `{"employee_id":"E123456","badge":"E654321"}`},
	{name: "pattern prefix", body: `{"employee_id":"xE123456"}`, wantErr: ErrInvalidValue, wantName: "employee_id"},
	{name: "pattern suffix", body: `{"employee_id":"E1234567"}`, wantErr: ErrInvalidValue, wantName: "employee_id"},
	{name: "unanchored pattern is anchored: prefix", body: `{"badge":"xE123456"}`, wantErr: ErrInvalidValue, wantName: "badge"},
	{name: "unanchored pattern is anchored: suffix", body: `{"badge":"E123456x"}`, wantErr: ErrInvalidValue, wantName: "badge"},
	{name: "pattern and NUL", body: `{"badge":"E123456\u0000"}`, wantErr: ErrInvalidValue, wantName: "badge"},
	// enum.
	{name: "enum", body: `{"department":"eng"}`},
	{name: "enum case", body: `{"department":"ENG"}`, wantErr: ErrInvalidValue, wantName: "department"},
	{name: "enum other", body: `{"department":"hr"}`, wantErr: ErrInvalidValue, wantName: "department"},
	{name: "integer enum", body: `{"priority":2}`},
	{name: "integer enum written as 2.0", body: `{"priority":2.0}`, want: `{"priority":2}`},
	{name: "integer enum other", body: `{"priority":4}`, wantErr: ErrInvalidValue, wantName: "priority"},
	{name: "integer enum as a string", body: `{"priority":"2"}`, wantErr: ErrInvalidValue, wantName: "priority"},
	// integer.
	{name: "integer", body: `{"floor":-3}`},
	{name: "integer canonical", body: `{"floor":1.20e2}`, want: `{"floor":120}`},
	{name: "integer minus zero", body: `{"floor":-0}`, want: `{"floor":0}`},
	{name: "integer above maximum", body: `{"floor":121}`, wantErr: ErrInvalidValue, wantName: "floor"},
	{name: "integer below minimum", body: `{"floor":-4}`, wantErr: ErrInvalidValue, wantName: "floor"},
	{name: "integer with a fraction", body: `{"floor":1.5}`, wantErr: ErrInvalidValue, wantName: "floor"},
	{name: "integer 1e400", body: `{"floor":1e400}`, wantErr: ErrInvalidValue, wantName: "floor"},
	{name: "integer beyond int64", body: `{"floor":9223372036854775808}`, wantErr: ErrInvalidValue, wantName: "floor"},
	{name: "integer huge exponent", body: `{"floor":1e99999999999999999999}`, wantErr: ErrInvalidValue, wantName: "floor"},
	{name: "integer tiny", body: `{"floor":1e-99999999999999999999}`, wantErr: ErrInvalidValue, wantName: "floor"},
	{name: "integer zero with a huge exponent", body: `{"floor":0e99999999999999999999}`, want: `{"floor":0}`},
	{name: "integer as a string", body: `{"floor":"1"}`, wantErr: ErrInvalidValue, wantName: "floor"},
	{name: "integer as a bool", body: `{"floor":true}`, wantErr: ErrInvalidValue, wantName: "floor"},
	// number.
	{name: "number", body: `{"score":1.5}`},
	{name: "number canonical", body: `{"score":1.50e0}`, want: `{"score":1.5}`},
	{name: "number integer", body: `{"score":1}`},
	{name: "number minus zero", body: `{"score":-0.0}`, want: `{"score":0}`},
	{name: "number above maximum", body: `{"score":1.5000001}`, wantErr: ErrInvalidValue, wantName: "score"},
	{name: "number below minimum", body: `{"score":-1e-300}`, wantErr: ErrInvalidValue, wantName: "score"},
	{name: "number 1e400", body: `{"score":1e400}`, wantErr: ErrInvalidValue, wantName: "score"},
	{name: "number -1e400", body: `{"score":-1e400}`, wantErr: ErrInvalidValue, wantName: "score"},
	{name: "number underflow", body: `{"score":1e-400}`, wantErr: ErrInvalidValue, wantName: "score"},
	{name: "number zero with a huge exponent", body: `{"score":0e99999999999999999999}`, want: `{"score":0}`},
	{name: "number huge exponent", body: `{"score":1e99999999999999999999}`, wantErr: ErrInvalidValue, wantName: "score"},
	{name: "number as a string", body: `{"score":"1"}`, wantErr: ErrInvalidValue, wantName: "score"},
	// boolean.
	{name: "boolean", body: `{"newsletter":false}`},
	{name: "boolean as a string", body: `{"newsletter":"true"}`, wantErr: ErrInvalidValue, wantName: "newsletter"},
	{name: "boolean as a number", body: `{"newsletter":1}`, wantErr: ErrInvalidValue, wantName: "newsletter"},
	// format.
	{name: "format date", body: `{"hire_date":"2024-02-29"}`},
	{name: "format date Feb 30", body: `{"hire_date":"2024-02-30"}`, wantErr: ErrInvalidValue, wantName: "hire_date"},
	{name: "format date Feb 29 not leap", body: `{"hire_date":"2023-02-29"}`, wantErr: ErrInvalidValue, wantName: "hire_date"},
	{name: "format date not a date", body: `{"hire_date":"yesterday"}`, wantErr: ErrInvalidValue, wantName: "hire_date"},
	{name: "format email", body: `{"backup_email":"b@example.org"}`},
	{name: "format email bad is not malformed_email", body: `{"backup_email":"b@"}`, wantErr: ErrInvalidValue, wantName: "backup_email"},
	{name: "format uri", body: `{"homepage":"urn:isbn:0451450523"}`},
	{name: "format uri relative", body: `{"homepage":"/relative"}`, wantErr: ErrInvalidValue, wantName: "homepage"},
	// length in characters.
	{name: "length multi-byte", body: `{"bio":"你好世界啊"}`},
	{name: "length astral", body: `{"bio":"🐼🐼🐼🐼🐼"}`},
	{name: "length multi-byte too long", body: `{"bio":"你好世界啊啊"}`, wantErr: ErrInvalidValue, wantName: "bio"},
	{name: "length too short", body: `{"bio":"a"}`, wantErr: ErrInvalidValue, wantName: "bio"},
}

func TestSetValidate(t *testing.T) {
	s := testSet(t)
	for _, tt := range validateTests {
		t.Run(tt.name, func(t *testing.T) {
			body := decode(t, tt.body)
			got, err := s.Validate(body)
			if tt.wantErr != nil {
				var ae *AttributeError
				if !errors.As(err, &ae) || !errors.Is(err, tt.wantErr) || ae.Name != tt.wantName {
					t.Fatalf("Validate(%s) = %v, want %v on %q", tt.body, err, tt.wantErr, tt.wantName)
				}
				if got != nil {
					t.Errorf("Validate returned a body with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate(%s) = %v", tt.body, err)
			}
			want := tt.want
			if want == "" {
				want = tt.body
			}
			if w := decode(t, want); !reflect.DeepEqual(got, w) {
				t.Errorf("Validate(%s) = %#v, want %#v", tt.body, got, w)
			}
		})
	}
}

// TestSetValidateOutsideChecks1To3: Validate expects a body that passed
// checks 1 to 3 (known and writable names, no null email or phone_number) and
// does not check them again, but a body that did not pass them still gets an
// error naming one of its keys, never a panic.
func TestSetValidateOutsideChecks1To3(t *testing.T) {
	s := testSet(t)
	for _, body := range []string{
		`{"EMAIL":"a@example.com"}`,
		`{"ſub":"x"}`,
		`{"hone_number_otp_token":"x"}`,
		`{"nickname":"a","zz":1}`,
		`{"sub":"x"}`,
		`{"updated_at":1}`,
		`{"email_verified":true}`,
		`{"vip_level":1}`,
		`{"email":null}`,
		`{"phone_number":null}`,
	} {
		t.Run(body, func(t *testing.T) {
			b := decode(t, body)
			got, err := s.Validate(b)
			var ae *AttributeError
			if !errors.As(err, &ae) || got != nil {
				t.Fatalf("Validate(%s) = %v, %v; want an *AttributeError", body, got, err)
			}
			if _, ok := b[ae.Name]; !ok {
				t.Errorf("Validate(%s) names %q, not a key of the body", body, ae.Name)
			}
		})
	}
}

// TestSetValidateAgreesWithSchema checks that every body that Validate
// accepts is, normalised, valid by the published schema too, once the OTP
// fields that the schema's dependentRequired asks for are added. (The raw body
// is not given to the schema: jsonschema/v6 panics on a number such as
// 0e99999999999999999999 checked against a bound, which is why Validate
// normalises numbers first; see TestValidRecovers.)
func TestSetValidateAgreesWithSchema(t *testing.T) {
	s := testSet(t)
	for _, tt := range validateTests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := s.Validate(decode(t, tt.body))
			if err != nil {
				return // the Go-side rules are stricter than the schema
			}
			withOTPFields(body)
			if err := s.root.Validate(body); err != nil {
				t.Errorf("Validate accepts %s but the schema does not: %v", tt.body, err)
			}
		})
	}
}

// withOTPFields adds the OTP fields that a body with email or phone_number
// needs, and the address that OTP fields need.
func withOTPFields(body map[string]any) {
	for _, c := range [][3]string{{"email", "email_otp_token", "email_otp"}, {"phone_number", "phone_number_otp_token", "phone_number_otp"}} {
		_, a := body[c[0]]
		_, tok := body[c[1]]
		_, code := body[c[2]]
		if a || tok || code {
			if !a {
				body[c[0]] = map[string]string{"email": "a@example.com", "phone_number": "13612345678"}[c[0]]
			}
			if !tok {
				body[c[1]] = "token"
			}
			if !code {
				body[c[2]] = "123456"
			}
		}
	}
}

// TestValidRecovers: jsonschema/v6 panics on a raw number that math/big
// cannot parse when a bound applies to it. Validate never gives it one (the
// number is normalised first), and valid turns such a panic into a refusal.
func TestValidRecovers(t *testing.T) {
	s := testSet(t)
	sch := s.entries["score"].sch // a number with a minimum and a maximum
	for _, raw := range []string{"0e99999999999999999999", "1e99999999999999999999", "1e-99999999999999999999"} {
		t.Run(raw, func(t *testing.T) {
			if valid(sch, json.Number(raw)) {
				t.Errorf("valid(score, %s) = true, want a refusal", raw)
			}
		})
	}
	if !valid(sch, json.Number("0")) {
		t.Error("valid(score, 0) = false")
	}
}

func TestSetValidateDoesNotAlias(t *testing.T) {
	s := testSet(t)
	body := decode(t, `{"address":{"locality":"A"},"floor":1.0e1}`)
	got, err := s.Validate(body)
	if err != nil {
		t.Fatal(err)
	}
	got["address"].(map[string]any)["locality"] = "B"
	if body["address"].(map[string]any)["locality"] != "A" {
		t.Error("the returned address aliases the body's")
	}
	if body["floor"] != json.Number("1.0e1") {
		t.Error("Validate changed the body")
	}
}

func TestSetPhonePolicy(t *testing.T) {
	cn := PhonePolicy{}
	world := PhonePolicy{Regions: []string{"*"}}
	cnUS := PhonePolicy{Regions: []string{"cn", "US"}}
	tests := []struct {
		name   string
		policy PhonePolicy
		number string
		want   string // "" : malformed
	}{
		{"national", cn, "13612345678", "+8613612345678"},
		{"national 199", cn, "19912345678", "+8619912345678"},
		{"E.164", cn, "+8613612345678", "+8613612345678"},
		{"E.164 spaced", cn, "+86 136 1234 5678", "+8613612345678"},
		{"national hyphens", cn, "136-1234-5678", "+8613612345678"},
		{"unallocated", cn, "10012345678", ""},
		{"letter", cn, "1361234567a", ""},
		{"empty", cn, "", ""},
		{"two spaces", cn, "136  12345678", ""},
		{"trailing space", cn, "13612345678 ", ""},
		{"line break", cn, "+8613612345678\n", ""},
		{"parentheses", cn, "(136) 12345678", ""},
		{"fullwidth digits", cn, "１３６１２３４５６７８", ""},
		{"another region", cn, "+14155552671", ""},
		{"international prefix", cn, "008613612345678", ""},
		{"no such country code", world, "+999123456789", ""},
		{"too short", world, "+1234567", ""},
		{"US spaced", world, "+1 415 555 2671", "+14155552671"},
		{"GB mobile", world, "+447911123456", "+447911123456"},
		{"GB fixed line", world, "+442079460958", ""},
		{"no national form", world, "13612345678", ""},
		{"vanity", cnUS, "1-800-FLOWERS", ""},
		{"second region", cnUS, "+1 415 555 2671", "+14155552671"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := newSet(Options{Phone: tt.policy})
			if err != nil {
				t.Fatal(err)
			}
			got, ok := s.NormalizePhoneNumber(tt.number)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("NormalizePhoneNumber(%q) = %q, %v; want %q", tt.number, got, ok, tt.want)
			}
			out, err := s.Validate(map[string]any{"phone_number": tt.number, "phone_number_otp_token": "t", "phone_number_otp": "c"})
			switch {
			case tt.want == "" && !errors.Is(err, ErrMalformedPhoneNumber):
				t.Errorf("Validate(phone_number %q) = %v, want ErrMalformedPhoneNumber", tt.number, err)
			case tt.want != "" && (err != nil || out["phone_number"] != tt.want):
				t.Errorf("Validate(phone_number %q) = %v, %v; want %q", tt.number, out["phone_number"], err, tt.want)
			}
		})
	}
	for _, regions := range [][]string{{"XX"}, {"CN", "cn"}, {"*", "*"}, {""}} {
		if _, err := newSet(Options{Phone: PhonePolicy{Regions: regions}}); err == nil {
			t.Errorf("New accepted the phone regions %q", regions)
		}
	}
}

func TestSetNormalizeEmail(t *testing.T) {
	ascii := testSet(t)
	idn, err := newSet(Options{EmailIDN: true})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 57) + ".com"
	for _, tt := range []struct {
		addr          string
		want, wantIDN string // "": malformed
	}{
		{"a@example.com", "a@example.com", "a@example.com"},
		{"A.B+tag@Example.COM", "A.B+tag@Example.COM", "A.B+tag@example.com"},
		{".a..b.@x.test", ".a..b.@x.test", ".a..b.@x.test"}, // the HTML grammar allows dots anywhere
		{`"victim"@x.test`, "", ""},
		{"victim@ｘ.test", "", "victim@x.test"},
		{"victim\u200b@x.test", "", ""},
		{"用户@例子.广告", "", ""},
		{"a@bücher.test", "", "a@xn--bcher-kva.test"},
		{"a@[127.0.0.1]", "", ""},
		{"a(comment)@x.test", "", ""},
		{"", "", ""},
		{"a", "", ""},
		{"a@b", "", ""},
		{"a@x.123", "", ""},
		{"a@x.1-2", "a@x.1-2", "a@x.1-2"},
		{"a@-x.test", "", ""},
		{"a@x-.test", "", ""},
		{"a@x..test", "", ""},
		{"a@x.test.", "", ""},
		{"a@" + strings.Repeat("b", 64) + ".test", "", ""},
		{"a@" + strings.Repeat("b", 63) + ".test", "a@" + strings.Repeat("b", 63) + ".test", "a@" + strings.Repeat("b", 63) + ".test"},
		{"a b@example.com", "", ""},
		{"a@b@example.com", "", ""},
		{"a@example.com\r", "", ""},
		{"a@example.com\u0085", "", ""},
		{"@example.com", "", ""},
		{long, long, long},
		{"a" + long, "", ""},
	} {
		for _, c := range []struct {
			s    *Set
			want string
		}{{ascii, tt.want}, {idn, tt.wantIDN}} {
			got, ok := c.s.NormalizeEmail(tt.addr)
			if got != c.want || ok != (c.want != "") {
				t.Errorf("NormalizeEmail(%q) (IDN %v) = %q, %v; want %q", tt.addr, c.s == idn, got, ok, c.want)
			}
		}
	}
}

func BenchmarkSetValidate(b *testing.B) {
	s := testSet(b)
	body := decode(b, typicalBody)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Validate(body); err != nil {
			b.Fatal(err)
		}
	}
}

// typicalBody is a PATCH body of a profile form.
const typicalBody = `{"name":"张三","nickname":"zs","zoneinfo":"Asia/Shanghai","locale":"zh-CN",
"website":"https://example.com/~zs","birthdate":"1990-05-17",
"address":{"locality":"Shanghai","country":"CN"},
"employee_id":"E123456","department":"eng","floor":12,"newsletter":true,
"email":"zs@example.com","email_otp_token":"tok_abcdefghijklmnop","email_otp":"123456"}`

// TestRefineStandardClaim: a string attribute named as a standard string
// claim adds its rules to the claim's own, as the contract's sample registry
// does with birthdate; "mutable": false makes the claim read-only.
func TestRefineStandardClaim(t *testing.T) {
	short := 3
	s, err := newSet(Options{Custom: []Attribute{
		{Name: "birthdate", Type: "string", Format: "date"},
		{Name: "nickname", Type: "string", MaxLength: &short},
		{Name: "gender", Type: "string", Mutable: new(bool)},
	}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tests := []struct {
		body     string
		wantErr  error
		wantName string
	}{
		{body: `{"birthdate":"1990-01-31"}`},
		{body: `{"birthdate":"1990"}`, wantErr: ErrInvalidValue, wantName: "birthdate"}, // standard, but not a date
		{body: `{"birthdate":"1990-02-30"}`, wantErr: ErrInvalidValue, wantName: "birthdate"},
		{body: `{"birthdate":null}`},
		{body: `{"nickname":"abc"}`},
		{body: `{"nickname":"abcd"}`, wantErr: ErrInvalidValue, wantName: "nickname"},
		{body: `{"nickname":"a\u0001"}`, wantErr: ErrInvalidValue, wantName: "nickname"}, // the standard rule still holds
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			_, err := s.Validate(decode(t, tt.body))
			var ae *AttributeError
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("Validate(%s) = %v, want success", tt.body, err)
			case tt.wantErr != nil && (!errors.As(err, &ae) || !errors.Is(err, tt.wantErr) || ae.Name != tt.wantName):
				t.Errorf("Validate(%s) = %v, want %v on %q", tt.body, err, tt.wantErr, tt.wantName)
			}
		})
	}
	if !s.Known("gender") || s.Writable("gender") {
		t.Errorf("gender: Known %v, Writable %v; want known and read-only", s.Known("gender"), s.Writable("gender"))
	}
	var doc map[string]any
	if err := json.Unmarshal(s.JSON(), &doc); err != nil {
		t.Fatal(err)
	}
	props := doc["properties"].(map[string]any)
	if _, ok := props["birthdate"].(map[string]any)["allOf"]; !ok {
		t.Errorf("schema of birthdate = %v, want an allOf of the standard and the registry rule", props["birthdate"])
	}
	if _, ok := props["gender"]; ok {
		t.Errorf("read-only gender is in the schema")
	}
}

// TestNewOTPFields: the OTP fields come from Options, checked: one entry for
// email and one for phone_number, with valid names that clash with nothing.
func TestNewOTPFields(t *testing.T) {
	email := OTPField{Attribute: "email", Token: "email_otp_token", Code: "email_otp"}
	phone := OTPField{Attribute: "phone_number", Token: "phone_number_otp_token", Code: "phone_number_otp"}
	bad := []struct {
		name   string
		fields []OTPField
		custom []Attribute
	}{
		{"none", []OTPField{}, nil},
		{"no phone_number", []OTPField{email}, nil},
		{"no email", []OTPField{phone}, nil},
		{"email twice", []OTPField{email, phone, {Attribute: "email", Token: "t", Code: "c"}}, nil},
		{"another claim", []OTPField{email, phone, {Attribute: "nickname", Token: "t", Code: "c"}}, nil},
		{"empty token", []OTPField{email, {Attribute: "phone_number", Code: "phone_number_otp"}}, nil},
		{"bad name", []OTPField{email, {Attribute: "phone_number", Token: "phone token", Code: "phone_number_otp"}}, nil},
		{"token equals code", []OTPField{email, {Attribute: "phone_number", Token: "otp", Code: "otp"}}, nil},
		{"same field for two claims", []OTPField{email, {Attribute: "phone_number", Token: "email_otp_token", Code: "phone_number_otp"}}, nil},
		{"field in another case", []OTPField{email, {Attribute: "phone_number", Token: "EMAIL_OTP", Code: "phone_number_otp"}}, nil},
		{"standard claim", []OTPField{email, {Attribute: "phone_number", Token: "nickname", Code: "phone_number_otp"}}, nil},
		{"custom attribute takes a field", []OTPField{email, phone}, []Attribute{{Name: "Email_OTP", Type: "string"}}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Options{OTPFields: tt.fields, Custom: tt.custom})
			if err == nil || s != nil {
				t.Fatalf("New(%+v) = %v, %v; want an error", tt.fields, s, err)
			}
			if !strings.HasPrefix(err.Error(), "schema: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}

	// Other names: the Set, its schema and Validate use them, and the
	// default names become free for custom attributes.
	s, err := New(Options{
		OTPFields: []OTPField{{Attribute: "phone_number", Token: "sms_token", Code: "sms_code"}, {Attribute: "email", Token: "mail_token", Code: "mail_code"}},
		Custom:    []Attribute{{Name: "email_otp", Type: "string"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"sms_token": true, "sms_code": true, "mail_token": true, "mail_code": true, "email_otp": true, "phone_number_otp": false} {
		if s.Known(name) != want || s.Writable(name) != want {
			t.Errorf("Known(%q), Writable(%q) = %v, %v; want %v", name, name, s.Known(name), s.Writable(name), want)
		}
	}
	if slices.Contains(s.Names(), "sms_token") {
		t.Error("Names() lists an OTP field")
	}
	var doc struct {
		Properties        map[string]struct{ Description string } `json:"properties"`
		DependentRequired map[string][]string                     `json:"dependentRequired"`
	}
	if err := json.Unmarshal(s.JSON(), &doc); err != nil {
		t.Fatal(err)
	}
	wantDeps := map[string][]string{
		"email": {"mail_token", "mail_code"}, "mail_token": {"email", "mail_code"}, "mail_code": {"email", "mail_token"},
		"phone_number": {"sms_token", "sms_code"}, "sms_token": {"phone_number", "sms_code"}, "sms_code": {"phone_number", "sms_token"},
	}
	if !reflect.DeepEqual(doc.DependentRequired, wantDeps) {
		t.Errorf("dependentRequired = %v, want %v", doc.DependentRequired, wantDeps)
	}
	if got, want := doc.Properties["email"].Description, "Email address. Changing it requires mail_token and mail_code; it cannot be removed. "; !strings.HasPrefix(got, want) {
		t.Errorf("email description = %q, want %q", got, want)
	}
	if got, want := doc.Properties["sms_code"].Description, "The verification code received by SMS."; got != want {
		t.Errorf("sms_code description = %q, want %q", got, want)
	}
	if _, err := s.Validate(decode(t, `{"phone_number":"13612345678","sms_token":"t","sms_code":""}`)); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("Validate(empty sms_code) = %v, want %v", err, ErrInvalidValue)
	}
}
