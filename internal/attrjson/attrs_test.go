package attrjson

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
	raw, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"address":{"locality":"Paris"},"b":true,"n":9007199254740993,"nickname":"<Zoë & co>"}`; string(raw) != want {
		t.Errorf("Encode = %s, want %s", raw, want)
	}
	out, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("Decode(Encode(%v)) = %v", in, out)
	}
	if raw, err := Encode(nil); err != nil || string(raw) != "{}" {
		t.Errorf("Encode(nil) = %s, %v; want {}", raw, err)
	}
}

func TestDecodeRefuses(t *testing.T) {
	for _, raw := range []string{``, `[]`, `{} {}`, `{"a":}`, `"x"`} {
		if _, err := Decode([]byte(raw)); err == nil {
			t.Errorf("Decode(%q): got nil error", raw)
		}
	}
	if m, err := Decode([]byte(`null`)); err != nil || m == nil || len(m) != 0 {
		t.Errorf("Decode(null) = %v, %v; want an empty map", m, err)
	}
}

func TestEmailKeyFoldsASCIIOnly(t *testing.T) {
	for in, want := range map[string]string{
		"Kate@Example.COM":     "kate@example.com",
		"\u212Aate@x.test":     "\u212Aate@x.test", // KELVIN SIGN stays: it is not "kate@x.test"
		"ÉLODIE@x.test":        "Élodie@x.test",
		"\u0130stanbul@x.test": "\u0130stanbul@x.test",
		"plain.lower@x.test":   "plain.lower@x.test",
	} {
		if got := EmailKey(in); got == nil || *got != want {
			t.Errorf("EmailKey(%q) = %v, want %q", in, got, want)
		}
	}
	for _, v := range []any{nil, "", 42, true} {
		if got := EmailKey(v); got != nil {
			t.Errorf("EmailKey(%v) = %q, want nil", v, *got)
		}
	}
}

func TestDecodeString(t *testing.T) {
	doc := `{"a":"x","n":1}`
	got, err := DecodeString(doc)
	if err != nil || !reflect.DeepEqual(got, map[string]any{"a": "x", "n": json.Number("1")}) {
		t.Fatalf("DecodeString = %v, %v", got, err)
	}
	if got, err := DecodeString(""); err == nil {
		t.Fatalf("DecodeString(\"\") = %v, nil", got)
	}
}

func TestEncodeString(t *testing.T) {
	for _, m := range []map[string]any{nil, {"a": "<x>", "n": json.Number("2")}} {
		want, err := Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second through a pooled buffer
			if got, err := EncodeString(m); err != nil || got != string(want) {
				t.Fatalf("EncodeString(%v) = %q, %v; Encode: %s", m, got, err, want)
			}
		}
	}
	if _, err := EncodeString(map[string]any{"c": make(chan int)}); err == nil {
		t.Error("a channel encoded")
	}
	// A result shares nothing with the pooled buffer that the next call
	// writes into.
	first, err := EncodeString(map[string]any{"a": "first"})
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if _, err := EncodeString(map[string]any{"a": "second, and longer than the first", "b": "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if first != `{"a":"first"}` {
		t.Errorf("an earlier result changed to %q when the pooled buffer was reused", first)
	}
}
