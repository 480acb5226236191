package userinfo

import (
	"github.com/ciamkit/userinfo/schema"
)

// Attribute describes one custom attribute; see [schema.Attribute].
type Attribute = schema.Attribute

// PhoneRule says which phone numbers are valid.
type PhoneRule int

const (
	// PhoneMainlandChina accepts the seed's 11-digit mainland-China mobile
	// numbers. It is the default.
	PhoneMainlandChina PhoneRule = iota
	// PhoneE164 accepts E.164 numbers ("+" and up to 15 digits).
	PhoneE164
)

// Registry is the set of attributes a user has: the standard claims and the
// server's custom attributes, with their rules. It is immutable and safe for
// concurrent use.
type Registry struct {
	// TODO(helper A): implement.
}

// NewRegistry builds a registry of the standard claims and custom.
func NewRegistry(phone PhoneRule, custom []Attribute) (*Registry, error) { return &Registry{}, nil }

// known reports whether name is a standard claim, a custom attribute or an OTP
// request field.
func (r *Registry) known(name string) bool { return true }

// writable reports whether a PATCH may change name.
func (r *Registry) writable(name string) bool { return true }

// validate checks body (checks 4 and 5 of the contract) and returns it normalised.
func (r *Registry) validate(body map[string]any) (map[string]any, error) { return body, nil }

// Schema returns the generated JSON Schema of a PATCH body.
func (r *Registry) Schema() []byte { return nil }
