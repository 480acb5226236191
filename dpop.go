package userinfo

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"
)

// ErrInvalidDPoPProof is what a [ProofVerifier] returns, wrapped or not, for
// a DPoP proof that is not valid: malformed, of another type, algorithm,
// method or URI, too old or too new, for another access token, replayed, or
// badly signed. The Authenticator answers it 401 invalid_dpop_proof with a
// DPoP challenge.
var ErrInvalidDPoPProof = errors.New("userinfo: invalid DPoP proof")

// NonceError is what a [ProofVerifier] returns when the proof lacks the
// server nonce it requires, or carries a stale one (RFC 9449 §8): the
// Authenticator answers it 401 use_dpop_nonce with Nonce in the DPoP-Nonce
// header, and the client retries with it.
type NonceError struct {
	// Nonce is the nonce the client must use.
	Nonce string
}

// Error implements the error interface.
func (e *NonceError) Error() string { return "userinfo: the DPoP proof needs a fresh server nonce" }

// DPoPProof is one DPoP proof (RFC 9449 §4) and what it must match.
type DPoPProof struct {
	// Proof is the DPoP header: a JWS in compact serialisation.
	Proof string
	// Method is the request's method, which htm must equal.
	Method string
	// URI is the endpoint's URI as the server knows it: the configured
	// public URL joined with the path below it, without query and fragment.
	// htu must equal it after RFC 3986 §6.2.2–6.2.3 normalisation.
	URI string
	// AccessToken is the token the proof comes with; ath must be the
	// base64url SHA-256 of it.
	AccessToken string
}

// ProofVerifier checks DPoP proofs. accesstoken.NewDPoPVerifier is one; the root
// package sees proofs only through this interface and links no JOSE
// library.
type ProofVerifier interface {
	// VerifyProof checks p and returns the RFC 7638 SHA-256 thumbprint of
	// the proof's public key, base64url-encoded, which the access token's
	// cnf.jkt must equal. It returns an error wrapping ErrInvalidDPoPProof
	// for a bad or replayed proof, a *NonceError when a server nonce is
	// needed, or another error when it cannot decide (its replay store is
	// down), which is answered 503.
	VerifyProof(ctx context.Context, p DPoPProof) (jkt string, err error)
	// Algorithms lists the alg values the verifier accepts, for the algs
	// parameter of DPoP challenges.
	Algorithms() []string
}

// ReplayStore remembers the DPoP proofs already seen, so that each is
// accepted once, also across replicas: a ProofVerifier records every proof
// it accepts under a key derived from the proof's key and its jti.
//
// userinfotest.TestReplayStore checks an implementation against this
// contract; [MemoryReplayStore] serves one process, the stores of package
// sqlstore serve replicas.
type ReplayStore interface {
	// Remember records key until the time until and reports whether key was
	// new, that is not recorded with an until after now. Of concurrent
	// calls with one key, also from other processes, at most one gets
	// true while the record lives. Keys are at most 128 bytes of the
	// base64url alphabet. A store may forget a key once until has passed,
	// and must not forget it before.
	Remember(ctx context.Context, key string, until, now time.Time) (fresh bool, err error)
}

// DefaultReplayEntries bounds a [MemoryReplayStore] by default.
const DefaultReplayEntries = 100000

// MemoryReplayStore is a [ReplayStore] in memory, for one process. It keeps
// at most its bound of live entries: when a new key would exceed it, it
// refuses the key (Remember reports false, and the proof is refused as a
// replay) rather than forget a live one, so that a flood of proofs cannot
// make it accept a replay.
type MemoryReplayStore struct {
	max int

	mu      sync.Mutex
	until   map[string]time.Time
	expires expiryHeap
}

// NewMemoryReplayStore returns a MemoryReplayStore of at most max live
// entries (default: DefaultReplayEntries when max <= 0).
func NewMemoryReplayStore(max int) *MemoryReplayStore {
	if max <= 0 {
		max = DefaultReplayEntries
	}
	return &MemoryReplayStore{max: max, until: make(map[string]time.Time)}
}

// Remember implements [ReplayStore].
func (s *MemoryReplayStore) Remember(ctx context.Context, key string, until, now time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.expires) > 0 && !s.expires[0].until.After(now) {
		e := heap.Pop(&s.expires).(expiry)
		if u, ok := s.until[e.key]; ok && !u.After(now) {
			delete(s.until, e.key)
		}
	}
	if u, ok := s.until[key]; ok && u.After(now) {
		return false, nil
	}
	if len(s.until) >= s.max {
		return false, nil
	}
	s.until[key] = until
	heap.Push(&s.expires, expiry{key: key, until: until})
	return true, nil
}

// expiry is one entry of a MemoryReplayStore, ordered by its end.
type expiry struct {
	key   string
	until time.Time
}

// expiryHeap is a min-heap of entries by until (container/heap).
type expiryHeap []expiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].until.Before(h[j].until) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
