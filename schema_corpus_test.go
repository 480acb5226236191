package userinfo_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	kaptinlin "github.com/kaptinlin/jsonschema"

	"github.com/ciamkit/userinfo"
)

// corpusRegistry has an attribute of every type and format whose rule the
// schema states with patterns and bounds.
const corpusRegistry = `{"attributes": [
  {"name": "employee_id", "type": "string", "pattern": "^E[0-9]{6}$"},
  {"name": "department",  "type": "string", "enum": ["eng", "sales", "ops"]},
  {"name": "bio",         "type": "string", "min_length": 2, "max_length": 5},
  {"name": "note",        "type": "string"},
  {"name": "count",       "type": "integer"},
  {"name": "floor",       "type": "integer", "minimum": -3, "maximum": 120},
  {"name": "score",       "type": "number"},
  {"name": "newsletter",  "type": "boolean"},
  {"name": "homepage",    "type": "string", "format": "uri"},
  {"name": "link",        "type": "string", "format": "uri-reference"},
  {"name": "backup_email","type": "string", "format": "email"},
  {"name": "hired",       "type": "string", "format": "date"},
  {"name": "device",      "type": "string", "format": "uuid"}
]}`

// otpFields makes body a change of email or phone_number with OTP fields
// that the test's verifier accepts.
func withEmail(v string) string {
	return `{"email":` + v + `,"email_otp_token":"t","email_otp":"123456"}`
}

func withPhone(v string) string {
	return `{"phone_number":` + v + `,"phone_number_otp_token":"t","phone_number_otp":"123456"}`
}

// agreedCorpus are bodies whose verdict does not depend on the stored user
// nor on a rule that JSON Schema cannot state: the handler and an
// independent draft 2020-12 validator of the served schema must agree on
// every one.
var agreedCorpus = []string{
	`{}`,
	`{"nickname":"MOCK_NICKNAME"}`,
	// Unknown and read-only names.
	`{"EMAIL":"a@x.test"}`, `{"ſub":"x"}`, `{"sub":"x"}`, `{"email_verified":true}`, `{"updated_at":1}`,
	// Control characters, in standard, custom and OTP strings.
	`{"nickname":"a\u0085b"}`, `{"note":"a\u0085b"}`, `{"note":"a\u0000"}`, `{"note":"a\nb"}`, `{"note":"a\u007f"}`,
	`{"note":"\u00a0 no-break space is not a control"}`, `{"note":"\u2028"}`,
	`{"employee_id":"E123456\u0085"}`, `{"department":"eng"}`, `{"department":"ENG"}`,
	`{"email":"a@x.test","email_otp_token":"t\u0085","email_otp":"123456"}`,
	`{"email":"a@x.test","email_otp_token":"t","email_otp":"12\u00013"}`,
	`{"email":"a@x.test","email_otp_token":"","email_otp":"123456"}`,
	`{"address":{"formatted":"a\r\nb","locality":"x"}}`, `{"address":{"locality":"a\nb"}}`, `{"address":{"floor":"1"}}`,
	// Lengths count characters.
	`{"bio":"张三"}`, `{"bio":"🐼🐼🐼🐼🐼"}`, `{"bio":"🐼🐼🐼🐼🐼🐼"}`, `{"bio":"a"}`,
	`{"name":"` + strings.Repeat("张", 256) + `"}`, `{"name":"` + strings.Repeat("a", 257) + `"}`,
	// Patterns match the whole value.
	`{"employee_id":"E123456"}`, `{"employee_id":"xE123456"}`, `{"employee_id":"E1234567"}`,
	// Integers within the I-JSON range; numbers within the doubles.
	`{"count":9007199254740991}`, `{"count":-9007199254740991}`, `{"count":9007199254740992}`,
	`{"count":-9007199254740993}`, `{"count":1e300}`, `{"count":1.0}`, `{"count":1.5}`, `{"count":"1"}`,
	`{"floor":120}`, `{"floor":121}`, `{"floor":-3}`, `{"floor":-4}`, `{"floor":1.2e2}`,
	`{"score":1.5}`, `{"score":-1e308}`, `{"score":1e309}`, `{"score":-1e400}`, `{"score":true}`,
	`{"newsletter":false}`, `{"newsletter":"false"}`, `{"newsletter":null,"count":null}`,
	// uri and uri-reference as RFC 3986.
	`{"homepage":"https://example.com/a"}`, `{"homepage":"https://example.com/a b"}`, `{"homepage":"mailto:a@x.test"}`,
	`{"homepage":"urn:isbn:0451450523"}`, `{"homepage":"http://[::1]:8080/"}`, `{"homepage":"http://[::1::2]/"}`,
	`{"homepage":"https://example.com/%zz"}`, `{"homepage":"/relative"}`, `{"homepage":"https://例子.测试/"}`,
	`{"homepage":"https://example.com/a\\b"}`, `{"homepage":"https://example.com/a#b#c"}`, `{"homepage":"1http://x"}`,
	`{"link":"/relative/path?q=1#f"}`, `{"link":"a b"}`, `{"link":"//host/x"}`, `{"link":"a:b:c"}`, `{"link":""}`,
	// website, profile and picture as http(s) with a host.
	`{"website":"https://example.com"}`, `{"website":"HTTP://EXAMPLE.COM/x?y#z"}`, `{"website":"ftp://example.com/"}`,
	`{"website":"https://"}`, `{"website":"https:///path"}`, `{"website":"javascript:alert(1)"}`,
	`{"picture":"https://example.com/a b"}`, `{"profile":"https://user:pw@example.com:8443/p"}`,
	`{"website":"https://` + strings.Repeat("a", 2040) + `.com"}`,
	// Email, as a claim and as a format.
	withEmail(`"victim@x.test"`), withEmail(`"\"victim\"@x.test"`), withEmail(`"victim@ｘ.test"`),
	withEmail(`"victim\u200b@x.test"`), withEmail(`"a@x.123"`), withEmail(`"a@localhost"`), withEmail(`"a@[127.0.0.1]"`),
	withEmail(`".a..b.@x.test"`), withEmail(`"a@-x.test"`), withEmail(`"a@x.test."`), withEmail(`"a@` + strings.Repeat("b", 64) + `.test"`),
	withEmail(`"` + strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 58) + `.com"`),
	withEmail(`null`), withEmail(`5`),
	`{"backup_email":"a@x.test"}`, `{"backup_email":"\"a\"@x.test"}`, `{"backup_email":"a@x"}`, `{"backup_email":"用户@例子.广告"}`,
	// Phone numbers: the spellings the server reads.
	withPhone(`"1-800-FLOWERS"`), withPhone(`"(136) 1234 5678"`), withPhone(`"136  1234 5678"`), withPhone(`"+ 8613612345678"`),
	withPhone(`"136.1234.5678"`), withPhone(`"１３６１２３４５６７８"`), withPhone(`"+86 136-1234-5678"`), withPhone(`"13612345678"`),
	withPhone(`13612345678`), withPhone(`null`),
	// OTP fields come with their claim.
	`{"email":"a@x.test"}`, `{"email_otp":"123456"}`, `{"phone_number_otp_token":"t"}`,
	// Formats with patterns.
	`{"hired":"2024-01-31"}`, `{"hired":"2024-1-31"}`, `{"hired":"2023-02-29"}`, `{"hired":"2024-02-29"}`, `{"device":"123e4567-e89b-12d3-a456-426614174000"}`, `{"device":"123e4567"}`,
	// Standard claims with Go-side rules whose lexical part the schema states.
	`{"zoneinfo":"Asia/Shanghai"}`, `{"zoneinfo":"../etc/passwd"}`, `{"locale":"zh-CN"}`, `{"locale":"en_US"}`,
	`{"birthdate":"1990"}`, `{"birthdate":"1990-5-1"}`, `{"address":null}`, `{"address":"x"}`,
}

// describedCorpus are bodies that the handler refuses by a rule that JSON
// Schema cannot state, which the schema's descriptions give instead:
// libphonenumber's validity, the IANA time zone database, BCP 47 validity,
// calendar dates. An independent validator accepts them; the test pins that
// these are the only differences.
var describedCorpus = []string{
	withPhone(`"+999123456789"`), withPhone(`"+1234567"`), withPhone(`"+14155552671"`), withPhone(`"14012345678"`),
	`{"zoneinfo":"Mars/Base"}`, `{"locale":"xx-YYYYYYYY-ZZ"}`, `{"birthdate":"1990-02-30"}`,
	`{"score":1e-400}`,
}

// corpusHandler returns a handler of reg on a store of one user, u1,
// without an email address or phone number.
func corpusHandler(t *testing.T, reg *userinfo.Registry) *userinfo.Handler {
	t.Helper()
	store := userinfo.NewMemoryStore()
	if _, err := store.Put(context.Background(), "u1", map[string]any{"nickname": "one"}); err != nil {
		t.Fatal(err)
	}
	h, err := userinfo.New(userinfo.Config{
		Tokens: userinfo.TokenVerifierFunc(func(context.Context, string) (*userinfo.Principal, error) {
			return &userinfo.Principal{Subject: "u1", Scopes: []string{"openid"}, Expiry: time.Now().Add(time.Hour)}, nil
		}),
		Store:    store,
		Registry: reg,
		// Every code is right: the verdict is the body's alone.
		OTP: userinfo.OTPVerifierFunc(func(context.Context, userinfo.OTPCheck) (userinfo.Redemption, error) {
			return userinfo.RedemptionFunc(func(context.Context) error { return nil }), nil
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestSchemaVerdicts validates the corpus with an independent draft 2020-12
// validator (github.com/kaptinlin/jsonschema, formats asserted) against the
// schema the handler serves, and asserts the handler's verdict: 200, or a
// 400 of checks 1 to 5.
func TestSchemaVerdicts(t *testing.T) {
	attrs, err := userinfo.ParseAttributes(strings.NewReader(corpusRegistry))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := userinfo.NewRegistry(userinfo.RegistryConfig{Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	corpusHandler(t, reg).SchemaHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/userinfo/schema", nil))
	c := kaptinlin.NewCompiler()
	c.SetAssertFormat(true)
	sch, err := c.Compile(w.Body.Bytes())
	if err != nil {
		t.Fatalf("the served schema does not compile with kaptinlin/jsonschema: %v", err)
	}
	verdict := func(t *testing.T, body string) (handler, schema bool) {
		t.Helper()
		// The handler: a fresh user each time, so that no body depends on
		// an earlier one.
		h := corpusHandler(t, reg)
		r := httptest.NewRequest(http.MethodPatch, "/userinfo", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer t")
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch {
		case w.Code == http.StatusOK:
			handler = true
		case w.Code != http.StatusBadRequest:
			t.Fatalf("PATCH %s: %d %s, want 200 or 400", body, w.Code, w.Body)
		}
		return handler, sch.ValidateJSON([]byte(body)).IsValid()
	}
	for _, body := range agreedCorpus {
		if handler, schema := verdict(t, body); handler != schema {
			t.Errorf("PATCH %.120s: handler valid %v, schema valid %v", body, handler, schema)
		}
	}
	for _, body := range describedCorpus {
		if handler, schema := verdict(t, body); handler || !schema {
			t.Errorf("PATCH %.120s: handler valid %v, schema valid %v; want a rule that only the description states", body, handler, schema)
		}
	}
}
