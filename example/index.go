package main

import (
	"net/http"
	"strings"
)

// indexHandler serves GET /: a short guide to the endpoints, as plain text.
func indexHandler(dev bool) http.Handler {
	var b strings.Builder
	b.WriteString(`userinfo example server

  GET   /userinfo          the claims of the token's user (OpenID Connect UserInfo)
  PATCH /userinfo          change them: {"nickname":"…"}
  POST  /otp/send          send a code to a new address: {"usage":"update_userinfo","email":"…"}
  GET   /userinfo/schema   the JSON Schema of a PATCH body
  GET   /account           the account page: sign in, see and edit the profile in a browser
  GET   /openapi.json      the OpenAPI 3.1 description of these endpoints
  GET   /healthz           200 while the process lives
  GET   /readyz            200 once the store answers and a key set is loaded, else 503
`)
	if dev {
		b.WriteString(`
Development issuer (never expose it):
  POST  /dev/token               mint a token: {"sub":"demo","scope":"openid profile email phone"}
  GET   /.well-known/jwks.json   its public keys
`)
	}
	page := b.String()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(page))
	})
}
