package userinfo

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// Error codes of the seed API and of RFC 6750. They are the values of the
// "error" member of every error response.
const (
	CodeInvalidRequest         = "invalid_request"
	CodeInvalidToken           = "invalid_token"
	CodeInsufficientScope      = "insufficient_scope"
	CodeIllegalParameterValue  = "illegal_parameter_value"
	CodeMalformedPhoneNumber   = "malformed_phone_number"
	CodeDuplicatePhoneNumber   = "duplicate_phone_number"
	CodeBadPhoneNumberOTPToken = "bad_phone_number_otp_token"
	CodeBadPhoneNumberOTP      = "bad_phone_number_otp"
	CodeMalformedEmail         = "malformed_email"
	CodeDuplicateEmail         = "duplicate_email"
	CodeBadEmailOTPToken       = "bad_email_otp_token"
	CodeBadEmailOTP            = "bad_email_otp"
	CodeUserNotFound           = "user_not_found"
	CodePreconditionFailed     = "precondition_failed"
	CodeServerError            = "server_error"
	CodeTemporarilyUnavailable = "temporarily_unavailable"
	CodeSMSRateLimitExceeded   = "sms_rate_limit_exceeded"
	CodeEmailRateLimitExceeded = "email_rate_limit_exceeded"
	// RFC 9470 and RFC 9449.
	CodeInsufficientUserAuthentication = "insufficient_user_authentication"
	CodeInvalidDPoPProof               = "invalid_dpop_proof"
	CodeUseDPoPNonce                   = "use_dpop_nonce"
	rfc6750ErrorURI                    = "https://tools.ietf.org/html/rfc6750#section-3.1"
	descUnknownAttributes              = "Unknown attribute(s) found."
	descUnsupportedAttributes          = "Unsupported user attribute(s) found."
	descBearerTokenNotFound            = "Bearer token not found in the request"
	descServerError                    = "The server encountered an unexpected condition."
	descTemporarilyUnavailable         = "The service is temporarily unavailable. Please try again later."
	descInsufficientScope              = "The request requires higher privileges than provided by the access token."
	descInvalidTokenGeneric            = "Error decoding JWT"
	descPreconditionFailed             = "The user has changed since the ETag in If-Match was issued."
	descUserNotFound                   = "The user of the access token does not exist."
	descStepUp                         = "A more recent authentication is required."
	descDPoPRequired                   = "A DPoP-bound access token is required."
	descInvalidDPoPProof               = "The DPoP proof is not valid."
	descUseDPoPNonce                   = "The DPoP proof must carry the server's nonce."
)

// Error is the one error type of the package: an OAuth-style JSON error
// response ({"error": …, "error_description": …}) together with its HTTP
// status and, for bearer-token errors, the RFC 6750 WWW-Authenticate
// challenge.
//
// Handlers of this package, and plug-ins that want a particular answer, return
// an *Error; [WriteError] turns it into the response. Err, the cause, is kept
// for logs and errors.Is/As and never sent to the client.
type Error struct {
	// Status is the HTTP status code, e.g. 400.
	Status int
	// Code is the "error" member: one of the Code… constants or a code of the
	// embedding server.
	Code string
	// Description is the "error_description" member. It is a fixed text that
	// never echoes request input. Empty omits the member.
	Description string

	// Challenge, when set, is the auth-scheme of a WWW-Authenticate
	// challenge that the response carries, built from Realm, Code,
	// Description, URI, Scope and Params: SchemeBearer (RFC 6750 §3) or
	// SchemeDPoP (RFC 9449 §7.1).
	Challenge string
	// Realm is the optional realm of the challenge.
	Realm string
	// URI is the error_uri of the challenge.
	URI string
	// Scope is the scope of the challenge, for insufficient_scope.
	Scope string
	// Params are further auth-params of the challenge, in order, such as
	// max_age and acr_values (RFC 9470 §3) or algs (RFC 9449 §7.1).
	Params []ChallengeParam

	// Header holds extra response headers, such as Allow, Accept-Patch or
	// Retry-After.
	Header http.Header

	// Err is the cause. It is never serialised.
	Err error
}

// Authentication schemes of the Authorization header and of challenges.
const (
	SchemeBearer = "Bearer"
	SchemeDPoP   = "DPoP"
)

// ChallengeParam is one auth-param of a WWW-Authenticate challenge.
type ChallengeParam struct {
	Name, Value string
}

// NewError returns an *Error with the given status, code and description.
func NewError(status int, code, description string) *Error {
	return &Error{Status: status, Code: code, Description: description}
}

// Error implements the error interface. It names the code and the cause, for
// logs; it is not what the client sees.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("userinfo: ")
	b.WriteString(e.Code)
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same Code and, when
// target's Status is not 0, the same Status, so that
// errors.Is(err, &userinfo.Error{Code: userinfo.CodeDuplicateEmail}) works and
// errors.Is(err, &userinfo.Error{Status: 413, Code: userinfo.CodeInvalidRequest})
// tells a body that is too large from the other invalid requests.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Status == 0 || t.Status == e.Status)
}

// errorBody is the JSON body of every error response.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// errorResponse maps err to the response written for it: a pure function so
// that the mapping can be table-tested. Any error that is not an *Error is a
// 500 server_error whose cause is not shown.
func errorResponse(err error) (status int, body errorBody, header http.Header) {
	var e *Error
	if !errors.As(err, &e) || e.Status < 400 || e.Code == "" {
		e = errServer(err)
	}
	if e.Status == http.StatusInternalServerError && missedDeadline(e) {
		e = errUnavailable(e)
	}
	header = http.Header{}
	for k, vs := range e.Header {
		header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	header.Set("Content-Type", "application/json;charset=UTF-8")
	header.Set("Cache-Control", "no-store")
	header.Set("Pragma", "no-cache")
	if e.Challenge != "" {
		header.Set("WWW-Authenticate", challenge(e))
	}
	return e.Status, errorBody{Error: e.Code, Description: e.Description}, header
}

// challenge builds the WWW-Authenticate value of e (RFC 6750 §3, RFC 9449
// §7.1): its scheme and its non-empty auth-params as quoted strings.
func challenge(e *Error) string {
	var parts []string
	add := func(name, value string) {
		if value != "" {
			parts = append(parts, name+"="+quote(value))
		}
	}
	add("realm", e.Realm)
	add("error", e.Code)
	add("error_description", e.Description)
	add("error_uri", e.URI)
	add("scope", e.Scope)
	for _, p := range e.Params {
		if isToken(p.Name) {
			add(p.Name, p.Value)
		}
	}
	if len(parts) == 0 {
		return e.Challenge
	}
	return e.Challenge + " " + strings.Join(parts, ", ")
}

// isToken reports whether s is an RFC 9110 token, as an auth-param name
// must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// quote returns s as an RFC 7230 quoted-string. RFC 6750 restricts the values
// to printable ASCII without '"' and '\'; anything else is dropped so that the
// header can never be broken by a value.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			continue
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String()
}

// WriteError writes err as an error response: the status, the JSON body
// {"error", "error_description"}, Content-Type, Cache-Control: no-store and,
// for bearer errors, WWW-Authenticate. An error that is not an *Error is
// answered 500 server_error without revealing it.
func WriteError(w http.ResponseWriter, err error) {
	status, body, header := errorResponse(err)
	writeResponse(w, status, body, header)
}

// writeResponse writes an answer that errorResponse mapped.
func writeResponse(w http.ResponseWriter, status int, body errorBody, header http.Header) {
	noteErrorCode(w, body.Error)
	h := w.Header()
	for k, vs := range header {
		h[k] = vs
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// errPanic is the cause of the answer to a recovered panic.
var errPanic = errors.New("panic")

func errServer(cause error) *Error {
	return &Error{Status: http.StatusInternalServerError, Code: CodeServerError, Description: descServerError, Err: cause}
}

// RetryAfter is the Retry-After, in seconds, of a 503 temporarily_unavailable
// answer of this module: a store or service that is late or down now is
// worth asking again after a pause, not at once.
const RetryAfter = 5

func errUnavailable(cause error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeTemporarilyUnavailable, Description: descTemporarilyUnavailable,
		Header: http.Header{"Retry-After": {strconv.Itoa(RetryAfter)}}, Err: cause}
}

// missedDeadline reports whether err is a failure because a request's
// deadline passed (or its client went away) before a store or service
// answered: then nothing was written, and the answer is 503, not 500. A store
// whose commit was under way does not say so: it awaits the commit, and
// answers its outcome.
func missedDeadline(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

func errInvalidRequest(description string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Description: description}
}

// errBadRequest is a 400 with a code of the seed and an optional description.
func errBadRequest(code, description string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Description: description}
}
