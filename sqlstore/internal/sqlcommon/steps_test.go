package sqlcommon

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ciamkit/userinfo"
)

func TestPlan(t *testing.T) {
	run := func(context.Context, int) error { return nil }
	plan, err := Plan([]Migration{{1, "m/0001_init.sql", "A"}, {3, "m/0003_x.sql", "C"}},
		[]Step[int]{{Version: 3, Name: "go three", Run: run}, {Version: 2, Name: "go two", Run: run}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range plan {
		got = append(got, p.Name+"|"+p.SQL+"|"+map[bool]string{true: "go", false: ""}[p.Run != nil])
	}
	if want := "m/0001_init.sql|A||go two||go|m/0003_x.sql + go three|C|go"; strings.Join(got, "|") != want {
		t.Errorf("Plan = %s, want %s", strings.Join(got, "|"), want)
	}
	if _, err := Plan(nil, []Step[int]{{Version: 2, Run: run}, {Version: 2, Run: run}}); err == nil {
		t.Error("Plan accepted two Go steps of one version")
	}
}

func TestNormalizeAddresses(t *testing.T) {
	reg, err := userinfo.NewRegistry(userinfo.RegistryConfig{EmailIDN: true})
	if err != nil {
		t.Fatal(err)
	}
	users := []StoredUser{
		{"a", map[string]any{"email": "A@Bücher.test", "phone_number": "13612345678"}},
		{"b", map[string]any{"email": `"quoted"@x.test`, "phone_number": "+8613712345678"}},
		{"c", map[string]any{"nickname": "c"}},
	}
	rewrites, report, err := NormalizeAddresses(users, reg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rewrites) != 1 || rewrites[0].Subject != "a" || *rewrites[0].EmailKey != "a@xn--bcher-kva.test" || *rewrites[0].PhoneKey != "+8613612345678" ||
		string(rewrites[0].Attributes) != `{"email":"A@xn--bcher-kva.test","phone_number":"+8613612345678"}` {
		t.Errorf("rewrites = %+v", rewrites)
	}
	if report.Kept != 1 {
		t.Errorf("Kept = %d, want 1 (the quoted address)", report.Kept)
	}
	if users[0].Attributes["email"] != "A@Bücher.test" {
		t.Error("NormalizeAddresses changed its input")
	}
	users = append(users, StoredUser{"d", map[string]any{"email": "a@xn--bcher-kva.TEST"}}, StoredUser{"e", map[string]any{"phone_number": "+86 137 1234 5678"}})
	_, _, err = NormalizeAddresses(users, reg)
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Attribute != "email" || strings.Join(ce.Subjects, ",") != "a,d" || ce.Others != 1 {
		t.Fatalf("conflict: %v (%+v)", err, ce)
	}
	if strings.Contains(err.Error(), "bcher") {
		t.Errorf("error %q names the address", err)
	}
}
