package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/ciamkit/userinfo"
)

// readyTimeout bounds one readiness check: a probe wants an answer, not a
// wait for the database.
const readyTimeout = 2 * time.Second

// healthHandler serves GET /healthz, the liveness probe: 200 {"status":"ok"}
// whenever the process answers.
func healthHandler(logger *slog.Logger) http.Handler {
	return userinfo.Endpoint{Logger: logger, Methods: map[string]userinfo.HandlerFunc{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request) error {
			writeStatus(w, http.StatusOK, "ok")
			return nil
		},
	}}
}

// readyHandler serves GET /readyz, the readiness probe: 200
// {"status":"ready"} once h is ready (the store answers and a key set is
// loaded, see userinfo.Handler.Ready), else 503 {"status":"unavailable"}.
// The cause goes to the request's log line, never to the client.
func readyHandler(logger *slog.Logger, h *userinfo.Handler) http.Handler {
	return userinfo.Endpoint{Logger: logger, Methods: map[string]userinfo.HandlerFunc{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request) error {
			ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
			defer cancel()
			if err := h.Ready(ctx); err != nil {
				noteRequest(r.Context(), slog.String("cause", err.Error()))
				writeStatus(w, http.StatusServiceUnavailable, "unavailable")
				return nil
			}
			writeStatus(w, http.StatusOK, "ready")
			return nil
		},
	}}
}

// writeStatus answers {"status": status}, never cached.
func writeStatus(w http.ResponseWriter, code int, status string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": status})
}

// readinessVerifier is a token verifier with the Ready method that
// userinfo.Handler.Ready asks: ready reports whether the key set of -jwks-url
// has been fetched.
type readinessVerifier struct {
	userinfo.TokenVerifier
	ready func(context.Context) error
}

// Ready reports whether the verifier has its keys.
func (v readinessVerifier) Ready(ctx context.Context) error { return v.ready(ctx) }
