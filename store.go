package userinfo

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"time"
)

// Errors that a [UserStore] returns, wrapped or not; the handler tests them
// with errors.Is. Any other error from a store is answered 500 server_error.
var (
	// ErrUserNotFound: no user has the subject.
	ErrUserNotFound = errors.New("userinfo: user not found")
	// ErrVersionConflict: the user's version is not Update.IfVersion.
	ErrVersionConflict = errors.New("userinfo: version conflict")
	// ErrDuplicateEmail: another user holds the email address (compared
	// case-insensitively).
	ErrDuplicateEmail = errors.New("userinfo: email address already in use")
	// ErrDuplicatePhoneNumber: another user holds the phone number.
	ErrDuplicatePhoneNumber = errors.New("userinfo: phone number already in use")
)

// User is a user as a [UserStore] holds it.
type User struct {
	// Subject is the user's "sub", unique and never changed.
	Subject string
	// Version grows with every change of the user; it is never 0 for a
	// stored user. The handler serves it as the ETag.
	Version uint64
	// UpdatedAt is the time of the last change, served as "updated_at".
	UpdatedAt time.Time
	// Attributes holds every claim but "sub" and "updated_at", by claim name.
	// Values are as encoding/json decodes them with UseNumber: string, bool,
	// json.Number, map[string]any (the "address" claim).
	Attributes map[string]any
}

// Clone returns a deep copy of u, so that callers cannot alias a store's state.
func (u *User) Clone() *User {
	if u == nil {
		return nil
	}
	c := *u
	c.Attributes = cloneAttributes(u.Attributes)
	return &c
}

func cloneAttributes(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if mv, ok := v.(map[string]any); ok {
			v = maps.Clone(mv)
		}
		out[k] = v
	}
	return out
}

// Update is one validated change of one user, applied by
// [UserStore.UpdateUser] all at once or not at all.
type Update struct {
	// Subject names the user.
	Subject string
	// IfVersion, when not 0, makes the update conditional: it fails with
	// ErrVersionConflict unless the stored version equals it.
	IfVersion uint64
	// Set holds the attributes to set, by claim name.
	Set map[string]any
	// Remove names the attributes to delete.
	Remove []string
	// Now is the time of the change; the store records it as UpdatedAt.
	Now time.Time
}

// UserStore reads and changes users. Implementations must be safe for
// concurrent use, also by several processes sharing one database.
//
// userinfotest.TestUserStore checks an implementation against this contract.
type UserStore interface {
	// GetUser returns the user with the subject, or ErrUserNotFound. The
	// caller may modify the returned user.
	GetUser(ctx context.Context, subject string) (*User, error)

	// UpdateUser applies u atomically and returns the user as it is after
	// the change, with a new Version and UpdatedAt = u.Now. It fails,
	// changing nothing, with ErrUserNotFound, ErrVersionConflict (u.IfVersion
	// is set and differs), ErrDuplicateEmail (another user's "email" equals
	// the new one ignoring case) or ErrDuplicatePhoneNumber. Uniqueness must
	// be enforced at write time (a unique index or equivalent), never by a
	// separate check before the write.
	UpdateUser(ctx context.Context, u Update) (*User, error)
}

// MemoryStore is a [UserStore] held in memory, safe for concurrent use. It
// locks per user; only the email and phone-number index is shared. It is for
// tests, examples and single-process servers: replicas need a shared store
// such as the ones in package sqlstore.
type MemoryStore struct {
	users sync.Map // subject → *memUser

	mu     sync.Mutex        // guards owners
	owners map[string]string // index key → subject
}

type memUser struct {
	mu   sync.Mutex
	user *User // nil until created
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{owners: make(map[string]string)}
}

// uniqueKeys returns the index keys of the unique attributes of attrs.
func uniqueKeys(attrs map[string]any) map[string]string {
	keys := make(map[string]string, 2)
	if s, ok := attrs["email"].(string); ok && s != "" {
		keys["email"] = "email:" + strings.ToLower(s)
	}
	if s, ok := attrs["phone_number"].(string); ok && s != "" {
		keys["phone_number"] = "phone:" + s
	}
	return keys
}

// Put creates or replaces a user, as a seed for tests and examples. It
// enforces the same uniqueness as UpdateUser and returns the stored user.
func (s *MemoryStore) Put(ctx context.Context, subject string, attrs map[string]any) (*User, error) {
	v, _ := s.users.LoadOrStore(subject, &memUser{})
	mu := v.(*memUser)
	mu.mu.Lock()
	defer mu.mu.Unlock()
	next := &User{Subject: subject, Version: 1, UpdatedAt: time.Now(), Attributes: cloneAttributes(attrs)}
	var old map[string]any
	if mu.user != nil {
		next.Version = mu.user.Version + 1
		old = mu.user.Attributes
	}
	if err := s.reindex(subject, old, next.Attributes); err != nil {
		return nil, err
	}
	mu.user = next
	return next.Clone(), nil
}

// GetUser implements [UserStore].
func (s *MemoryStore) GetUser(ctx context.Context, subject string) (*User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v, ok := s.users.Load(subject)
	if !ok {
		return nil, ErrUserNotFound
	}
	mu := v.(*memUser)
	mu.mu.Lock()
	defer mu.mu.Unlock()
	if mu.user == nil {
		return nil, ErrUserNotFound
	}
	return mu.user.Clone(), nil
}

// UpdateUser implements [UserStore].
func (s *MemoryStore) UpdateUser(ctx context.Context, u Update) (*User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v, ok := s.users.Load(u.Subject)
	if !ok {
		return nil, ErrUserNotFound
	}
	mu := v.(*memUser)
	mu.mu.Lock()
	defer mu.mu.Unlock()
	cur := mu.user
	if cur == nil {
		return nil, ErrUserNotFound
	}
	if u.IfVersion != 0 && u.IfVersion != cur.Version {
		return nil, ErrVersionConflict
	}
	next := cur.Clone()
	for _, name := range u.Remove {
		delete(next.Attributes, name)
	}
	for name, value := range cloneAttributes(u.Set) {
		next.Attributes[name] = value
	}
	next.Version = cur.Version + 1
	next.UpdatedAt = u.Now
	if err := s.reindex(u.Subject, cur.Attributes, next.Attributes); err != nil {
		return nil, err
	}
	mu.user = next
	return next.Clone(), nil
}

// reindex moves subject's index entries from the unique values of old to
// those of next, all or nothing.
func (s *MemoryStore) reindex(subject string, old, next map[string]any) error {
	oldKeys, newKeys := uniqueKeys(old), uniqueKeys(next)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, attr := range []string{"email", "phone_number"} {
		if k, ok := newKeys[attr]; ok {
			if owner, taken := s.owners[k]; taken && owner != subject {
				if attr == "email" {
					return ErrDuplicateEmail
				}
				return ErrDuplicatePhoneNumber
			}
		}
	}
	for _, k := range oldKeys {
		delete(s.owners, k)
	}
	for _, k := range newKeys {
		s.owners[k] = subject
	}
	return nil
}
