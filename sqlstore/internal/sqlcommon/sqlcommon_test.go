package sqlcommon

import (
	"encoding/json"
	"reflect"
	"testing"
	"testing/fstest"
	"time"
)

func str(s string) *string { return &s }

func TestChanges(t *testing.T) {
	tests := []struct {
		name         string
		set          map[string]any
		remove       []string
		email, phone KeyChange
	}{
		{"untouched", map[string]any{"nickname": "x"}, nil, KeyChange{}, KeyChange{}},
		{"set", map[string]any{"email": "A@X.test", "phone_number": "136"}, nil,
			KeyChange{true, str("a@x.test")}, KeyChange{true, str("136")}},
		{"removed", nil, []string{"email", "phone_number"}, KeyChange{Changed: true}, KeyChange{Changed: true}},
		{"set wins over remove", map[string]any{"email": "b@x.test"}, []string{"email"}, KeyChange{true, str("b@x.test")}, KeyChange{}},
		{"not a string", map[string]any{"email": json.Number("1"), "phone_number": ""}, nil, KeyChange{Changed: true}, KeyChange{Changed: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			email, phone := Changes(tt.set, tt.remove)
			if !reflect.DeepEqual(email, tt.email) || !reflect.DeepEqual(phone, tt.phone) {
				t.Errorf("Changes = %+v, %+v; want %+v, %+v", email, phone, tt.email, tt.phone)
			}
		})
	}
}

func TestMigrations(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0010_later.sql": {Data: []byte("B")},
		"m/0002_init.sql":  {Data: []byte("A")},
		"m/README":         {Data: []byte("not a migration")},
	}
	ms, err := Migrations(fsys, "m/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	want := []Migration{{2, "m/0002_init.sql", "A"}, {10, "m/0010_later.sql", "B"}}
	if !reflect.DeepEqual(ms, want) {
		t.Errorf("Migrations = %+v, want %+v", ms, want)
	}
	fsys["m/init.sql"] = &fstest.MapFile{Data: []byte("C")}
	if _, err := Migrations(fsys, "m/*.sql"); err == nil {
		t.Error("Migrations accepted a file without a version")
	}
}

func TestPeriodic(t *testing.T) {
	p := Periodic{Interval: time.Minute}
	t0 := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	for _, step := range []struct {
		at   time.Duration
		want bool
	}{{0, true}, {30 * time.Second, false}, {time.Minute, true}, {90 * time.Second, false}, {-time.Hour, true}, {-time.Hour + time.Second, false}} {
		if got := p.Due(t0.Add(step.at)); got != step.want {
			t.Errorf("Due(t0%+v) = %v, want %v", step.at, got, step.want)
		}
	}
}
