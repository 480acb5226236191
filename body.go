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

	"github.com/ciamkit/userinfo/internal/attrjson"
)

// maxDepth bounds the nesting of a request body; attribute values nest at
// most one level ("address"), so anything deeper is refused early.
const maxDepth = 8

var errBodyDuplicateKey = errors.New("duplicate key")

// Media types of JSON request bodies.
const (
	MediaTypeJSON       = "application/json"
	MediaTypeMergePatch = "application/merge-patch+json" // RFC 7396
)

// ReadJSONObject reads the body of r as exactly one JSON object, the one
// strict reader of every endpoint of this module. The Content-Type must be
// one of mediaTypes (compared case-insensitively, parameters allowed), else
// the answer is 415 invalid_request (with Accept-Patch for PATCH); a body of
// more than limit bytes is 413 invalid_request. The body must be valid UTF-8
// without lone surrogate escapes, hold no duplicated key at any depth and no
// trailing data, else 400 invalid_request. Keys are kept byte for byte,
// never case-folded ("EMAIL" is not "email"), and numbers stay exact, as
// json.Number. Every error is an *[Error].
func ReadJSONObject(w http.ResponseWriter, r *http.Request, limit int64, mediaTypes ...string) (map[string]any, error) {
	if err := checkContentType(r, mediaTypes); err != nil {
		return nil, err
	}
	data, err := readBody(w, r, limit)
	if err != nil {
		return nil, err
	}
	return decodeObject(data)
}

// checkContentType returns a 415 *Error unless r's Content-Type is one of
// mediaTypes.
func checkContentType(r *http.Request, mediaTypes []string) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil {
		for _, want := range mediaTypes {
			if strings.EqualFold(mt, want) {
				return nil
			}
		}
	}
	e := &Error{Status: http.StatusUnsupportedMediaType, Code: CodeInvalidRequest,
		Description: "Content-Type must be application/json."}
	if r.Method == http.MethodPatch {
		e.Header = http.Header{"Accept-Patch": {strings.Join(mediaTypes, ", ")}}
	}
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
	if !utf8.Valid(data) || hasLoneSurrogate(data) {
		return nil, bad("The request body is not valid UTF-8.")
	}
	if obj, ok := attrjson.DecodeStrict(data); ok {
		// The common body, flat but for the address, without the
		// token-by-token decoder.
		return obj, nil
	}
	return decodeTokens(data)
}

// decodeTokens is decodeObject after the UTF-8 checks, by the tokens of
// encoding/json: the reader of every body that attrjson.DecodeStrict
// leaves, FuzzDecodeStrict holds the two equal.
func decodeTokens(data []byte) (map[string]any, error) {
	bad := func(description string) error { return errInvalidRequest(description) }
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

// hasLoneSurrogate reports whether data, JSON text, escapes a UTF-16
// surrogate that is not part of a pair ("\ud800"): such a string is no
// Unicode text, and encoding/json would silently turn it into U+FFFD.
// Outside strings a backslash is invalid JSON anyway, so the escapes can be
// found without tracking strings.
func hasLoneSurrogate(data []byte) bool {
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' {
			continue
		}
		if i+1 < len(data) && data[i+1] != 'u' {
			i++ // a two-character escape such as \\ or \"
			continue
		}
		r, ok := hex4(data, i+2)
		switch {
		case !ok:
			return false // malformed: the decoder refuses it
		case 0xDC00 <= r && r <= 0xDFFF:
			return true // a low surrogate without its high one
		case 0xD800 <= r && r <= 0xDBFF:
			if i+7 >= len(data) || data[i+6] != '\\' || data[i+7] != 'u' {
				return true
			}
			low, ok := hex4(data, i+8)
			if !ok || low < 0xDC00 || low > 0xDFFF {
				return true
			}
			i += 11
		default:
			i += 5
		}
	}
	return false
}

// hex4 decodes the four hexadecimal digits at data[i:].
func hex4(data []byte, i int) (rune, bool) {
	if i+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
