package attrjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file is the fast path of Encode, Decode, AppendObject and
// DecodeObject: hand-written for the values that attributes and token
// claims hold (strings, bools, null, numbers, objects, arrays), with
// encoding/json for anything else. The fuzz targets of codec_test.go hold
// every output equal to encoding/json's.

// IsNumber reports whether s is a JSON number literal (RFC 8259 §6), the
// grammar that encoding/json checks json.Number against.
func IsNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

// AppendValue appends the JSON of v to buf as json.Marshal writes it
// (escapeHTML true) or as a json.Encoder with SetEscapeHTML(false) does,
// without the newline: object keys sorted, invalid UTF-8 replaced by
// U+FFFD, json.Number checked.
func AppendValue(buf []byte, v any, escapeHTML bool) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(buf, "null"...), nil
	case string:
		return AppendString(buf, v, escapeHTML), nil
	case bool:
		return strconv.AppendBool(buf, v), nil
	case json.Number:
		s := string(v)
		if s == "" {
			s = "0"
		}
		if !IsNumber(s) {
			return nil, fmt.Errorf("json: invalid number literal %q", s)
		}
		return append(buf, s...), nil
	case int64:
		return strconv.AppendInt(buf, v, 10), nil
	case int:
		return strconv.AppendInt(buf, int64(v), 10), nil
	case map[string]any:
		if v == nil {
			return append(buf, "null"...), nil
		}
		return AppendObject(buf, v, escapeHTML)
	case []any:
		if v == nil {
			return append(buf, "null"...), nil
		}
		buf = append(buf, '[')
		for i, e := range v {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = AppendValue(buf, e, escapeHTML); err != nil {
				return nil, err
			}
		}
		return append(buf, ']'), nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return append(buf, bytes.TrimSuffix(b.Bytes(), []byte("\n"))...), nil
}

// AppendObject appends the JSON object of m to buf, its keys sorted, as
// AppendValue does.
func AppendObject(buf []byte, m map[string]any, escapeHTML bool) ([]byte, error) {
	kp := GetNames()
	keys := *kp
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	buf = append(buf, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = AppendString(buf, k, escapeHTML)
		buf = append(buf, ':')
		if buf, err = AppendValue(buf, m[k], escapeHTML); err != nil {
			break
		}
	}
	*kp = keys
	PutNames(kp)
	if err != nil {
		return nil, err
	}
	return append(buf, '}'), nil
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string, as encoding/json writes it.
func AppendString(buf []byte, s string, escapeHTML bool) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && (!escapeHTML || c != '<' && c != '>' && c != '&') {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '\\', '"':
				buf = append(buf, '\\', c)
			case '\b':
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// errFallback sends a decode to encoding/json.
var errFallback = errors.New("attrjson: not on the fast path")

// DecodeObject decodes b, one JSON object and nothing but white space
// after it, as json.Unmarshal into a map[string]any does, numbers as
// json.Number when useNumber is true and as float64 otherwise. It returns
// a nil map and no error for "null", as json.Unmarshal does.
func DecodeObject(b []byte, useNumber bool) (map[string]any, error) {
	return decodeObject(string(b), useNumber)
}

// decodeObject is DecodeObject of a string. The strings of the map (keys,
// values, json.Number literals) are substrings of doc, not copies, unless
// they hold an escape.
func decodeObject(doc string, useNumber bool) (map[string]any, error) {
	d := decoder{s: doc, useNumber: useNumber}
	d.space()
	if d.lit("null") {
		d.space()
		if d.i == len(doc) {
			return nil, nil
		}
		return slowDecode(doc, useNumber)
	}
	m, err := d.object(0)
	if err == nil {
		d.space()
		if d.i == len(doc) {
			return m, nil
		}
	}
	return slowDecode(doc, useNumber)
}

// slowDecode is DecodeObject through encoding/json, reading doc in place.
func slowDecode(doc string, useNumber bool) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	if useNumber {
		dec.UseNumber()
	}
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data")
	}
	return m, nil
}

type decoder struct {
	s         string
	i         int
	useNumber bool
	// strict refuses, to the caller's slower reader, a duplicated key and
	// anything nested deeper than an object in an object.
	strict bool
}

// DecodeStrict decodes b as DecodeObject does with useNumber, and reports
// false, for the caller's own strict reader to answer, when b is anything
// but a JSON object whose keys are not duplicated and whose values are
// strings, numbers, bools, null or objects of those: an array, deeper
// nesting, a duplicated key, a syntax error. It does not check UTF-8 or
// escaped surrogates: where the caller refuses those, it must first.
func DecodeStrict(b []byte) (map[string]any, bool) {
	d := decoder{s: string(b), useNumber: true, strict: true}
	d.space()
	m, err := d.object(0)
	if err != nil {
		return nil, false
	}
	d.space()
	return m, d.i == len(d.s)
}

// maxFastDepth sends deeper documents to encoding/json, which bounds them.
const maxFastDepth = 64

func (d *decoder) space() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) object(depth int) (map[string]any, error) {
	if d.i >= len(d.s) || d.s[d.i] != '{' || depth > maxFastDepth {
		return nil, errFallback
	}
	d.i++
	m := make(map[string]any)
	d.space()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		return m, nil
	}
	for {
		d.space()
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		d.space()
		if d.i >= len(d.s) || d.s[d.i] != ':' {
			return nil, errFallback
		}
		d.i++
		d.space()
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		if d.strict {
			if _, dup := m[k]; dup {
				return nil, errFallback
			}
		}
		m[k] = v
		d.space()
		if d.i >= len(d.s) {
			return nil, errFallback
		}
		switch d.s[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return m, nil
		default:
			return nil, errFallback
		}
	}
}

func (d *decoder) value(depth int) (any, error) {
	if d.i >= len(d.s) {
		return nil, errFallback
	}
	switch c := d.s[d.i]; {
	case c == '"':
		return d.str()
	case (c == '{' || c == '[') && d.strict && depth > 0:
		return nil, errFallback
	case c == '{':
		return d.object(depth + 1)
	case c == '[' && !d.strict:
		return d.array(depth + 1)
	case c == 't' && d.lit("true"):
		return true, nil
	case c == 'f' && d.lit("false"):
		return false, nil
	case c == 'n' && d.lit("null"):
		return nil, nil
	case c == '-' || '0' <= c && c <= '9':
		start := d.i
		for d.i < len(d.s) {
			c := d.s[d.i]
			if '0' <= c && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
				d.i++
				continue
			}
			break
		}
		s := d.s[start:d.i]
		if !IsNumber(s) {
			return nil, errFallback
		}
		if d.useNumber {
			return json.Number(s), nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, errFallback
		}
		return f, nil
	}
	return nil, errFallback
}

func (d *decoder) lit(s string) bool {
	if d.i+len(s) <= len(d.s) && d.s[d.i:d.i+len(s)] == s {
		d.i += len(s)
		return true
	}
	return false
}

func (d *decoder) array(depth int) (any, error) {
	if depth > maxFastDepth {
		return nil, errFallback
	}
	d.i++ // '['
	a := []any{}
	d.space()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		return a, nil
	}
	for {
		d.space()
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		d.space()
		if d.i >= len(d.s) {
			return nil, errFallback
		}
		switch d.s[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return a, nil
		default:
			return nil, errFallback
		}
	}
}

// str reads a string; one with an escape or a byte that is not valid
// UTF-8 goes to encoding/json, alone.
func (d *decoder) str() (string, error) {
	if d.i >= len(d.s) || d.s[d.i] != '"' {
		return "", errFallback
	}
	start := d.i + 1
	escaped := false
	j := start
	for ; j < len(d.s); j++ {
		c := d.s[j]
		if c == '"' {
			break
		}
		if c < 0x20 {
			return "", errFallback
		}
		if c == '\\' {
			escaped = true
			j++
		}
	}
	if j >= len(d.s) {
		return "", errFallback
	}
	raw := d.s[start:j]
	d.i = j + 1
	if !escaped && utf8.ValidString(raw) {
		return raw, nil
	}
	var s string
	if err := json.Unmarshal([]byte(d.s[start-1:j+1]), &s); err != nil {
		return "", errFallback
	}
	return s, nil
}
