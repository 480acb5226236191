// Package sqlcommon holds what the SQL stores share: the JSON encoding of
// attributes and the index keys of the unique attributes.
package sqlcommon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// EncodeAttributes returns the JSON object of attrs. Numbers are written as
// the json.Number literals they are; HTML characters are not escaped.
func EncodeAttributes(attrs map[string]any) ([]byte, error) {
	if attrs == nil {
		attrs = map[string]any{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(attrs); err != nil {
		return nil, fmt.Errorf("encoding attributes: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// DecodeAttributes decodes a JSON object as encoding/json does with
// UseNumber: strings, bools, json.Number, maps and slices.
func DecodeAttributes(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var attrs map[string]any
	if err := dec.Decode(&attrs); err != nil {
		return nil, fmt.Errorf("decoding stored attributes: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("decoding stored attributes: trailing data")
	}
	if attrs == nil {
		attrs = map[string]any{}
	}
	return attrs, nil
}

// EmailKey returns the index key of an "email" value: the address in lower
// case (strings.ToLower, as userinfo.MemoryStore compares them), or nil when
// the value is not a non-empty string and so holds no address.
func EmailKey(v any) *string {
	s, ok := v.(string)
	if !ok || s == "" {
		return nil
	}
	s = strings.ToLower(s)
	return &s
}

// PhoneKey returns the index key of a "phone_number" value: the number as
// it is, or nil when the value is not a non-empty string.
func PhoneKey(v any) *string {
	s, ok := v.(string)
	if !ok || s == "" {
		return nil
	}
	return &s
}

// KeyChange says how an update changes one unique attribute's index key.
type KeyChange struct {
	// Changed is true when the update sets or removes the attribute.
	Changed bool
	// Key is the new key when Changed; nil when the attribute is removed
	// or holds no indexable value.
	Key *string
}

// Changes returns how an update that removes remove and then sets set
// changes the email and phone-number keys.
func Changes(set map[string]any, remove []string) (email, phone KeyChange) {
	for _, name := range remove {
		switch name {
		case "email":
			email = KeyChange{Changed: true}
		case "phone_number":
			phone = KeyChange{Changed: true}
		}
	}
	if v, ok := set["email"]; ok {
		email = KeyChange{Changed: true, Key: EmailKey(v)}
	}
	if v, ok := set["phone_number"]; ok {
		phone = KeyChange{Changed: true, Key: PhoneKey(v)}
	}
	return email, phone
}
