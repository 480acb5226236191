package userinfo

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"
)

// maxDepth bounds the nesting of a request body; attribute values nest at
// most one level ("address"), so anything deeper is refused early.
const maxDepth = 8

var errBodyDuplicateKey = errors.New("duplicate key")

// checkContentType returns a 415 *Error unless r's Content-Type is
// application/json or application/merge-patch+json (RFC 7396).
func checkContentType(r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil {
		mt = strings.ToLower(mt)
		if mt == "application/json" || mt == "application/merge-patch+json" {
			return nil
		}
	}
	e := &Error{Status: http.StatusUnsupportedMediaType, Code: CodeInvalidRequest,
		Description: "Content-Type must be application/json.", Header: http.Header{}}
	e.Header.Set("Accept-Patch", "application/json, application/merge-patch+json")
	return e
}

// readBody reads at most limit bytes of r's body; a longer body is a 413.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeInvalidRequest,
			Description: "The request body is too large."}
	case err != nil:
		return nil, errInvalidRequest("The request body could not be read.")
	}
	return data, nil
}

// decodeObject decodes data, which must be exactly one JSON object, into a
// map. Unlike json.Unmarshal it refuses invalid UTF-8 (which encoding/json
// would silently replace), duplicated keys at any depth, and trailing data;
// numbers stay exact as json.Number; keys are kept byte for byte, never
// case-folded.
func decodeObject(data []byte) (map[string]any, error) {
	bad := func(description string) error { return errInvalidRequest(description) }
	if !utf8.Valid(data) {
		return nil, bad("The request body is not valid UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, bad("The request body is not valid JSON.")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, bad("The request body must be a JSON object.")
	}
	obj, err := decodeMembers(dec, 1)
	if errors.Is(err, errBodyDuplicateKey) {
		return nil, bad("The request body has a duplicated key.")
	}
	if err != nil {
		return nil, bad("The request body is not valid JSON.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad("The request body must hold exactly one JSON object.")
	}
	return obj, nil
}

// decodeMembers decodes the members of an object whose '{' was read.
func decodeMembers(dec *json.Decoder, depth int) (map[string]any, error) {
	obj := make(map[string]any)
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if tok == json.Delim('}') {
			return obj, nil
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("object key is not a string")
		}
		if _, dup := obj[key]; dup {
			return nil, errBodyDuplicateKey
		}
		v, err := decodeValue(dec, depth)
		if err != nil {
			return nil, err
		}
		obj[key] = v
	}
}

// decodeValue decodes the next value of dec.
func decodeValue(dec *json.Decoder, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // string, json.Number, bool or nil
	}
	if depth >= maxDepth {
		return nil, errors.New("too deeply nested")
	}
	switch d {
	case '{':
		return decodeMembers(dec, depth+1)
	case '[':
		arr := []any{}
		for dec.More() {
			v, err := decodeValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := dec.Token(); err != nil { // ']'
			return nil, err
		}
		return arr, nil
	}
	return nil, errors.New("unexpected delimiter")
}
