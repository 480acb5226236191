package accesstoken

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
)

// FuzzVerifiedClaims holds the claims of a verified token equal to what
// json.Unmarshal decodes from its payload into a map[string]any, and a
// payload that json.Unmarshal refuses to a refused token: the verifier's
// own decoder of flat claims must not change what a token says.
func FuzzVerifiedClaims(f *testing.F) {
	for _, s := range []string{
		`{"iss":"https://iss","aud":"api","sub":"u1","exp":4102444800,"scope":"openid","cnf":{"jkt":"x"},"n":1.5e3}`,
		`{"iss":"https://iss","aud":["api","b"],"sub":"u\u00e9\ud83d\ude00","exp":4102444800,"x":[1,{"y":null}],"t":true}`,
		`{"iss":"https://iss","aud":"api","sub":"u1","exp":4102444800,"big":1e400}`,
		`{"iss":"https://iss","aud":"api","sub":"u1","exp":4102444800} x`,
		"{\"iss\":\"https://iss\",\"aud\":\"api\",\"sub\":\"\xff\",\"exp\":4102444800}",
	} {
		f.Add([]byte(s))
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	v, err := NewJWTVerifier(JWTConfig{HMACSecret: secret, Issuer: "https://iss", Audience: []string{"api"},
		Now: func() time.Time { return time.Unix(1700000000, 0) }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		input := b64.EncodeToString([]byte(`{"alg":"HS256"}`)) + "." + b64.EncodeToString(payload)
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(input))
		token := input + "." + b64.EncodeToString(m.Sum(nil))
		p, err := v.VerifyToken(context.Background(), token)
		var want map[string]any
		if json.Unmarshal(payload, &want) != nil || want == nil {
			if err == nil {
				t.Fatalf("payload %q, which json.Unmarshal refuses, verified: %#v", payload, p.Claims)
			}
			return
		}
		if err != nil {
			if !errors.Is(err, userinfo.ErrInvalidToken) {
				t.Fatalf("payload %q: %v", payload, err)
			}
			return
		}
		if !reflect.DeepEqual(p.Claims, want) {
			t.Fatalf("payload %q: claims %#v, json.Unmarshal %#v", payload, p.Claims, want)
		}
	})
}
