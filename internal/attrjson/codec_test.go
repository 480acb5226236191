package attrjson

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// codecSeeds are documents for the fuzz targets: attributes, claims and
// the strings that encoding/json escapes.
var codecSeeds = []string{
	`{}`, `null`, ` {"a" : 1 } `, `{"a":1}x`, `{"a":1,"a":{"b":2}}`,
	`{"nickname":"<Zoë & co>","n":9007199254740993,"b":true,"f":false,"z":null,"address":{"locality":"Paris"}}`,
	`{"s":"a\"b\\c\/d\b\f\n\r\t\u0001\u2028\u2029\ud83d\ude00\ud800"}`,
	"{\"bad\":\"\xff\xfe\",\"c\":\"\x01\"}",
	`{"scope":"openid profile","aud":["a","b"],"exp":1.7e9,"iat":-0.5E-3,"big":1e400,"cnf":{"jkt":"x"}}`,
	`{"a":01}`, `{"a":-}`, `{"a":[1,[2,{}],[]]}`, `[1]`, `"x"`, `{"a":tru}`, `{"a" 1}`, `{"a":1,}`,
}

// FuzzDecodeObject holds DecodeObject equal to encoding/json: the same
// verdict and the same map, with and without UseNumber.
func FuzzDecodeObject(f *testing.F) {
	for _, s := range codecSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, useNumber := range []bool{false, true} {
			got, err := DecodeObject(b, useNumber)
			want, wantErr := slowDecode(string(b), useNumber)
			if (err == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) {
				t.Fatalf("DecodeObject(%q, %v) = %#v, %v; encoding/json: %#v, %v", b, useNumber, got, err, want, wantErr)
			}
			if !useNumber {
				var um map[string]any
				umErr := json.Unmarshal(b, &um)
				if (err == nil) != (umErr == nil) || err == nil && !reflect.DeepEqual(got, um) {
					t.Fatalf("DecodeObject(%q) = %#v, %v; json.Unmarshal: %#v, %v", b, got, err, um, umErr)
				}
			}
		}
	})
}

// FuzzAppendObject holds AppendObject equal to json.Marshal (escapeHTML)
// and to a json.Encoder without HTML escaping, on every document that
// encoding/json decodes.
func FuzzAppendObject(f *testing.F) {
	for _, s := range codecSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := slowDecode(string(b), true)
		if err != nil || m == nil {
			return
		}
		m["n"] = json.Number("") // encoding/json writes 0
		checkAppend(t, m)
		m["n"] = json.Number("1x")
		checkAppend(t, m)
	})
}

func checkAppend(t *testing.T, m map[string]any) {
	t.Helper()
	got, err := AppendObject(nil, m, true)
	want, wantErr := json.Marshal(m)
	if (err == nil) != (wantErr == nil) || !bytes.Equal(got, want) {
		t.Fatalf("AppendObject(%#v, true) = %s, %v; json.Marshal: %s, %v", m, got, err, want, wantErr)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	wantErr = enc.Encode(m)
	got, err = AppendObject(nil, m, false)
	if (err == nil) != (wantErr == nil) || err == nil && !bytes.Equal(got, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))) {
		t.Fatalf("AppendObject(%#v, false) = %s, %v; json.Encoder: %s, %v", m, got, err, buf.Bytes(), wantErr)
	}
}

// TestAppendValueTypes covers the values that do not come from a decode:
// integers, typed nils and a type that encoding/json writes.
func TestAppendValueTypes(t *testing.T) {
	m := map[string]any{"i": 42, "i64": int64(-7), "nm": map[string]any(nil), "na": []any(nil),
		"f": 1.5, "t": struct{ A string }{"<"}, "ss": []string{"x"}}
	checkAppend(t, m)
	if _, err := AppendValue(nil, make(chan int), true); err == nil {
		t.Error("a channel encoded")
	}
}

func TestIsNumber(t *testing.T) {
	for s, want := range map[string]bool{"0": true, "-0": true, "1.5e+3": true, "12": true, "1E9": true,
		"": false, "01": false, "1.": false, ".5": false, "+1": false, "1e": false, "-": false, "1x": false, "NaN": false} {
		if got := IsNumber(s); got != want {
			t.Errorf("IsNumber(%q) = %v, want %v", s, got, want)
		}
	}
}
