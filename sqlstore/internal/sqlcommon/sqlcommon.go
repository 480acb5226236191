// Package sqlcommon holds what the SQL stores share beyond the attribute
// encoding of package attrjson: how an update changes the unique index keys,
// and the embedded migrations.
package sqlcommon

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ciamkit/userinfo/internal/attrjson"
)

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
		email = KeyChange{Changed: true, Key: attrjson.EmailKey(v)}
	}
	if v, ok := set["phone_number"]; ok {
		phone = KeyChange{Changed: true, Key: attrjson.PhoneKey(v)}
	}
	return email, phone
}

// StorableSubject reports whether a database can hold subject as text:
// valid UTF-8 without NUL. No user has any other subject, so the stores
// answer the others userinfo.ErrUserNotFound without asking the database,
// which would fail on them.
func StorableSubject(subject string) bool {
	return utf8.ValidString(subject) && !strings.ContainsRune(subject, 0)
}

// Migration is one embedded schema migration, named NNNN_what.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations reads the files matching pattern (such as "migrations/*.sql")
// from fsys, in version order. A store applies, in one locked transaction,
// those whose Version is above the highest it recorded.
func Migrations(fsys fs.FS, pattern string) ([]Migration, error) {
	names, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, name := range names {
		v, err := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: bad name", name)
		}
		sql, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(sql)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	return ms, nil
}

// Periodic tells when housekeeping (a purge) is due: at most once per
// Interval of the times it is given, and again when time goes backwards.
// The zero value is due at once and then every 0 (always); it is safe for
// concurrent use.
type Periodic struct {
	Interval time.Duration

	mu   sync.Mutex
	last time.Time
	done bool
}

// Due reports whether the work is due at now and, if so, counts it done.
func (p *Periodic) Due(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done && now.Sub(p.last) < p.Interval && !now.Before(p.last) {
		return false
	}
	p.last, p.done = now, true
	return true
}
