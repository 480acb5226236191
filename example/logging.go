package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// maxErrorBody is the most of an error response that logRequests reads for
// its "error" code; the module's error bodies are far shorter.
const maxErrorBody = 2 << 10

// logRequests logs one line per request, at info level: method, path,
// status, duration, response size, for a refusal the error code of its body,
// and what the handlers added with noteRequest (the change of a PATCH, say).
// It never logs headers (Authorization, DPoP), the query (where a misplaced
// access_token would be) or bodies (otp_tokens, codes, addresses).
func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		note := &requestNote{}
		r = r.WithContext(context.WithValue(r.Context(), noteKey{}, note))
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
			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Duration("duration", time.Since(start)),
				slog.Int64("bytes", rec.bytes),
			}
			if code := rec.errorCode(); code != "" {
				attrs = append(attrs, slog.String("error", code))
			}
			attrs = append(attrs, note.take()...)
			logger.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
		}()
		next.ServeHTTP(rec, r)
		completed = true
	})
}

// noteKey is the context key of a request's *requestNote.
type noteKey struct{}

// requestNote collects attributes for the request's log line.
type requestNote struct {
	mu    sync.Mutex
	attrs []slog.Attr
}

func (n *requestNote) take() []slog.Attr {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.attrs
}

// noteRequest adds attrs to the log line of the request of ctx, and reports
// whether there is one (a request served behind logRequests). attrs must
// hold no token, code, otp_token or address.
func noteRequest(ctx context.Context, attrs ...slog.Attr) bool {
	n, ok := ctx.Value(noteKey{}).(*requestNote)
	if !ok {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.attrs = append(n.attrs, attrs...)
	return true
}

// statusRecorder remembers the status and size of a response, and the start
// of a JSON error body.
type statusRecorder struct {
	http.ResponseWriter
	status  int
	bytes   int64
	errBody []byte
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
	if s.status >= 400 && len(s.errBody) < maxErrorBody &&
		strings.HasPrefix(s.Header().Get("Content-Type"), "application/json") {
		s.errBody = append(s.errBody, p[:min(len(p), maxErrorBody-len(s.errBody))]...)
	}
	n, err := s.ResponseWriter.Write(p)
	s.bytes += int64(n)
	return n, err
}

// errorCode returns the "error" member of a JSON error response, when it is
// a code (lower-case letters, digits and "_"), or "".
func (s *statusRecorder) errorCode() string {
	if len(s.errBody) == 0 {
		return ""
	}
	var body struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(s.errBody, &body) != nil || len(body.Error) > 64 {
		return ""
	}
	for _, c := range body.Error {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return ""
		}
	}
	return body.Error
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
