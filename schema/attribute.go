package schema

import "encoding/json"

// Attribute describes one custom attribute of a registry, in the JSON form of
// a registry file ({"attributes": [ … ]}).
type Attribute struct {
	// Name is the claim name. It must not clash with a standard claim.
	Name string `json:"name"`
	// Type is "string", "integer", "number" or "boolean".
	Type string `json:"type"`
	// Pattern is a regular expression that the whole value must match.
	Pattern string `json:"pattern,omitempty"`
	// Format is a JSON Schema format ("date", "email", "uri", …), asserted.
	Format string `json:"format,omitempty"`
	// Enum lists the allowed values.
	Enum []any `json:"enum,omitempty"`
	// MinLength and MaxLength bound a string's length in characters.
	MinLength *int `json:"min_length,omitempty"`
	MaxLength *int `json:"max_length,omitempty"`
	// Minimum and Maximum bound a number, inclusive.
	Minimum *json.Number `json:"minimum,omitempty"`
	Maximum *json.Number `json:"maximum,omitempty"`
	// Mutable, when false, makes the attribute read-only for PATCH. Default true.
	Mutable *bool `json:"mutable,omitempty"`
	// Description is a human description, copied into the schema.
	Description string `json:"description,omitempty"`
}
