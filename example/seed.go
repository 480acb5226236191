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
// normalises them; one that the phone policy refuses (with -phone-regions
// US, say) or that another user holds already is left out, so that creating
// it never fails on them. created is false when the user existed.
func ensureDemoUser(ctx context.Context, b *backend, reg *userinfo.Registry) (created bool, err error) {
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
	// Each refusal of an address drops that address: at most one try per
	// channel, and one without any.
	for range len(userinfo.Channels()) + 1 {
		created, err = createUser(ctx, b, demoSubject, attrs)
		var dropped bool
		for _, ch := range userinfo.Channels() {
			if errors.Is(err, duplicateErrors[ch.Name]) {
				delete(attrs, ch.Attribute)
				delete(attrs, ch.VerifiedClaim)
				dropped = true
			}
		}
		if !dropped {
			break
		}
	}
	if err != nil {
		return false, fmt.Errorf("demo user: %w", err)
	}
	return created, nil
}

// duplicateErrors are the store's errors for an address another user holds,
// by channel.
var duplicateErrors = map[string]error{
	userinfo.ChannelEmail: userinfo.ErrDuplicateEmail,
	userinfo.ChannelSMS:   userinfo.ErrDuplicatePhoneNumber,
}

// createUser creates the user subject with attrs unless it exists. created
// is false when it existed: made by an earlier start or by another replica
// meanwhile. A replica creating the same user at the same moment may make
// this one see the user's own address as taken; then the user exists, and
// that counts as created too.
func createUser(ctx context.Context, b *backend, subject string, attrs map[string]any) (created bool, err error) {
	err = b.create(ctx, subject, attrs)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, userinfo.ErrUserExists):
		return false, nil
	case errors.Is(err, userinfo.ErrDuplicateEmail), errors.Is(err, userinfo.ErrDuplicatePhoneNumber):
		if _, gerr := b.users.GetUser(ctx, subject); gerr == nil {
			return false, nil
		}
	}
	return false, err
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

// applySeed creates each seeded user that does not exist yet, each in one
// atomic write, and leaves existing users as they are. It returns how many
// it created.
func applySeed(ctx context.Context, b *backend, users []seedUser) (created int, err error) {
	for _, u := range users {
		c, err := createUser(ctx, b, u.subject, u.attrs)
		if err != nil {
			return created, fmt.Errorf("-seed: user %q: %w", u.subject, err)
		}
		if c {
			created++
		}
	}
	return created, nil
}
