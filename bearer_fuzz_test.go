package userinfo_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/internal/bearertest"
)

// FuzzBearerHeader feeds any Authorization header to the extractor. The
// verifier behind accepts one token.
func FuzzBearerHeader(f *testing.F) {
	for _, s := range []string{
		"Bearer good-token", "bearer good-token", "BEARER  good-token  ", "Bearer", "Bearer ", "BearerTOKEN",
		"Basic dTE6cHc=", "Bearer a b", "Bearer abc==", "Bearer =abc", "Bearer a\tb", "Bearer {\"payload\":1}",
		"Bearer ey.ey.sig", "\x00", "Bearer \xff\xfe", "  Bearer good-token", "Bearer good-token,Bearer x",
	} {
		f.Add(s, false)
	}
	f.Add("Bearer good-token", true)
	a := &userinfo.Authenticator{Verifier: userinfo.TokenVerifierFunc(func(_ context.Context, token string) (*userinfo.Principal, error) {
		if token != "good-token" {
			return nil, userinfo.ErrInvalidToken
		}
		return &userinfo.Principal{Subject: "u1", Scopes: []string{"openid"}}, nil
	})}
	f.Fuzz(func(t *testing.T, header string, query bool) {
		target := "/userinfo"
		if query {
			target += "?access_token=x"
		}
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.Header.Set("Authorization", header)
		p, err := a.Authenticate(r)
		bearertest.CheckOutcome(t, p, err)
		if err == nil && (query || !strings.Contains(header, "good-token")) {
			t.Fatalf("accepted %q (query %v)", header, query)
		}
	})
}
