package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/ciamkit/userinfo"
)

// errUsage marks a command-line error; main exits 2 on it, as flag does.
var errUsage = errors.New("usage")

// options are the parsed command-line flags.
type options struct {
	addr        string
	db          string
	jwksURL     string
	jwksFile    string
	issuer      string
	audience    string
	attributes  string
	seed        string
	otpOutbox   string
	otpTTL      time.Duration
	otpKeyFile  string
	claims      []string
	maxAuthAge  time.Duration
	publicURL   string
	requireDPoP bool
	// phoneRegions are the regions of -phone-regions, the first one's
	// national form accepted; "*" is any region.
	phoneRegions []string
	// tokenCache is the size of the verified-token cache; 0 is off.
	tokenCache int
	// corsOrigins are the origins of -cors-origins; none: no CORS.
	corsOrigins []string
	logLevel    slog.Level
	// metricsAddr is where /metrics is served; empty: nowhere.
	metricsAddr string
	// accountClientID is the OAuth client ID with which the account page
	// signs in at -issuer (code flow with PKCE, a public client); empty:
	// the page cannot sign in with a real issuer.
	accountClientID string
	// requestTimeout is the deadline of each request to /userinfo and
	// /otp/send (userinfo.Config.RequestTimeout, otp.Config.RequestTimeout).
	requestTimeout time.Duration
}

// logLevels are the values of -log-level.
var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
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
	fs.StringVar(&o.seed, "seed", "", "JSON file: an array of users created at start if they do not exist yet (existing ones are left as they are), [{\"sub\":\"u1\",\"email\":…}]; without it the development issuer creates a demo user")
	fs.StringVar(&o.otpOutbox, "otp-outbox", "", "append each OTP sent as a JSON line to the file at `PATH` (default: print codes to the console)")
	fs.DurationVar(&o.otpTTL, "otp-ttl", 5*time.Minute, "lifetime of a one-time code, 1s to 1h")
	fs.StringVar(&o.otpKeyFile, "otp-key-file", "", "file holding the secret that OTP codes are hashed with; created when absent; replicas must share it (default: beside the SQLite file; in the database for postgres; random for memory)")
	fs.StringVar(&o.publicURL, "public-url", "", "the `URL` clients reach the server by, which DPoP proofs name (default: http:// and the address bound)")
	fs.BoolVar(&o.requireDPoP, "require-dpop", false, "refuse Bearer tokens: DPoP-bound tokens with their proofs only")
	fs.DurationVar(&o.maxAuthAge, "max-auth-age", 0, "step-up: the oldest auth_time of a token that may change email, phone or step_up attributes or send a code, such as 10m (default: off)")
	fs.DurationVar(&o.requestTimeout, "request-timeout", userinfo.DefaultRequestTimeout, "the most a request may take before it is answered 503 temporarily_unavailable, nothing written; below the write timeout ("+writeTimeout.String()+") minus "+commitRoom.String()+" for a commit under way and the answer")
	fs.IntVar(&o.tokenCache, "token-cache", 10000, "verified access tokens kept, so that a repeated token skips the signature check (0: off)")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at /metrics on this `address` HOST:PORT, its own listener (default: off)")
	fs.StringVar(&o.accountClientID, "account-client-id", "", "OAuth client `ID` of the account page at GET /account: it signs in at -issuer with the authorization code flow and PKCE, as a public client whose redirect URI is the page's URL (needs -jwks-url or -jwks-file; default: none, the page signs in only with the development issuer)")
	cors := fs.String("cors-origins", "", "comma-separated `list` of origins allowed to call from a browser (CORS with preflight), such as https://app.example.com; \"*\": any (default: none, no CORS headers)")
	logLevel := fs.String("log-level", "info", "`level` of the log: debug, info, warn or error; at debug every refused request's cause is logged")
	claims := fs.String("claims", "", "comma-separated `list` of claims to release; \"sub\" always (default: every claim)")
	phoneRegions := fs.String("phone-regions", "CN", "comma-separated `list` of regions (CLDR codes) whose mobile numbers are accepted, the first one's also in national form; \"*\": any region")
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
	if o.accountClientID != "" {
		if o.jwksURL == "" && o.jwksFile == "" {
			return nil, fmt.Errorf("%w: -account-client-id needs a real issuer: -jwks-url or -jwks-file, with -issuer", errUsage)
		}
		if u, err := url.Parse(o.issuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("%w: -account-client-id needs an -issuer that is an http or https URL, where the page finds /.well-known/openid-configuration", errUsage)
		}
	}
	if o.otpTTL < time.Second || o.otpTTL > time.Hour {
		return nil, fmt.Errorf("%w: -otp-ttl must be between 1s and 1h", errUsage)
	}
	if o.publicURL != "" {
		if u, err := url.Parse(o.publicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("%w: -public-url must be an http or https URL without query or fragment", errUsage)
		}
	}
	if o.requestTimeout <= 0 || o.requestTimeout >= writeTimeout-commitRoom {
		return nil, fmt.Errorf("%w: -request-timeout must be positive and below %v: the server's write timeout %v, less %v for a commit under way and the answer", errUsage,
			writeTimeout-commitRoom, writeTimeout, commitRoom)
	}
	if o.maxAuthAge < 0 {
		return nil, fmt.Errorf("%w: -max-auth-age must not be negative", errUsage)
	}
	if o.tokenCache < 0 {
		return nil, fmt.Errorf("%w: -token-cache must not be negative", errUsage)
	}
	level, ok := logLevels[*logLevel]
	if !ok {
		return nil, fmt.Errorf("%w: -log-level must be debug, info, warn or error", errUsage)
	}
	o.logLevel = level
	for origin := range strings.SplitSeq(*cors, ",") {
		if origin = strings.TrimSpace(origin); origin == "" {
			continue
		}
		if !validOrigin(origin) {
			return nil, fmt.Errorf("%w: -cors-origins: %q is not an origin such as https://app.example.com (scheme and host, no path), nor \"*\"", errUsage, origin)
		}
		o.corsOrigins = append(o.corsOrigins, origin)
	}
	for r := range strings.SplitSeq(*phoneRegions, ",") {
		if r = strings.TrimSpace(r); r != "" {
			o.phoneRegions = append(o.phoneRegions, r)
		}
	}
	if len(o.phoneRegions) == 0 {
		return nil, fmt.Errorf("%w: -phone-regions needs at least one region, such as CN, or \"*\"", errUsage)
	}
	for c := range strings.SplitSeq(*claims, ",") {
		if c = strings.TrimSpace(c); c != "" {
			o.claims = append(o.claims, c)
		}
	}
	return o, nil
}

// validOrigin reports whether s is "*" or an http or https origin: scheme,
// host and port, which may hold one "*" wildcard (https://*.example.com).
func validOrigin(s string) bool {
	if s == "*" {
		return true
	}
	u, err := url.Parse(strings.Replace(s, "*", "wildcard", 1))
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		u.Path == "" && u.RawQuery == "" && u.Fragment == "" && u.User == nil && !strings.HasSuffix(s, "/")
}
