package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/accesstoken"
	"github.com/ciamkit/userinfo/internal/testkeys"
)

// Defaults of the development issuer.
const (
	// devIssuerName is the "iss" of development tokens when -issuer is not set.
	devIssuerName = "urn:ciamkit:userinfo:example-dev"
	// devAudience is the "aud" of development tokens when -audience is
	// not set.
	devAudience = "urn:ciamkit:userinfo:example-api"
	devSubject  = demoSubject
	devScope    = "openid profile email phone"
	devClientID = "example-dev"
	devTokenTTL = time.Hour
	maxTokenTTL = 24 * time.Hour
)

// devIssuer is the example's own token issuer, for development: it holds an
// ES256 key made at start, publishes its JWK Set and signs access tokens on
// request. Its tokens are checked by the same JWT verifier as those of a real
// issuer. On PostgreSQL its key is kept in the database, so that replicas
// accept each other's tokens; elsewhere it lives in memory and tokens do not
// survive a restart.
//
// Anyone who can reach POST /dev/token can act as any user: never expose it.
type devIssuer struct {
	key      *testkeys.Key
	jwks     []byte
	issuer   string
	audience string
	now      func() time.Time
}

func newDevIssuer(ctx context.Context, b *backend, issuer, audience string, now func() time.Time) (*devIssuer, error) {
	key, err := testkeys.New("ES256")
	if err != nil {
		return nil, err
	}
	if b.secret != nil {
		der, err := b.secret(ctx, "example dev issuer ES256 key", func() ([]byte, error) { return key.PKCS8() })
		if err != nil {
			return nil, fmt.Errorf("development issuer key: %w", err)
		}
		if key, err = testkeys.ParsePKCS8("ES256", der); err != nil {
			return nil, fmt.Errorf("development issuer key: %w", err)
		}
	}
	if issuer == "" {
		issuer = devIssuerName
	}
	if audience == "" {
		audience = devAudience
	}
	return &devIssuer{key: key, jwks: testkeys.JWKS(key), issuer: issuer, audience: audience, now: now}, nil
}

// keySet returns the issuer's public keys, for the verifier.
func (d *devIssuer) keySet() (accesstoken.KeySet, error) { return accesstoken.NewStaticKeySet(d.jwks) }

// jwksHandler serves GET /.well-known/jwks.json.
func (d *devIssuer) jwksHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Content-Length", strconv.Itoa(len(d.jwks)))
		_, _ = w.Write(d.jwks)
	})
}

// tokenRequest is the body of POST /dev/token. Every member is optional.
type tokenRequest struct {
	Sub       string `json:"sub"`
	Scope     string `json:"scope"`
	ClientID  string `json:"client_id"`
	ExpiresIn int64  `json:"expires_in"`
	// AuthTime is the token's auth_time, Unix seconds: when the user
	// authenticated. Default: now. An older one shows step-up.
	AuthTime int64 `json:"auth_time"`
	// JKT binds the token to a DPoP key: its cnf.jkt (RFC 9449 §6.1).
	JKT string `json:"jkt"`
}

// tokenHandler serves POST /dev/token: {"sub":"u1","scope":"openid profile"}
// is answered {"access_token":…,"token_type":"Bearer","expires_in":3600,…}.
// Defaults: sub "demo", the scope "openid profile email phone", client
// "example-dev", one hour, auth_time now. "auth_time" sets another one;
// "jkt" binds the token to a DPoP key (token_type "DPoP").
func (d *devIssuer) tokenHandler() http.Handler {
	return userinfo.Endpoint{Methods: map[string]userinfo.HandlerFunc{http.MethodPost: d.serveToken}}
}

func (d *devIssuer) serveToken(w http.ResponseWriter, r *http.Request) error {
	req := tokenRequest{}
	if err := decodeJSONBody(w, r, &req); err != nil {
		return err
	}
	if req.Sub == "" {
		req.Sub = devSubject
	}
	if req.Scope == "" {
		req.Scope = devScope
	}
	if req.ClientID == "" {
		req.ClientID = devClientID
	}
	ttl := devTokenTTL
	if req.ExpiresIn != 0 {
		ttl = time.Duration(req.ExpiresIn) * time.Second
	}
	if ttl <= 0 || ttl > maxTokenTTL {
		return userinfo.NewError(http.StatusBadRequest, userinfo.CodeInvalidRequest, "expires_in must be between 1 and 86400.")
	}
	now := d.now()
	authTime := now.Unix()
	if req.AuthTime != 0 {
		authTime = req.AuthTime
	}
	claims := map[string]any{
		"iss":       d.issuer,
		"sub":       req.Sub,
		"scope":     req.Scope,
		"client_id": req.ClientID,
		"iat":       now.Unix(),
		"exp":       now.Add(ttl).Unix(),
		"auth_time": authTime,
	}
	tokenType := userinfo.SchemeBearer
	if req.JKT != "" {
		claims["cnf"] = map[string]any{"jkt": req.JKT}
		tokenType = userinfo.SchemeDPoP
	}
	claims["aud"] = d.audience
	token, err := d.key.Sign(claims)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": token,
		"token_type":   tokenType,
		"expires_in":   int64(ttl / time.Second),
		"scope":        req.Scope,
	})
	return nil
}

// decodeJSONBody decodes a small JSON object body into v; an empty body
// leaves v as it is. The Content-Type is not looked at, so that a bare
// curl -d works.
func decodeJSONBody(w http.ResponseWriter, r *http.Request, v any) error {
	bad := func(desc string) error {
		return userinfo.NewError(http.StatusBadRequest, userinfo.CodeInvalidRequest, desc)
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<10))
	if err != nil {
		return bad("The request body is too large or unreadable.")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bad("The request body is not a valid JSON object of the expected members.")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return bad("The request body has data after the JSON object.")
	}
	return nil
}

// writeJSON writes v as a JSON response that is never cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		userinfo.WriteError(w, err)
		return
	}
	data = append(data, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	_, _ = w.Write(data)
}
