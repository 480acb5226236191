package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// accountClientID is the public client of the account page at the test's
// OpenID Provider.
const accountClientID = "account-page"

// opStorage is the storage of zitadel's example OpenID Provider, changed as
// a provider of real access tokens is configured: its clients get JWT
// access tokens (the example's are opaque), which carry the granted scope.
type opStorage struct {
	*storage.Storage
}

func (s opStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return jwtClient{c}, nil
}

func (s opStorage) GetPrivateClaimsFromScopes(ctx context.Context, userID, clientID string, scopes []string) (map[string]any, error) {
	claims, err := s.Storage.GetPrivateClaimsFromScopes(ctx, userID, clientID, scopes)
	if err != nil {
		return nil, err
	}
	if claims == nil {
		claims = map[string]any{}
	}
	claims["scope"] = strings.Join(scopes, " ")
	return claims, nil
}

type jwtClient struct{ op.Client }

func (jwtClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }

// newTestOP starts zitadel's example OpenID Provider on a loopback port,
// with the account page registered as a public (PKCE) client whose redirect
// URI is /account on any loopback port (RFC 8252 §7.3). Its user
// "test-user@127.0.0.1", password "verysecure", has the subject "id1".
// tokenRequests counts the requests to its token endpoint.
func newTestOP(t *testing.T) (issuer string, tokenRequests *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer = "http://" + ln.Addr().String()
	clients := map[string]*storage.Client{
		accountClientID: storage.NativeClient(accountClientID, "http://127.0.0.1/account"),
	}
	st := opStorage{storage.NewStorageWithClients(storage.NewUserStore(issuer), clients)}
	router := exampleop.SetupServer(issuer, st, nil, false, op.WithAllowInsecure())
	tokenRequests = new(atomic.Int64)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/token" { // the token_endpoint of its discovery document
			tokenRequests.Add(1)
		}
		router.ServeHTTP(w, r)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return issuer, tokenRequests
}

// The account page signs in with the authorization code flow and PKCE at a
// real OpenID Provider, found through its discovery document, as a public
// client; the example server verifies the provider's tokens (-issuer,
// -jwks-url), and the page reads and changes the profile with one.
func TestAccountPageCodeFlow(t *testing.T) {
	p := newBrowserPage(t)
	issuer, tokenRequests := newTestOP(t)
	srv := newTestServer(t, "-db", "memory", "-issuer", issuer, "-jwks-url", issuer+"/keys",
		"-audience", accountClientID, "-account-client-id", accountClientID,
		"-seed", writeFile(t, "seed.json", `[{"sub":"id1","email":"id1@example.com","nickname":"One"}]`))

	p.do("opening the page", chromedp.Navigate(srv.URL+"/account"))
	p.waitText("#issuer-name", issuer)
	if n := eval[int](p, `document.querySelectorAll("#dev-sign-in:not([hidden])").length`); n != 0 {
		t.Errorf("the development sign-in is shown with a real issuer")
	}
	p.click("#oidc-button")
	// The provider's login page.
	p.typeInto("#username", "test-user@127.0.0.1")
	p.typeInto("#password", "verysecure")
	p.click("button[type=submit]")
	// Back on the page, signed in.
	p.waitText("#who", "Signed in as id1")
	p.waitValue("#f-nickname", "One")
	if n := tokenRequests.Load(); n != 1 {
		t.Errorf("%d requests to the token endpoint for one sign-in, want 1", n)
	}
	if u := eval[string](p, `location.href`); u != srv.URL+"/account" {
		t.Errorf("the page's URL is %s after the sign-in, want the code and state taken off it", u)
	}
	p.typeInto("#f-nickname", "Signed in with PKCE")
	p.click("#save")
	p.waitText("#status", "Saved: Nickname.")
	if n := eval[int](p, `localStorage.length + sessionStorage.length`); n != 0 {
		t.Errorf("the page left %d items in localStorage or sessionStorage", n)
	}
	if c := eval[string](p, `document.cookie`); c != "" {
		t.Errorf("the page has the cookies %q", c)
	}
}

// A sign-in answer the page did not ask for (a forged or replayed
// callback, with a state of no sign-in of this tab) is refused with its
// message, taken off the URL, and no code is redeemed.
func TestAccountPageForgedCallback(t *testing.T) {
	p := newBrowserPage(t)
	issuer, tokenRequests := newTestOP(t)
	srv := newTestServer(t, "-db", "memory", "-issuer", issuer, "-jwks-url", issuer+"/keys",
		"-audience", accountClientID, "-account-client-id", accountClientID)

	p.do("opening the forged callback", chromedp.Navigate(srv.URL+"/account?code=x&state=forged"))
	p.waitText("#banner-text", "This sign-in answer was not started by this page; sign in again.")
	if u := eval[string](p, `location.href`); u != srv.URL+"/account" {
		t.Errorf("the page's URL is %s after the refusal, want the code and state taken off it", u)
	}
	if n := eval[int](p, `document.querySelectorAll("#who:not([hidden]), #profile:not([hidden])").length`); n != 0 {
		t.Errorf("the page shows a signed-in user after a forged callback")
	}
	if n := eval[int](p, `performance.getEntriesByType("resource").filter((e) => e.name.includes("/oauth/token")).length`); n != 0 {
		t.Errorf("the page made %d token requests", n)
	}
	if n := tokenRequests.Load(); n != 0 {
		t.Errorf("the provider had %d token requests, want none", n)
	}
}

// The page's own answers: the CSP on every file, the configuration the
// page signs in by, and the -account-client-id checks.
func TestAccountHandler(t *testing.T) {
	srv := newTestServer(t, "-db", "memory")
	for _, path := range []string{"/account", "/account/app.js", "/account/account.css", "/account/config.json"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if resp.StatusCode != 200 || !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: %d, CSP %q; want 200 and script-src 'self' alone", path, resp.StatusCode, csp)
		}
	}
	if status, _, m := call(t, http.MethodGet, srv.URL+"/account/config.json", "", ""); status != 200 || m["dev"] != true {
		t.Errorf("config.json with the development issuer: %d %v", status, m)
	}
	if resp, err := http.Get(srv.URL + "/account/missing.js"); err != nil || resp.StatusCode != 404 {
		t.Errorf("GET /account/missing.js: %v %v, want 404", resp, err)
	}
	// The directory and its index go to the page.
	for _, path := range []string{"/account/", "/account/index.html"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Request.URL.Path != "/account" || !strings.Contains(string(body), `src="account/app.js"`) {
			t.Errorf("GET %s: %d at %s, want the page at /account", path, resp.StatusCode, resp.Request.URL.Path)
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/account/", nil)
	if resp, err := http.DefaultTransport.RoundTrip(req); err != nil || resp.Header.Get("Location") != "../account" {
		t.Errorf("GET /account/: %v %v, want a relative Location, which keeps a proxy's path prefix", resp, err)
	} else {
		resp.Body.Close()
	}

	// An issuer that cannot be reached: its origin alone.
	unreachable := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("unreachable")
	})}
	h := accountHandler(accountConfig{Issuer: "https://id.example.test/realm", ClientID: "web"}, unreachable)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/account", nil))
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' https://id.example.test;") {
		t.Errorf("CSP with a real issuer: %q, want its origin in connect-src", csp)
	}
	if !strings.Contains(rec.Body.String(), `<script type="module" src="account/app.js">`) {
		t.Errorf("the page is not a module script of its own:\n%s", rec.Body)
	}
	// No inline script, which the CSP would block: every <script> has a
	// src and no content, and no element has an event handler attribute.
	doc, err := html.Parse(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatal(err)
	}
	scripts := 0
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		src := false
		for _, a := range n.Attr {
			if strings.HasPrefix(strings.ToLower(a.Key), "on") {
				t.Errorf("<%s %s=%q>: an inline event handler", n.Data, a.Key, a.Val)
			}
			src = src || (a.Key == "src" && a.Val != "")
		}
		if n.DataAtom == atom.Script {
			scripts++
			if !src || n.FirstChild != nil {
				t.Errorf("a <script> without src, or with content: %v", n.Attr)
			}
		}
	}
	if scripts == 0 {
		t.Errorf("the page has no <script>")
	}

	for _, args := range [][]string{
		{"-account-client-id", "web"}, // the development issuer signs in by itself
		{"-account-client-id", "web", "-jwks-file", "k.json", "-issuer", "urn:example:issuer", "-audience", "api"},
	} {
		if _, err := parseFlags(args, io.Discard); !errors.Is(err, errUsage) {
			t.Errorf("parseFlags(%q): %v, want a usage error", args, err)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The token endpoint may be on another origin than the issuer (Google's
// is): the server reads it from the issuer's discovery document and allows
// it in connect-src. Until the document is read, the issuer's origin alone
// is allowed, and the server asks again after a failure.
func TestAccountCSPTokenEndpoint(t *testing.T) {
	tokens := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(tokens.Close)
	var up atomic.Bool
	var issuer string
	disco := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() || r.URL.Path != "/.well-known/openid-configuration" {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"issuer":                 issuer,
			"authorization_endpoint": issuer + "/authorize",
			"token_endpoint":         tokens.URL + "/token",
		})
	}))
	t.Cleanup(disco.Close)
	issuer = disco.URL
	cspOf := func(h http.Handler, path string) string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Header().Get("Content-Security-Policy")
	}
	want := "connect-src 'self' " + issuer + " " + tokens.URL + ";"

	// Down, then up: the issuer's origin alone, then both.
	h := newAccountHandler(accountConfig{Issuer: issuer, ClientID: "web"}, disco.Client(), 0)
	if csp := cspOf(h, "/account"); !strings.Contains(csp, "connect-src 'self' "+issuer+";") {
		t.Errorf("CSP with the discovery document unreadable: %q, want the issuer's origin alone", csp)
	}
	up.Store(true)
	if csp := cspOf(h, "/account"); !strings.Contains(csp, want) {
		t.Errorf("CSP once the discovery document is read: %q, want %q", csp, want)
	}
	if csp := cspOf(h, "/account/app.js"); !strings.Contains(csp, want) {
		t.Errorf("CSP of a file once the document is read: %q, want %q", csp, want)
	}

	// Through the server: the page's first request reads the document.
	// Down while the server starts: it reads the document when the page
	// is first asked for, not before.
	up.Store(false)
	srv := newTestServer(t, "-db", "memory", "-issuer", issuer, "-audience", "web", "-account-client-id", "web",
		"-jwks-file", writeFile(t, "jwks.json", string(newIssuer(t).JWKS())))
	up.Store(true)
	resp, err := http.Get(srv.URL + "/account")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); resp.StatusCode != 200 || !strings.Contains(csp, want) {
		t.Errorf("GET /account: %d, CSP %q; want %q", resp.StatusCode, csp, want)
	}

	// A failure is retried only after the wait; a document naming another
	// issuer, or a token endpoint that is not http(s), is not used.
	for _, doc := range []string{
		`{"issuer":"https://other.example","token_endpoint":"https://tokens.example/token"}`,
		`{"issuer":"ISSUER","token_endpoint":"javascript:alert(1)"}`,
		`{"issuer":"ISSUER","token_endpoint":"https://a.example;script-src *"}`,
	} {
		o := &issuerOrigins{issuer: issuer, retry: time.Hour, client: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(strings.ReplaceAll(doc, "ISSUER", issuer))), Request: r}, nil
		})}}
		for range 2 {
			if got := o.connectSrc(t.Context(), true); got != " "+issuer {
				t.Errorf("connect-src with %s: %q, want the issuer's origin alone", doc, got)
			}
		}
		if o.fetches != 1 {
			t.Errorf("with %s: %d fetches in the wait after a failure, want 1", doc, o.fetches)
		}
	}
}

// The page marks a step_up attribute by the note the schema gives it: if
// the note's words change, the page's test must change with them.
func TestAccountStepUpNote(t *testing.T) {
	srv := newTestServer(t, "-db", "memory", "-attributes", writeFile(t, "attributes.json", accountAttributes))
	resp, err := http.Get(srv.URL + "/userinfo/schema")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	status := resp.StatusCode
	props, _ := m["properties"].(map[string]any)
	bio, _ := props["bio"].(map[string]any)
	dept, _ := props["department"].(map[string]any)
	desc, _ := bio["description"].(string)
	other, _ := dept["description"].(string)
	if status != 200 || !strings.Contains(desc, "(step-up)") || strings.Contains(other, "(step-up)") {
		t.Fatalf("GET /userinfo/schema: %d, bio %q, department %q; want the step-up note on bio only", status, desc, other)
	}
	js, err := accountFiles.ReadFile("account/form.js")
	if err != nil || !strings.Contains(string(js), `const stepUpNote = /\(step-up\)/;`) {
		t.Errorf("form.js does not look for the note (%v)", err)
	}
}

// Every flag of the example is documented: in the README's table, in the
// package comment of main.go.
func TestFlagsDocumented(t *testing.T) {
	var usage strings.Builder
	if _, err := parseFlags([]string{"-h"}, &usage); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseFlags(-h): %v", err)
	}
	var names []string
	for line := range strings.Lines(usage.String()) {
		if rest, ok := strings.CutPrefix(line, "  -"); ok {
			names = append(names, strings.Fields(rest)[0])
		}
	}
	if len(names) < 15 {
		t.Fatalf("found %d flags in the usage, want every one:\n%s", len(names), usage.String())
	}
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if !strings.Contains(string(readme), "\n| `-"+name) && !strings.Contains(string(readme), "/ `-"+name) &&
			!strings.Contains(string(readme), ", `-"+name) {
			t.Errorf("-%s is not in the README's table of flags", name)
		}
		if !strings.Contains(string(doc), "//\t-"+name+" ") {
			t.Errorf("-%s is not in the package comment of main.go", name)
		}
	}
}
