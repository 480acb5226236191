package schema

import "encoding/json"

// draft is the $schema of every generated document.
const draft = "https://json-schema.org/draft/2020-12/schema"

// node is one JSON Schema (draft 2020-12) object as this package writes it.
// Its fields marshal in a fixed order and maps with sorted keys, so that the
// same registry always yields the same bytes.
type node struct {
	Schema      string `json:"$schema,omitempty"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	// Type is a type name or a list of them, such as ["string", "null"].
	Type                 any                 `json:"type,omitempty"`
	Format               string              `json:"format,omitempty"`
	Pattern              string              `json:"pattern,omitempty"`
	MinLength            *int                `json:"minLength,omitempty"`
	MaxLength            *int                `json:"maxLength,omitempty"`
	Minimum              *json.Number        `json:"minimum,omitempty"`
	Maximum              *json.Number        `json:"maximum,omitempty"`
	Enum                 []any               `json:"enum,omitempty"`
	AllOf                []*node             `json:"allOf,omitempty"`
	Properties           map[string]*node    `json:"properties,omitempty"`
	AdditionalProperties *bool               `json:"additionalProperties,omitempty"`
	DependentRequired    map[string][]string `json:"dependentRequired,omitempty"`
	WriteOnly            bool                `json:"writeOnly,omitempty"`
}

func ptr[T any](v T) *T { return &v }

// nullable returns the type of a value of type t that may also be null.
func nullable(t string, null bool) any {
	if null {
		return []string{t, "null"}
	}
	return t
}
