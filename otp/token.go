package otp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"strings"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/internal/address"
)

// An otp_token is tokenPrefix followed by the unpadded base64url encoding of
// tokenBytes random bytes. The prefix versions the format and the bindings
// of its record, so that a later format can be told apart: v2 binds codes to
// the canonical address (E.164, the email key), and a v1 token, issued
// before addresses were normalised, is malformed (bad_*_otp_token), never
// compared with a target it may not have been issued for.
const (
	tokenPrefix = "v2."
	tokenBytes  = 16
	tokenLen    = len(tokenPrefix) + (tokenBytes*8+5)/6 // 3 + 22
)

// CodeDigits is the number of decimal digits of a code.
const CodeDigits = 6

// codeSpace is 10^CodeDigits.
const codeSpace = 1_000_000

var errMalformedToken = errors.New("otp: malformed otp_token")

// newToken returns a fresh otp_token and its random bytes.
func newToken(r io.Reader) (string, []byte, error) {
	raw := make([]byte, tokenBytes)
	if _, err := io.ReadFull(r, raw); err != nil {
		return "", nil, err
	}
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(raw), raw, nil
}

// parseToken returns the random bytes of an otp_token. It accepts exactly the
// strings newToken makes: the prefix and the canonical encoding of
// tokenBytes bytes, nothing around them.
func parseToken(token string) ([]byte, error) {
	if len(token) != tokenLen || !strings.HasPrefix(token, tokenPrefix) {
		return nil, errMalformedToken
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token[len(tokenPrefix):])
	if err != nil || len(raw) != tokenBytes {
		return nil, errMalformedToken
	}
	return raw, nil
}

// recordID derives the store's record ID from the token's random bytes. It is
// a plain hash, not keyed: the token is 128 random bits, so the ID cannot be
// reversed, and replicas need no secret to find a record.
func recordID(raw []byte) string {
	h := sha256.New()
	h.Write([]byte("ciamkit/userinfo/otp record id v1\x00"))
	h.Write(raw)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// newCode returns CodeDigits random decimal digits. It draws 32-bit values
// and rejects those at or above the largest multiple of codeSpace, so that
// every code is equally likely (no modulo bias).
func newCode(r io.Reader) (string, error) {
	const limit = (1 << 32) / codeSpace * codeSpace
	var b [4]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", err
		}
		if v := binary.BigEndian.Uint32(b[:]); v < limit {
			return formatCode(v % codeSpace), nil
		}
	}
}

func formatCode(v uint32) string {
	var d [CodeDigits]byte
	for i := CodeDigits - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return string(d[:])
}

// wellFormedCode reports whether code is CodeDigits ASCII digits.
func wellFormedCode(code string) bool {
	if len(code) != CodeDigits {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// normalizeTarget returns the key of an address that bindings and throttle
// keys compare, from target in its stored form
// (userinfo.Registry.NormalizeAddress): address.EmailKey for email
// (ASCII letters lower-cased, so that Unicode case folding, e.g. of "K"
// KELVIN SIGN, cannot make two addresses equal), address.PhoneKey for
// phone numbers (E.164 as it is). It is the stores' key of the same value.
func normalizeTarget(channel, target string) string {
	if channel != userinfo.ChannelEmail {
		return address.PhoneKey(target)
	}
	return address.EmailKey(target)
}

// keyer computes the keyed hashes of a service.
type keyer struct{ key []byte }

// field writes a length-prefixed field, so that no two field lists share an
// encoding.
func field(w io.Writer, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	w.Write(n[:])
	io.WriteString(w, s)
}

// codeHash is the stored hash of code for rec: HMAC-SHA256 under the server
// key of the code and every binding of the record, so that a leaked store
// allows no offline guessing and a changed record matches no code.
func (k keyer) codeHash(rec *Record, code string) []byte {
	m := hmac.New(sha256.New, k.key)
	field(m, "ciamkit/userinfo/otp code v2")
	field(m, rec.ID)
	field(m, rec.Subject)
	field(m, rec.Channel)
	field(m, normalizeTarget(rec.Channel, rec.Target))
	field(m, rec.Purpose)
	field(m, code)
	return m.Sum(nil)
}

// throttleKey is the opaque key under which sends are counted, so that the
// store holds no addresses or subjects in the clear. The version (v2: keys of
// canonical addresses) starts the counts afresh when what is counted
// changes.
func (k keyer) throttleKey(kind, value string) string {
	m := hmac.New(sha256.New, k.key)
	field(m, "ciamkit/userinfo/otp throttle v2")
	field(m, kind)
	field(m, value)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
