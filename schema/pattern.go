package schema

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// checkPattern reports whether p is a usable registry pattern: it compiles
// with Go's regexp and uses no construct that ECMA-262, the dialect of JSON
// Schema, lacks (see the package documentation).
func checkPattern(p string) error {
	if _, err := regexp.Compile(p); err != nil {
		return fmt.Errorf("invalid pattern %q: %w", p, err)
	}
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			if i+1 >= len(p) {
				break
			}
			i++
			switch c := p[i]; c {
			case 'A', 'z', 'Q', 'E', 'C':
				return fmt.Errorf("pattern %q uses \\%c, which ECMA-262 does not know", p, c)
			case 'p', 'P':
				if i+1 >= len(p) || p[i+1] != '{' {
					return fmt.Errorf("pattern %q uses \\%c without braces, which ECMA-262 does not know", p, c)
				}
			case 'x':
				if i+1 < len(p) && p[i+1] == '{' {
					return fmt.Errorf("pattern %q uses \\x{…}, which ECMA-262 does not know", p)
				}
			}
		case '(':
			if i+1 < len(p) && p[i+1] == '?' {
				rest := p[i+2:]
				named := strings.HasPrefix(rest, "<") && len(rest) > 1 && rest[1] != '=' && rest[1] != '!'
				if !strings.HasPrefix(rest, ":") && !named {
					return fmt.Errorf("pattern %q uses a (?…) group other than (?:…) or (?<name>…), which ECMA-262 does not know", p)
				}
			}
		case '[':
			if strings.HasPrefix(p[i:], "[[:") || strings.HasPrefix(p[i:], "[^[:") {
				return fmt.Errorf("pattern %q uses a POSIX class, which ECMA-262 does not know", p)
			}
		}
	}
	return nil
}

// anchor returns p anchored at both ends, as ^(?:p)$, so that it matches only
// whole values in every JSON Schema validator. A pattern that already begins
// with ^ and ends with $ at its top level (such as ^E[0-9]{6}$) is returned
// unchanged. p must be a valid pattern (see checkPattern).
func anchor(p string) string {
	if anchored(p) {
		return p
	}
	return "^(?:" + p + ")$"
}

// anchored reports whether the parse tree of p is ^…$ at its top level; ^a|b$
// is not.
func anchored(p string) bool {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return false
	}
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 {
		return false
	}
	return re.Sub[0].Op == syntax.OpBeginText && re.Sub[len(re.Sub)-1].Op == syntax.OpEndText
}
