package main

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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

// accountHandler serves the account page at GET /account and its files
// under /account/. Every answer carries a Content-Security-Policy that
// allows scripts of this origin only (no inline script, no eval), fetches
// to this origin and, for the code flow, to the issuer's origin, and no
// framing.
func accountHandler(cfg accountConfig) http.Handler {
	sub, err := fs.Sub(accountFiles, "account")
	if err != nil {
		panic(err) // the embedded directory exists
	}
	connect := "'self'"
	if !cfg.Dev && cfg.ClientID != "" {
		if u, err := url.Parse(cfg.Issuer); err == nil && u.Host != "" {
			connect += " " + u.Scheme + "://" + u.Host
		}
	}
	csp := strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' data:",
		"connect-src " + connect,
		"form-action 'self'",
		"base-uri 'none'",
		"frame-ancestors 'none'",
	}, "; ")
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
	mux.Handle("GET /account/{file}", http.StripPrefix("/account", files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		// The code and state of the code flow arrive in the page's URL:
		// never send it on.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		mux.ServeHTTP(w, r)
	})
}
