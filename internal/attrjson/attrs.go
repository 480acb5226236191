// Package attrjson is the one JSON encoding of a user's attributes that the
// stores share (the memory store keeps users as these documents, the SQL
// stores write them to JSONB or JSON text), and the index keys of the
// unique attributes, email (ignoring case) and phone_number.
package attrjson

import (
	"fmt"
	"sync"

	"github.com/ciamkit/userinfo/internal/address"
)

// Encode returns the JSON object of attrs, its keys sorted. Numbers are
// written as the json.Number literals they are; HTML characters are not
// escaped. The output is a json.Encoder's with SetEscapeHTML(false), less
// the newline.
func Encode(attrs map[string]any) ([]byte, error) {
	if attrs == nil {
		attrs = map[string]any{}
	}
	b, err := AppendObject(make([]byte, 0, 256), attrs, false)
	if err != nil {
		return nil, fmt.Errorf("encoding attributes: %w", err)
	}
	return b, nil
}

// EncodeString is Encode into a string, through a pooled buffer: one
// allocation, of the document's size.
func EncodeString(attrs map[string]any) (string, error) {
	bp := encodePool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			encodePool.Put(bp)
		}
	}()
	if attrs == nil {
		attrs = map[string]any{}
	}
	b, err := AppendObject((*bp)[:0], attrs, false)
	if err != nil {
		return "", fmt.Errorf("encoding attributes: %w", err)
	}
	*bp = b
	return string(b), nil
}

var encodePool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Decode decodes a JSON object as encoding/json does with
// UseNumber: strings, bools, json.Number, maps and slices.
func Decode(b []byte) (map[string]any, error) { return DecodeString(string(b)) }

// EmailKey returns the index key of an "email" value: address.EmailKey of
// the address (its ASCII letters lower-cased), or nil when the value is not
// a non-empty string and so holds no address. Values are stored in the form
// the registry normalised them to, so the key is that of every spelling of
// the address.
func EmailKey(v any) *string {
	s, ok := v.(string)
	if !ok || s == "" {
		return nil
	}
	s = address.EmailKey(s)
	return &s
}

// PhoneKey returns the index key of a "phone_number" value: address.PhoneKey
// of the number, stored in E.164, or nil when the value is not a non-empty
// string.
func PhoneKey(v any) *string {
	s, ok := v.(string)
	if !ok || s == "" {
		return nil
	}
	s = address.PhoneKey(s)
	return &s
}

// DecodeString is Decode of a document held in a string. The strings of
// the attributes share doc's bytes, which strings never change.
func DecodeString(doc string) (map[string]any, error) {
	attrs, err := decodeObject(doc, true)
	if err != nil {
		return nil, fmt.Errorf("decoding stored attributes: %w", err)
	}
	if attrs == nil {
		attrs = map[string]any{}
	}
	return attrs, nil
}
