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
	bp := GetBuffer()
	defer PutBuffer(bp)
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

var (
	bufferPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}
	namesPool  = sync.Pool{New: func() any { s := make([]string, 0, 32); return &s }}
)

// GetBuffer returns an empty pooled buffer for encoding into; give it back
// with PutBuffer once nothing refers to its bytes.
func GetBuffer() *[]byte {
	bp := bufferPool.Get().(*[]byte)
	*bp = (*bp)[:0]
	return bp
}

// PutBuffer returns bp to the pool, unless it grew beyond 64 KiB.
func PutBuffer(bp *[]byte) {
	if cap(*bp) <= 64<<10 {
		bufferPool.Put(bp)
	}
}

// GetNames returns an empty pooled slice for sorting names in; give it back
// with PutNames.
func GetNames() *[]string {
	np := namesPool.Get().(*[]string)
	*np = (*np)[:0]
	return np
}

// PutNames clears *np, so that the pool keeps no strings alive, and
// returns it to the pool.
func PutNames(np *[]string) {
	clear(*np)
	*np = (*np)[:0]
	namesPool.Put(np)
}

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
