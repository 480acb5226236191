package main

import (
	"log/slog"
	"net/http"
	"time"
)

// logRequests logs one line per request: method, path, status, duration and
// response size. It never logs headers (Authorization), the query (where a
// misplaced access_token would be) or bodies (otp_tokens, codes).
func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		completed := false
		defer func() {
			// A panic is logged by net/http, which then drops the
			// connection; log the request too, and let the panic go on.
			status := rec.status
			switch {
			case status == 0 && completed:
				status = http.StatusOK
			case status == 0:
				status = http.StatusInternalServerError
			}
			logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Duration("duration", time.Since(start)),
				slog.Int64("bytes", rec.bytes))
		}()
		next.ServeHTTP(rec, r)
		completed = true
	})
}

// statusRecorder remembers the status and size of a response.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(p)
	s.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
