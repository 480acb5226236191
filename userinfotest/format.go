package userinfotest

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ciamkit/userinfo"
)

// show formats an attribute value so that its type is visible: a string
// quoted, a json.Number bare, anything that is not a JSON value (float64,
// int, …) with its Go type.
func show(v any) string {
	switch v := v.(type) {
	case nil:
		return "nil"
	case string:
		return strconv.Quote(v)
	case json.Number:
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	case map[string]any:
		var b strings.Builder
		b.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(v)) {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q: %s", k, show(v[k]))
		}
		b.WriteByte('}')
		return b.String()
	default:
		return fmt.Sprintf("%T(%v)", v, v)
	}
}

// diffAttrs describes how got differs from want, or returns "" when they are
// equal.
func diffAttrs(got, want map[string]any) string {
	keys := slices.Sorted(maps.Keys(got))
	for k := range want {
		if _, ok := got[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var diffs []string
	for _, k := range keys {
		g, gok := got[k]
		w, wok := want[k]
		switch {
		case !wok:
			diffs = append(diffs, fmt.Sprintf("%q: got %s, want no such attribute", k, show(g)))
		case !gok:
			diffs = append(diffs, fmt.Sprintf("%q: missing, want %s", k, show(w)))
		case !reflect.DeepEqual(g, w):
			diffs = append(diffs, fmt.Sprintf("%q: got %s, want %s", k, show(g), show(w)))
		}
	}
	return strings.Join(diffs, "; ")
}

// showUpdate formats an update for the name of a call.
func showUpdate(u userinfo.Update) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{Subject: %q", u.Subject)
	if u.IfVersion != 0 {
		fmt.Fprintf(&b, ", IfVersion: %d", u.IfVersion)
	}
	if len(u.Set) > 0 {
		fmt.Fprintf(&b, ", Set: %s", show(u.Set))
	}
	if len(u.Remove) > 0 {
		fmt.Fprintf(&b, ", Remove: %q", u.Remove)
	}
	fmt.Fprintf(&b, ", Now: %s}", u.Now.Format(time.RFC3339Nano))
	return b.String()
}

// cloneAttrs deep-copies attributes, so that the kit never shares a map
// with a store.
func cloneAttrs(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if mv, ok := v.(map[string]any); ok {
			v = cloneAttrs(mv)
		}
		out[k] = v
	}
	return out
}

// with returns a copy of base with set applied and remove deleted, as a
// correct store applies an update.
func with(base map[string]any, set map[string]any, remove ...string) map[string]any {
	out := cloneAttrs(base)
	for _, k := range remove {
		delete(out, k)
	}
	for k, v := range cloneAttrs(set) {
		out[k] = v
	}
	return out
}
