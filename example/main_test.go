package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ciamkit/userinfo/internal/testkeys"
)

// Bounds of the end-to-end test's waits.
const (
	buildTimeout  = 3 * time.Minute
	listenTimeout = 30 * time.Second
	stopTimeout   = 20 * time.Second
)

// buildExample builds the example binary into a temporary directory.
func buildExample(t *testing.T) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the end-to-end test stops the server with SIGTERM, which Windows lacks")
	}
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the example with")
	}
	bin := filepath.Join(t.TempDir(), "example")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, gotool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is a running example binary.
type process struct {
	cmd  *exec.Cmd
	base string      // http://HOST:PORT
	log  *syncBuffer // everything it wrote to stderr
	// exited is closed when the process has exited; waitErr is then the
	// result of Wait.
	exited  chan struct{}
	waitErr error
}

// start runs the binary with args in dir and waits, at most listenTimeout,
// for its "listening on" line.
func start(t *testing.T, bin, dir string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, log: &syncBuffer{}, exited: make(chan struct{})}
	listening := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			_, _ = p.log.Write([]byte(line + "\n"))
			if url, ok := strings.CutPrefix(line, "listening on "); ok {
				select {
				case listening <- url:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() {
		<-copied // Wait closes the pipe: read it all first
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})

	timer := time.NewTimer(listenTimeout)
	defer timer.Stop()
	select {
	case p.base = <-listening:
	case <-p.exited:
		t.Fatalf("the server exited before listening: %v\n%s", p.waitErr, p.log)
	case <-timer.C:
		t.Fatalf("no listening line within %v:\n%s", listenTimeout, p.log)
	}
	if !strings.HasPrefix(p.base, "http://127.0.0.1:") || strings.HasSuffix(p.base, ":0") {
		t.Fatalf("listening on %q, want http://127.0.0.1:PORT with the real port", p.base)
	}
	return p
}

// stop sends SIGTERM and waits, at most stopTimeout, for a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-p.exited:
		if p.waitErr != nil {
			t.Fatalf("the server did not exit cleanly on SIGTERM: %v\n%s", p.waitErr, p.log)
		}
	case <-timer.C:
		t.Fatalf("the server did not stop within %v of SIGTERM:\n%s", stopTimeout, p.log)
	}
	if log := p.log.String(); !strings.Contains(log, `msg="shutting down"`) || !strings.Contains(log, "msg=stopped") {
		t.Errorf("no graceful shutdown in the log:\n%s", log)
	}
}

// The whole flow over real HTTP against the built binary: mint a token,
// change the nickname, send a code, read it from the outbox, change the
// email with it, stop gracefully, restart on the same SQLite file and find
// the changes kept.
func TestEndToEnd(t *testing.T) {
	bin := buildExample(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "u.db")
	outbox := filepath.Join(dir, "outbox.jsonl")
	args := []string{"-addr", "127.0.0.1:0", "-db", "sqlite:" + db, "-otp-outbox", outbox}

	p := start(t, bin, dir, args...)
	token := mint(t, p.base, `{"sub":"demo","scope":"openid profile email phone"}`)

	status, hdr, m := call(t, http.MethodGet, p.base+"/userinfo", token, "")
	if status != 200 || m["sub"] != "demo" || m["email"] != "demo@example.com" {
		t.Fatalf("GET /userinfo: %d %v", status, m)
	}
	etag := hdr.Get("ETag")
	status, hdr, m = call(t, http.MethodPatch, p.base+"/userinfo", token, `{"nickname":"MOCK_NICKNAME"}`)
	if status != 200 || m["nickname"] != "MOCK_NICKNAME" || hdr.Get("ETag") == etag {
		t.Fatalf("PATCH nickname: %d %v (ETag %s, before %s)", status, m, hdr.Get("ETag"), etag)
	}
	status, _, m = call(t, http.MethodPatch, p.base+"/userinfo", token, `{"nickname":"x","shoe_size":42}`)
	if status != 400 || m["error_description"] != "Unknown attribute(s) found." {
		t.Errorf("PATCH an unknown attribute: %d %v", status, m)
	}

	otpToken, code := sendOTP(t, p.base, token, outbox, "email", "new@example.com")
	status, _, m = call(t, http.MethodPatch, p.base+"/userinfo", token,
		`{"email":"new@example.com","email_otp_token":"`+otpToken+`","email_otp":"`+code+`"}`)
	if status != 200 || m["email"] != "new@example.com" || m["email_verified"] != true {
		t.Fatalf("PATCH email: %d %v", status, m)
	}
	if !hasNotice(t, outbox, "email", "demo@example.com") {
		t.Errorf("the previous address was not told of the change")
	}
	p.stop(t)
	checkNoSecrets(t, p.log.String(), token, otpToken, code)
	if !strings.Contains(p.log.String(), "msg=request method=PATCH path=/userinfo status=200") {
		t.Errorf("no request log line for the PATCH:\n%s", p.log)
	}

	// The same SQLite file: the demo user is not re-created, the changes
	// are kept. The development key is new, so a new token is needed.
	p = start(t, bin, dir, args...)
	token2 := mint(t, p.base, `{"sub":"demo"}`)
	status, _, m = call(t, http.MethodGet, p.base+"/userinfo", token2, "")
	if status != 200 || m["nickname"] != "MOCK_NICKNAME" || m["email"] != "new@example.com" || m["email_verified"] != true {
		t.Errorf("GET /userinfo after the restart: %d %v", status, m)
	}
	p.stop(t)
	checkNoSecrets(t, p.log.String(), token, token2, otpToken, code)
}

// postgresDSN returns the URL of a fresh schema of the database that
// USERINFO_TEST_POSTGRES names, dropped when t ends, or skips t.
func postgresDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("USERINFO_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("USERINFO_TEST_POSTGRES is not set; .ci/run starts a throwaway PostgreSQL and sets it")
	}
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Skip("USERINFO_TEST_POSTGRES is not a postgres:// URL, which -db needs")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "userinfo_example_" + hex.EncodeToString(b[:])
	pgExec(t, dsn, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { pgExec(t, dsn, "DROP SCHEMA "+schema+" CASCADE") })
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func pgExec(t *testing.T, dsn, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connecting to USERINFO_TEST_POSTGRES: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// Two replicas on one PostgreSQL database, with one OTP key file and one
// issuer's JWK Set: a code sent through one is redeemed through the other,
// once, and both serve the change.
func TestEndToEndReplicasPostgres(t *testing.T) {
	dsn := postgresDSN(t)
	bin := buildExample(t)
	dir := t.TempDir()
	key := testkeys.MustNew("ES256")
	jwks := filepath.Join(dir, "jwks.json")
	seed := filepath.Join(dir, "seed.json")
	for path, content := range map[string]string{
		jwks: string(testkeys.JWKS(key)),
		seed: `[{"sub":"u1","email":"u1@example.com","nickname":"one"}]`,
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	common := []string{"-addr", "127.0.0.1:0", "-db", dsn, "-jwks-file", jwks, "-issuer", "https://id.example.test",
		"-audience", "profile-api",
		"-otp-key-file", filepath.Join(dir, "otp.key")}
	outboxA, outboxB := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	a := start(t, bin, dir, append(common, "-seed", seed, "-otp-outbox", outboxA)...)
	b := start(t, bin, dir, append(common, "-otp-outbox", outboxB)...)

	token, err := key.Sign(map[string]any{"iss": "https://id.example.test", "aud": "profile-api", "sub": "u1", "scope": "openid",
		"exp": time.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	otpToken, code := sendOTP(t, a.base, token, outboxA, "email", "moved@example.com")
	body := `{"email":"moved@example.com","email_otp_token":"` + otpToken + `","email_otp":"` + code + `"}`
	status, _, m := call(t, http.MethodPatch, b.base+"/userinfo", token, body)
	if status != 200 || m["email"] != "moved@example.com" {
		t.Fatalf("PATCH on replica B with a code sent by A: %d %v", status, m)
	}
	status, _, m = call(t, http.MethodPatch, a.base+"/userinfo", token, body)
	if status != 400 || m["error"] != "bad_email_otp_token" {
		t.Errorf("the same code again on replica A: %d %v, want bad_email_otp_token", status, m)
	}
	status, _, m = call(t, http.MethodGet, a.base+"/userinfo", token, "")
	if status != 200 || m["email"] != "moved@example.com" || m["nickname"] != "one" {
		t.Errorf("GET on replica A: %d %v", status, m)
	}
	a.stop(t)
	b.stop(t)
	checkNoSecrets(t, a.log.String()+b.log.String(), token, otpToken, code, dsn)
}

// A bad command line exits 2 and says what is wrong.
func TestUsageErrorIsPrinted(t *testing.T) {
	bin := buildExample(t)
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-db", "memory", "-otp-ttl", "0s")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("exit: %v, want status 2", err)
	}
	if !strings.Contains(string(out), "-otp-ttl must be between 1s and 1h") {
		t.Errorf("output %q does not say what is wrong", out)
	}
}

// A start that fails on a busy port writes nothing to the store: the port is
// bound before the SQLite file is opened or seeded.
func TestBusyPortWritesNothing(t *testing.T) {
	bin := buildExample(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	seed := filepath.Join(dir, "seed.json")
	if err := os.WriteFile(seed, []byte(`[{"sub":"u1","nickname":"one"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "userinfo.db")
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-addr", busy.Addr().String(), "-db", "sqlite:"+db, "-seed", seed)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("started on a busy port: %s", out)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("the database file exists after a start that failed on its port (stat: %v); output: %s", err, out)
	}
}
