package userinfo

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// FuzzRegistryValidate feeds validate what the handler gives it: a JSON
// object decoded with UseNumber that passed checks 1 to 3. validate must
// never panic, and must answer 400 with one of the three codes of checks 4
// and 5, naming a key of the body, or succeed.
func FuzzRegistryValidate(f *testing.F) {
	for _, s := range []string{
		`{"nickname":"MOCK_NICKNAME"}`,
		`{"zoneinfo":"Asia/Shanghai","locale":"zh-CN","birthdate":"1990"}`,
		`{"floor":1e400,"bio":"\u0000"}`,
		`{"floor":-0.0e5,"newsletter":null}`,
		`{"address":{"locality":"x","formatted":"a\r\nb"}}`,
		`{"email":"a@example.com","email_otp_token":"t","email_otp":"1"}`,
		`{"phone_number":"13612345678","phone_number_otp_token":"t","phone_number_otp":"1"}`,
		`{"employee_id":"E123456","badge":"xE123456","department":"eng"}`,
	} {
		f.Add([]byte(s))
	}
	r := newTestRegistry(f, PhonePolicy{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var body map[string]any
		if dec.Decode(&body) != nil || body == nil {
			return
		}
		// Checks 1 to 3 of the handler.
		for name, v := range body {
			if !r.known(name) || !r.writable(name) {
				return
			}
			if (name == "email" || name == "phone_number") && v == nil {
				return
			}
		}
		out, err := r.validate(body)
		if err == nil {
			if len(out) != len(body) {
				t.Fatalf("validate(%s) returned %d keys, want %d", data, len(out), len(body))
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
			t.Fatalf("validate(%s) = %v, want a 400 *Error", data, err)
		}
		switch e.Code {
		case CodeMalformedPhoneNumber, CodeMalformedEmail:
			if e.Description != "" {
				t.Errorf("validate(%s): %s with description %q", data, e.Code, e.Description)
			}
		case CodeIllegalParameterValue:
			name, ok := strings.CutPrefix(e.Description, `Invalid value for attribute "`)
			name, ok2 := strings.CutSuffix(name, `".`)
			if _, inBody := body[name]; !ok || !ok2 || !inBody {
				t.Errorf("validate(%s): description %q does not name a key of the body", data, e.Description)
			}
		default:
			t.Fatalf("validate(%s) = %s, want one of the codes of checks 4 and 5", data, e.Code)
		}
	})
}

// FuzzParseAttributes checks that ParseAttributes never panics and that
// NewRegistry accepts every registry it accepts.
func FuzzParseAttributes(f *testing.F) {
	f.Add([]byte(registryFile))
	f.Add([]byte(`{"attributes": [{"name": "x", "type": "string", "pattern": "(?i)x"}]}`))
	f.Add([]byte(`{"attributes": [{"name": "n", "type": "integer", "minimum": 1e400}]}`))
	f.Add([]byte(`{"attributes": [{"name": "birthdate", "type": "string"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		attrs, err := ParseAttributes(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, phone := range []PhonePolicy{PhonePolicy{}, PhonePolicy{Regions: []string{AnyPhoneRegion}}} {
			if _, err := NewRegistry(RegistryConfig{Phone: phone, Attributes: attrs}); err != nil {
				t.Fatalf("ParseAttributes accepted %q but NewRegistry fails: %v", data, err)
			}
		}
	})
}
