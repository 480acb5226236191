package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// accountFiles are the account page: plain HTML, CSS and JavaScript modules,
// served as they are (no build step).
//
//go:embed account
var accountFiles embed.FS

// accountConfig is GET /account/config.json: how the page signs in. With
// the development issuer it mints tokens at POST /dev/token; with a real
// one it runs the authorization code flow with PKCE at Issuer as the public
// client ClientID (empty: not configured).
type accountConfig struct {
	Dev      bool   `json:"dev"`
	Issuer   string `json:"issuer,omitempty"`
	ClientID string `json:"client_id,omitempty"`
}

// The issuer's discovery document, read by the server for the page's CSP:
// the bound of one fetch, and the wait before another after a failure.
const (
	accountDiscoveryTimeout = 3 * time.Second
	accountDiscoveryRetry   = 30 * time.Second
)

// accountHandler serves the account page at GET /account and its files
// under /account/. Every answer carries a Content-Security-Policy that
// allows scripts of this origin only (no inline script, no eval), fetches
// to this origin and, for the code flow, to the issuer's origin and to the
// origin of its token_endpoint (read from its discovery document with
// client), and no framing.
func accountHandler(cfg accountConfig, client *http.Client) http.Handler {
	return newAccountHandler(cfg, client, accountDiscoveryRetry)
}

// newAccountHandler is accountHandler, asking again for the discovery
// document retry after a failure.
func newAccountHandler(cfg accountConfig, client *http.Client, retry time.Duration) http.Handler {
	sub, err := fs.Sub(accountFiles, "account")
	if err != nil {
		panic(err) // the embedded directory exists
	}
	var origins *issuerOrigins
	if !cfg.Dev && cfg.ClientID != "" {
		origins = &issuerOrigins{issuer: cfg.Issuer, client: client, retry: retry}
	}
	cspWith := func(connect string) string {
		return strings.Join([]string{
			"default-src 'none'",
			"script-src 'self'",
			"style-src 'self'",
			"img-src 'self' data:",
			"connect-src " + connect,
			"form-action 'self'",
			"base-uri 'none'",
			"frame-ancestors 'none'",
		}, "; ")
	}
	config, err := json.Marshal(cfg)
	if err != nil {
		panic(err) // three plain fields
	}
	page, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		panic(err) // embedded
	}
	files := http.FileServerFS(sub)
	mux := http.NewServeMux()
	mux.Handle("GET /account", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		_, _ = w.Write(page)
	}))
	mux.Handle("GET /account/config.json", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(config)))
		_, _ = w.Write(config)
	}))
	// The page is /account: its paths are relative to it. /account/ and
	// /account/index.html (which the file server would send to
	// /account/) go there, by a relative Location that keeps a proxy's
	// path prefix.
	toPage := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "../account")
		w.WriteHeader(http.StatusMovedPermanently)
	})
	mux.Handle("GET /account/{$}", toPage)
	mux.Handle("GET /account/index.html", toPage)
	mux.Handle("GET /account/{file}", http.StripPrefix("/account", files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		connect := "'self'"
		if origins != nil {
			// The page's own fetches are governed by the CSP of the page:
			// only its request waits for the discovery document.
			connect += origins.connectSrc(r.Context(), r.URL.Path == "/account")
		}
		h := w.Header()
		h.Set("Content-Security-Policy", cspWith(connect))
		h.Set("X-Content-Type-Options", "nosniff")
		// The code and state of the code flow arrive in the page's URL:
		// never send it on.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		mux.ServeHTTP(w, r)
	})
}

// issuerOrigins are the origins the page fetches from in the code flow: the
// issuer's (its discovery document) and its token_endpoint's, which may be
// another (Google's is https://oauth2.googleapis.com for the issuer
// https://accounts.google.com). The token endpoint's is read from the
// discovery document when first needed and kept once read; until then, and
// after a failure, only the issuer's origin is allowed, and the document is
// fetched again retry after the failure.
type issuerOrigins struct {
	issuer string
	client *http.Client
	retry  time.Duration

	mu      sync.Mutex
	token   string    // the token endpoint's origin, once read ("" if it is the issuer's)
	done    bool      // the document was read
	failed  time.Time // the last failure
	fetches int       // for the tests
}

// connectSrc answers the origins to add to connect-src, each after a
// space. With fetch, it reads the discovery document first unless it was
// read or failed less than retry ago.
func (o *issuerOrigins) connectSrc(ctx context.Context, fetch bool) string {
	issuer := webOrigin(o.issuer)
	if issuer == "" {
		return ""
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if fetch && !o.done && (o.failed.IsZero() || time.Since(o.failed) >= o.retry) {
		if token, err := o.fetch(ctx); err != nil {
			o.failed = time.Now()
		} else {
			o.done = true
			if token != issuer {
				o.token = token
			}
		}
	}
	if o.token != "" {
		return " " + issuer + " " + o.token
	}
	return " " + issuer
}

// fetch reads the origin of the token_endpoint of the issuer's discovery
// document.
func (o *issuerOrigins) fetch(ctx context.Context) (string, error) {
	o.fetches++
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), accountDiscoveryTimeout)
	defer cancel()
	u := strings.TrimSuffix(o.issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/json")
	client := o.client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", errDiscovery
	}
	var doc struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return "", err
	}
	// The document must be the issuer's own, as the page checks.
	origin := webOrigin(doc.TokenEndpoint)
	if doc.Issuer != o.issuer || origin == "" {
		return "", errDiscovery
	}
	return origin, nil
}

var errDiscovery = errors.New("the issuer's discovery document has no usable token_endpoint")

// webOrigin answers the origin of an http or https URL, "" for another URL
// or one whose host could not be written in a CSP source.
func webOrigin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	for _, c := range u.Host {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c)) {
			return ""
		}
	}
	return u.Scheme + "://" + strings.ToLower(u.Host)
}
