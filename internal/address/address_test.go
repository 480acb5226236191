package address

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

var (
	emailRE     = regexp.MustCompile(EmailPattern)
	lastLabelRE = regexp.MustCompile(EmailLastLabelPattern)
	phoneRE     = regexp.MustCompile(PhonePattern)
)

// emailBySchema is the verdict of the schema's statement of the ASCII rule.
func emailBySchema(s string) bool {
	return len(s) <= MaxEmailLen && emailRE.MatchString(s) && lastLabelRE.MatchString(s)
}

func TestParseEmail(t *testing.T) {
	tests := []struct {
		in            string
		want, wantIDN string // "": malformed
	}{
		{"victim@x.test", "victim@x.test", "victim@x.test"},
		{"Victim@X.Test", "Victim@X.Test", "Victim@x.test"},
		{`"victim"@x.test`, "", ""},
		{"victim@ｘ.test", "", "victim@x.test"},
		{"victim\u200b@x.test", "", ""},
		{"a@bücher.test", "", "a@xn--bcher-kva.test"},
		{"a@xn--bcher-kva.test", "a@xn--bcher-kva.test", "a@xn--bcher-kva.test"},
		{"a@xn--zz.test", "a@xn--zz.test", ""}, // not punycode: only UTS #46 knows
		{"a@[127.0.0.1]", "", ""},
		{"a@127.0.0.1", "", ""},
		{"a@localhost", "", ""},
		{"a@x.test.", "", ""},
		{"a@x.1-2", "a@x.1-2", "a@x.1-2"},
		{"a b@x.test", "", ""},
		{"a@b@x.test", "", ""},
		{"@x.test", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got, ok := ParseEmail(tt.in, false); got != tt.want || ok != (tt.want != "") {
			t.Errorf("ParseEmail(%q, false) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
		if got, ok := ParseEmail(tt.in, true); got != tt.wantIDN || ok != (tt.wantIDN != "") {
			t.Errorf("ParseEmail(%q, true) = %q, %v; want %q", tt.in, got, ok, tt.wantIDN)
		}
		if _, ok := ParseEmail(tt.in, false); ok != emailBySchema(tt.in) {
			t.Errorf("ParseEmail(%q) = %v, but the schema's patterns say %v", tt.in, ok, !ok)
		}
	}
}

func TestEmailKey(t *testing.T) {
	for in, want := range map[string]string{
		"Kate@Example.COM": "kate@example.com",
		"\u212Aate@x.test": "\u212Aate@x.test", // KELVIN SIGN stays: it is not "kate@x.test"
		"ÉLODIE@x.test":    "Élodie@x.test",
		"plain@x.test":     "plain@x.test",
	} {
		if got := EmailKey(in); got != want {
			t.Errorf("EmailKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// The seed's rule is the mobile numbers of the three mainland carriers. Each
// of their 11-digit mobile blocks (China Mobile, China Unicom, China
// Telecom, China Broadnet) must stay valid. Not listed: the data-only and
// IoT blocks 146, 148 and 149, and 174 beyond the Tiantong satellite block
// 1740[0-5], which libphonenumber does not type as mobile numbers (they
// cannot be relied on to receive SMS); the old pattern ^1[3-9][0-9]{9}$
// accepted them, and unassigned ranges such as 140 too.
var cnMobilePrefixes = []string{
	// China Mobile
	"134", "135", "136", "137", "138", "139", "147", "150", "151", "152", "157", "158", "159",
	"172", "178", "182", "183", "184", "187", "188", "195", "197", "198",
	// China Unicom
	"130", "131", "132", "145", "155", "156", "166", "167", "171", "175", "176", "185", "186", "196",
	// China Telecom
	"133", "153", "173", "177", "180", "181", "189", "190", "191", "193", "199",
	// China Broadnet
	"192",
	// Tiantong satellite phones (China Telecom)
	"17400", "17405",
}

func TestPhoneCNCarriers(t *testing.T) {
	p, err := NewPhone(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, prefix := range cnMobilePrefixes {
		for _, rest := range []string{"12345678", "00000000", "99999999", "55512345"} {
			n := (prefix + rest)[:11]
			if got, ok := p.Parse(n); !ok || got != "+86"+n {
				t.Errorf("Parse(%q) = %q, %v; want +86%s", n, got, ok, n)
			}
			if got, ok := p.Parse("+86" + n); !ok || got != "+86"+n {
				t.Errorf("Parse(+86%s) = %q, %v", n, got, ok)
			}
		}
	}
}

func TestPhoneParse(t *testing.T) {
	cn, _ := NewPhone([]string{"CN"})
	world, _ := NewPhone([]string{AnyRegion})
	cnAny, _ := NewPhone([]string{"CN", AnyRegion})
	tests := []struct {
		name string
		p    *Phone
		in   string
		want string // "": malformed
	}{
		{"national", cn, "13612345678", "+8613612345678"},
		{"national with trunk prefix", cn, "013612345678", "+8613612345678"},
		{"E.164", cn, "+8613612345678", "+8613612345678"},
		{"spaces", cn, "+86 136 1234 5678", "+8613612345678"},
		{"hyphens", cn, "136-1234-5678", "+8613612345678"},
		{"separator after +", cn, "+ 8613612345678", ""},
		{"two separators", cn, "136 -1234", ""},
		{"leading separator", cn, " 13612345678", ""},
		{"dot", cn, "136.1234.5678", ""},
		{"letters", cn, "1-800-FLOWERS", ""},
		{"international prefix", cn, "008613612345678", ""},
		{"fixed line", cn, "+861012345678", ""},
		{"toll free", cn, "4001234567", ""},
		{"unassigned country code", world, "+999123456789", ""},
		{"too short", world, "+1234567", ""},
		{"US", world, "+1 415 555 2671", "+14155552671"},
		{"US toll free", world, "+1 800 356 9377", ""},
		{"national without a national region", world, "13612345678", ""},
		{"national with CN first", cnAny, "13612345678", "+8613612345678"},
		{"another region with CN first", cnAny, "+447911123456", "+447911123456"},
		{"too many digits", world, "+" + strings.Repeat("1", 21), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.p.Parse(tt.in)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("Parse(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
			}
		})
	}
}

func TestNewPhone(t *testing.T) {
	p, err := NewPhone([]string{" us", "cn", "*"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Regions(), ","); got != "US,CN,*" || p.National() != "US" {
		t.Errorf("Regions() = %s, National() = %s", got, p.National())
	}
	for _, bad := range [][]string{{"XX"}, {"CN", "CN"}, {"*", "*"}, {""}, {"UK"}} {
		if _, err := NewPhone(bad); err == nil {
			t.Errorf("NewPhone(%q) succeeded", bad)
		}
	}
}

func TestLexicalMatchesPattern(t *testing.T) {
	for _, s := range []string{"", "+", "1", "+1", "1 2", "1  2", "1-2", "1 -2", "+ 1", "1 ", " 1", "a",
		strings.Repeat("1", 20), strings.Repeat("1", 21), "+" + strings.Repeat("1 ", 19) + "1", "+" + strings.Repeat("1 ", 20) + "1", "１"} {
		if _, ok := Lexical(s); ok != phoneRE.MatchString(s) {
			t.Errorf("Lexical(%q) = %v, PhonePattern says %v", s, ok, !ok)
		}
	}
}

// TestPhoneCache: the cache gives the verdicts of the parse, for valid and
// invalid numbers alike, also once it has turned over.
func TestPhoneCache(t *testing.T) {
	p, _ := NewPhone(nil)
	for range 2 {
		for i := range 2*phoneCacheSize + 10 {
			n := fmt.Sprintf("136%08d", i)
			if got, ok := p.Parse(n); !ok || got != "+86"+n {
				t.Fatalf("Parse(%q) = %q, %v", n, got, ok)
			}
		}
		if got, ok := p.Parse("14012345678"); ok || got != "" {
			t.Fatalf("Parse(14012345678) = %q, %v; want malformed", got, ok)
		}
	}
	p.cache.mu.Lock()
	n := len(p.cache.cur) + len(p.cache.old)
	p.cache.mu.Unlock()
	if n > 2*phoneCacheSize {
		t.Errorf("the cache holds %d entries, more than %d", n, 2*phoneCacheSize)
	}
}
