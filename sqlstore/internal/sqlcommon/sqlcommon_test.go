package sqlcommon

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestAttributesRoundTrip(t *testing.T) {
	in := map[string]any{
		"nickname": "<Zoë & co>",
		"n":        json.Number("9007199254740993"),
		"b":        true,
		"address":  map[string]any{"locality": "Paris"},
	}
	raw, err := EncodeAttributes(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"address":{"locality":"Paris"},"b":true,"n":9007199254740993,"nickname":"<Zoë & co>"}`; string(raw) != want {
		t.Errorf("EncodeAttributes = %s, want %s", raw, want)
	}
	out, err := DecodeAttributes(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("DecodeAttributes(EncodeAttributes(%v)) = %v", in, out)
	}
	if raw, err := EncodeAttributes(nil); err != nil || string(raw) != "{}" {
		t.Errorf("EncodeAttributes(nil) = %s, %v; want {}", raw, err)
	}
}

func TestDecodeAttributesRefuses(t *testing.T) {
	for _, raw := range []string{``, `[]`, `{} {}`, `{"a":}`, `"x"`} {
		if _, err := DecodeAttributes([]byte(raw)); err == nil {
			t.Errorf("DecodeAttributes(%q): got nil error", raw)
		}
	}
	if m, err := DecodeAttributes([]byte(`null`)); err != nil || m == nil || len(m) != 0 {
		t.Errorf("DecodeAttributes(null) = %v, %v; want an empty map", m, err)
	}
}

func str(s string) *string { return &s }

func TestChanges(t *testing.T) {
	tests := []struct {
		name         string
		set          map[string]any
		remove       []string
		email, phone KeyChange
	}{
		{"untouched", map[string]any{"nickname": "x"}, nil, KeyChange{}, KeyChange{}},
		{"set", map[string]any{"email": "A@X.test", "phone_number": "136"}, nil,
			KeyChange{true, str("a@x.test")}, KeyChange{true, str("136")}},
		{"removed", nil, []string{"email", "phone_number"}, KeyChange{Changed: true}, KeyChange{Changed: true}},
		{"set wins over remove", map[string]any{"email": "b@x.test"}, []string{"email"}, KeyChange{true, str("b@x.test")}, KeyChange{}},
		{"not a string", map[string]any{"email": json.Number("1"), "phone_number": ""}, nil, KeyChange{Changed: true}, KeyChange{Changed: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			email, phone := Changes(tt.set, tt.remove)
			if !reflect.DeepEqual(email, tt.email) || !reflect.DeepEqual(phone, tt.phone) {
				t.Errorf("Changes = %+v, %+v; want %+v, %+v", email, phone, tt.email, tt.phone)
			}
		})
	}
}
