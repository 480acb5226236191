package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// errUsage marks a command-line error; main exits 2 on it, as flag does.
var errUsage = errors.New("usage")

// options are the parsed command-line flags.
type options struct {
	addr       string
	db         string
	jwksURL    string
	jwksFile   string
	issuer     string
	audience   string
	attributes string
	seed       string
	otpOutbox  string
	otpTTL     time.Duration
	otpKeyFile string
	claims     []string
	maxAuthAge time.Duration
}

// parseFlags parses args; usage and errors go to stderr. The error wraps
// errUsage for a bad command line and is flag.ErrHelp for -h.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("example", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen `address` HOST:PORT; port 0 picks a free port")
	fs.StringVar(&o.db, "db", "", "user and OTP store: empty for the SQLite file userinfo.db, \"memory\", \"sqlite:PATH\" or \"postgres://…\"")
	fs.StringVar(&o.jwksURL, "jwks-url", "", "verify tokens against the JWK Set at `URL` (disables the development issuer)")
	fs.StringVar(&o.jwksFile, "jwks-file", "", "verify tokens against the JWK Set in the file at `PATH` (disables the development issuer)")
	fs.StringVar(&o.issuer, "issuer", "", "required \"iss\" of access tokens (needed with -jwks-url and -jwks-file)")
	fs.StringVar(&o.audience, "audience", "", "required \"aud\" of access tokens (needed with -jwks-url and -jwks-file)")
	fs.StringVar(&o.attributes, "attributes", "", "custom attribute registry, a JSON file {\"attributes\": […]}")
	fs.StringVar(&o.seed, "seed", "", "JSON file: an array of users upserted at start, [{\"sub\":\"u1\",\"email\":…}]")
	fs.StringVar(&o.otpOutbox, "otp-outbox", "", "append each OTP sent as a JSON line to the file at `PATH` (default: print codes to the console)")
	fs.DurationVar(&o.otpTTL, "otp-ttl", 5*time.Minute, "lifetime of a one-time code, 1s to 1h")
	fs.StringVar(&o.otpKeyFile, "otp-key-file", "", "file holding the secret that OTP codes are hashed with; created when absent; replicas must share it (default: beside the SQLite file, random for memory)")
	fs.DurationVar(&o.maxAuthAge, "max-auth-age", 0, "step-up: the oldest auth_time of a token that may change email, phone or step_up attributes or send a code, such as 10m (default: off)")
	claims := fs.String("claims", "", "comma-separated `list` of claims to release; \"sub\" always (default: every claim)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: example [flags]\n\nA PATCH /userinfo server. With neither -jwks-url nor -jwks-file it is its own\ndevelopment issuer: POST /dev/token mints tokens.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if o.jwksURL != "" && o.jwksFile != "" {
		return nil, fmt.Errorf("%w: -jwks-url and -jwks-file are exclusive", errUsage)
	}
	if (o.jwksURL != "" || o.jwksFile != "") && (o.issuer == "" || o.audience == "") {
		// The verifier checks iss and aud always: tokens of any other
		// issuer sharing the key set, or made for another API, must not
		// pass.
		return nil, fmt.Errorf("%w: -jwks-url and -jwks-file need -issuer and -audience", errUsage)
	}
	if o.otpTTL < time.Second || o.otpTTL > time.Hour {
		return nil, fmt.Errorf("%w: -otp-ttl must be between 1s and 1h", errUsage)
	}
	if o.maxAuthAge < 0 {
		return nil, fmt.Errorf("%w: -max-auth-age must not be negative", errUsage)
	}
	if isPostgres(o.db) && o.otpKeyFile == "" {
		return nil, fmt.Errorf("%w: -db postgres needs -otp-key-file: every replica must hash codes with the same key", errUsage)
	}
	for c := range strings.SplitSeq(*claims, ",") {
		if c = strings.TrimSpace(c); c != "" {
			o.claims = append(o.claims, c)
		}
	}
	return o, nil
}
