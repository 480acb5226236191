package userinfo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
)

// TestErrorResponse table-tests the one mapping from errors to responses.
func TestErrorResponse(t *testing.T) {
	leak := errors.New("dial tcp 10.0.0.7:5432: connection refused")
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantBody   errorBody
		wantHeader map[string]string
	}{
		{"plain error", leak, 500, errorBody{CodeServerError, descServerError}, nil},
		{"wrapped *Error", fmt.Errorf("ctx: %w", errBadRequest(CodeMalformedEmail, "")), 400, errorBody{CodeMalformedEmail, ""}, nil},
		{"*Error without a status", &Error{Code: "x"}, 500, errorBody{CodeServerError, descServerError}, nil},
		{"bearer challenge", &Error{Status: 403, Code: CodeInsufficientScope, Description: descInsufficientScope, Challenge: SchemeBearer,
			Realm: "api", URI: rfc6750ErrorURI, Scope: "openid"}, 403, errorBody{CodeInsufficientScope, descInsufficientScope},
			map[string]string{"WWW-Authenticate": `Bearer realm="api", error="insufficient_scope", error_description="` +
				descInsufficientScope + `", error_uri="` + rfc6750ErrorURI + `", scope="openid"`}},
		{"challenge values cannot break the header", &Error{Status: 401, Code: CodeInvalidToken, Description: "a\"b\\c\r\nd", Challenge: SchemeBearer},
			401, errorBody{CodeInvalidToken, "a\"b\\c\r\nd"}, map[string]string{"WWW-Authenticate": `Bearer error="invalid_token", error_description="abcd"`}},
		{"a missed deadline", fmt.Errorf("db: %w", context.DeadlineExceeded), 503, errorBody{CodeTemporarilyUnavailable, descTemporarilyUnavailable},
			map[string]string{"Retry-After": "5"}},
		{"a 500 whose cause missed the deadline", errServer(fmt.Errorf("otp: store attempt: %w", context.DeadlineExceeded)), 503,
			errorBody{CodeTemporarilyUnavailable, descTemporarilyUnavailable}, map[string]string{"Retry-After": "5"}},
		{"extra headers", errMethod("GET, HEAD"), 405, errorBody{CodeInvalidRequest, "The method is not allowed."},
			map[string]string{"Allow": "GET, HEAD", "WWW-Authenticate": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, header := errorResponse(tt.err)
			if status != tt.wantStatus || body != tt.wantBody {
				t.Errorf("errorResponse = %d %+v, want %d %+v", status, body, tt.wantStatus, tt.wantBody)
			}
			if header.Get("Content-Type") != "application/json;charset=UTF-8" || header.Get("Cache-Control") != "no-store" {
				t.Errorf("headers %v lack the JSON type or no-store", header)
			}
			for k, v := range tt.wantHeader {
				if got := header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// TestStoreError maps each UserStore sentinel, wrapped or not, to its answer.
func TestStoreError(t *testing.T) {
	tests := []struct {
		err        error
		wantStatus int
		wantCode   string
	}{
		{ErrUserNotFound, http.StatusNotFound, CodeUserNotFound},
		{fmt.Errorf("update u1: %w", ErrVersionConflict), http.StatusPreconditionFailed, CodePreconditionFailed},
		{fmt.Errorf("sql: %w", ErrDuplicateEmail), http.StatusBadRequest, CodeDuplicateEmail},
		{ErrDuplicatePhoneNumber, http.StatusBadRequest, CodeDuplicatePhoneNumber},
		{errors.New("pq: connection refused"), http.StatusInternalServerError, CodeServerError},
	}
	for _, tt := range tests {
		status, body, _ := errorResponse(storeError(tt.err))
		if status != tt.wantStatus || body.Error != tt.wantCode {
			t.Errorf("storeError(%v) answers %d %s, want %d %s", tt.err, status, body.Error, tt.wantStatus, tt.wantCode)
		}
	}
}
