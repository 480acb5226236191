package userinfo

import (
	"bytes"
	"context"
	"errors"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestEndpoint table-tests the rules every handler of the module serves by.
func TestEndpoint(t *testing.T) {
	ok := func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	tests := []struct {
		name       string
		methods    map[string]HandlerFunc
		method     string
		wantStatus int
		wantBody   string
		wantHeader map[string]string
	}{
		{"served", map[string]HandlerFunc{"POST": ok}, "POST", 204, "", nil},
		{"HEAD by the GET handler", map[string]HandlerFunc{"GET": ok}, "HEAD", 204, "", nil},
		{"other method", map[string]HandlerFunc{"POST": ok}, "DELETE", 405,
			`{"error":"invalid_request","error_description":"The method is not allowed."}`, map[string]string{"Allow": "POST"}},
		{"Allow lists HEAD with GET", map[string]HandlerFunc{"GET": ok, "PATCH": ok}, "PUT", 405,
			`{"error":"invalid_request","error_description":"The method is not allowed."}`, map[string]string{"Allow": "GET, HEAD, PATCH"}},
		{"returned *Error", map[string]HandlerFunc{"POST": func(http.ResponseWriter, *http.Request) error {
			return errBadRequest(CodeMalformedEmail, "")
		}}, "POST", 400, `{"error":"malformed_email"}`, nil},
		{"returned plain error", map[string]HandlerFunc{"POST": func(http.ResponseWriter, *http.Request) error {
			return errors.New("dial tcp 10.0.0.7:5432: connection refused")
		}}, "POST", 500, `{"error":"server_error","error_description":"The server encountered an unexpected condition."}`, nil},
		{"panic", map[string]HandlerFunc{"POST": func(http.ResponseWriter, *http.Request) error {
			panic("code 123456 for token v1.SECRET")
		}}, "POST", 500, `{"error":"server_error","error_description":"The server encountered an unexpected condition."}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			e := Endpoint{Methods: tt.methods, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
			w := httptest.NewRecorder()
			e.ServeHTTP(w, httptest.NewRequest(tt.method, "/x", nil))
			if w.Code != tt.wantStatus || strings.TrimSpace(w.Body.String()) != tt.wantBody {
				t.Errorf("got %d %s, want %d %s", w.Code, w.Body, tt.wantStatus, tt.wantBody)
			}
			for k, v := range tt.wantHeader {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if strings.Contains(logs.String(), "123456") || strings.Contains(logs.String(), "SECRET") {
				t.Errorf("the log holds the panic's value:\n%s", logs.String())
			}
			switch {
			case tt.name == "panic":
				if !strings.Contains(logs.String(), "panic_type=string") {
					t.Errorf("the log does not name the panic's type:\n%s", logs.String())
				}
			case tt.wantStatus >= 400 && !strings.Contains(logs.String(), "error="+decodeCode(t, w)):
				t.Errorf("the log does not name the refusal's code:\n%s", logs.String())
			}
		})
	}
}

func decodeCode(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	_, body, _ := strings.Cut(w.Body.String(), `"error":"`)
	code, _, _ := strings.Cut(body, `"`)
	return code
}

// A panic after the answer began cannot be answered again: the connection
// is cut (http.ErrAbortHandler), and nothing else is written.
func TestEndpointPanicAfterWrite(t *testing.T) {
	e := Endpoint{Methods: map[string]HandlerFunc{"GET": func(w http.ResponseWriter, _ *http.Request) error {
		w.WriteHeader(http.StatusOK)
		panic("half-way")
	}}}
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler", v)
		}
	}()
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
}

// Over a real connection, a panic with secrets in its value, in a verifier
// behind the middleware or in the handler behind it, is a JSON 500, and
// http.Server's ErrorLog stays empty.
func TestPanicsOverHTTP(t *testing.T) {
	var serverLog bytes.Buffer
	auth := &Authenticator{Verifier: TokenVerifierFunc(func(_ context.Context, token string) (*Principal, error) {
		if token == "panic" {
			panic("verifier saw token " + token)
		}
		return &Principal{Subject: "u1", Scopes: []string{"openid"}}, nil
	})}
	next := Endpoint{Methods: map[string]HandlerFunc{"POST": func(http.ResponseWriter, *http.Request) error {
		panic("sender failed to deliver 123456")
	}}}
	srv := httptest.NewUnstartedServer(auth.Middleware(next))
	srv.Config.ErrorLog = log.New(&serverLog, "", 0)
	srv.Start()
	defer srv.Close()
	for _, token := range []string{"panic", "good"} {
		req, _ := http.NewRequest("POST", srv.URL, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("token %s: %v (the client got no answer)", token, err)
		}
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 500 || !strings.Contains(body.String(), `"server_error"`) {
			t.Errorf("token %s: %d %s, want 500 server_error", token, resp.StatusCode, body.String())
		}
	}
	if serverLog.Len() != 0 {
		t.Errorf("http.Server logged: %s", serverLog.String())
	}
}

// TestErrorIs: a target's Code always counts, its Status when set.
func TestErrorIs(t *testing.T) {
	tooLarge := &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeInvalidRequest}
	tests := []struct {
		name   string
		err    error
		target *Error
		want   bool
	}{
		{"same code", errBadRequest(CodeDuplicateEmail, ""), &Error{Code: CodeDuplicateEmail}, true},
		{"other code", errBadRequest(CodeDuplicateEmail, ""), &Error{Code: CodeDuplicatePhoneNumber}, false},
		{"code alone matches every status", tooLarge, &Error{Code: CodeInvalidRequest}, true},
		{"status tells 413 from 400", errInvalidRequest("x"), &Error{Status: 413, Code: CodeInvalidRequest}, false},
		{"status and code", tooLarge, &Error{Status: 413, Code: CodeInvalidRequest}, true},
		{"wrapped", errors.Join(errors.New("ctx"), tooLarge), &Error{Status: 413, Code: CodeInvalidRequest}, true},
		{"the cause still unwraps", otpError(channels[1], ErrBadOTPToken), &Error{Code: CodeBadEmailOTPToken}, true},
	}
	for _, tt := range tests {
		if got := errors.Is(tt.err, tt.target); got != tt.want {
			t.Errorf("%s: errors.Is = %v, want %v", tt.name, got, tt.want)
		}
	}
	if !errors.Is(otpError(channels[1], ErrBadOTPToken), ErrBadOTPToken) {
		t.Error("otpError hides its cause from errors.Is")
	}
}
