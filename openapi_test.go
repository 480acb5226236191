package userinfo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ciamkit/userinfo"
)

var updateOpenAPI = flag.Bool("update-openapi", false, "rewrite testdata/openapi*.json from the current registry")

// contractRegistry is the registry file of the contract
// (testdata/contract-registry.json). Its "birthdate" refines the standard
// claim.
func contractRegistry(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile("testdata/contract-registry.json")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// openAPICase is one handler configuration whose description is checked.
type openAPICase struct {
	name   string
	golden string // file under testdata, or "" for none
	cfg    func(t *testing.T) userinfo.Config
	opts   userinfo.OpenAPIOptions
}

func openAPICases() []openAPICase {
	base := func(*testing.T) userinfo.Config {
		return userinfo.Config{Tokens: openAPITokens, Store: userinfo.NewMemoryStore()}
	}
	return []openAPICase{
		{
			name:   "standard claims",
			golden: "openapi.json",
			cfg:    base,
			opts:   userinfo.OpenAPIOptions{OTPSend: true},
		},
		{
			name:   "contract registry",
			golden: "openapi-custom.json",
			cfg: func(t *testing.T) userinfo.Config {
				attrs, err := userinfo.ParseAttributes(strings.NewReader(contractRegistry(t)))
				if err != nil {
					t.Fatalf("ParseAttributes: %v", err)
				}
				c := base(t)
				c.Registry = newRegistry(t, userinfo.RegistryConfig{Attributes: attrs})
				return c
			},
			opts: userinfo.OpenAPIOptions{Title: "Example IdP", Version: "2.1.0", ServerURL: "https://id.example.com/api"},
		},
		{
			name: "E.164 phone numbers and another scope",
			cfg: func(t *testing.T) userinfo.Config {
				c := base(t)
				c.Registry = newRegistry(t, userinfo.RegistryConfig{Phone: userinfo.PhonePolicy{Regions: []string{userinfo.AnyPhoneRegion}}})
				c.Scope = "profile:write"
				return c
			},
			opts: userinfo.OpenAPIOptions{OTPSend: true},
		},
	}
}

// openAPITokens knows one token, of user u1 with the openid scope.
var openAPITokens = userinfo.TokenVerifierFunc(func(_ context.Context, token string) (*userinfo.Principal, error) {
	if token != "TOKEN_OF_U1" {
		return nil, userinfo.ErrInvalidToken
	}
	return &userinfo.Principal{Subject: "u1", Scopes: []string{"openid", "profile:write"}}, nil
})

func newRegistry(t *testing.T, cfg userinfo.RegistryConfig) *userinfo.Registry {
	t.Helper()
	r, err := userinfo.NewRegistry(cfg)
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	return r
}

func newOpenAPIHandler(t *testing.T, c openAPICase) *userinfo.Handler {
	t.Helper()
	h, err := userinfo.New(c.cfg(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h
}

func decodeDoc(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("the document is not a JSON object: %v", err)
	}
	return m
}

// pointer resolves a JSON pointer ("/components/schemas/Error") in doc.
func pointer(doc any, ptr string) (any, bool) {
	if ptr == "" {
		return doc, true
	}
	cur := doc
	for tok := range strings.SplitSeq(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// The golden files hold the description of two registries. A change of the
// registry's schema shows here; rewrite them with
//
//	go test -run TestOpenAPIGolden -update-openapi .
func TestOpenAPIGolden(t *testing.T) {
	for _, c := range openAPICases() {
		if c.golden == "" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			got := newOpenAPIHandler(t, c).OpenAPI(c.opts)
			path := filepath.Join("testdata", c.golden)
			if *updateOpenAPI {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestOpenAPIGolden -update-openapi . to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("OpenAPI(%+v) differs from %s; if the change is intended, run go test -run TestOpenAPIGolden -update-openapi .", c.opts, path)
			}
			if again := newOpenAPIHandler(t, c).OpenAPI(c.opts); !bytes.Equal(got, again) {
				t.Errorf("OpenAPI is not deterministic")
			}
		})
	}
}

// The request schema of PATCH is the registry's schema, byte for byte once
// both are decoded, for every content type of the request.
func TestOpenAPIPatchSchemaIsRegistrySchema(t *testing.T) {
	for _, c := range openAPICases() {
		t.Run(c.name, func(t *testing.T) {
			h := newOpenAPIHandler(t, c)
			doc := decodeDoc(t, h.OpenAPI(c.opts))
			if got := doc["openapi"]; got != "3.1.0" {
				t.Errorf("openapi = %v, want 3.1.0", got)
			}
			registry := decodeDoc(t, h.Registry().Schema())
			got, _ := pointer(doc, "/components/schemas/UserinfoPatch")
			if !reflect.DeepEqual(got, any(registry)) {
				t.Errorf("components.schemas.UserinfoPatch is not Registry().Schema()")
			}
			content, ok := pointer(doc, "/paths/~1userinfo/patch/requestBody/content")
			if !ok {
				t.Fatal("no PATCH /userinfo request body")
			}
			for _, ct := range []string{"application/json", "application/merge-patch+json"} {
				ref, _ := pointer(content, "/"+strings.ReplaceAll(ct, "/", "~1")+"/schema/$ref")
				if ref != "#/components/schemas/UserinfoPatch" {
					t.Errorf("PATCH %s schema $ref = %v, want #/components/schemas/UserinfoPatch", ct, ref)
				}
			}
			// The served schema is the same document.
			w := httptest.NewRecorder()
			h.SchemaHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/userinfo/schema", nil))
			if served := decodeDoc(t, w.Body.Bytes()); !reflect.DeepEqual(served, registry) {
				t.Errorf("GET /userinfo/schema differs from Registry().Schema()")
			}
			// Every property of the response is described, and the OTP
			// fields are not among them.
			props, _ := pointer(doc, "/components/schemas/Userinfo/properties")
			pm, _ := props.(map[string]any)
			for _, name := range []string{"sub", "email", "phone_number", "nickname", "updated_at", "email_verified"} {
				if _, ok := pm[name]; !ok {
					t.Errorf("response schema lacks %q", name)
				}
			}
			for _, name := range []string{"email_otp", "email_otp_token", "phone_number_otp", "phone_number_otp_token"} {
				if _, ok := pm[name]; ok {
					t.Errorf("response schema has the write-only %q", name)
				}
			}
			_, hasOTP := pointer(doc, "/paths/~1otp~1send/post")
			if hasOTP != c.opts.OTPSend {
				t.Errorf("POST /otp/send described: %v, want %v", hasOTP, c.opts.OTPSend)
			}
			if c.opts.ServerURL != "" {
				if url, _ := pointer(doc, "/servers/0/url"); url != c.opts.ServerURL {
					t.Errorf("servers[0].url = %v, want %s", url, c.opts.ServerURL)
				}
			}
		})
	}
}

// Every local $ref of the document resolves, and every operation answers
// at least its success and its bearer errors.
func TestOpenAPIRefsResolve(t *testing.T) {
	for _, c := range openAPICases() {
		t.Run(c.name, func(t *testing.T) {
			doc := decodeDoc(t, newOpenAPIHandler(t, c).OpenAPI(c.opts))
			var walk func(v any, at string)
			walk = func(v any, at string) {
				switch v := v.(type) {
				case map[string]any:
					if r, ok := v["$ref"].(string); ok {
						if !strings.HasPrefix(r, "#/") {
							t.Errorf("%s: $ref %q is not local", at, r)
						} else if _, ok := pointer(doc, strings.TrimPrefix(r, "#")); !ok {
							t.Errorf("%s: $ref %q does not resolve", at, r)
						}
					}
					for k, e := range v {
						walk(e, at+"/"+k)
					}
				case []any:
					for i, e := range v {
						walk(e, at+"/"+strconv.Itoa(i))
					}
				}
			}
			walk(doc, "")

			paths, _ := doc["paths"].(map[string]any)
			for path, item := range paths {
				for method, op := range item.(map[string]any) {
					responses, _ := pointer(op, "/responses")
					rm, _ := responses.(map[string]any)
					if _, ok := rm["200"]; !ok {
						t.Errorf("%s %s: no 200 response", method, path)
					}
					if path != "/userinfo/schema" {
						for _, code := range []string{"400", "401", "403", "500"} {
							if _, ok := rm[code]; !ok {
								t.Errorf("%s %s: no %s response", method, path, code)
							}
						}
					}
				}
			}
		})
	}
}

// compileDocSchema compiles the schema at ptr of the OpenAPI document.
func compileDocSchema(t *testing.T, doc []byte, ptr string) *jsonschema.Schema {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("UnmarshalJSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	const url = "urn:ciamkit:userinfo:openapi"
	if err := c.AddResource(url, v); err != nil {
		t.Fatalf("AddResource: %v", err)
	}
	s, err := c.Compile(url + "#" + ptr)
	if err != nil {
		t.Fatalf("compiling %s: %v", ptr, err)
	}
	return s
}

// What the handler answers is what the description says: real responses
// validate against the response and error schemas, and the 400 codes of
// PATCH are the ones listed.
func TestOpenAPIResponsesMatchHandler(t *testing.T) {
	c := openAPICases()[1] // the contract registry
	cfg := c.cfg(t)
	store := cfg.Store.(*userinfo.MemoryStore)
	if _, err := store.Put(context.Background(), "u1", map[string]any{
		"email": "u1@example.com", "email_verified": true, "nickname": "one", "department": "eng",
		"vip_level": json.Number("3"),
	}); err != nil {
		t.Fatal(err)
	}
	h, err := userinfo.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	doc := h.OpenAPI(c.opts)
	claims := compileDocSchema(t, doc, "/components/schemas/Userinfo")
	patchErr := compileDocSchema(t, doc, "/components/schemas/PatchError")
	plainErr := compileDocSchema(t, doc, "/components/schemas/Error")

	tests := []struct {
		name, method, body string
		token              string
		wantStatus         int
	}{
		{"get", http.MethodGet, "", "TOKEN_OF_U1", 200},
		{"patch", http.MethodPatch, `{"nickname":"uno","bio":"hi","newsletter":true}`, "TOKEN_OF_U1", 200},
		{"remove", http.MethodPatch, `{"bio":null}`, "TOKEN_OF_U1", 200},
		{"unknown", http.MethodPatch, `{"shoe_size":42}`, "TOKEN_OF_U1", 400},
		{"read-only", http.MethodPatch, `{"vip_level":9}`, "TOKEN_OF_U1", 400},
		{"illegal", http.MethodPatch, `{"employee_id":"E12"}`, "TOKEN_OF_U1", 400},
		{"malformed email", http.MethodPatch, `{"email":"x","email_otp_token":"t","email_otp":"1"}`, "TOKEN_OF_U1", 400},
		{"no token", http.MethodPatch, `{}`, "", 400},
		{"bad token", http.MethodGet, "", "nope", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/userinfo", strings.NewReader(tt.body))
			if tt.token != "" {
				r.Header.Set("Authorization", "Bearer "+tt.token)
			}
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tt.wantStatus, w.Body)
			}
			var body any
			dec := json.NewDecoder(w.Body)
			dec.UseNumber()
			if err := dec.Decode(&body); err != nil {
				t.Fatal(err)
			}
			sch := plainErr
			switch {
			case w.Code == 200:
				sch = claims
			case w.Code == 400 && tt.method == http.MethodPatch:
				sch = patchErr
			}
			if err := sch.Validate(body); err != nil {
				t.Errorf("%s answered %v, which its description refuses: %v", tt.method, body, err)
			}
			// The operation lists the status it answered.
			op := strings.ToLower(tt.method)
			if _, ok := pointer(decodeDoc(t, doc), "/paths/~1userinfo/"+op+"/responses/"+strconv.Itoa(w.Code)); !ok {
				t.Errorf("%s /userinfo answered %d, which the description does not list", tt.method, w.Code)
			}
		})
	}
	// Every error code of the seed's PATCH answers is listed.
	listed, _ := pointer(decodeDoc(t, doc), "/components/schemas/PatchError/properties/error/enum")
	for _, code := range []string{
		userinfo.CodeInvalidRequest, userinfo.CodeIllegalParameterValue, userinfo.CodeMalformedPhoneNumber,
		userinfo.CodeDuplicatePhoneNumber, userinfo.CodeBadPhoneNumberOTPToken, userinfo.CodeBadPhoneNumberOTP,
		userinfo.CodeMalformedEmail, userinfo.CodeDuplicateEmail, userinfo.CodeBadEmailOTPToken, userinfo.CodeBadEmailOTP,
	} {
		if l, _ := listed.([]any); !slices.Contains(l, any(code)) {
			t.Errorf("PatchError does not list %q", code)
		}
	}
}

func TestOpenAPIHandler(t *testing.T) {
	c := openAPICases()[0]
	h := newOpenAPIHandler(t, c)
	srv := h.OpenAPIHandler(c.opts)
	tests := []struct {
		method     string
		wantStatus int
		wantBody   bool
	}{
		{http.MethodGet, 200, true},
		{http.MethodHead, 200, false},
		{http.MethodPost, 405, false},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, httptest.NewRequest(tt.method, "/openapi.json", nil))
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			if tt.wantStatus != 200 {
				if got := w.Header().Get("Allow"); got != "GET, HEAD" {
					t.Errorf("Allow = %q, want GET, HEAD", got)
				}
				return
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			want := h.OpenAPI(c.opts)
			if cl := w.Header().Get("Content-Length"); cl != strconv.Itoa(len(want)) {
				t.Errorf("Content-Length = %s, want %d", cl, len(want))
			}
			if got := w.Body.Bytes(); tt.wantBody != (len(got) > 0) || (tt.wantBody && !bytes.Equal(got, want)) {
				t.Errorf("body of %d bytes, want the document: %v", len(got), tt.wantBody)
			}
		})
	}
}

// Serving the OpenAPI description beside the endpoints it describes.
func ExampleHandler_OpenAPI() {
	h, err := userinfo.New(userinfo.Config{Tokens: openAPITokens, Store: userinfo.NewMemoryStore()})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/userinfo", h)
	mux.Handle("GET /userinfo/schema", h.SchemaHandler())
	mux.Handle("GET /openapi.json", h.OpenAPIHandler(userinfo.OpenAPIOptions{Title: "My IdP"}))

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Info    struct{ Title string }    `json:"info"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		panic(err)
	}
	fmt.Println(doc.OpenAPI, doc.Info.Title)
	for _, path := range slices.Sorted(maps.Keys(doc.Paths)) {
		fmt.Println(path, slices.Sorted(maps.Keys(doc.Paths[path])))
	}
	// Output:
	// 3.1.0 My IdP
	// /userinfo [get patch]
	// /userinfo/schema [get]
}
