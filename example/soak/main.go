// Command soak drives the example server under load while its PostgreSQL
// crashes, and checks that no answer lied about a write.
//
// It starts a PostgreSQL server of its own (package internal/pgtest: a
// fresh cluster on a free loopback port; never any other server), builds
// and starts the example server on it (loopback only), creates one user
// per client, and runs the clients for a bounded time and number of
// requests. Each client PATCHes its own user's nickname, every time to a
// new value ("c3-17": client 3, write 17), every -email-every-th time its
// email address too, with a code that it asks for and reads from the
// example's outbox, and after every answer reads
// the user back (retrying until the database is back) to decide whether
// that write was stored. Meanwhile PostgreSQL is killed (SIGKILL of its
// postmaster and backends, as a crash) and restarted a few times, and between the kills
// paused (SIGSTOP of every process) for longer than the request timeout,
// so that requests in flight are answered 503. At the end it prints
// every answer counted by status, and:
//
//   - lost writes: answered 200 but not stored, or stored and later gone;
//   - phantom writes: answered 503 (with Retry-After or not) or
//     temporarily_unavailable, which promises that nothing was written,
//     but stored;
//   - half-written writes: a nickname and an email address of different
//     writes;
//   - codes of email changes that were not stored, offered again with the
//     next write, and found spent (the contract wants them redeemable);
//   - 500s and broken connections, resolved as applied or not (the
//     contract promises nothing about an answer that never came, and a 500
//     whose commit outcome the store could not learn may go either way).
//
// It exits 1 when a write was lost, a phantom or half-written, 2 on a
// usage error. Run it
// from the repository (it builds ./example with the go command):
//
//	go run ./example/soak -duration 60s -clients 16 -kills 3 -pauses 2
//
// It is not part of .ci/run: it takes a minute and needs PostgreSQL's
// binaries under /usr/lib/postgresql/*/bin.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/internal/pgtest"
)

// options are the command line.
type options struct {
	duration       time.Duration
	clients        int
	maxRequests    int
	kills          int
	down           time.Duration
	pauses         int
	pauseFor       time.Duration
	requestTimeout time.Duration
	emailEvery     int
	example        string
	keep           bool
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "duration", time.Minute, "how long the clients write, at most 30m")
	fs.IntVar(&o.clients, "clients", 16, "concurrent clients, each with a user of its own, 1 to 256")
	fs.IntVar(&o.maxRequests, "max-requests", 200000, "stop after this many PATCHes in all")
	fs.IntVar(&o.kills, "kills", 3, "times PostgreSQL is killed (SIGKILL) and restarted, spread over the duration")
	fs.DurationVar(&o.down, "down", time.Second, "how long PostgreSQL stays down after each kill")
	fs.IntVar(&o.pauses, "pauses", 2, "times PostgreSQL is paused (SIGSTOP of every process) and resumed, between the kills")
	fs.DurationVar(&o.pauseFor, "pause-for", 3*time.Second, "how long each pause lasts (above -request-timeout, requests in flight get 503)")
	fs.IntVar(&o.emailEvery, "email-every", 400, "every N-th write of a client also changes its email address, with a code from the outbox (the send limits allow 10 per user in 10 minutes); 0: never")
	fs.DurationVar(&o.requestTimeout, "request-timeout", 2*time.Second, "the example's -request-timeout")
	fs.StringVar(&o.example, "example", "", "the example binary `PATH` (default: go build ./example)")
	fs.BoolVar(&o.keep, "keep-logs", false, "print the example server's and PostgreSQL's logs at the end")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.duration <= 0 || o.duration > 30*time.Minute:
		return nil, errors.New("-duration must be positive and at most 30m")
	case o.clients < 1 || o.clients > 256:
		return nil, errors.New("-clients must be between 1 and 256")
	case o.emailEvery < 0:
		return nil, errors.New("-email-every must not be negative")
	case o.maxRequests < 1:
		return nil, errors.New("-max-requests must be positive")
	case o.kills < 0 || o.down < 0 || o.pauses < 0 || o.pauseFor < 0:
		return nil, errors.New("-kills, -down, -pauses and -pause-for must not be negative")
	}
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "soak:", err)
		}
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := run(ctx, o, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
	r.print(os.Stdout)
	if r.lost > 0 || r.phantom > 0 || r.torn > 0 {
		os.Exit(1)
	}
}

// result is what a run found.
type result struct {
	mu        sync.Mutex
	requests  int
	byStatus  map[string]int // "200", "503", "transport error", …
	lost      int            // 200 not stored, or a stored write gone later
	phantom   int            // 503 (any form) or temporarily_unavailable, but stored
	applied   map[string]int // other 5xx and transport errors: stored
	unapplied map[string]int // … not stored
	// Email changes: codes asked for by status, email writes by status,
	// codes of unstored writes offered again by status, and those found
	// spent (bad_email_otp_token) though their change was not stored.
	sends, emailWrites, reoffered map[string]int
	burned                        int
	torn                          int // a nickname and an email of different writes
	kills                         int
	pauses                        int
	elapsed                       time.Duration
	examples                      []string // a few findings, for the report
}

func (r *result) note(format string, args ...any) {
	if len(r.examples) < 10 {
		r.examples = append(r.examples, fmt.Sprintf(format, args...))
	}
}

func (r *result) print(w io.Writer) {
	fmt.Fprintf(w, "soak: %d PATCHes in %v; PostgreSQL killed and restarted %d times, paused and resumed %d times\n",
		r.requests, r.elapsed.Round(time.Millisecond), r.kills, r.pauses)
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range r.byStatus {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		line := fmt.Sprintf("  %-16s %7d", k, r.byStatus[k])
		if k != "200" && !strings.HasPrefix(k, "503") && k[0] != '4' {
			line += fmt.Sprintf("   stored %d, not stored %d", r.applied[k], r.unapplied[k])
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "email changes: codes sent %v; email writes %v; codes of unstored writes offered again %v, found spent %d\n",
		r.sends, r.emailWrites, r.reoffered, r.burned)
	fmt.Fprintf(w, "half-written (nickname and email of different writes): %d\n", r.torn)
	fmt.Fprintf(w, "lost writes (200 but not stored, or gone later): %d\n", r.lost)
	fmt.Fprintf(w, "phantom writes (503 but stored): %d\n", r.phantom)
	for _, e := range r.examples {
		fmt.Fprintln(w, "  ", e)
	}
}

// run does one soak and returns its result; an error means the soak
// itself could not run.
func run(ctx context.Context, o *options, logw io.Writer) (*result, error) {
	tmp, err := os.MkdirTemp("", "soak-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := o.example
	if bin == "" {
		bin = filepath.Join(tmp, "example")
		fmt.Fprintln(logw, "soak: building ./example")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/ciamkit/userinfo/example").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build: %v\n%s", err, out)
		}
	}
	pg, err := pgtest.Start(ctx, pgtest.Config{})
	if err != nil {
		return nil, err
	}
	defer pg.Close()
	fmt.Fprintf(logw, "soak: PostgreSQL on 127.0.0.1:%d\n", pg.Port())

	subs := make([]string, o.clients)
	seed := make([]map[string]any, o.clients)
	for i := range subs {
		subs[i] = fmt.Sprintf("soak-%d", i)
		seed[i] = map[string]any{"sub": subs[i], "nickname": nickname(i, 0)}
	}
	seedFile, outbox := filepath.Join(tmp, "seed.json"), filepath.Join(tmp, "outbox.jsonl")
	data, _ := json.Marshal(seed)
	if err := os.WriteFile(seedFile, data, 0o600); err != nil {
		return nil, err
	}
	srv, err := startExample(ctx, bin, tmp, "-addr", "127.0.0.1:0", "-db", pg.DSN()+"&pool_max_conns=32",
		"-seed", seedFile, "-otp-outbox", outbox,
		"-request-timeout", o.requestTimeout.String(), "-log-level", "warn", "-token-cache", "0")
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	fmt.Fprintf(logw, "soak: example server at %s; %d clients for %v\n", srv.base, o.clients, o.duration)

	hc := &http.Client{Timeout: time.Minute} // past the server's write timeout
	tokens := make([]string, o.clients)
	for i, sub := range subs {
		if tokens[i], err = mint(ctx, hc, srv.base, sub); err != nil {
			return nil, err
		}
	}

	r := &result{byStatus: map[string]int{}, applied: map[string]int{}, unapplied: map[string]int{},
		emailWrites: map[string]int{}, sends: map[string]int{}, reoffered: map[string]int{}}
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()

	// The faults, spread over the run, the last one well before its end:
	// kills, each followed by a restart after o.down, alternating with
	// pauses of o.pauseFor.
	var kinds []string
	for k, p := 0, 0; k < o.kills || p < o.pauses; {
		if k < o.kills {
			kinds, k = append(kinds, "kill"), k+1
		}
		if p < o.pauses {
			kinds, p = append(kinds, "pause"), p+1
		}
	}
	faults := make(chan error, 1)
	go func() {
		var ferr error
		defer func() { faults <- ferr }()
		for n, kind := range kinds {
			at := start.Add(o.duration * time.Duration(n+1) / time.Duration(len(kinds)+1))
			select {
			case <-wctx.Done():
				return
			case <-time.After(time.Until(at)):
			}
			if kind == "pause" {
				if ferr = pg.Pause(); ferr != nil {
					return
				}
				fmt.Fprintf(logw, "soak: %v: paused PostgreSQL\n", time.Since(start).Round(time.Millisecond))
				select {
				case <-ctx.Done():
				case <-time.After(o.pauseFor):
				}
				if ferr = pg.Resume(); ferr != nil {
					return
				}
				if ferr = ctx.Err(); ferr != nil {
					return
				}
				r.mu.Lock()
				r.pauses++
				r.mu.Unlock()
				fmt.Fprintf(logw, "soak: %v: PostgreSQL resumed\n", time.Since(start).Round(time.Millisecond))
				continue
			}
			if ferr = pg.Kill(); ferr != nil {
				return
			}
			fmt.Fprintf(logw, "soak: %v: killed PostgreSQL\n", time.Since(start).Round(time.Millisecond))
			select {
			case <-ctx.Done():
				ferr = ctx.Err()
				return
			case <-time.After(o.down):
			}
			// ctx, not wctx: the end of the writes waits for the restart,
			// which the final reads need; an interrupt does not.
			rctx, rcancel := context.WithTimeout(ctx, time.Minute)
			ferr = pg.Restart(rctx)
			rcancel()
			if ferr != nil {
				return
			}
			r.mu.Lock()
			r.kills++
			r.mu.Unlock()
			fmt.Fprintf(logw, "soak: %v: PostgreSQL restarted\n", time.Since(start).Round(time.Millisecond))
		}
	}()

	var (
		wg     sync.WaitGroup
		budget atomic.Int64 // PATCHes left to send
	)
	budget.Store(int64(o.maxRequests))
	clients := make([]*client, o.clients)
	var errs []error
	var errsMu sync.Mutex
	for i := range o.clients {
		c := &client{i: i, token: tokens[i], base: srv.base, outbox: outbox, hc: hc, r: r, emailEvery: o.emailEvery,
			status: map[int]answer{}, emails: map[int]string{}}
		clients[i] = c
		wg.Go(func() {
			if err := c.loop(wctx, ctx, &budget); err != nil {
				errsMu.Lock()
				errs = append(errs, err)
				errsMu.Unlock()
			}
		})
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	// The clients may have spent the budget before the end of -duration:
	// no fault is left to wait for.
	cancel()
	if err := <-faults; err != nil {
		return nil, fmt.Errorf("injecting faults: %w", err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// The last word: every user holds its client's last stored write, also
	// after everything above.
	for _, c := range clients {
		got, gotEmail, err := c.read(ctx)
		if err != nil {
			return nil, err
		}
		if got != c.last() || gotEmail != c.wantEmail() {
			c.judge(-1, answer{status: "final read"}, got, gotEmail)
		}
	}
	if o.keep {
		fmt.Fprintf(logw, "--- example server log:\n%s\n--- PostgreSQL log:\n%s\n", srv.log.String(), pg.Log())
	}
	return r, nil
}

func nickname(client, seq int) string { return fmt.Sprintf("c%d-%d", client, seq) }

func email(client, seq int) string { return fmt.Sprintf("c%d-%d@soak.example.com", client, seq) }

// client is one writer, of its own user.
type client struct {
	i      int
	token  string
	base   string
	outbox string // the example's -otp-outbox
	hc     *http.Client
	r      *result
	// emailEvery: every emailEvery-th write also changes the email
	// address, with a code from the outbox; 0: never.
	emailEvery int

	applied []int          // the writes known to be stored, in order
	status  map[int]answer // the answer to each write
	emails  map[int]string // the address each email write set
	// retry is an email write that was not stored, whose code the next
	// write offers again: the contract wants it still redeemable.
	retry *emailChange
}

// emailChange is the email part of a write.
type emailChange struct {
	seq           int // of the write that first offered the code
	address       string
	otpToken, otp string
}

// last returns the last write known to be stored (0: the seed).
func (c *client) last() int {
	if len(c.applied) == 0 {
		return 0
	}
	return c.applied[len(c.applied)-1]
}

// wantEmail returns the address that the stored writes leave.
func (c *client) wantEmail() string {
	for _, seq := range slices.Backward(c.applied) {
		if e, ok := c.emails[seq]; ok {
			return e
		}
	}
	return ""
}

// loop writes until wctx ends or the budget is spent. The end of wctx
// cuts no request (each one's answer counts); the end of ctx (an
// interrupt) cuts them all, and ends the loop with its error.
func (c *client) loop(wctx, ctx context.Context, budget *atomic.Int64) error {
	for seq := 1; ; seq++ {
		if wctx.Err() != nil || ctx.Err() != nil {
			return ctx.Err()
		}
		if budget.Add(-1) < 0 {
			return nil
		}
		ch := c.retry
		c.retry = nil
		if ch == nil && c.emailEvery > 0 && seq%c.emailEvery == 0 {
			ch = c.sendCode(ctx, seq)
		}
		a := c.patch(ctx, seq, ch)
		c.status[seq] = a
		if ch != nil {
			c.emails[seq] = ch.address
		}
		c.r.mu.Lock()
		c.r.requests++
		c.r.byStatus[a.status]++
		if ch != nil {
			c.r.emailWrites[a.status]++
			if ch.seq != seq {
				// The code of a write that was not stored, offered again.
				if a.code == "bad_email_otp_token" || a.code == "bad_email_otp" {
					c.r.burned++
					c.r.note("client %d: the code of write %d, not stored, was spent (write %d: %s)", c.i, ch.seq, seq, a.code)
				} else {
					c.r.reoffered[a.status]++
				}
			}
		}
		c.r.mu.Unlock()
		got, gotEmail, err := c.read(ctx)
		if err != nil {
			return err
		}
		stored := c.judge(seq, a, got, gotEmail)
		if ch != nil && !stored && (a.http >= 500 || a.http == 0) {
			c.retry = ch
		}
	}
}

// judge decides what the answer a to write seq meant, from got and
// gotEmail, what the user holds right after, and reports whether the write
// was stored.
func (c *client) judge(seq int, a answer, got int, gotEmail string) (stored bool) {
	r := c.r
	r.mu.Lock()
	defer r.mu.Unlock()
	defer func() {
		if want := c.wantEmail(); gotEmail != want {
			r.torn++
			r.note("client %d: holds write %d with email %q, want %q", c.i, got, gotEmail, want)
		}
	}()
	switch last := c.last(); {
	case got == seq:
		switch {
		case a.http == http.StatusOK:
		case a.promisesNothing():
			r.phantom++
			r.note("client %d: write %d answered %s %s but stored", c.i, seq, a.status, a.code)
		default:
			if seq > 0 {
				r.applied[a.status]++
			}
		}
		c.applied = append(c.applied, seq)
		return true
	case got == last:
		switch {
		case a.http == http.StatusOK:
			r.lost++
			r.note("client %d: write %d answered 200 but the user holds write %d", c.i, seq, got)
		case a.promisesNothing():
		default:
			if seq > 0 && a.http/100 != 4 {
				r.unapplied[a.status]++
			}
		}
		return false
	case got < last:
		// A stored write gone.
		r.lost++
		r.note("client %d: holds write %d after write %d was stored", c.i, got, last)
		c.applied = slices.DeleteFunc(c.applied, func(s int) bool { return s > got })
		return false
	}
	// An earlier write that was judged not stored came in late: for a
	// 503, a phantom; else it moves from not stored to stored, if it was
	// counted as not stored (a 200 judged lost, or a 4xx, was not).
	switch late := c.status[got]; {
	case late.promisesNothing():
		r.phantom++
		r.note("client %d: holds write %d, answered %s %s, stored late (seen after write %d)", c.i, got, late.status, late.code, seq)
	default:
		if r.unapplied[late.status] > 0 {
			r.unapplied[late.status]--
			r.applied[late.status]++
		}
		r.note("client %d: holds write %d, answered %s, stored late (seen after write %d)", c.i, got, late.status, seq)
	}
	c.applied = append(c.applied, got)
	return false
}

// sendCode asks for a code to a new address of write seq and reads it from
// the outbox; nil when none was sent (a fault, or the send limits).
func (c *client) sendCode(ctx context.Context, seq int) *emailChange {
	ch := &emailChange{seq: seq, address: email(c.i, seq)}
	a := c.do(ctx, http.MethodPost, "/otp/send", fmt.Sprintf(`{"usage":"update_userinfo","email":%q}`, ch.address))
	c.r.mu.Lock()
	c.r.sends[a.status]++
	c.r.mu.Unlock()
	if a.http != http.StatusOK {
		return nil
	}
	ch.otpToken, _ = a.body["otp_token"].(string)
	data, err := os.ReadFile(c.outbox)
	if err != nil {
		return nil
	}
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		var l struct {
			OTPToken string `json:"otp_token"`
			OTP      string `json:"otp"`
		}
		if json.Unmarshal(line, &l) == nil && l.OTPToken == ch.otpToken && l.OTP != "" {
			ch.otp = l.OTP
			return ch
		}
	}
	return nil
}

// patch sends write seq, with the email change ch if not nil, and returns
// its answer.
func (c *client) patch(ctx context.Context, seq int, ch *emailChange) answer {
	body := map[string]string{"nickname": nickname(c.i, seq)}
	if ch != nil {
		body["email"], body["email_otp_token"], body["email_otp"] = ch.address, ch.otpToken, ch.otp
	}
	b, _ := json.Marshal(body)
	return c.do(ctx, http.MethodPatch, "/userinfo", string(b))
}

// answer is what a request got.
type answer struct {
	http   int    // the HTTP status; 0 without an answer
	status string // as counted: "200", "503 no Retry-After" for a 503 that lacks it, "transport error" without an answer
	code   string // the error code of the body, if any
	body   map[string]any
}

// promisesNothing reports whether a says that nothing was written: a 503,
// with Retry-After or not, or the error code temporarily_unavailable.
func (a answer) promisesNothing() bool {
	return a.http == http.StatusServiceUnavailable || a.code == userinfo.CodeTemporarilyUnavailable
}

// do sends a request with the client's token and returns its answer.
func (c *client) do(ctx context.Context, method, path, body string) answer {
	none := answer{status: "transport error"}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, strings.NewReader(body))
	if err != nil {
		return none
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return none
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return none
	}
	a := answer{http: resp.StatusCode, status: strconv.Itoa(resp.StatusCode), body: m}
	a.code, _ = m["error"].(string)
	if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
		a.status = "503 no Retry-After"
	}
	return a
}

// read returns the number of the write whose nickname the user holds, and
// its email address, retrying until the server answers 200, for up to two
// minutes, or until ctx ends.
func (c *client) read(ctx context.Context) (int, string, error) {
	deadline := time.After(2 * time.Minute)
	for {
		a := c.do(ctx, http.MethodGet, "/userinfo", "")
		if a.http == http.StatusOK {
			nick, _ := a.body["nickname"].(string)
			addr, _ := a.body["email"].(string)
			prefix := fmt.Sprintf("c%d-", c.i)
			n, err := strconv.Atoi(strings.TrimPrefix(nick, prefix))
			if !strings.HasPrefix(nick, prefix) || err != nil {
				return 0, "", fmt.Errorf("client %d: the user holds nickname %q, which no client wrote", c.i, nick)
			}
			return n, addr, nil
		}
		select {
		case <-ctx.Done():
			return 0, "", fmt.Errorf("client %d: reading the user back: %w (last: %s)", c.i, ctx.Err(), a.status)
		case <-deadline:
			return 0, "", fmt.Errorf("client %d: no 200 to GET /userinfo for 2 minutes (last: %s)", c.i, a.status)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// mint gets an access token for sub from the development issuer.
func mint(ctx context.Context, hc *http.Client, base, sub string) (string, error) {
	body := fmt.Sprintf(`{"sub":%q,"scope":"openid profile","expires_in":7200}`, sub)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/dev/token", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var m struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || m.AccessToken == "" {
		return "", fmt.Errorf("POST /dev/token: %d, %v", resp.StatusCode, err)
	}
	return m.AccessToken, nil
}

// exampleServer is a running example binary.
type exampleServer struct {
	cmd    *exec.Cmd
	base   string
	log    *syncBuffer
	exited chan struct{}
}

// startExample runs bin with args in dir, and waits for its "listening on"
// line.
func startExample(ctx context.Context, bin, dir string, args ...string) (*exampleServer, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &exampleServer{cmd: cmd, log: &syncBuffer{}, exited: make(chan struct{})}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.log.WriteString(line + "\n")
			if u, ok := strings.CutPrefix(line, "listening on "); ok {
				select {
				case listening <- u:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
		close(s.exited)
	}()
	select {
	case s.base = <-listening:
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("the example server exited at start:\n%s", s.log.String())
	case <-time.After(time.Minute):
	case <-ctx.Done():
	}
	s.stop()
	return nil, fmt.Errorf("the example server did not start:\n%s", s.log.String())
}

// stop ends the server with SIGTERM, killing it after 20 s.
func (s *exampleServer) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.WriteString(s)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
