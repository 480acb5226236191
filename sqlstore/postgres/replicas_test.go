package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/accesstoken"
	"github.com/ciamkit/userinfo/internal/testkeys"
	"github.com/ciamkit/userinfo/otp"
	"github.com/ciamkit/userinfo/sqlstore/postgres"
)

// replica is one instance of a server: its own pool on the shared
// database, its own OTP service and handler, over real HTTP.
type replica struct {
	*httptest.Server
	store  *postgres.Store
	otp    *otp.Service
	sender *otp.RecordingSender
}

// The issuer and audience of the replicas' tokens.
const (
	replicaIssuer   = "https://issuer.example"
	replicaAudience = "https://api.example"
)

// newReplicas starts n replicas on one database, with one issuer key and one
// OTP key, as a deployment does; edit, when not nil, changes each handler's
// Config.
func newReplicas(t *testing.T, dsn string, n int, issuer *testkeys.Key, edit func(*userinfo.Config)) []*replica {
	t.Helper()
	keys, err := accesstoken.NewStaticKeySet(testkeys.JWKS(issuer))
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: keys, Issuer: replicaIssuer, Audience: []string{replicaAudience}})
	if err != nil {
		t.Fatal(err)
	}
	otpKey := otp.GenerateKey()
	var rs []*replica
	for range n {
		r := &replica{store: open(t, dsn), sender: &otp.RecordingSender{}}
		reg, err := userinfo.NewRegistry(userinfo.RegistryConfig{})
		if err != nil {
			t.Fatal(err)
		}
		// Many users ask for codes for one address here: lift the
		// per-address limit.
		r.otp, err = otp.New(otp.Config{Store: r.store.OTP(), Sender: r.sender, Registry: reg, Key: otpKey, TargetLimit: 100})
		if err != nil {
			t.Fatal(err)
		}
		cfg := userinfo.Config{Tokens: verifier, Store: r.store, OTP: r.otp}
		if edit != nil {
			edit(&cfg)
		}
		h, err := userinfo.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		r.Server = httptest.NewServer(h)
		t.Cleanup(r.Close)
		rs = append(rs, r)
	}
	return rs
}

// code sends a code for an email change through r and returns its
// otp_token and the code the user received.
func (r *replica) code(t *testing.T, sub, email string) (otpToken, code string) {
	t.Helper()
	otpToken, err := r.otp.Send(context.Background(), sub, userinfo.ChannelEmail, email, userinfo.PurposeUpdateUserinfo)
	if err != nil {
		t.Fatalf("Send(%s, %s): %v", sub, email, err)
	}
	for _, m := range r.sender.Messages() {
		if m.Token == otpToken {
			return otpToken, m.Code
		}
	}
	t.Fatalf("no code delivered for %s", email)
	return "", ""
}

// patchEmail sends PATCH /userinfo changing the email of the token's user
// and returns the status and the "error" of the answer.
func (r *replica) patchEmail(token, email, otpToken, code string) (int, string, error) {
	return r.patch(token, fmt.Sprintf(`{"email":%q,"email_otp_token":%q,"email_otp":%q}`, email, otpToken, code))
}

// patch sends PATCH /userinfo with body and returns the status and the
// "error" of the answer.
func (r *replica) patch(token, body string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPatch, r.URL+"/userinfo", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.Client().Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return 0, "", fmt.Errorf("body %q: %v", data, err)
	}
	e, _ := m["error"].(string)
	return resp.StatusCode, e, nil
}

func token(t *testing.T, key *testkeys.Key, sub string) string {
	t.Helper()
	tok, err := key.Sign(map[string]any{"iss": replicaIssuer, "aud": replicaAudience, "sub": sub, "scope": "openid",
		"exp": time.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestReplicaHandlers runs PATCH /userinfo through two handlers, each with
// its own pool, on one PostgreSQL database: of many users who claim one
// email address (each with a good code of their own) at once through both,
// exactly one gets it; and of many requests redeeming one code at once
// through both, exactly one succeeds.
func TestReplicaHandlers(t *testing.T) {
	dsn := testDSN(t)
	issuer := testkeys.MustNew("ES256")
	rs := newReplicas(t, dsn, 2, issuer, nil)
	ctx := context.Background()

	t.Run("UniqueEmail", func(t *testing.T) {
		const n = 10
		type claim struct{ sub, email, token, otpToken, code string }
		claims := make([]claim, n)
		for i := range n {
			c := claim{sub: fmt.Sprint("race", i), email: caseOf("race@example.com", i)}
			if _, err := rs[0].store.Put(ctx, c.sub, map[string]any{"email": c.sub + "@example.com", "nickname": c.sub}); err != nil {
				t.Fatal(err)
			}
			c.token = token(t, issuer, c.sub)
			c.otpToken, c.code = rs[i%2].code(t, c.sub, c.email)
			claims[i] = c
		}
		results := make([]string, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, c := range claims {
			wg.Go(func() {
				<-start
				status, e, err := rs[(i+1)%2].patchEmail(c.token, c.email, c.otpToken, c.code)
				if err != nil {
					t.Errorf("PATCH by %s: %v", c.sub, err)
				}
				results[i] = fmt.Sprint(status, " ", e)
			})
		}
		close(start)
		wg.Wait()
		counts := map[string]int{}
		for _, r := range results {
			counts[r]++
		}
		if counts["200 "] != 1 || counts["400 duplicate_email"] != n-1 {
			t.Errorf("%d users claiming one address through two replicas: answers %v, want one 200 and %d 400 duplicate_email", n, counts, n-1)
		}
		holders := 0
		for _, c := range claims {
			u, err := rs[1].store.GetUser(ctx, c.sub)
			if err != nil {
				t.Fatal(err)
			}
			if e, _ := u.Attributes["email"].(string); strings.EqualFold(e, "race@example.com") {
				holders++
			}
		}
		if holders != 1 {
			t.Errorf("after the race, %d users hold the address, want 1", holders)
		}
	})

	t.Run("SingleRedemption", func(t *testing.T) {
		if _, err := rs[0].store.Put(ctx, "once", map[string]any{"email": "once@example.com"}); err != nil {
			t.Fatal(err)
		}
		tok := token(t, issuer, "once")
		otpToken, code := rs[0].code(t, "once", "moved@example.com")
		const n = 20
		var (
			mu     sync.Mutex
			counts = map[string]int{}
			wg     sync.WaitGroup
		)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				status, e, err := rs[i%2].patchEmail(tok, "moved@example.com", otpToken, code)
				if err != nil {
					t.Errorf("PATCH: %v", err)
				}
				mu.Lock()
				counts[fmt.Sprint(status, " ", e)]++
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		if counts["200 "] != 1 || counts["400 bad_email_otp_token"] != n-1 {
			t.Errorf("%d requests redeeming one code through two replicas: answers %v, want one 200 and %d 400 bad_email_otp_token", n, counts, n-1)
		}
	})
}

// caseOf returns s in the i-th of a few letter cases.
func caseOf(s string, i int) string {
	switch i % 3 {
	case 1:
		return strings.ToUpper(s)
	case 2:
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}
