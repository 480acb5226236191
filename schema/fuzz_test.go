package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzSetValidate checks that Validate never panics, fails only with an
// *AttributeError naming a key of the body, and, on success, returns the
// body's keys with canonical numbers that the published schema accepts.
func FuzzSetValidate(f *testing.F) {
	for _, tt := range validateTests {
		f.Add([]byte(tt.body))
	}
	f.Add([]byte(typicalBody))
	s := testSet(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var body map[string]any
		if dec.Decode(&body) != nil || body == nil {
			return
		}
		out, err := s.Validate(body)
		if err != nil {
			var ae *AttributeError
			if !errors.As(err, &ae) {
				t.Fatalf("Validate(%s) = %T %v, want an *AttributeError", data, err, err)
			}
			if _, ok := body[ae.Name]; !ok {
				t.Fatalf("Validate(%s) names %q, not a key of the body", data, ae.Name)
			}
			for _, sentinel := range []error{ErrMalformedPhoneNumber, ErrMalformedEmail, ErrInvalidValue} {
				if errors.Is(err, sentinel) {
					return
				}
			}
			t.Fatalf("Validate(%s) = %v, not one of the Err… variables", data, err)
		}
		if len(out) != len(body) {
			t.Fatalf("Validate(%s) returned %d keys, want %d", data, len(out), len(body))
		}
		for k, v := range out {
			n, ok := v.(json.Number)
			if !ok {
				continue
			}
			if c, _ := canonical(s.entries[k].typ, n); c != n {
				t.Errorf("Validate(%s)[%q] = %s, not canonical", data, k, n)
			}
		}
		withOTPFields(out)
		if err := s.root.Validate(out); err != nil {
			t.Errorf("Validate accepts %s but the schema does not: %v", data, err)
		}
	})
}
