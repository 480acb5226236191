// Command example is a complete identity-profile server built on package
// userinfo: PATCH and GET /userinfo, POST /otp/send, GET /userinfo/schema and
// GET /openapi.json, backed by SQLite, PostgreSQL or memory.
//
// Started with no flags it is useful at once: it is its own development token
// issuer (POST /dev/token, GET /.well-known/jwks.json), it creates a demo user
// "demo", prints one-time codes to the console and keeps its data in the SQLite
// file userinfo.db:
//
//	go run ./example
//
// Usage:
//
//	example [flags]
//
// The flags:
//
//	-addr HOST:PORT       listen address (default 127.0.0.1:8080; port 0 picks a free one)
//	-db DSN               empty: SQLite file userinfo.db; "memory"; "sqlite:PATH"; "postgres://…"
//	-jwks-url URL         verify tokens against the JWK Set at URL (no development issuer)
//	-jwks-file PATH       verify tokens against the JWK Set in a file (no development issuer)
//	-issuer ISS           required "iss" of tokens
//	-audience AUD         required "aud" of tokens
//	-attributes PATH      custom attribute registry, JSON: {"attributes": […]}
//	-seed PATH            JSON array of users created at start if absent: [{"sub":"u1", …}]
//	-otp-outbox PATH      append each code sent as a JSON line (default: print to the console)
//	-otp-ttl DURATION     lifetime of a code (default 5m)
//	-otp-key-file PATH    secret of the stored code hashes, shared by replicas
//	-claims LIST          comma-separated claims to release ("sub" always; default every claim)
//	-phone-regions LIST   regions whose mobile numbers are accepted (default CN; "*" any)
//	-public-url URL       the URL clients reach the server by, which DPoP proofs name
//	-require-dpop         refuse Bearer tokens: DPoP only
//	-max-auth-age DUR     step-up: the oldest auth_time that may change email, phone or step_up attributes
//	-token-cache N        verified tokens kept (default 10000; 0 off)
//	-request-timeout D    the most a request may take before 503 temporarily_unavailable
//	                      (default 10s; below the write timeout, 30s, minus 10s for a commit)
//	-cors-origins LIST    origins allowed to call from a browser (default none: no CORS)
//	-account-client-id ID client ID of the account page at -issuer (code flow with PKCE, public client)
//	-metrics-addr ADDR    serve Prometheus metrics at /metrics on this address (default off)
//	-log-level LEVEL      debug, info, warn or error (default info)
//
// GET /account is a self-service page in the browser: with the development
// issuer it signs in as any subject, with a real one (-issuer, -jwks-url or
// -jwks-file, -account-client-id) by the authorization code flow with PKCE.
//
// Once it accepts connections it prints "listening on http://HOST:PORT" to
// standard error; request logs follow there, one log/slog text line per
// request that never contains tokens, otp_tokens, codes or addresses. GET
// /healthz answers while the process lives, GET /readyz once the store
// answers and a key set is loaded. SIGINT or SIGTERM shut it down
// gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}
