package schema

import (
	"regexp"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ciamkit/userinfo/internal/address"
)

// Patterns of RFC 3986 (Appendix A), in the common subset of ECMA-262 and
// RE2, so that every JSON Schema validator reads them as the server does.
var (
	uriPattern          = `^` + uriAbsolute + `$`
	uriReferencePattern = `^(?:` + uriAbsolute + `|` + relativeRef + `)$`
	// httpURLPattern is an absolute http or https URI with a non-empty
	// host: the rule of profile, picture and website.
	httpURLPattern = `^[Hh][Tt][Tt][Pp][Ss]?://(?:` + userinfo + `@)?(?:` + ipLiteral + `|` + regName + `+)(?::[0-9]*)?` +
		pathAbempty + `(?:\?` + query + `)?(?:#` + query + `)?$`
)

const (
	hexDig     = `[0-9A-Fa-f]`
	pctEncoded = `%` + hexDig + `{2}`
	// unreserved and sub-delims, without and with ":" and "@".
	uSub     = `\-A-Za-z0-9._~!$&'()*+,;=`
	pchar    = `(?:[` + uSub + `:@]|` + pctEncoded + `)`
	userinfo = `(?:[` + uSub + `:]|` + pctEncoded + `)*`
	regName  = `(?:[` + uSub + `]|` + pctEncoded + `)`
	query    = `(?:[` + uSub + `:@/?]|` + pctEncoded + `)*`
	decOctet = `(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])`
	ipv4     = decOctet + `\.` + decOctet + `\.` + decOctet + `\.` + decOctet
	h16      = hexDig + `{1,4}`
	ls32     = `(?:` + h16 + `:` + h16 + `|` + ipv4 + `)`

	scheme       = `[A-Za-z][A-Za-z0-9+.-]*`
	pathAbempty  = `(?:/` + pchar + `*)*`
	pathAbsolute = `/(?:` + pchar + `+(?:/` + pchar + `*)*)?`
	pathRootless = pchar + `+(?:/` + pchar + `*)*`
	// pathNoScheme is path-noscheme: a first segment without ":".
	pathNoScheme = `(?:[` + uSub + `@]|` + pctEncoded + `)+(?:/` + pchar + `*)*`
)

var (
	ipv6 = `(?:` + strings.Join([]string{
		`(?:` + h16 + `:){6}` + ls32,
		`::(?:` + h16 + `:){5}` + ls32,
		`(?:` + h16 + `)?::(?:` + h16 + `:){4}` + ls32,
		`(?:(?:` + h16 + `:){0,1}` + h16 + `)?::(?:` + h16 + `:){3}` + ls32,
		`(?:(?:` + h16 + `:){0,2}` + h16 + `)?::(?:` + h16 + `:){2}` + ls32,
		`(?:(?:` + h16 + `:){0,3}` + h16 + `)?::` + h16 + `:` + ls32,
		`(?:(?:` + h16 + `:){0,4}` + h16 + `)?::` + ls32,
		`(?:(?:` + h16 + `:){0,5}` + h16 + `)?::` + h16,
		`(?:(?:` + h16 + `:){0,6}` + h16 + `)?::`,
	}, "|") + `)`
	ipvFuture   = `v` + hexDig + `+\.[` + uSub + `:]+`
	ipLiteral   = `\[(?:` + ipv6 + `|` + ipvFuture + `)\]`
	host        = `(?:` + ipLiteral + `|` + regName + `*)`
	authority   = `(?:` + userinfo + `@)?` + host + `(?::[0-9]*)?`
	hierPart    = `(?://` + authority + pathAbempty + `|` + pathAbsolute + `|` + pathRootless + `)?`
	uriAbsolute = scheme + `:` + hierPart + `(?:\?` + query + `)?(?:#` + query + `)?`
	relativeRef = `(?://` + authority + pathAbempty + `|` + pathAbsolute + `|` + pathNoScheme + `)?` +
		`(?:\?` + query + `)?(?:#` + query + `)?`
)

var (
	uriRegexp          = regexp.MustCompile(uriPattern)
	uriReferenceRegexp = regexp.MustCompile(uriReferencePattern)
)

// isEmail reports whether s is an email address by the ASCII rule of the
// email claim (address.ParseEmail without internationalised domains).
func isEmail(s string) bool {
	_, ok := address.ParseEmail(s, false)
	return ok
}

// httpURLNoIPPattern is httpURLPattern without the IP-literal host: the two
// agree on every input without "[", the only character that starts an IP
// literal, and the smaller one runs in a fraction of the time.
var httpURLNoIPPattern = `^[Hh][Tt][Tt][Pp][Ss]?://(?:` + userinfo + `@)?` + regName + `+(?::[0-9]*)?` +
	pathAbempty + `(?:\?` + query + `)?(?:#` + query + `)?$`

// compileRegexp is the compiler's regexp engine: Go's regexp, with the
// http(s) URL pattern split in two (see httpURLNoIPPattern). The published
// pattern is unchanged.
func compileRegexp(s string) (jsonschema.Regexp, error) {
	re, err := regexp.Compile(s)
	if err != nil || s != httpURLPattern {
		return re, err
	}
	return splitRegexp{full: re, noIP: regexp.MustCompile(httpURLNoIPPattern)}, nil
}

// splitRegexp matches as full, through noIP when s holds no "[".
type splitRegexp struct{ full, noIP *regexp.Regexp }

func (r splitRegexp) MatchString(s string) bool {
	if strings.IndexByte(s, '[') < 0 {
		return r.noIP.MatchString(s)
	}
	return r.full.MatchString(s)
}

func (r splitRegexp) String() string { return r.full.String() }
