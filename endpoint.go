package userinfo

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// HandlerFunc is an HTTP handler that returns its failure instead of writing
// it; an [Endpoint] writes it.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Endpoint serves one resource with the rules that every handler of this
// module follows:
//
//   - a method without a handler is answered 405 invalid_request with Allow
//     (a GET handler serves HEAD too, without the body);
//   - an error returned by a handler is written by [WriteError]; the cause of
//     a 5xx answer is logged at error level, the cause of any other refusal
//     at debug level;
//   - a panic is recovered and answered 500 server_error, and only its type
//     and stack are logged: a panic's value may hold anything a plug-in had,
//     tokens and codes among them. A handler that panics after it has begun
//     its answer gets the answer cut short, as net/http does.
//     http.ErrAbortHandler is re-raised;
//   - with a Timeout, the request's context ends after it, and a handler
//     that fails because a store or service it called missed that deadline
//     (its error wraps context.DeadlineExceeded) is answered 503
//     temporarily_unavailable with Retry-After.
//
// The zero Logger discards. An Endpoint is safe for concurrent use when its
// handlers are.
type Endpoint struct {
	// Methods maps each allowed method ("GET", "PATCH", …) to its handler.
	Methods map[string]HandlerFunc
	// Logger receives failures. Default: none.
	Logger *slog.Logger
	// Timeout, when positive, is the most a request may take: its context
	// gets this deadline (or keeps an earlier one). Default: none.
	Timeout time.Duration
}

// ServeHTTP implements [http.Handler].
func (e Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := e.Methods[r.Method]
	if !ok && r.Method == http.MethodHead {
		f, ok = e.Methods[http.MethodGet]
	}
	if !ok {
		f = func(http.ResponseWriter, *http.Request) error { return errMethod(e.allow()) }
	}
	if e.Timeout > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), e.Timeout)
		defer cancel()
		r = r.WithContext(ctx)
	}
	serveGuarded(e.Logger, w, r, f)
}

// allow returns the Allow header of e.
func (e Endpoint) allow() string {
	var methods []string
	for m := range e.Methods {
		methods = append(methods, m)
		if m == http.MethodGet && e.Methods[http.MethodHead] == nil {
			methods = append(methods, http.MethodHead)
		}
	}
	slices.Sort(methods)
	return strings.Join(methods, ", ")
}

// errMethod is the 405 answer, with its Allow header.
func errMethod(allow string) *Error {
	return &Error{Status: http.StatusMethodNotAllowed, Code: CodeInvalidRequest,
		Description: "The method is not allowed.", Header: http.Header{"Allow": {allow}}}
}

// serveGuarded runs f with the rules of [Endpoint]: its error written, a panic
// answered 500. It is the one recover of the module.
func serveGuarded(logger *slog.Logger, w http.ResponseWriter, r *http.Request, f HandlerFunc) {
	gw := &guardedWriter{ResponseWriter: w}
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			panic(v)
		}
		logOf(logger).ErrorContext(r.Context(), "userinfo: panic in a handler or plug-in",
			"method", r.Method, "panic_type", fmt.Sprintf("%T", v), "stack", string(debug.Stack()))
		if gw.wrote {
			// Too late for an answer of our own: cut this one short.
			panic(http.ErrAbortHandler)
		}
		WriteError(w, errServer(errPanic))
	}()
	if err := f(gw, r); err != nil {
		if gw.wrote {
			logOf(logger).ErrorContext(r.Context(), "userinfo: error after the answer began", "error", err.Error())
			return
		}
		status, body, header := errorResponse(err)
		logError(logger, r, status, body.Error, err)
		writeResponse(w, status, body, header)
	}
}

// logError logs the cause of a refused request, answered status and code: a 5xx at error level, any
// other refusal at debug level. Causes never hold tokens, codes or
// addresses: the *Error values of this module are built so.
func logError(logger *slog.Logger, r *http.Request, status int, code string, err error) {
	level := slog.LevelDebug
	if status >= 500 {
		level = slog.LevelError
	}
	l := logOf(logger)
	if !l.Enabled(r.Context(), level) {
		return // a refusal costs no formatting when nobody reads its cause
	}
	l.Log(r.Context(), level, "userinfo: request refused",
		"method", r.Method, "status", status, "error", code, "cause", err.Error())
}

// discard is the logger of a nil *slog.Logger.
var discard = slog.New(slog.DiscardHandler)

func logOf(l *slog.Logger) *slog.Logger {
	if l == nil {
		return discard
	}
	return l
}

// guardedWriter records whether the answer has begun.
type guardedWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *guardedWriter) WriteHeader(status int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(status)
}

func (w *guardedWriter) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *guardedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
