package otp

import (
	"encoding/json"
	"net/http"

	"github.com/ciamkit/userinfo"
)

// MaxSendBody is the largest body POST /otp/send accepts, in bytes.
const MaxSendBody = 4 << 10

// Fixed error descriptions of POST /otp/send; none echoes input.
const (
	descNotAuthenticated = "The request is not authenticated."
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
// answers 401 invalid_token. It serves as every [userinfo.Endpoint] does
// (405 for other methods, panics answered 500 and logged by type only to
// Config.Logger) and reads its body with [userinfo.ReadJSONObject], as PATCH
// /userinfo does: 415 for a Content-Type other than application/json, 413
// for a body over MaxSendBody, 400 invalid_request for a body that is not
// one JSON object; then 400 invalid_request for unknown keys, values that
// are not strings, an unknown usage, or not exactly one address; and the
// errors of [Service.Send] (malformed_email, malformed_phone_number, 429
// …_rate_limit_exceeded, 503 temporarily_unavailable, 500 server_error).
// Whether an address is taken by another user is never looked at.
//
// Typical wiring:
//
//	mux.Handle("POST /otp/send", auth.Middleware(svc.SendHandler()))
func (s *Service) SendHandler() http.Handler {
	return userinfo.Endpoint{Logger: s.cfg.Logger, Timeout: s.cfg.RequestTimeout, Methods: map[string]userinfo.HandlerFunc{
		http.MethodPost: s.serveSend,
	}}
}

func (s *Service) serveSend(w http.ResponseWriter, r *http.Request) error {
	p, ok := userinfo.PrincipalFromContext(r.Context())
	if !ok || p.Subject == "" {
		return &userinfo.Error{Status: http.StatusUnauthorized, Code: userinfo.CodeInvalidToken,
			Description: descNotAuthenticated, Challenge: userinfo.SchemeBearer}
	}
	// A stolen token must not spend the user's send allowance either.
	if err := userinfo.RequireStepUp(r); err != nil {
		return err
	}
	body, err := userinfo.ReadJSONObject(w, r, MaxSendBody, userinfo.MediaTypeJSON)
	if err != nil {
		return err
	}
	req, err := parseSendBody(body)
	if err != nil {
		return err
	}
	token, err := s.Send(r.Context(), p.Subject, req.channel, req.target, req.purpose)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
	return json.NewEncoder(w).Encode(struct {
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

// parseSendBody reads a POST /otp/send body that [userinfo.ReadJSONObject]
// decoded: keys matched exactly, no unknown keys, string values only. Errors
// are *userinfo.Error 400 invalid_request.
func parseSendBody(body map[string]any) (sendRequest, error) {
	bad := func(desc string) (sendRequest, error) {
		return sendRequest{}, userinfo.NewError(http.StatusBadRequest, userinfo.CodeInvalidRequest, desc)
	}
	fields := make(map[string]string, len(body))
	for key := range body {
		if key != "usage" && key != "email" && key != "phone_number" {
			return bad(descUnknownParams)
		}
	}
	for key, v := range body {
		str, ok := v.(string)
		if !ok {
			return bad(descNotString)
		}
		fields[key] = str
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
