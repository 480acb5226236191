package accesstoken

import "testing"

// TestNormalizeURI covers RFC 3986 §6.2.2–6.2.3 as htu comparison uses it.
func TestNormalizeURI(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"https://id.example.com/userinfo", "https://id.example.com/userinfo", true},
		{"HTTPS://ID.EXAMPLE.COM/userinfo", "https://id.example.com/userinfo", true},
		{"https://id.example.com:443/userinfo", "https://id.example.com/userinfo", true},
		{"http://id.example.com:80/userinfo", "http://id.example.com/userinfo", true},
		{"http://id.example.com:443/userinfo", "http://id.example.com:443/userinfo", true},
		{"https://id.example.com:/userinfo", "https://id.example.com/userinfo", true},
		{"https://id.example.com", "https://id.example.com/", true},
		{"https://id.example.com/%75ser%7Einfo", "https://id.example.com/user~info", true},
		{"https://id.example.com/a%2fb", "https://id.example.com/a%2Fb", true},
		{"https://id.example.com/a/./b/../c", "https://id.example.com/a/c", true},
		{"https://id.example.com/a/%2E%2E/c", "https://id.example.com/c", true},
		{"https://id.example.com/../../c", "https://id.example.com/c", true},
		{"https://id.example.com/a/..", "https://id.example.com/", true},
		{"https://id.example.com/UserInfo", "https://id.example.com/UserInfo", true},
		{"https://id.example.com/userinfo?x=1#f", "https://id.example.com/userinfo", true},
		{"https://[::1]:443/u", "https://[::1]/u", true},
		{"/userinfo", "", false},
		{"ftp://id.example.com/userinfo", "", false},
		{"https:opaque", "", false},
		{"https://id.example.com/%zz", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := normalizeURI(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("normalizeURI(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
