package userinfo

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
)

// OpenAPIOptions configures [Handler.OpenAPI]. The zero value of every field
// is its default.
type OpenAPIOptions struct {
	// Title is the document's info.title. Default: "userinfo".
	Title string
	// Version is info.version, the version of the described API.
	// Default: "1.0.0".
	Version string
	// ServerURL, when set, is the URL of the document's one server. A path
	// in it prefixes every path of the document, for a handler mounted
	// under a prefix: "https://id.example.com/api" describes
	// https://id.example.com/api/userinfo. Default: no servers member, so
	// that paths are relative to where the document is served.
	ServerURL string
	// OTPSend adds POST /otp/send, the send-OTP endpoint of package otp
	// (otp.Service.SendHandler), for servers that mount it.
	OTPSend bool
}

// openAPIVersion is the version of the OpenAPI Specification the document
// follows; its schemas are JSON Schema draft 2020-12.
const openAPIVersion = "3.1.0"

// OpenAPI returns an OpenAPI 3.1 description (JSON) of the endpoints the
// handler serves: GET and PATCH /userinfo, GET /userinfo/schema and, with
// opts.OTPSend, POST /otp/send. The request schema of PATCH,
// components.schemas.UserinfoPatch, is the JSON Schema generated from the
// registry (the bytes [Registry.Schema] returns, re-indented), so that the
// description and the validation never disagree; the response schema is
// derived from it. The paths are the ones New's documentation mounts; use
// opts.ServerURL for a prefix. The same options always give the same bytes.
func (h *Handler) OpenAPI(opts OpenAPIOptions) []byte {
	return openAPIDocument(h.registry.Schema(), h.auth.requiredScope(), opts)
}

// OpenAPIHandler returns a handler that serves [Handler.OpenAPI] as
// application/json to GET and HEAD; other methods get 405.
func (h *Handler) OpenAPIHandler(opts OpenAPIOptions) http.Handler {
	return serveDocument("application/json", h.OpenAPI(opts))
}

// jsonObject is a JSON object of the document; json.Marshal sorts its keys, so the
// document is deterministic.
type jsonObject = map[string]any

// openAPIRef is a JSON reference to a component of the document.
func openAPIRef(path string) jsonObject { return jsonObject{"$ref": "#/components/" + path} }

// openAPIDoc is the top level of the document, in the customary order.
type openAPIDoc struct {
	OpenAPI           string     `json:"openapi"`
	JSONSchemaDialect string     `json:"jsonSchemaDialect"`
	Info              jsonObject `json:"info"`
	Servers           []any      `json:"servers,omitempty"`
	Security          []any      `json:"security"`
	Paths             jsonObject `json:"paths"`
	Components        jsonObject `json:"components"`
}

// patchErrorCodes are the "error" values of a 400 answer to PATCH.
var patchErrorCodes = []string{
	CodeInvalidRequest, CodeIllegalParameterValue,
	CodeMalformedPhoneNumber, CodeDuplicatePhoneNumber, CodeBadPhoneNumberOTPToken, CodeBadPhoneNumberOTP,
	CodeMalformedEmail, CodeDuplicateEmail, CodeBadEmailOTPToken, CodeBadEmailOTP,
}

func openAPIDocument(patchSchema []byte, scope string, opts OpenAPIOptions) []byte {
	if opts.Title == "" {
		opts.Title = "userinfo"
	}
	if opts.Version == "" {
		opts.Version = "1.0.0"
	}
	if !json.Valid(patchSchema) {
		patchSchema = []byte(`{"type":"object"}`)
	}

	schemas := jsonObject{
		"UserinfoPatch": json.RawMessage(patchSchema),
		"Userinfo":      responseSchema(patchSchema),
		"Error": jsonObject{
			"type":     "object",
			"required": []string{"error"},
			"properties": jsonObject{
				"error": jsonObject{"type": "string", "description": "The error code."},
				"error_description": jsonObject{"type": "string",
					"description": "A fixed human-readable text; it never echoes the request."},
			},
		},
		"PatchError": jsonObject{
			"description": "A 400 answer to PATCH /userinfo.",
			"allOf":       []any{openAPIRef("schemas/Error")},
			"properties":  jsonObject{"error": jsonObject{"enum": patchErrorCodes}},
		},
	}

	errorContent := func(schema string) jsonObject {
		return jsonObject{"application/json": jsonObject{"schema": openAPIRef("schemas/" + schema)}}
	}
	bearerHeader := jsonObject{"WWW-Authenticate": openAPIRef("headers/WWW-Authenticate")}
	responses := jsonObject{
		"Unauthorized": jsonObject{
			"description": "The token cannot be decoded, has a bad signature, is expired or not yet valid, " +
				"or has the wrong issuer or audience, or no subject: invalid_token.",
			"headers": bearerHeader, "content": errorContent("Error"),
		},
		"Forbidden": jsonObject{
			"description": "The token lacks the " + strconv.Quote(scope) + " scope: insufficient_scope.",
			"headers":     bearerHeader, "content": errorContent("Error"),
		},
		"BearerBadRequest": jsonObject{
			"description": "No bearer token, or more than one: invalid_request.",
			"headers":     bearerHeader, "content": errorContent("Error"),
		},
		"NotFound": jsonObject{
			"description": "The token's user does not exist: user_not_found.",
			"content":     errorContent("Error"),
		},
		"MethodNotAllowed": jsonObject{
			"description": "The method is not allowed; Allow lists those that are.",
			"headers":     jsonObject{"Allow": jsonObject{"schema": jsonObject{"type": "string"}}},
			"content":     errorContent("Error"),
		},
		"ServerError": jsonObject{
			"description": "A store or OTP-service failure, with nothing written: server_error.",
			"content":     errorContent("Error"),
		},
		"Unavailable": jsonObject{
			"description": "The token cannot be checked now (no key set), or a code could not be sent: temporarily_unavailable.",
			"content":     errorContent("Error"),
		},
	}
	claimsOK := jsonObject{
		"description": "The user's claims that the server's policy releases; \"sub\" always.",
		"headers": jsonObject{
			"ETag":          jsonObject{"description": "The user's version, for If-Match and If-None-Match.", "schema": jsonObject{"type": "string"}},
			"Cache-Control": jsonObject{"schema": jsonObject{"type": "string", "const": "no-store"}},
		},
		"content": jsonObject{"application/json": jsonObject{"schema": openAPIRef("schemas/Userinfo")}},
	}
	notModified := jsonObject{
		"description": "If-None-Match holds the user's current ETag: the user has not changed. No body.",
		"headers": jsonObject{
			"ETag":          jsonObject{"description": "The user's version.", "schema": jsonObject{"type": "string"}},
			"Cache-Control": jsonObject{"schema": jsonObject{"type": "string", "const": "no-store"}},
		},
	}
	withBearerErrors := func(r jsonObject) jsonObject {
		r["400"] = openAPIRef("responses/BearerBadRequest")
		r["401"] = openAPIRef("responses/Unauthorized")
		r["403"] = openAPIRef("responses/Forbidden")
		r["500"] = openAPIRef("responses/ServerError")
		r["503"] = openAPIRef("responses/Unavailable")
		return r
	}

	patchBody := jsonObject{"schema": openAPIRef("schemas/UserinfoPatch"), "examples": jsonObject{
		"nickname": jsonObject{"summary": "Change the nickname", "value": jsonObject{"nickname": "MOCK_NICKNAME"}},
		"email": jsonObject{"summary": "Change the email address with a code from POST /otp/send", "value": jsonObject{
			"email": "new@example.com", "email_otp_token": "OTP_TOKEN", "email_otp": "123456"}},
		"remove": jsonObject{"summary": "Remove an optional attribute", "value": jsonObject{"website": nil}},
	}}
	patchResponses := withBearerErrors(jsonObject{
		"200": claimsOK,
		"404": openAPIRef("responses/NotFound"),
		"405": openAPIRef("responses/MethodNotAllowed"),
		"412": jsonObject{"description": "If-Match does not match the user's current version: precondition_failed.",
			"content": errorContent("Error")},
		"413": jsonObject{"description": "The body is over the size limit: invalid_request.", "content": errorContent("Error")},
		"415": jsonObject{"description": "The Content-Type is not JSON: invalid_request.",
			"headers": jsonObject{"Accept-Patch": jsonObject{"schema": jsonObject{"type": "string"}}},
			"content": errorContent("Error")},
	})
	patchResponses["400"] = jsonObject{
		"description": "The first failed check answers, and nothing is written: a missing or duplicated bearer token " +
			"(invalid_request, with WWW-Authenticate), a body that is not one JSON object, unknown attributes " +
			"(\"Unknown attribute(s) found.\"), attributes that may not be written (\"Unsupported user attribute(s) found.\"), " +
			"missing OTP fields, malformed_email / malformed_phone_number, illegal_parameter_value, " +
			"bad_*_otp_token / bad_*_otp, duplicate_email / duplicate_phone_number.",
		"headers": bearerHeader,
		"content": errorContent("PatchError"),
	}

	paths := jsonObject{
		"/userinfo": jsonObject{
			"get": jsonObject{
				"operationId": "getUserinfo",
				"summary":     "Read the user's claims (OpenID Connect Core 1.0 §5.3)",
				"parameters": []any{jsonObject{
					"name": "If-None-Match", "in": "header", "required": false,
					"description": "ETags of earlier responses, or *: when one is the user's current version (weak comparison, " +
						"RFC 9110 §13.1.2), the answer is 304 Not Modified without a body. Checked after the token and the user lookup.",
					"schema": jsonObject{"type": "string"},
				}},
				"responses": withBearerErrors(jsonObject{"200": claimsOK, "304": notModified, "404": openAPIRef("responses/NotFound")}),
			},
			"patch": jsonObject{
				"operationId": "updateUserinfo",
				"summary":     "Change the user's attributes",
				"description": "Sets the attributes in the body; null removes an optional one. A new email or " +
					"phone_number must come with the otp_token and the code of POST /otp/send. Every check " +
					"passes or nothing is written.",
				"parameters": []any{jsonObject{
					"name": "If-Match", "in": "header", "required": false,
					"description": "The ETag of an earlier response: the change is made only if the user has not changed since.",
					"schema":      jsonObject{"type": "string"},
				}},
				"requestBody": jsonObject{
					"required": true,
					"content": jsonObject{
						"application/json":             patchBody,
						"application/merge-patch+json": jsonObject{"schema": openAPIRef("schemas/UserinfoPatch")},
					},
				},
				"responses": patchResponses,
			},
		},
		"/userinfo/schema": jsonObject{
			"get": jsonObject{
				"operationId": "getUserinfoSchema",
				"summary":     "The JSON Schema (draft 2020-12) of a PATCH /userinfo body",
				"security":    []any{},
				"responses": jsonObject{"200": jsonObject{
					"description": "The schema, the same as components.schemas.UserinfoPatch.",
					"content":     jsonObject{"application/schema+json": jsonObject{"schema": jsonObject{"type": "object"}}},
				}},
			},
		},
	}

	if opts.OTPSend {
		schemas["OTPSendRequest"] = jsonObject{
			"type": "object", "additionalProperties": false,
			"required": []string{"usage"},
			"properties": jsonObject{
				"usage": jsonObject{"type": "string", "const": PurposeUpdateUserinfo},
				// The same rules as PATCH: the registry's schemas of
				// the two claims.
				"email":        openAPIRef("schemas/UserinfoPatch/properties/email"),
				"phone_number": openAPIRef("schemas/UserinfoPatch/properties/phone_number"),
			},
			"oneOf": []any{jsonObject{"required": []string{"email"}}, jsonObject{"required": []string{"phone_number"}}},
		}
		schemas["OTPSendResponse"] = jsonObject{
			"type": "object", "required": []string{"otp_token"},
			"properties": jsonObject{"otp_token": jsonObject{"type": "string",
				"description": "Send it back with the code, as email_otp_token or phone_number_otp_token."}},
		}
		paths["/otp/send"] = jsonObject{
			"post": jsonObject{
				"operationId": "sendOTP",
				"summary":     "Send a one-time code to a new email address or phone number",
				"requestBody": jsonObject{"required": true, "content": jsonObject{"application/json": jsonObject{
					"schema": openAPIRef("schemas/OTPSendRequest"),
					"examples": jsonObject{
						"email": jsonObject{"value": jsonObject{"usage": PurposeUpdateUserinfo, "email": "new@example.com"}},
						"sms":   jsonObject{"value": jsonObject{"usage": PurposeUpdateUserinfo, "phone_number": "13612345678"}},
					},
				}}},
				"responses": withBearerErrors(jsonObject{
					"200": jsonObject{"description": "The code was sent.", "headers": jsonObject{
						"Cache-Control": jsonObject{"schema": jsonObject{"type": "string", "const": "no-store"}}},
						"content": jsonObject{"application/json": jsonObject{"schema": openAPIRef("schemas/OTPSendResponse")}}},
					"405": openAPIRef("responses/MethodNotAllowed"),
					"413": jsonObject{"description": "The body is too large: invalid_request.", "content": errorContent("Error")},
					"429": jsonObject{
						"description": "Too many codes for the address or the user: sms_rate_limit_exceeded or email_rate_limit_exceeded.",
						"headers":     jsonObject{"Retry-After": jsonObject{"description": "Seconds to wait.", "schema": jsonObject{"type": "integer"}}},
						"content":     errorContent("Error"),
					},
				}),
			},
		}
		// 400 here also covers malformed addresses.
		otpBad := jsonObject{
			"description": "A missing or duplicated bearer token, a body that is not the expected JSON object, " +
				"malformed_email or malformed_phone_number.",
			"headers": bearerHeader, "content": errorContent("Error"),
		}
		paths["/otp/send"].(jsonObject)["post"].(jsonObject)["responses"].(jsonObject)["400"] = otpBad
	}

	doc := openAPIDoc{
		OpenAPI:           openAPIVersion,
		JSONSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
		Info: jsonObject{
			"title":   opts.Title,
			"version": opts.Version,
			"description": "Self-service profile update, PATCH /userinfo, beside the OpenID Connect UserInfo endpoint. " +
				"Every request carries an OAuth 2.0 bearer access token (RFC 6750) with the " + strconv.Quote(scope) +
				" scope. Errors are {\"error\": …, \"error_description\": …}.",
		},
		Security: []any{jsonObject{"bearer": []string{}}},
		Paths:    paths,
		Components: jsonObject{
			"securitySchemes": jsonObject{"bearer": jsonObject{
				"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
				"description": "An access token with the " + strconv.Quote(scope) + " scope, in the Authorization header only.",
			}},
			"headers": jsonObject{"WWW-Authenticate": jsonObject{
				"description": "The RFC 6750 challenge: Bearer error=…, error_description=…, error_uri=…",
				"schema":      jsonObject{"type": "string"},
			}},
			"schemas":   schemas,
			"responses": responses,
		},
	}
	if opts.ServerURL != "" {
		doc.Servers = []any{jsonObject{"url": opts.ServerURL}}
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		// Unreachable: the document is maps, slices and strings, and the
		// raw schema was checked to be valid JSON.
		panic("userinfo: marshalling the OpenAPI document: " + err.Error())
	}
	return append(out, '\n')
}

// readOnlyClaimSchemas are the claims a response may hold that a PATCH body
// may not.
var readOnlyClaimSchemas = jsonObject{
	"sub":                   jsonObject{"type": "string", "description": "The subject: the user's identifier."},
	"email_verified":        jsonObject{"type": "boolean"},
	"phone_number_verified": jsonObject{"type": "boolean"},
	"updated_at":            jsonObject{"type": "integer", "description": "Time of the last change, in seconds since the epoch."},
}

// responseSchema derives the schema of a response from that of a PATCH
// body: the same attributes without the write-only OTP fields and without
// null (a removed attribute is omitted), plus the read-only claims. Other
// claims (immutable custom attributes) may appear too.
func responseSchema(patchSchema []byte) jsonObject {
	var patch struct {
		Properties map[string]jsonObject `json:"properties"`
	}
	_ = json.Unmarshal(patchSchema, &patch) // valid JSON, checked by the caller
	props := jsonObject{}
	for name, p := range patch.Properties {
		if w, _ := p["writeOnly"].(bool); w {
			continue
		}
		props[name] = withoutNull(p)
	}
	for name, p := range readOnlyClaimSchemas {
		props[name] = p
	}
	return jsonObject{
		"description":          "The claims released to the caller. \"sub\" is always present; which others are is the server's policy.",
		"type":                 "object",
		"required":             []string{"sub"},
		"properties":           props,
		"additionalProperties": true,
	}
}

// withoutNull returns a copy of the schema s that does not allow null.
func withoutNull(s jsonObject) jsonObject {
	out := make(jsonObject, len(s))
	for k, v := range s {
		out[k] = v
	}
	if types, ok := s["type"].([]any); ok {
		kept := slices.DeleteFunc(slices.Clone(types), func(t any) bool { return t == "null" })
		if len(kept) == 1 {
			out["type"] = kept[0]
		} else {
			out["type"] = kept
		}
	}
	if enum, ok := s["enum"].([]any); ok {
		out["enum"] = slices.DeleteFunc(slices.Clone(enum), func(v any) bool { return v == nil })
	}
	if props, ok := s["properties"].(map[string]any); ok {
		np := make(jsonObject, len(props))
		for k, v := range props {
			if m, ok := v.(map[string]any); ok {
				np[k] = withoutNull(m)
			} else {
				np[k] = v
			}
		}
		out["properties"] = np
	}
	return out
}
