package address

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// AnyRegion, as a region of a phone policy, accepts the numbers of every
// region.
const AnyRegion = "*"

// maxPhoneDigits bounds the digits of an input, so that no input costs
// libphonenumber more than a real number: E.164 numbers have at most 15
// digits, and national forms with a trunk prefix a few more.
const maxPhoneDigits = 20

// Phone checks phone numbers against a list of regions. It is immutable and
// safe for concurrent use.
type Phone struct {
	// national is the region whose national form is accepted, or "".
	national string
	// nationalCode is the country calling code of national.
	nationalCode int32
	regions      map[string]bool
	order        []string // as given, upper-cased
	any          bool

	cache parseCache
}

// phoneCacheSize bounds each of the two generations of a Phone's cache.
const phoneCacheSize = 2048

// parseCache remembers the verdicts of recent inputs (after Lexical), so
// that a number pays libphonenumber's parse once (some 20 µs) and then
// costs a map lookup when it comes back: a code is sent to it, then a PATCH
// and the OTP check present it. It holds two generations of at most
// phoneCacheSize entries; when the current one is full it becomes the old
// one, so memory stays bounded whatever the input, and inputs that never
// repeat cost no more than without the cache.
type parseCache struct {
	mu       sync.RWMutex
	cur, old map[string]string // input → E.164, "" when invalid
}

func (c *parseCache) get(in string) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if v, ok := c.cur[in]; ok {
		return v, true
	}
	v, ok := c.old[in]
	return v, ok
}

func (c *parseCache) put(in, v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cur) >= phoneCacheSize {
		c.old, c.cur = c.cur, nil
	}
	if c.cur == nil {
		c.cur = make(map[string]string, phoneCacheSize)
	}
	c.cur[in] = v
}

// NewPhone returns the Phone of regions: CLDR region codes such as "CN" or
// "US" (any case), or AnyRegion. The first region, when it is not
// AnyRegion, is the one whose national form is accepted. No regions means
// "CN". An unknown region or a region listed twice is an error.
func NewPhone(regions []string) (*Phone, error) {
	if len(regions) == 0 {
		regions = []string{"CN"}
	}
	p := &Phone{regions: map[string]bool{}}
	supported := phonenumbers.GetSupportedRegions()
	for i, r := range regions {
		r = strings.ToUpper(strings.TrimSpace(r))
		switch {
		case r == AnyRegion:
			if p.any {
				return nil, fmt.Errorf("phone region %q is listed twice", AnyRegion)
			}
			p.any = true
			p.order = append(p.order, r)
			continue
		case !supported[r]:
			return nil, fmt.Errorf("unknown phone region %q (want a CLDR region code such as CN or US, or %q)", regions[i], AnyRegion)
		case p.regions[r]:
			return nil, fmt.Errorf("phone region %q is listed twice", r)
		}
		p.regions[r] = true
		p.order = append(p.order, r)
		if i == 0 {
			p.national = r
			p.nationalCode = int32(phonenumbers.GetCountryCodeForRegion(r))
		}
	}
	return p, nil
}

// Regions returns the regions as given, upper-cased, in order.
func (p *Phone) Regions() []string { return slices.Clone(p.order) }

// National returns the region whose national form is accepted, or "".
func (p *Phone) National() string { return p.national }

var errMalformed = errors.New("malformed phone number")

// Lexical reports whether s has the shape of an accepted input: "+" and
// digits, or digits alone, with at most one space or hyphen between two
// digits, and at most maxPhoneDigits digits; it returns the input without
// the separators.
func Lexical(s string) (string, bool) {
	if len(s) == 0 || len(s) > 2*maxPhoneDigits+1 {
		return "", false
	}
	b := make([]byte, 0, len(s))
	i := 0
	if s[0] == '+' {
		b = append(b, '+')
		i = 1
	}
	digits := 0
	sep := true // a separator is not allowed first
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			b = append(b, c)
			digits++
			sep = false
		case (c == ' ' || c == '-') && !sep:
			sep = true
		default:
			return "", false
		}
	}
	if sep || digits > maxPhoneDigits {
		return "", false
	}
	return string(b), true
}

// Parse returns s in E.164 when it is a valid mobile or fixed-line-or-mobile
// number (libphonenumber's types; these can receive SMS) of one of p's
// regions, given in E.164 or in the national form of p's first region, with
// the separators that Lexical allows; otherwise it returns false.
func (p *Phone) Parse(s string) (string, bool) {
	in, ok := Lexical(s)
	if !ok {
		return "", false
	}
	if e, ok := p.cache.get(in); ok {
		return e, e != ""
	}
	e, err := p.parse(in)
	if err != nil {
		e = ""
	}
	p.cache.put(in, e)
	return e, e != ""
}

func (p *Phone) parse(in string) (string, error) {
	var num phonenumbers.PhoneNumber
	if in[0] == '+' {
		if err := phonenumbers.ParseAndKeepRawInputToNumber(in, "ZZ", &num); err != nil {
			return "", errMalformed
		}
		if num.GetCountryCodeSource() != phonenumbers.PhoneNumber_FROM_NUMBER_WITH_PLUS_SIGN {
			return "", errMalformed
		}
	} else {
		if p.national == "" {
			return "", errMalformed
		}
		if err := phonenumbers.ParseAndKeepRawInputToNumber(in, p.national, &num); err != nil {
			return "", errMalformed
		}
		// A national form: not an international prefix ("00 86 …")
		// that libphonenumber would also read.
		if num.GetCountryCodeSource() != phonenumbers.PhoneNumber_FROM_DEFAULT_COUNTRY || num.GetCountryCode() != p.nationalCode {
			return "", errMalformed
		}
	}
	if num.Extension != nil && num.GetExtension() != "" {
		return "", errMalformed
	}
	region := phonenumbers.GetRegionCodeForNumber(&num)
	if region == "" || !p.any && !p.regions[region] {
		return "", errMalformed
	}
	switch phonenumbers.GetNumberType(&num) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
	default:
		return "", errMalformed
	}
	return phonenumbers.Format(&num, phonenumbers.E164), nil
}

// Patterns of the accepted inputs, for JSON Schema: Lexical accepts s
// exactly when it matches PhonePattern, and, without a national region,
// PhoneE164Pattern.
const (
	PhonePattern     = `^\+?[0-9](?:[ -]?[0-9]){0,19}$`
	PhoneE164Pattern = `^\+[0-9](?:[ -]?[0-9]){0,19}$`
)
