package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/ciamkit/userinfo"
)

// demoSubject is the user that a server started without -seed creates, so
// that a token can be minted for it at once.
const demoSubject = "demo"

// demoUser returns the attributes of the demo user.
func demoUser() map[string]any {
	return map[string]any{
		"name":                  "Demo User",
		"nickname":              "demo",
		"email":                 "demo@example.com",
		"email_verified":        true,
		"phone_number":          "13612345678",
		"phone_number_verified": true,
		"locale":                "en-US",
		"zoneinfo":              "Europe/Paris",
	}
}

// ensureDemoUser creates the demo user unless it exists: a restart must not
// undo the changes made to it. Its addresses are stored as the registry
// normalises them; a phone number that the phone policy refuses (with
// -phone-regions US, say) is left out rather than failing the start.
func ensureDemoUser(ctx context.Context, b *backend, reg *userinfo.Registry) (created bool, err error) {
	_, err = b.users.GetUser(ctx, demoSubject)
	switch {
	case err == nil:
		return false, nil
	case !errors.Is(err, userinfo.ErrUserNotFound):
		return false, fmt.Errorf("demo user: %w", err)
	}
	attrs := demoUser()
	for _, ch := range userinfo.Channels() {
		v, _ := attrs[ch.Attribute].(string)
		if n, err := reg.NormalizeAddress(ch.Name, v); err == nil {
			attrs[ch.Attribute] = n
		} else {
			delete(attrs, ch.Attribute)
			delete(attrs, ch.VerifiedClaim)
		}
	}
	if err := b.put(ctx, demoSubject, attrs); err != nil {
		return false, fmt.Errorf("demo user: %w", err)
	}
	return true, nil
}

// seedUser is one element of a -seed file: "sub" and the user's claims.
type seedUser struct {
	subject string
	attrs   map[string]any
}

// checkSeedUser checks a seeded user's claims by the registry's rules: known
// names, and a valid email address and phone number, which it replaces with
// their stored forms (a phone number in E.164), as a PATCH would store them.
func checkSeedUser(reg *userinfo.Registry, attrs map[string]any) error {
	known := reg.Names()
	for name := range attrs {
		if !slices.Contains(known, name) {
			return fmt.Errorf("unknown attribute %q", name)
		}
	}
	for _, ch := range userinfo.Channels() {
		if v, ok := attrs[ch.Attribute]; ok {
			s, _ := v.(string)
			n, err := reg.NormalizeAddress(ch.Name, s)
			if err != nil {
				return fmt.Errorf("%q is not a valid address", ch.Attribute)
			}
			attrs[ch.Attribute] = n
		}
	}
	return nil
}

// readSeed reads a -seed file: a JSON array of objects, each with a
// non-empty string "sub" and the user's other claims. Numbers are kept as
// json.Number, as the stores hold them.
func readSeed(path string, reg *userinfo.Registry) ([]seedUser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	users, err := parseSeed(f, reg)
	if err != nil {
		return nil, fmt.Errorf("-seed %s: %w", path, err)
	}
	return users, nil
}

func parseSeed(r io.Reader, reg *userinfo.Registry) ([]seedUser, error) {
	data, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw []map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("not a JSON array of user objects: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON array")
	}
	seen := map[string]bool{}
	users := make([]seedUser, 0, len(raw))
	for i, attrs := range raw {
		sub, ok := attrs["sub"].(string)
		if !ok || sub == "" {
			return nil, fmt.Errorf("user %d: \"sub\" must be a non-empty string", i)
		}
		if seen[sub] {
			return nil, fmt.Errorf("user %d: \"sub\" %q appears twice", i, sub)
		}
		seen[sub] = true
		delete(attrs, "sub")
		delete(attrs, "updated_at") // the store's to set
		if err := checkSeedUser(reg, attrs); err != nil {
			return nil, fmt.Errorf("user %q: %w", sub, err)
		}
		users = append(users, seedUser{subject: sub, attrs: attrs})
	}
	return users, nil
}

// applySeed upserts users into the backend: each is created, or replaced
// with exactly the seeded claims.
func applySeed(ctx context.Context, b *backend, users []seedUser) error {
	for _, u := range users {
		if err := b.put(ctx, u.subject, u.attrs); err != nil {
			return fmt.Errorf("-seed: user %q: %w", u.subject, err)
		}
	}
	return nil
}
