package userinfo

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ciamkit/userinfo/internal/attrjson"
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
	// ErrUserExists: a user with the subject exists already. Only the
	// stores' Create methods return it, never UpdateUser.
	ErrUserExists = errors.New("userinfo: user already exists")
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
	// Now is the time of the change; the store records it as UpdatedAt, to
	// the microsecond at least (PostgreSQL's precision).
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

// RedeemingStore is a [UserStore] that spends the one-time codes paying for
// an update together with the update itself. The handler uses it when the
// store has it; for any other store it spends the codes right before the
// write, so that a write refused afterwards (a duplicate address, a version
// conflict, a failure) leaves them spent.
type RedeemingStore interface {
	UserStore

	// UpdateUserRedeeming applies u as UpdateUser does and spends every
	// redemption of rs with it: either the change is stored and every code
	// spent, or nothing is stored. A store that shares a transaction with
	// the OTP service's store spends the codes in the write's transaction,
	// and then a refused or failed write also leaves every code redeemable.
	// Any other store calls [RedeemAll] after every check that can refuse
	// the write (the version, uniqueness) has passed and right before it
	// writes. An error of a redemption is returned as it is, with nothing
	// stored. rs is never empty.
	UpdateUserRedeeming(ctx context.Context, u Update, rs []Redemption) (*User, error)
}

// SwappingStore is a [RedeemingStore] whose update also returns the user as
// the update found it, read under the update's own lock. The handler then
// applies a PATCH without If-Match in one unconditional write, instead of
// writing on condition of the version it read and reading again when
// another request changed the user first: a user who receives many PATCHes
// at once costs one read and one write each, and the [UpdateEvent] still
// holds the values that the write replaced.
type SwappingStore interface {
	RedeemingStore

	// SwapUser applies u as UpdateUser does, spending the codes of rs with
	// it as UpdateUserRedeeming does (rs may be empty), and returns the user
	// as the update found it (before) and as it left it (after), so that
	// after.Version == before.Version+1 and no other change came between.
	SwapUser(ctx context.Context, u Update, rs []Redemption) (before, after *User, err error)
}

// MemoryStore is a [UserStore] held in memory, safe for concurrent use. It
// locks per user; only the email and phone-number index is shared, and only
// changes of those two take its lock. It is for
// tests, examples and single-process servers: replicas need a shared store
// such as the ones in package sqlstore.
//
// Each user is kept as one compact encoded JSON document in a string, as a
// database would keep it: values come back as encoding/json decodes them
// with UseNumber, callers can never alias the stored state, and a store of
// many users holds no pointers for the garbage collector to follow but one
// per user, so that a request costs the same with a thousand users as with a
// hundred thousand. A read decodes the document once; a write decodes it
// once and encodes it once.
type MemoryStore struct {
	users sync.Map // subject → *memUser

	mu     sync.Mutex                 // guards owners
	owners map[indexKey]subjectDigest // unique email and phone values → their holder
}

// indexKey is a digest of a unique value ("email:" + lower-cased address, or
// "phone:" + number); subjectDigest one of a subject. Digests hold no
// pointers, so the index costs the garbage collector nothing to scan.
type (
	indexKey      [16]byte
	subjectDigest [16]byte
)

func digest(s string) [16]byte {
	sum := sha256.Sum256([]byte(s))
	return [16]byte(sum[:16])
}

type memUser struct {
	mu sync.Mutex
	// The user, nil doc until created; replaced, never modified.
	version   uint64
	updatedAt time.Time
	doc       string // the attributes, as a JSON object; "" until created
	keys      []indexKey
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{owners: make(map[indexKey]subjectDigest)}
}

// uniqueKeys returns the index keys of the unique attributes of attrs: the
// email address, ignoring case, then the phone number.
func uniqueKeys(attrs map[string]any) (email, phone *indexKey) {
	if k := attrjson.EmailKey(attrs["email"]); k != nil {
		d := indexKey(digest("email:" + *k))
		email = &d
	}
	if k := attrjson.PhoneKey(attrs["phone_number"]); k != nil {
		d := indexKey(digest("phone:" + *k))
		phone = &d
	}
	return email, phone
}

func (m *memUser) user(subject string, attrs map[string]any) *User {
	return &User{Subject: subject, Version: m.version, UpdatedAt: m.updatedAt, Attributes: attrs}
}

// Put creates or replaces a user, as a seed for tests and examples. It
// enforces the same uniqueness as UpdateUser and returns the stored user.
// Values must be what encoding/json can encode.
func (s *MemoryStore) Put(ctx context.Context, subject string, attrs map[string]any) (*User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v, _ := s.users.LoadOrStore(subject, &memUser{})
	mu := v.(*memUser)
	mu.mu.Lock()
	defer mu.mu.Unlock()
	c := maps.Clone(attrs)
	return s.store(subject, mu, c, c, true, time.Now(), nil)
}

// Create creates the user subject with the attributes attrs, as the example
// server's -seed does, and returns it. It fails, changing nothing, with
// ErrUserExists when the subject is taken, and with ErrDuplicateEmail or
// ErrDuplicatePhoneNumber as UpdateUser does. Values must be what
// encoding/json can encode.
func (s *MemoryStore) Create(ctx context.Context, subject string, attrs map[string]any) (*User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v, _ := s.users.LoadOrStore(subject, &memUser{})
	mu := v.(*memUser)
	mu.mu.Lock()
	defer mu.mu.Unlock()
	if mu.doc != "" {
		return nil, ErrUserExists
	}
	c := maps.Clone(attrs)
	return s.store(subject, mu, c, c, true, time.Now(), nil)
}

// Ping reports whether the store can serve requests; a MemoryStore always
// can. See [Handler.Ready].
func (s *MemoryStore) Ping(ctx context.Context) error { return ctx.Err() }

// store encodes attrs as mu's new state, under mu's lock, moving the index
// entries all at once or not at all. When every check has passed, it calls
// redeem, if not nil, right before it changes anything, and fails with
// redeem's error. attrs becomes the returned user's: the caller hands it
// over, with the values of the names in given still the caller's, to be
// checked and unaliased. keysChanged says that email or phone_number may
// differ from mu's current state, so the index keys may too.
func (s *MemoryStore) store(subject string, mu *memUser, attrs, given map[string]any, keysChanged bool, now time.Time, redeem func() error) (*User, error) {
	if attrs == nil {
		attrs = map[string]any{}
	}
	doc, err := attrjson.EncodeString(attrs)
	if err != nil {
		return nil, fmt.Errorf("userinfo: MemoryStore: %w", err)
	}
	// What the caller gets back is what GetUser would return: each value
	// as a decode of the document gives it, else the decode itself.
	if !asDecoded(attrs, given) {
		if attrs, err = attrjson.DecodeString(doc); err != nil {
			return nil, err
		}
	}
	keys, err := s.reindex(subject, mu.keys, attrs, keysChanged, redeem)
	if err != nil {
		return nil, err
	}
	mu.version++
	mu.updatedAt, mu.doc, mu.keys = now, doc, keys
	return mu.user(subject, attrs), nil
}

// asDecoded makes the values of attrs named in given equal to a
// decode of their encoding and unaliased, in place, and reports whether it
// could: a valid UTF-8 string, a bool and a json.Number literal encode and
// decode to themselves, an object of such strings (the address) is copied.
// Otherwise, for any other value, it returns false and the caller decodes.
func asDecoded(attrs, given map[string]any) bool {
	for k := range given {
		v, ok := decodedForm(attrs[k])
		if !ok {
			return false
		}
		attrs[k] = v
	}
	return true
}

func decodedForm(v any) (any, bool) {
	switch v := v.(type) {
	case string:
		return v, utf8.ValidString(v)
	case bool:
		return v, true
	case json.Number:
		return v, attrjson.IsNumber(string(v))
	case map[string]any:
		if v == nil {
			return nil, false
		}
		c := make(map[string]any, len(v))
		for mk, mv := range v {
			s, ok := mv.(string)
			if !ok || !utf8.ValidString(s) {
				return nil, false
			}
			c[mk] = s
		}
		return c, true
	}
	return nil, false
}

// lock returns subject's entry, locked, or ErrUserNotFound.
func (s *MemoryStore) lock(ctx context.Context, subject string) (*memUser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v, ok := s.users.Load(subject)
	if !ok {
		return nil, ErrUserNotFound
	}
	mu := v.(*memUser)
	mu.mu.Lock()
	if mu.doc == "" {
		mu.mu.Unlock()
		return nil, ErrUserNotFound
	}
	return mu, nil
}

// GetUser implements [UserStore].
func (s *MemoryStore) GetUser(ctx context.Context, subject string) (*User, error) {
	mu, err := s.lock(ctx, subject)
	if err != nil {
		return nil, err
	}
	defer mu.mu.Unlock()
	attrs, err := attrjson.DecodeString(mu.doc)
	if err != nil {
		return nil, err
	}
	return mu.user(subject, attrs), nil
}

// UpdateUser implements [UserStore].
func (s *MemoryStore) UpdateUser(ctx context.Context, u Update) (*User, error) {
	return s.update(ctx, u, nil)
}

// UpdateUserRedeeming implements [RedeemingStore]: the codes are spent under
// the user's lock, after the version and uniqueness checks and right before
// the change, by [RedeemAll], which gives back the codes it spent when a
// later one fails. MemoryStore is no [SwappingStore]: its writes are cheap
// enough that the handler's retries on a hot user cost less than returning
// a copy of every user it replaces.
func (s *MemoryStore) UpdateUserRedeeming(ctx context.Context, u Update, rs []Redemption) (*User, error) {
	return s.update(ctx, u, func() error { return RedeemAll(ctx, rs) })
}

func (s *MemoryStore) update(ctx context.Context, u Update, redeem func() error) (*User, error) {
	mu, err := s.lock(ctx, u.Subject)
	if err != nil {
		return nil, err
	}
	defer mu.mu.Unlock()
	if u.IfVersion != 0 && u.IfVersion != mu.version {
		return nil, ErrVersionConflict
	}
	attrs, err := attrjson.DecodeString(mu.doc)
	if err != nil {
		return nil, err
	}
	_, setEmail := u.Set["email"]
	_, setPhone := u.Set["phone_number"]
	keysChanged := setEmail || setPhone
	for _, name := range u.Remove {
		delete(attrs, name)
		keysChanged = keysChanged || name == "email" || name == "phone_number"
	}
	maps.Copy(attrs, u.Set)
	return s.store(u.Subject, mu, attrs, u.Set, keysChanged, u.Now, redeem)
}

// reindex moves subject's index entries from old to the unique values of
// next, all or nothing, and returns the new entries; redeem, if not nil, runs
// after the checks and before the move. An update that keeps both values
// takes no lock: the index is the only state users share; one that touched
// neither (changed false) is not even hashed.
func (s *MemoryStore) reindex(subject string, old []indexKey, next map[string]any, changed bool, redeem func() error) ([]indexKey, error) {
	keys := old
	var email, phone *indexKey
	if changed {
		email, phone = uniqueKeys(next)
		keys = nil
		for _, k := range []*indexKey{email, phone} {
			if k != nil {
				keys = append(keys, *k)
			}
		}
	}
	if slices.Equal(keys, old) {
		if redeem != nil {
			return old, redeem()
		}
		return old, nil
	}
	owner := subjectDigest(digest(subject))
	s.mu.Lock()
	defer s.mu.Unlock()
	if email != nil {
		if o, taken := s.owners[*email]; taken && o != owner {
			return nil, ErrDuplicateEmail
		}
	}
	if phone != nil {
		if o, taken := s.owners[*phone]; taken && o != owner {
			return nil, ErrDuplicatePhoneNumber
		}
	}
	if redeem != nil {
		if err := redeem(); err != nil {
			return nil, err
		}
	}
	for _, k := range old {
		delete(s.owners, k)
	}
	for _, k := range keys {
		s.owners[k] = owner
	}
	return keys, nil
}
