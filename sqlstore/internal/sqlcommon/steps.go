package sqlcommon

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/internal/attrjson"
)

// Step is a migration step written in Go, for what SQL cannot do. It runs
// in the migration transaction, under the migration lock (PostgreSQL: the
// advisory lock; SQLite: the write lock), right after the SQL migration of
// the same Version if there is one, and is recorded with it: one number
// space per store, a version being its SQL file, its Go step, or both.
type Step[Tx any] struct {
	Version int
	Name    string
	Run     func(ctx context.Context, tx Tx) error
}

// Planned is one version of a store's migrations: SQL (may be empty), then
// Run (may be nil).
type Planned[Tx any] struct {
	Version int
	Name    string
	SQL     string
	Run     func(ctx context.Context, tx Tx) error
}

// Plan merges the SQL migrations ms (as Migrations returns them) and the Go
// steps into one list in version order. Two steps of one version are an
// error.
func Plan[Tx any](ms []Migration, steps []Step[Tx]) ([]Planned[Tx], error) {
	out := make([]Planned[Tx], 0, len(ms)+len(steps))
	for _, m := range ms {
		out = append(out, Planned[Tx]{Version: m.Version, Name: m.Name, SQL: m.SQL})
	}
	for _, s := range steps {
		i := slices.IndexFunc(out, func(p Planned[Tx]) bool { return p.Version == s.Version })
		switch {
		case i < 0:
			out = append(out, Planned[Tx]{Version: s.Version, Name: s.Name, Run: s.Run})
		case out[i].Run != nil:
			return nil, fmt.Errorf("migration %d: two Go steps", s.Version)
		default:
			out[i].Name += " + " + s.Name
			out[i].Run = s.Run
		}
	}
	slices.SortFunc(out, func(a, b Planned[Tx]) int { return a.Version - b.Version })
	return out, nil
}

// AddressNormalizer gives the stored form of an address:
// [userinfo.Registry.NormalizeAddress].
type AddressNormalizer interface {
	NormalizeAddress(channel, target string) (string, error)
}

// StoredUser is a user as a data migration reads it.
type StoredUser struct {
	Subject    string
	Attributes map[string]any
}

// Rewrite is a user whose stored addresses a data migration changes: the new
// attributes, encoded, and the new index keys.
type Rewrite struct {
	Subject            string
	Attributes         []byte
	EmailKey, PhoneKey *string
}

// AddressReport is what NormalizeAddresses found besides its rewrites.
type AddressReport struct {
	// Kept counts the addresses that the registry refuses, left as they
	// are (their keys unchanged): an invalid legacy value matches no valid
	// address, and its user replaces it with a code.
	Kept int
}

// ConflictError is the failure of a data migration that finds two users on
// one address once addresses are normalised. It names the subjects, never
// the address.
type ConflictError struct {
	// Attribute is "email" or "phone_number".
	Attribute string
	// Subjects are the users that hold it, sorted.
	Subjects []string
	// Others counts the further conflicts, reported after this one is
	// resolved.
	Others int
}

func (e *ConflictError) Error() string {
	quoted := make([]string, len(e.Subjects))
	for i, s := range e.Subjects {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	msg := fmt.Sprintf("the users %s hold one %s once addresses are normalised (phone numbers in E.164, email "+
		"addresses ignoring ASCII case, domains in A-label form); nothing was changed: change or remove the %s "+
		"of all but one of them with the previous version of the server (or in the database), then start again",
		strings.Join(quoted, ", "), e.Attribute, e.Attribute)
	if e.Others > 0 {
		msg += fmt.Sprintf(" (%d more conflicts follow)", e.Others)
	}
	return msg
}

// NormalizeAddresses returns the rewrites that bring the stored email
// addresses and phone numbers of users to the forms that norm gives (the
// stored form of a PATCH: E.164, an A-label domain), with the keys of the
// new values. An address that norm refuses is kept as it is. When two users
// would hold one key, it returns a *ConflictError naming them and no
// rewrites.
func NormalizeAddresses(users []StoredUser, norm AddressNormalizer) ([]Rewrite, AddressReport, error) {
	var (
		rewrites []Rewrite
		report   AddressReport
		owners   = map[string][]string{} // attribute + "\x00" + key → subjects
	)
	for _, u := range users {
		changed := false
		attrs := u.Attributes
		for _, ch := range userinfo.Channels() {
			v, ok := attrs[ch.Attribute].(string)
			if !ok || v == "" {
				continue
			}
			n, err := norm.NormalizeAddress(ch.Name, v)
			switch {
			case err != nil:
				report.Kept++
				n = v
			case n != v:
				if !changed {
					attrs = maps.Clone(attrs)
					changed = true
				}
				attrs[ch.Attribute] = n
			}
			key := attrjson.PhoneKey(n)
			if ch.Name == userinfo.ChannelEmail {
				key = attrjson.EmailKey(n)
			}
			k := ch.Attribute + "\x00" + *key
			owners[k] = append(owners[k], u.Subject)
		}
		if !changed {
			continue
		}
		raw, err := attrjson.Encode(attrs)
		if err != nil {
			return nil, report, fmt.Errorf("user %q: %w", u.Subject, err)
		}
		rewrites = append(rewrites, Rewrite{Subject: u.Subject, Attributes: raw,
			EmailKey: attrjson.EmailKey(attrs["email"]), PhoneKey: attrjson.PhoneKey(attrs["phone_number"])})
	}
	var conflicts []*ConflictError
	for k, subjects := range owners {
		if len(subjects) > 1 {
			attr, _, _ := strings.Cut(k, "\x00")
			slices.Sort(subjects)
			conflicts = append(conflicts, &ConflictError{Attribute: attr, Subjects: subjects})
		}
	}
	if len(conflicts) > 0 {
		// The first in a fixed order, so that the message is the same on
		// every start.
		slices.SortFunc(conflicts, func(a, b *ConflictError) int {
			return strings.Compare(a.Attribute+"\x00"+a.Subjects[0], b.Attribute+"\x00"+b.Subjects[0])
		})
		conflicts[0].Others = len(conflicts) - 1
		return nil, report, conflicts[0]
	}
	return rewrites, report, nil
}
