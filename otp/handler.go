package otp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"unicode/utf8"

	"github.com/ciamkit/userinfo"
)

// MaxSendBody is the largest body POST /otp/send accepts, in bytes.
const MaxSendBody = 4 << 10

// Fixed error descriptions of POST /otp/send; none echoes input.
const (
	descNotAuthenticated = "The request is not authenticated."
	descContentType      = "The Content-Type must be application/json."
	descTooLarge         = "The request body is too large."
	descNotObject        = "The request body must be one JSON object without duplicated keys."
	descUnknownParams    = "Unknown parameter(s) found."
	descNotString        = "Every parameter must be a string."
	descUsage            = "The usage is missing or not supported."
	descOneAddress       = "Exactly one of email and phone_number is required."
)

// SendHandler returns the handler of POST /otp/send, the send-OTP API: the
// body {"usage":"update_userinfo","email":"…"} or
// {"usage":"update_userinfo","phone_number":"…"} sends a code to the address
// for the authenticated user and is answered 200 {"otp_token":"…"} with
// Cache-Control: no-store.
//
// The handler must sit behind [userinfo.Authenticator.Middleware], which
// puts the user's principal in the request's context; without one it
// answers 401 invalid_token. Errors are written by [userinfo.WriteError]:
// 405 for other methods; 400 invalid_request for a Content-Type other than
// application/json, a body that is not one JSON object of string members
// (duplicated or unknown keys included), an unknown usage, or not exactly
// one address; 413 invalid_request for a body over MaxSendBody; and those of
// [Service.Send] (malformed_email, malformed_phone_number, 429 …_rate_limit_exceeded,
// 503 temporarily_unavailable, 500 server_error). Whether an address is
// taken by another user is never looked at.
//
// Typical wiring:
//
//	mux.Handle("POST /otp/send", auth.Middleware(svc.SendHandler()))
func (s *Service) SendHandler() http.Handler {
	return http.HandlerFunc(s.serveSend)
}

func (s *Service) serveSend(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		e := userinfo.NewError(http.StatusMethodNotAllowed, userinfo.CodeInvalidRequest, "The method must be POST.")
		e.Header = http.Header{"Allow": {http.MethodPost}}
		userinfo.WriteError(w, e)
		return
	}
	p, ok := userinfo.PrincipalFromContext(r.Context())
	if !ok || p.Subject == "" {
		userinfo.WriteError(w, &userinfo.Error{Status: http.StatusUnauthorized, Code: userinfo.CodeInvalidToken,
			Description: descNotAuthenticated, Bearer: true})
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		userinfo.WriteError(w, userinfo.NewError(http.StatusBadRequest, userinfo.CodeInvalidRequest, descContentType))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxSendBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			userinfo.WriteError(w, userinfo.NewError(http.StatusRequestEntityTooLarge, userinfo.CodeInvalidRequest, descTooLarge))
			return
		}
		userinfo.WriteError(w, &userinfo.Error{Status: http.StatusBadRequest, Code: userinfo.CodeInvalidRequest,
			Description: "The request body could not be read.", Err: err})
		return
	}
	req, err := parseSendBody(body)
	if err != nil {
		userinfo.WriteError(w, err)
		return
	}
	token, err := s.Send(r.Context(), p.Subject, req.channel, req.target, req.purpose)
	if err != nil {
		userinfo.WriteError(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(struct {
		OTPToken string `json:"otp_token"`
	}{token})
}

// sendRequest is a parsed POST /otp/send body.
type sendRequest struct {
	purpose, channel, target string
}

// usages maps the "usage" of the send-OTP API to purposes.
var usages = map[string]string{
	"update_userinfo": userinfo.PurposeUpdateUserinfo,
}

// parseSendBody parses a POST /otp/send body strictly: one JSON object, valid
// UTF-8, keys matched exactly (encoding/json's case folding would let
// "EMAIL" or "ſsage" through), no duplicated or unknown keys, string values
// only, no trailing data. Errors are *userinfo.Error 400 invalid_request.
func parseSendBody(body []byte) (sendRequest, error) {
	bad := func(desc string) (sendRequest, error) {
		return sendRequest{}, userinfo.NewError(http.StatusBadRequest, userinfo.CodeInvalidRequest, desc)
	}
	if !utf8.Valid(body) {
		return bad(descNotObject)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return bad(descNotObject)
	}
	fields := map[string]string{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return bad(descNotObject)
		}
		key, ok := t.(string)
		if !ok {
			return bad(descNotObject)
		}
		if _, dup := fields[key]; dup {
			return bad(descNotObject)
		}
		t, err = dec.Token()
		if err != nil {
			return bad(descNotObject)
		}
		v, ok := t.(string)
		if !ok {
			return bad(descNotString)
		}
		fields[key] = v
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return bad(descNotObject)
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad(descNotObject)
	}
	for key := range fields {
		if key != "usage" && key != "email" && key != "phone_number" {
			return bad(descUnknownParams)
		}
	}
	purpose, ok := usages[fields["usage"]]
	if !ok {
		return bad(descUsage)
	}
	email, hasEmail := fields["email"]
	phone, hasPhone := fields["phone_number"]
	switch {
	case hasEmail == hasPhone:
		return bad(descOneAddress)
	case hasEmail:
		return sendRequest{purpose: purpose, channel: userinfo.ChannelEmail, target: email}, nil
	default:
		return sendRequest{purpose: purpose, channel: userinfo.ChannelSMS, target: phone}, nil
	}
}
