package accesstoken

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ciamkit/userinfo"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// Defaults and bounds of [DPoPConfig].
const (
	// DefaultDPoPWindow is how far a proof's "iat" may lie from now, either
	// way.
	DefaultDPoPWindow = time.Minute
	// MaxDPoPProofSize is the longest DPoP header, in bytes, that is parsed
	// at all.
	MaxDPoPProofSize = 8 << 10
	// MaxDPoPJTILength is the longest "jti" of a proof, in bytes.
	MaxDPoPJTILength = 256
)

// defaultDPoPAlgorithms are the asymmetric algorithms a DPoPVerifier allows
// by default: those of JWTs, and "Ed25519", the fully specified name of
// EdDSA with Ed25519 (RFC 9864).
var defaultDPoPAlgorithms = append(slices.Clip(defaultAlgorithms), "Ed25519")

// DPoPConfig configures [NewDPoPVerifier]. The zero value of each optional
// field is its default.
type DPoPConfig struct {
	// Replay remembers the proofs already accepted, so that each is
	// accepted once: [userinfo.MemoryReplayStore] for one process, the
	// Replay store of a sqlstore package for replicas. Required.
	Replay userinfo.ReplayStore

	// Algorithms is the allow-list of proof algorithms, announced in the
	// algs parameter of DPoP challenges. Only asymmetric ones are possible:
	// HMAC and "none" are refused here. Default: RS256, RS384, RS512,
	// PS256, PS384, PS512, ES256, ES384, ES512, EdDSA and Ed25519 (RFC 9864).
	Algorithms []string

	// Window is how far a proof's "iat" may lie before or after now; a
	// proof's jti is remembered until its iat plus Window (and a second).
	// Default:
	// DefaultDPoPWindow (1 minute).
	Window time.Duration

	// NonceKey, when set, makes server nonces (RFC 9449 §8) required: a
	// proof without a nonce, or with one that is stale (older than one to
	// two Windows) or not made with this key, is answered with a
	// [userinfo.NonceError] carrying a fresh nonce. Nonces are stateless:
	// an HMAC-SHA256 under NonceKey of a time step, so every replica
	// configured with the same key (at least 32 bytes) accepts the nonces
	// of the others. Default: no nonces.
	NonceKey []byte

	// Now is the clock of "iat" and of nonces. Default: time.Now.
	Now func() time.Time

	// Logger receives, at debug level, the reason each refused proof is
	// refused (fixed texts, never proof content). Default: no logging.
	Logger *slog.Logger
}

// DPoPVerifier is a [userinfo.ProofVerifier]: it checks DPoP proofs
// (RFC 9449 §4.3) for [userinfo.Authenticator.DPoP]. A proof is accepted
// when it is at most MaxDPoPProofSize bytes of a JWS in compact serialisation
// (no JSON serialisation, no JWE) whose protected header has "typ":
// "dpop+jwt" (or "application/dpop+jwt", in any case), an allowed "alg"
// that fits the "jwk", a "jwk" that is a public
// asymmetric key (a private member or a symmetric key is refused) and no
// "crit"; whose signature verifies with that jwk; and whose claims have a
// "jti" (a string of at most MaxDPoPJTILength bytes), "htm" equal to the
// method, "htu" equal to the URI after RFC 3986 §6.2.2–6.2.3 normalisation
// of both (query and fragment of htu ignored), an "iat" within the window,
// "ath" the base64url SHA-256 of the access token and, with a nonce key, a
// fresh "nonce". Its jti is then remembered in the replay store under the
// key's thumbprint, and a second proof of that key with that jti is refused.
//
// A refusal wraps [userinfo.ErrInvalidDPoPProof] with a fixed reason; a
// missing or stale nonce is a [*userinfo.NonceError]; an error of the replay
// store is returned as it is (the Authenticator answers 503). A DPoPVerifier
// is safe for concurrent use.
type DPoPVerifier struct {
	replay    userinfo.ReplayStore
	algs      []string
	verifiers map[string]jws.Verifier2
	window    time.Duration
	nonceKey  []byte
	now       func() time.Time
	logger    *slog.Logger
}

// NewDPoPVerifier returns a verifier for cfg, or an error when cfg is
// unusable: no replay store, an algorithm that is unknown, symmetric or
// "none", or a nonce key under 32 bytes.
func NewDPoPVerifier(cfg DPoPConfig) (*DPoPVerifier, error) {
	if cfg.Replay == nil {
		return nil, errors.New("accesstoken: DPoPConfig.Replay is required")
	}
	if cfg.NonceKey != nil && len(cfg.NonceKey) < 32 {
		return nil, errors.New("accesstoken: DPoPConfig.NonceKey must have at least 32 bytes")
	}
	algs := slices.Clone(cfg.Algorithms)
	if len(algs) == 0 {
		algs = slices.Clone(defaultDPoPAlgorithms)
	}
	v := &DPoPVerifier{
		replay:    cfg.Replay,
		algs:      algs,
		verifiers: make(map[string]jws.Verifier2, len(algs)),
		window:    cfg.Window,
		nonceKey:  slices.Clone(cfg.NonceKey),
		now:       cfg.Now,
		logger:    cfg.Logger,
	}
	if v.window <= 0 {
		v.window = DefaultDPoPWindow
	}
	if v.now == nil {
		v.now = time.Now
	}
	for _, alg := range algs {
		if !slices.Contains(defaultDPoPAlgorithms, alg) {
			return nil, fmt.Errorf("accesstoken: DPoP algorithm %q is not supported (only asymmetric ones are)", alg)
		}
		vf, err := verifierFor(alg)
		if err != nil {
			return nil, err
		}
		v.verifiers[alg] = vf
	}
	return v, nil
}

// Algorithms implements [userinfo.ProofVerifier]: the allow-list. The caller
// may modify the returned slice.
func (v *DPoPVerifier) Algorithms() []string { return slices.Clone(v.algs) }

// proofError is a refusal of a DPoP proof: a userinfo.ErrInvalidDPoPProof
// with a fixed reason for logs.
type proofError struct{ reason string }

func (e *proofError) Error() string        { return "accesstoken: invalid DPoP proof: " + e.reason }
func (e *proofError) Is(target error) bool { return target == userinfo.ErrInvalidDPoPProof }

var (
	errProofTooLarge   = &proofError{"the proof exceeds the size limit"}
	errProofJSON       = &proofError{"the JWS JSON serialisation is not accepted"}
	errProofJWE        = &proofError{"encrypted proofs (JWE) are not accepted"}
	errProofMalformed  = &proofError{"not a JWS in compact serialisation"}
	errProofBase64     = &proofError{"a segment is not unpadded base64url"}
	errProofHeader     = &proofError{"the protected header is not a JSON object"}
	errProofTyp        = &proofError{"the header typ is not dpop+jwt"}
	errProofAlg        = &proofError{"the algorithm is not allowed"}
	errProofCrit       = &proofError{"critical header parameters are not supported"}
	errProofNoJWK      = &proofError{"the header has no jwk"}
	errProofPrivateJWK = &proofError{"the jwk holds private or symmetric key material"}
	errProofBadJWK     = &proofError{"the jwk is not a usable public key"}
	errProofKeyAlg     = &proofError{"the algorithm does not fit the jwk"}
	errProofSignature  = &proofError{"the signature does not verify"}
	errProofClaims     = &proofError{"the claims are not a JSON object"}
	errProofJTI        = &proofError{"jti is missing, not a string or too long"}
	errProofHTM        = &proofError{"htm does not match the method"}
	errProofHTU        = &proofError{"htu does not match the URI"}
	errProofIat        = &proofError{"iat is missing, not a number or outside the window"}
	errProofATH        = &proofError{"ath is missing or not the hash of the access token"}
	errProofNonce      = &proofError{"nonce is not a string"}
	errProofReplayed   = &proofError{"replayed"}
)

// dpopHeader holds the protected-header members a proof is judged by.
// encoding/json matches names case-insensitively, which only makes the
// checks stricter.
type dpopHeader struct {
	Typ  string          `json:"typ"`
	Alg  string          `json:"alg"`
	JWK  json.RawMessage `json:"jwk"`
	Crit json.RawMessage `json:"crit"`
	Enc  json.RawMessage `json:"enc"`
}

// privateJWKMembers are the JWK members of private and symmetric keys
// (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
var privateJWKMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// VerifyProof implements [userinfo.ProofVerifier].
func (v *DPoPVerifier) VerifyProof(ctx context.Context, p userinfo.DPoPProof) (string, error) {
	jkt, jtiHash, until, err := v.check(p)
	if err != nil {
		var pe *proofError
		if v.logger != nil && errors.As(err, &pe) {
			v.logger.DebugContext(ctx, "DPoP proof refused", "reason", pe.reason)
		}
		return "", err
	}
	fresh, err := v.replay.Remember(ctx, jkt+jtiHash, until, v.now())
	if err != nil {
		return "", err
	}
	if !fresh {
		if v.logger != nil {
			v.logger.DebugContext(ctx, "DPoP proof refused", "reason", errProofReplayed.reason)
		}
		return "", errProofReplayed
	}
	return jkt, nil
}

// check runs every check but the replay store's, and returns the key's
// thumbprint, the base64url SHA-256 of the jti, and until when to remember
// them.
func (v *DPoPVerifier) check(p userinfo.DPoPProof) (jkt, jtiHash string, until time.Time, err error) {
	proof := p.Proof
	if len(proof) > MaxDPoPProofSize {
		return "", "", time.Time{}, errProofTooLarge
	}
	if strings.HasPrefix(strings.TrimLeft(proof, " \t\r\n"), "{") {
		return "", "", time.Time{}, errProofJSON
	}
	switch strings.Count(proof, ".") {
	case 2:
	case 4:
		return "", "", time.Time{}, errProofJWE
	default:
		return "", "", time.Time{}, errProofMalformed
	}
	d1 := strings.IndexByte(proof, '.')
	d2 := strings.LastIndexByte(proof, '.')
	hdrB64, payloadB64, sigB64 := proof[:d1], proof[d1+1:d2], proof[d2+1:]
	hdrJSON, err := b64.DecodeString(hdrB64)
	if err != nil {
		return "", "", time.Time{}, errProofBase64
	}
	var hdr dpopHeader
	if err := json.Unmarshal(hdrJSON, &hdr); err != nil {
		return "", "", time.Time{}, errProofHeader
	}
	switch {
	case hdr.Enc != nil:
		return "", "", time.Time{}, errProofJWE
	case !strings.EqualFold(hdr.Typ, "dpop+jwt") && !strings.EqualFold(hdr.Typ, "application/dpop+jwt"):
		// RFC 7515 §4.1.9: a media type, compared case-insensitively,
		// whose "application/" prefix may be present.
		return "", "", time.Time{}, errProofTyp
	case hdr.Crit != nil:
		return "", "", time.Time{}, errProofCrit
	}
	vf, ok := v.verifiers[hdr.Alg]
	if !ok {
		return "", "", time.Time{}, errProofAlg
	}
	key, pub, err := publicJWK(hdr.JWK)
	if err != nil {
		return "", "", time.Time{}, err
	}
	if !(&VerificationKey{Key: pub}).allows(hdr.Alg) {
		return "", "", time.Time{}, errProofKeyAlg
	}
	sig, err := b64.DecodeString(sigB64)
	if err != nil {
		return "", "", time.Time{}, errProofBase64
	}
	if vf.Verify(pub, []byte(proof[:d2]), sig) != nil {
		return "", "", time.Time{}, errProofSignature
	}
	payload, err := b64.DecodeString(payloadB64)
	if err != nil {
		return "", "", time.Time{}, errProofBase64
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil || c == nil {
		return "", "", time.Time{}, errProofClaims
	}
	until, err = v.checkClaims(c, p)
	if err != nil {
		return "", "", time.Time{}, err
	}
	tp, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", "", time.Time{}, errProofBadJWK
	}
	h := sha256.Sum256([]byte(c["jti"].(string)))
	return b64.EncodeToString(tp), b64.EncodeToString(h[:]), until, nil
}

// publicJWK parses the header's jwk, which must be a public asymmetric key
// of a supported type and curve, and returns it and its crypto key.
func publicJWK(raw json.RawMessage) (jwk.Key, any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil, errProofNoJWK
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		return nil, nil, errProofBadJWK
	}
	for _, m := range privateJWKMembers {
		if _, ok := members[m]; ok {
			return nil, nil, errProofPrivateJWK
		}
	}
	var kty string
	if err := json.Unmarshal(members["kty"], &kty); err != nil {
		return nil, nil, errProofBadJWK
	}
	if kty == "oct" {
		return nil, nil, errProofPrivateJWK
	}
	key, err := jwk.ParseKey(raw)
	if err != nil {
		return nil, nil, errProofBadJWK
	}
	pub, reason := usablePublicKey(key)
	if reason != "" {
		return nil, nil, errProofBadJWK
	}
	return key, pub, nil
}

// checkClaims checks the claims of a proof against p and returns until when
// its jti must be remembered.
func (v *DPoPVerifier) checkClaims(c map[string]any, p userinfo.DPoPProof) (time.Time, error) {
	jti, ok := c["jti"].(string)
	if !ok || jti == "" || len(jti) > MaxDPoPJTILength {
		return time.Time{}, errProofJTI
	}
	if htm, ok := c["htm"].(string); !ok || htm != p.Method {
		return time.Time{}, errProofHTM
	}
	htu, ok := c["htu"].(string)
	if !ok {
		return time.Time{}, errProofHTU
	}
	want, okWant := normalizeURI(p.URI)
	got, okGot := normalizeURI(htu)
	if !okWant || !okGot || got != want {
		return time.Time{}, errProofHTU
	}
	iatF, ok := c["iat"].(float64)
	if !ok {
		return time.Time{}, errProofIat
	}
	now := v.now()
	iat := numericDate(iatF)
	if iat.Before(now.Add(-v.window)) || iat.After(now.Add(v.window)) {
		return time.Time{}, errProofIat
	}
	ath, ok := c["ath"].(string)
	h := sha256.Sum256([]byte(p.AccessToken))
	if !ok || ath != b64.EncodeToString(h[:]) {
		return time.Time{}, errProofATH
	}
	if v.nonceKey != nil {
		if err := v.checkNonce(c["nonce"], now); err != nil {
			return time.Time{}, err
		}
	}
	// A second beyond the end of the window, so that a proof whose iat
	// is at the very edge is still remembered at the instant it was seen.
	return iat.Add(v.window + time.Second), nil
}

// Nonces. A nonce is base64url(step || HMAC-SHA256(NonceKey, label ||
// step)[:16]), step the big-endian number of Windows since the epoch. The
// nonces of the current and the previous step are accepted.
const nonceLabel = "ciamkit/userinfo DPoP nonce v1\x00"

func (v *DPoPVerifier) nonceAt(step uint64) string {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], step)
	m := hmac.New(sha256.New, v.nonceKey)
	m.Write([]byte(nonceLabel))
	m.Write(buf[:])
	return b64.EncodeToString(append(buf[:], m.Sum(nil)[:16]...))
}

func (v *DPoPVerifier) step(now time.Time) uint64 {
	return uint64(now.UnixNano()) / uint64(v.window)
}

// checkNonce checks the nonce claim of a proof.
func (v *DPoPVerifier) checkNonce(raw any, now time.Time) error {
	cur := v.step(now)
	fresh := &userinfo.NonceError{Nonce: v.nonceAt(cur)}
	if raw == nil {
		return fresh
	}
	nonce, ok := raw.(string)
	if !ok {
		return errProofNonce
	}
	for _, s := range []uint64{cur, cur - 1} {
		if hmac.Equal([]byte(nonce), []byte(v.nonceAt(s))) {
			return nil
		}
	}
	return fresh
}
