package userinfo

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ciamkit/userinfo/internal/attrjson"
)

// seedCodes are the "error" values a PATCH may answer with.
var seedCodes = map[string]bool{
	CodeInvalidRequest: true, CodeIllegalParameterValue: true,
	CodeMalformedPhoneNumber: true, CodeDuplicatePhoneNumber: true, CodeBadPhoneNumberOTPToken: true, CodeBadPhoneNumberOTP: true,
	CodeMalformedEmail: true, CodeDuplicateEmail: true, CodeBadEmailOTPToken: true, CodeBadEmailOTP: true,
	CodePreconditionFailed: true,
}

// FuzzPatchBody sends any body through the whole handler: the answer is a
// 200 with claims, or a 4xx in the seed's format after which the user is
// unchanged; never a panic, never a 5xx, never a partial write.
func FuzzPatchBody(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"nickname":"MOCK_NICKNAME"}`, `{"nickname":null}`, `{"name":"a","locale":"en-US","zoneinfo":"Europe/Paris"}`,
		`{"email":"a@b.c","email_otp_token":"t","email_otp":"1"}`, `{"phone_number":"13700000000","phone_number_otp_token":"t-p","phone_number_otp":"111111"}`,
		`{"address":{"locality":"Paris","country":"FR"}}`, `{"address":{"x":1}}`, `{"vip_level":1e400}`, `{"bio":"\u0000"}`,
		`{"a":1,"a":2}`, `{"nickname":"x"} 1`, `[1]`, `"x"`, `{"EMAIL":"x"}`, `{"ſub":"x"}`, "{\"nickname\":\"\xff\"}",
		`{"employee_id":"E123456","department":"eng","newsletter":true,"birthday":"2000-01-01"}`, `{"address":{"a":{"b":{"c":[[[[[[1]]]]]]}}}}`,
		`{"nickname":"uno","email":"one@example.com"}`, `{"updated_at":1e999999}`, `{"newsletter":true,"department":null}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		hs := newHarness(t)
		hs.otp.issue("t-p", issuedOTP{"u1", ChannelSMS, "13700000000", "111111"})
		before := hs.user(t, "u1")
		w := hs.serve(newRequest(http.MethodPatch, "tok-u1", body))
		var m map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatalf("status %d, body %q is not a JSON object", w.Code, w.Body.String())
		}
		after := hs.user(t, "u1")
		if w.Code == http.StatusOK {
			if m["sub"] != "u1" {
				t.Fatalf("200 without sub: %s", w.Body.String())
			}
			return
		}
		if w.Code < 400 || w.Code >= 500 {
			t.Fatalf("status %d for body %q: %s", w.Code, body, w.Body.String())
		}
		code, _ := m["error"].(string)
		if !seedCodes[code] {
			t.Fatalf("error %q is not a code of the seed", code)
		}
		if desc, _ := m["error_description"].(string); len(body) > 8 && strings.Contains(desc, body) {
			t.Fatalf("error_description echoes the body: %q", desc)
		}
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("rejected body %q changed the user:\nbefore %+v\nafter  %+v", body, before, after)
		}
	})
}

// FuzzDecodeObject checks the decoder alone: it never panics, and what it
// accepts is a JSON object that encoding/json also reads the same way.
func FuzzDecodeObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":{"b":[1,2,{"c":null}]}}`, `{"a":1,"a":1}`, `{"a":"\ud800"}`, ` {"a" : true } `, `{"a":1}x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := decodeObject(data)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not *Error", err)
			}
			return
		}
		var ref map[string]any
		if err := json.Unmarshal(data, &ref); err != nil {
			t.Fatalf("decodeObject accepted %q, encoding/json refuses it: %v", data, err)
		}
		if len(ref) != len(obj) {
			t.Fatalf("decodeObject found %d keys, encoding/json %d", len(obj), len(ref))
		}
	})
}

// FuzzDecodeStrict holds the fast reader of PATCH bodies to the
// token-by-token one: whatever attrjson.DecodeStrict accepts of a body that
// passes the UTF-8 checks, decodeTokens accepts as the same map.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"a":2}`, `{"a":{"b":"c","b":"d"}}`, `{"a":{"b":{}}}`, `{"a":[1]}`,
		`{"n":-1.5e+3,"s":"\u00e9\"\n","t":true,"z":null,"o":{"x":"y"}}`, `{"a":1} x`, `{"\u0061":1,"a":2}`, ` { } `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) || hasLoneSurrogate(data) {
			return
		}
		got, ok := attrjson.DecodeStrict(data)
		if !ok {
			return
		}
		want, err := decodeTokens(data)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("DecodeStrict(%q) = %#v; decodeTokens: %#v, %v", data, got, want, err)
		}
	})
}
