package main

import (
	"net/http"

	"github.com/rs/cors"
)

// corsHandler lets browsers on origins call next (CORS, with preflight), or
// returns next as it is when origins is empty: then no response has CORS
// headers. Tokens travel in the Authorization header, never in cookies, so
// credentials are not allowed.
func corsHandler(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	return cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPatch, http.MethodPost},
		AllowedHeaders: []string{"Authorization", "Content-Type", "If-Match", "If-None-Match", "DPoP"},
		ExposedHeaders: []string{"ETag", "WWW-Authenticate", "Retry-After", "DPoP-Nonce"},
		// A browser may keep a preflight's answer for ten minutes.
		MaxAge: 600,
	}).Handler(next)
}
