package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// updateScreenshot makes TestAccountPage write docs/account.png.
var updateScreenshot = flag.Bool("update", false, "write ../docs/account.png, the README's screenshot of the account page")

// Bounds of the browser tests' waits: generous on a busy machine, but
// bounded.
const (
	browserTestTimeout = 2 * time.Minute
	browserStepTimeout = 20 * time.Second
	browserPollEvery   = 50 * time.Millisecond
)

// browserNames are the commands tried, in order, to find Chromium.
var browserNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// findBrowser returns the path of Chromium or Chrome. Without one it skips
// t, except in CI (CI or USERINFO_REQUIRE_BROWSER set), where the browser
// tests must run and t fails.
func findBrowser(t *testing.T) string {
	t.Helper()
	for _, name := range browserNames {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	msg := fmt.Sprintf("no browser on PATH (tried %s); install Debian's chromium (apt-get install chromium) to run the account page tests",
		strings.Join(browserNames, ", "))
	if os.Getenv("CI") != "" || os.Getenv("USERINFO_REQUIRE_BROWSER") != "" {
		t.Fatal(msg + "; CI or USERINFO_REQUIRE_BROWSER is set, so they must run")
	}
	t.Skip(msg)
	return ""
}

// browserPage is one tab of a headless Chromium of its own.
type browserPage struct {
	t   *testing.T
	ctx context.Context
	// console holds the uncaught exceptions and the errors the page
	// logged (a violation of the Content-Security-Policy among them), each
	// an error of the test.
	mu      sync.Mutex
	console []string
}

// newBrowserPage starts Chromium headless (with --no-sandbox as root, where
// its sandbox cannot start) and opens a tab, closed when t ends.
func newBrowserPage(t *testing.T) *browserPage {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(findBrowser(t)),
		chromedp.WindowSize(1100, 900),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	// The browser starts here, bound to bctx, with no deadline; each step
	// below has its own.
	if err := chromedp.Do(bctx); err != nil {
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("starting %s: %v", findBrowser(t), err)
	}
	ctx, cancel := context.WithTimeout(bctx, browserTestTimeout)
	p := &browserPage{t: t, ctx: ctx}
	messages := chromedp.Console(bctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			// A refused request is logged by the browser as a failed
			// resource (source "network"): the tests cause those.
			if m.IsException() || (m.Type == "error" && m.Source != "network") {
				p.mu.Lock()
				p.console = append(p.console, fmt.Sprintf("%s:%d %s", m.URL, m.Line+1, m))
				p.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		cancelBrowser()
		cancelAlloc()
		<-done
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, m := range p.console {
			t.Errorf("browser console: %s", m)
		}
	})
	return p
}

// do runs actions, failing t on an error.
func (p *browserPage) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserStepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v\n%s", what, err, p.state())
	}
}

// eval evaluates a JavaScript expression through DevTools (so that the
// page's CSP, which forbids eval, does not apply to it).
func eval[T any](p *browserPage, js string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserStepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		p.t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// waitFor polls the JavaScript condition until it holds, at most
// browserStepTimeout.
func (p *browserPage) waitFor(what, js string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserStepTimeout)
	defer cancel()
	tick := time.NewTicker(browserPollEvery)
	defer tick.Stop()
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			p.t.Fatalf("waiting for %s: %v (last error %v)\n%s", what, ctx.Err(), err, p.state())
		case <-tick.C:
		}
	}
}

// waitText waits until the element of the CSS selector is shown and its
// text holds want.
func (p *browserPage) waitText(sel, want string) {
	p.t.Helper()
	s, w := jsString(sel), jsString(want)
	p.waitFor(fmt.Sprintf("%q in %s", want, sel), fmt.Sprintf(
		`(() => { const e = document.querySelector(%s); return !!e && !e.closest("[hidden]") && e.textContent.includes(%s); })()`, s, w))
}

// waitValue waits until the field of the CSS selector holds want.
func (p *browserPage) waitValue(sel, want string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("value %q of %s", want, sel), fmt.Sprintf(
		`(() => { const e = document.querySelector(%s); return !!e && e.value === %s; })()`, jsString(sel), jsString(want)))
}

// typeInto replaces the value of a field by typing text, as a person does.
func (p *browserPage) typeInto(sel, text string) {
	p.t.Helper()
	p.do("waiting for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	p.setValue(sel, "")
	if text != "" {
		p.do("typing into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
	}
}

// setText sets the text of an element, so that a later wait sees the next
// message and not an earlier one.
func (p *browserPage) setText(sel, text string) {
	p.t.Helper()
	eval[bool](p, fmt.Sprintf(`(() => { document.querySelector(%s).textContent = %s; return true; })()`, jsString(sel), jsString(text)))
}

// setValue sets the value of a field or choice, as a change by the user.
func (p *browserPage) setValue(sel, value string) {
	p.t.Helper()
	eval[bool](p, fmt.Sprintf(`(() => { const e = document.querySelector(%s); e.value = %s;
		e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`,
		jsString(sel), jsString(value)))
}

func (p *browserPage) click(sel string) {
	p.t.Helper()
	p.do("clicking "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// state describes the page for a failure message: its URL, status line,
// banner and error messages.
// openAccount opens the account page of the server at url and waits for the
// development sign-in.
func (p *browserPage) openAccount(url string) {
	p.do("opening the page", chromedp.Navigate(url+"/account"), chromedp.WaitVisible(chromedp.ID("dev-sub")))
}

// signIn signs in as sub through the development issuer, from the
// keyboard, and waits until the page says so.
func (p *browserPage) signIn(sub string) {
	p.typeInto("#dev-sub", sub+kb.Enter)
	p.waitText("#who", "Signed in as "+sub)
}

func (p *browserPage) state() string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({url: location.href,
		status: document.getElementById("status")?.textContent,
		banner: document.getElementById("banner")?.hidden ? "" : document.getElementById("banner")?.textContent,
		errors: [...document.querySelectorAll(".error")].map((e) => e.id + ": " + e.textContent).filter((s) => !s.endsWith(": ")),
		body: document.body?.innerText.slice(0, 2000)})`))
	if err != nil {
		return fmt.Sprintf("(page state unknown: %v)", err)
	}
	return "page: " + s
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// accountAttributes are the custom attributes of the page's tests: an enum,
// a pattern, a read-only one, a number and one that needs step-up.
const accountAttributes = `{"attributes": [
  {"name": "department",  "type": "string", "enum": ["eng", "sales", "ops"], "description": "Your team."},
  {"name": "employee_id", "type": "string", "pattern": "^E[0-9]{6}$", "description": "E and six digits."},
  {"name": "vip_level",   "type": "integer", "minimum": 0, "maximum": 9, "mutable": false},
  {"name": "newsletter",  "type": "boolean"},
  {"name": "shoe_size",   "type": "integer", "minimum": 1, "maximum": 60},
  {"name": "bio",         "type": "string", "max_length": 280, "step_up": true}
]}`

// The account page with the development issuer, in a real browser: sign in,
// change the nickname, change the email with the code from the outbox (a
// wrong code first), see a 412 after a change behind the page's back and
// reload, ask for phone codes until the 429, and see the step-up answer
// with an old sign-in. With -update it
// writes the README's screenshot.
func TestAccountPage(t *testing.T) {
	p := newBrowserPage(t)
	outbox := filepath.Join(t.TempDir(), "outbox.jsonl")
	srv := newTestServer(t, "-db", "memory", "-otp-outbox", outbox, "-max-auth-age", "10m",
		"-attributes", writeFile(t, "attributes.json", accountAttributes))
	token := mint(t, srv.URL, `{"sub":"demo"}`)

	// Sign in as the demo user, with the button: the form is generated
	// from the schema.
	p.openAccount(srv.URL)
	p.typeInto("#dev-sub", "demo")
	p.click("#dev-sign-in button[type=submit]")
	p.waitText("#who", "Signed in as demo")
	p.waitValue("#f-nickname", "demo")
	p.waitFor("the focus on the profile", `document.activeElement?.id === "profile-title"`)
	p.waitText("#ro-sub", "demo")
	p.waitText("#current-email", "demo@example.com")
	for sel, want := range map[string]string{
		`#f-department option[value="sales"]`: "sales",                  // an enum is a choice
		`label[for="f-bio"] .badge`:           "needs a recent sign-in", // step_up is marked
		`#h-employee_id`:                      "E and six digits.",      // the description is the hint
		`label[for="f-address-locality"]`:     "Locality",               // an object is a fieldset
	} {
		p.waitText(sel, want)
	}
	if n := eval[int](p, `document.querySelectorAll("#f-vip_level, #f-sub, #f-updated_at").length`); n != 0 {
		t.Errorf("%d read-only attributes have a field; want them listed, not editable", n)
	}

	// A value the schema refuses is explained next to its field, and
	// nothing is sent.
	p.typeInto("#f-employee_id", "12")
	p.click("#save")
	p.waitText("#e-employee_id", "does not have the expected form")
	if status, _, m := call(t, http.MethodGet, srv.URL+"/userinfo", token, ""); status != 200 || m["employee_id"] != nil {
		t.Fatalf("GET /userinfo after the refused employee_id: %d %v, want it still unset", status, m)
	}
	p.typeInto("#f-employee_id", "")

	// The nickname, and a choice.
	p.typeInto("#f-nickname", "Browser nick")
	p.setValue("#f-department", "sales")
	p.click("#save")
	p.waitText("#status", "Saved: Nickname, Department.")
	if status, _, m := call(t, http.MethodGet, srv.URL+"/userinfo", token, ""); status != 200 || m["nickname"] != "Browser nick" || m["department"] != "sales" {
		t.Fatalf("GET /userinfo after saving the nickname: %d %v", status, m)
	}

	// A number the field cannot parse is refused, not sent as a cleared
	// field (whose value would be deleted).
	p.typeInto("#f-shoe_size", "42")
	p.click("#save")
	p.waitText("#status", "Saved: Shoe size.")
	for _, bad := range []string{"1e", "-"} {
		p.typeInto("#f-shoe_size", bad)
		p.click("#save")
		p.waitText("#e-shoe_size", "Type a number.")
		if status, _, m := call(t, http.MethodGet, srv.URL+"/userinfo", token, ""); status != 200 || m["shoe_size"] != float64(42) {
			t.Fatalf("GET /userinfo after saving %q as the shoe size: %d %v, want it still 42", bad, status, m)
		}
	}
	p.typeInto("#f-shoe_size", "42")

	// The email: a code from the outbox, a wrong one first.
	p.typeInto("#new-email", "new@example.com")
	p.click("#send-email-button")
	p.waitText("#status", "A code was sent to new@example.com")
	code := ""
	for _, l := range readOutbox(t, outbox) {
		if l.Channel == "email" && l.Target == "new@example.com" && l.OTP != "" {
			code = l.OTP
		}
	}
	if code == "" {
		t.Fatalf("no code for new@example.com in the outbox")
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	p.typeInto("#code-email", wrong)
	p.click("#confirm-email-button")
	p.waitText("#e-email", "That code is wrong.")
	if *updateScreenshot {
		writeScreenshot(t, p)
	}
	p.typeInto("#code-email", code)
	p.click("#confirm-email-button")
	p.waitText("#status", "your email address is now new@example.com")
	p.waitText("#current-email", "new@example.com")
	if status, _, m := call(t, http.MethodGet, srv.URL+"/userinfo", token, ""); status != 200 || m["email"] != "new@example.com" {
		t.Fatalf("GET /userinfo after the email change: %d %v", status, m)
	}

	// A change behind the page's back: the page's PATCH is answered 412,
	// and the page offers to reload.
	if status, _, m := call(t, http.MethodPatch, srv.URL+"/userinfo", token, `{"nickname":"Changed elsewhere"}`); status != 200 {
		t.Fatalf("PATCH behind the page's back: %d %v", status, m)
	}
	// From the keyboard: Enter in a field submits the form.
	p.typeInto("#f-nickname", "Mine"+kb.Enter)
	p.waitText("#banner-text", "changed elsewhere")
	p.waitText("#banner-action", "Reload profile")
	p.click("#banner-action")
	p.waitValue("#f-nickname", "Changed elsewhere")
	p.waitText("#status", "Reloaded")

	// The phone number: codes until the send limit of the target (5 in
	// 10 minutes), then the 429 and its wait, next to the number.
	p.typeInto("#new-phone_number", "13712345678")
	for i := range 5 {
		p.setText("#status", "")
		p.click("#send-phone_number-button")
		p.waitText("#status", "A code was sent to 13712345678")
		if i == 0 {
			p.waitText(`label[for="code-phone_number"]`, "Code from the text message")
		}
	}
	p.click("#send-phone_number-button")
	p.waitText("#e-phone_number", "Too many codes were sent. Wait ")
	p.waitFor("the send button disabled during the wait", `document.getElementById("send-phone_number-button").disabled`)

	// An old sign-in may not change a step_up attribute.
	p.click("#sign-out")
	p.setValue("#dev-age", "7200")
	p.click("#dev-sign-in button[type=submit]")
	p.waitText("#who", "Signed in as demo")
	p.typeInto("#f-bio", "Hello")
	p.click("#save")
	p.waitText("#banner-text", "needs a recent sign-in (within the last 10 minutes)")
	p.waitText("#banner-action", "Sign in again")

	// The token stayed in memory.
	if n := eval[int](p, `localStorage.length + sessionStorage.length`); n != 0 {
		t.Errorf("the page stored %d items in localStorage or sessionStorage", n)
	}
	if c := eval[string](p, `document.cookie`); c != "" {
		t.Errorf("the page set the cookies %q", c)
	}
}

// writeScreenshot writes the page, as it is, to ../docs/account.png.
func writeScreenshot(t *testing.T, p *browserPage) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserStepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join("..", "docs", "account.png")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", path, len(png))
}

// The refusals of the server, each explained next to its field: a value
// only the server can judge, a malformed address, wrong codes until the
// code is dead, and an address another user holds.
func TestAccountPageRefusals(t *testing.T) {
	p := newBrowserPage(t)
	outbox := filepath.Join(t.TempDir(), "outbox.jsonl")
	srv := newTestServer(t, "-db", "memory", "-otp-outbox", outbox, "-seed", writeFile(t, "seed.json",
		`[{"sub":"u1","email":"u1@example.com","nickname":"One"},{"sub":"u2","email":"taken@example.com"}]`))

	p.openAccount(srv.URL)
	p.signIn("u1")

	// The pattern of zoneinfo lets it through; the time zone database
	// does not.
	p.typeInto("#f-zoneinfo", "Mars/Olympus_Mons")
	p.click("#save")
	p.waitText("#e-zoneinfo", "This value is not allowed here.")
	p.typeInto("#f-zoneinfo", "")

	p.typeInto("#new-email", "not-an-email")
	p.click("#send-email-button")
	p.waitText("#e-email", "This is not a valid email address")

	p.typeInto("#new-email", "Taken@Example.com")
	p.click("#send-email-button")
	p.waitText("#status", "A code was sent to Taken@Example.com")
	code := ""
	for _, l := range readOutbox(t, outbox) {
		if l.Channel == "email" && l.OTP != "" {
			code = l.OTP
		}
	}
	if code == "" {
		t.Fatal("no code in the outbox")
	}
	// Five wrong codes, which kill the code; then the right one is too late.
	for i := range 5 {
		p.setText("#e-email", "")
		p.typeInto("#code-email", fmt.Sprintf("x%d", i))
		p.click("#confirm-email-button")
		p.waitFor("a refusal of the wrong code", `document.getElementById("e-email").textContent !== ""`)
	}
	p.typeInto("#code-email", code)
	p.click("#confirm-email-button")
	p.waitText("#e-email", "This code can no longer be used")

	// A new code, the right one: the address is another user's.
	p.click("#send-email-button")
	p.waitText("#status", "A code was sent to Taken@Example.com")
	lines := readOutbox(t, outbox)
	code = lines[len(lines)-1].OTP
	p.typeInto("#code-email", code)
	p.click("#confirm-email-button")
	p.waitText("#e-email", "This email address is already used by another account.")
	p.waitText("#current-email", "u1@example.com")
}

// Signing out forgets the codes asked for: the next user, signed in on the
// same page, sees no open confirm box, typed address or code, nor anything
// of the form the first typed.
func TestAccountPageSignOut(t *testing.T) {
	p := newBrowserPage(t)
	srv := newTestServer(t, "-db", "memory", "-otp-outbox", filepath.Join(t.TempDir(), "outbox.jsonl"), "-seed", writeFile(t, "seed.json",
		`[{"sub":"alice","email":"alice@example.com","nickname":"Alice"},{"sub":"bob","email":"bob@example.com","nickname":"Bob"}]`))

	p.openAccount(srv.URL)
	p.signIn("alice")
	p.typeInto("#new-email", "alice.new@example.com")
	p.click("#send-email-button")
	p.waitText("#status", "A code was sent to alice.new@example.com")
	p.typeInto("#code-email", "123")
	p.typeInto("#f-nickname", "typed by alice")

	p.click("#sign-out")
	p.waitText("#status", "Signed out.")
	p.signIn("bob")
	p.waitValue("#f-nickname", "Bob")
	if left := eval[string](p, `JSON.stringify({
		confirm: [...document.querySelectorAll("#confirm-email:not([hidden]), #confirm-phone_number:not([hidden])")].map((e) => e.id),
		newEmail: document.getElementById("new-email").value,
		code: document.getElementById("code-email").value,
		error: document.getElementById("e-email").textContent})`); left != `{"confirm":[],"newEmail":"","code":"","error":""}` {
		t.Errorf("after alice signed out and bob in, the page shows %s of alice's pending change", left)
	}
	// And a confirm, were the box reached, has no code of alice's to send.
	eval[bool](p, `(() => { document.getElementById("confirm-email").hidden = false; return true; })()`)
	p.typeInto("#code-email", "123456")
	p.setText("#status", "")
	p.click("#confirm-email-button")
	if status := eval[string](p, `document.getElementById("status").textContent`); status != "" {
		t.Errorf("a confirm by bob after alice's code: status %q, want nothing sent", status)
	}
	if n := eval[int](p, `localStorage.length + sessionStorage.length`); n != 0 || eval[string](p, `document.cookie`) != "" {
		t.Errorf("the page stored %d items in localStorage or sessionStorage, or a cookie", n)
	}
}
