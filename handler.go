package userinfo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ciamkit/userinfo/internal/attrjson"
)

// DefaultMaxBodyBytes is the default limit of a PATCH body: 64 KiB.
const DefaultMaxBodyBytes = 64 << 10

// DefaultRequestTimeout is the default of [Config.RequestTimeout].
const DefaultRequestTimeout = 10 * time.Second

// Config configures a [Handler]. The zero value of every optional field is
// its default.
type Config struct {
	// Tokens verifies access tokens. Required.
	Tokens TokenVerifier
	// Scope is the scope every access token must carry. Default: "openid".
	Scope string
	// Realm, when set, is the realm of WWW-Authenticate challenges.
	Realm string
	// StepUp is the step-up authentication policy (RFC 9470) for changes of
	// email, phone_number and step_up attributes, and for the send endpoint
	// behind [Handler.Authenticator]. Default: off.
	StepUp StepUp
	// DPoP checks DPoP proofs (RFC 9449), so that sender-constrained tokens
	// are accepted; see [Authenticator]. Default: nil, Bearer tokens only.
	DPoP ProofVerifier
	// RequireDPoP refuses Bearer tokens. It needs DPoP.
	RequireDPoP bool
	// PublicURL is the URL clients reach the handler's mount point by,
	// which DPoP proofs name (htu): required with DPoP. See
	// [Authenticator.PublicURL].
	PublicURL string

	// Store holds the users. Required.
	Store UserStore

	// OTP redeems the one-time codes that email and phone-number changes
	// need. When nil, "email" and "phone_number" cannot be changed: a
	// request that tries is answered "Unsupported user attribute(s) found."
	OTP OTPVerifier

	// Policy decides which claims responses release and which attributes
	// the calling client may write. Default: AllClaims.
	Policy ClaimsPolicy

	// Registry holds the attributes a user has and their rules, built once
	// by [NewRegistry]. Give the same value to the OTP service (package
	// otp's Config.Registry), so that codes are only sent to addresses that
	// a PATCH accepts: an OTP verifier that reports a registry (a method
	// Registry() *Registry) must report this one. Default: the OTP
	// verifier's registry, else the standard claims with the default rules.
	Registry *Registry

	// MaxBodyBytes limits a PATCH body; a longer one is answered 413.
	// Default: DefaultMaxBodyBytes.
	MaxBodyBytes int64

	// RequestTimeout is the most a request may take: every call of the
	// token verifier, the store and the OTP verifier gets a context with
	// this deadline, and a call that misses it (its error wraps
	// context.DeadlineExceeded) is answered 503 temporarily_unavailable
	// with Retry-After, nothing written. Stores must honour the context
	// until their write begins to commit, and never let it cancel a commit
	// under way: they await its outcome (bounded by their own timeout) and
	// answer it, so that a 503 always means nothing was written. Keep it
	// below the server's WriteTimeout, with room for that commit. OnUpdate
	// runs outside the deadline. Default: DefaultRequestTimeout; negative:
	// no deadline.
	RequestTimeout time.Duration

	// OnUpdate, when set, is called after each successful write with what
	// changed, for audit logs and webhooks. It runs on the request's
	// goroutine before the response is written; slow work belongs on a
	// queue. It never sees codes or tokens. The change is stored when it
	// runs: a panic in it is logged and the answer is still 200.
	OnUpdate func(ctx context.Context, e UpdateEvent)

	// Logger receives server-side failures (store and OTP errors, panics)
	// at error level and the causes of refused requests at debug level. No
	// token, otp_token or code is ever logged. Default: no logging.
	Logger *slog.Logger

	// Now is the clock. Default: time.Now.
	Now func() time.Time

	// TracerProvider makes the spans of the handler and of its
	// [Authenticator]: one server span per request (named "PATCH
	// /userinfo", "GET /userinfo"; "POST /otp/send" and the like through
	// [Authenticator.Middleware]) with children for the token verification
	// and the store calls. Attributes come from bounded sets only (method,
	// status, route, the seed's error code, the store operation), never a
	// token, code, otp_token, address or subject. Default: the global
	// provider, otel.GetTracerProvider(), a no-op until the server sets one.
	TracerProvider trace.TracerProvider
	// MeterProvider makes the handler's instruments, once, in New:
	// userinfo.requests (counter) and userinfo.request.duration (histogram,
	// seconds) by http.request.method, http.route,
	// http.response.status_code and userinfo.error; userinfo.store.duration
	// (histogram, seconds) by userinfo.store.operation (get, update).
	// Default: the global provider, otel.GetMeterProvider(), a no-op until
	// the server sets one.
	MeterProvider metric.MeterProvider
}

// UpdateEvent describes one successful change of a user, for
// [Config.OnUpdate].
type UpdateEvent struct {
	// Subject is the user who changed.
	Subject string
	// ClientID is the OAuth client that made the change, if known.
	ClientID string
	// Set holds the new values of the attributes that were set.
	Set map[string]any
	// Removed names the attributes that were removed.
	Removed []string
	// Previous holds the values that the set or removed attributes had
	// before, when they had one (the old email, say, to notify it).
	Previous map[string]any
	// Version is the user's version after the change.
	Version uint64
	// At is the time of the change.
	At time.Time
}

// Handler serves GET and PATCH /userinfo. Build it with [New]; it is safe for
// concurrent use.
type Handler struct {
	auth     *Authenticator
	store    UserStore
	otp      OTPVerifier
	policy   ClaimsPolicy
	registry *Registry
	maxBody  int64
	onUpdate func(context.Context, UpdateEvent)
	logger   *slog.Logger
	now      func() time.Time
	endpoint Endpoint
	tel      *telemetry
}

// New returns a Handler for cfg. It fails when a required field is missing or
// the handler and the OTP verifier would use different registries.
//
// Mount it on the path of the userinfo endpoint, and the schema beside it:
//
//	mux.Handle("/userinfo", h)
//	mux.Handle("/userinfo/schema", h.SchemaHandler())
func New(cfg Config) (*Handler, error) {
	if cfg.Tokens == nil {
		return nil, errors.New("userinfo: Config.Tokens is required")
	}
	if cfg.Store == nil {
		return nil, errors.New("userinfo: Config.Store is required")
	}
	switch {
	case cfg.RequireDPoP && cfg.DPoP == nil:
		return nil, errors.New("userinfo: Config.RequireDPoP needs Config.DPoP")
	case cfg.DPoP != nil && cfg.PublicURL == "":
		return nil, errors.New("userinfo: Config.DPoP needs Config.PublicURL, the URL clients reach the handler by")
	case cfg.StepUp.MaxAge < 0 || cfg.StepUp.ClockSkew < 0:
		return nil, errors.New("userinfo: Config.StepUp durations must not be negative")
	}
	reg, err := handlerRegistry(cfg)
	if err != nil {
		return nil, err
	}
	tel := newTelemetry(cfg.TracerProvider, cfg.MeterProvider)
	h := &Handler{
		auth: &Authenticator{Verifier: cfg.Tokens, Scope: cfg.Scope, Realm: cfg.Realm,
			DPoP: cfg.DPoP, RequireDPoP: cfg.RequireDPoP, PublicURL: cfg.PublicURL,
			StepUp: cfg.StepUp, Logger: cfg.Logger, Now: cfg.Now, tel: tel},
		tel:      tel,
		store:    cfg.Store,
		otp:      cfg.OTP,
		policy:   cfg.Policy,
		registry: reg,
		maxBody:  cfg.MaxBodyBytes,
		onUpdate: cfg.OnUpdate,
		logger:   logOf(cfg.Logger),
		now:      cfg.Now,
	}
	if h.policy == nil {
		h.policy = AllClaims
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.now == nil {
		h.now = time.Now
	}
	timeout := cfg.RequestTimeout
	if timeout == 0 {
		timeout = DefaultRequestTimeout
	}
	h.endpoint = Endpoint{Logger: cfg.Logger, Timeout: timeout, Methods: map[string]HandlerFunc{
		http.MethodGet:   h.serveGet,
		http.MethodPatch: h.servePatch,
	}}
	return h, nil
}

// handlerRegistry returns the registry of cfg: Config.Registry, the OTP
// verifier's, or the default one.
func handlerRegistry(cfg Config) (*Registry, error) {
	reg := cfg.Registry
	if o, ok := cfg.OTP.(interface{ Registry() *Registry }); ok && o.Registry() != nil {
		switch {
		case reg == nil:
			reg = o.Registry()
		case reg != o.Registry():
			return nil, errors.New("userinfo: Config.Registry is not the OTP verifier's registry: build one with NewRegistry and give it to both")
		}
	}
	if reg == nil {
		return NewRegistry(RegistryConfig{})
	}
	return reg, nil
}

// Ready reports whether the handler can serve requests now, for a readiness
// probe (such as GET /readyz): nil when the user store answers and the token
// verifier has its keys. It asks only what can answer:
//
//   - Config.Store, when it has a method Ping(ctx context.Context) error
//     (the stores of package sqlstore and [MemoryStore] have it);
//   - Config.Tokens, when it has a method Ready(ctx context.Context) error
//     (as accesstoken.RemoteKeySet has: wrap the verifier to forward it).
//
// Anything else counts as ready. The first error is returned, wrapped; it may
// name a host, so answer a probe with the status only. Give ctx a deadline:
// a Ready method may wait for it.
func (h *Handler) Ready(ctx context.Context) error {
	if p, ok := h.store.(interface{ Ping(context.Context) error }); ok {
		if err := p.Ping(ctx); err != nil {
			return fmt.Errorf("userinfo: the user store does not answer: %w", err)
		}
	}
	if r, ok := h.auth.Verifier.(interface{ Ready(context.Context) error }); ok {
		if err := r.Ready(ctx); err != nil {
			return fmt.Errorf("userinfo: the token verifier is not ready: %w", err)
		}
	}
	return nil
}

// Authenticator returns the handler's bearer-token authenticator, so that
// other endpoints of the server (such as the OTP send endpoint) can share it.
func (h *Handler) Authenticator() *Authenticator { return h.auth }

// Registry returns the handler's attribute registry.
func (h *Handler) Registry() *Registry { return h.registry }

// SchemaHandler returns a handler that serves the JSON Schema of a PATCH
// body, generated from the registry.
func (h *Handler) SchemaHandler() http.Handler {
	return serveDocument("application/schema+json", h.registry.Schema())
}

// serveDocument returns a handler that serves doc to GET and HEAD; other
// methods get 405.
func serveDocument(contentType string, doc []byte) http.Handler {
	return Endpoint{Methods: map[string]HandlerFunc{http.MethodGet: func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(doc)
		}
		return nil
	}}}
}

// ServeHTTP answers GET, HEAD and PATCH; other methods get 405 with Allow.
// It serves as every [Endpoint] does.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.tel.serve(w, r, "/userinfo", h.endpoint.ServeHTTP)
}

func (h *Handler) serveGet(w http.ResponseWriter, r *http.Request) error {
	p, u, err := h.get(r)
	if err != nil {
		return err
	}
	if noneMatch(r.Header.Values("If-None-Match"), u.Version) {
		writeNotModified(w, u)
		return nil
	}
	return h.writeClaims(w, r, p, u)
}

// noneMatch reports whether If-None-Match, the values of the header, holds
// the user's current entity tag of version (RFC 9110 §13.1.2): "*", or a
// list of entity tags one of which is the current one by the weak
// comparison (W/"3" matches "3"). A malformed list ends where it breaks:
// the tags before count, nothing after does.
func noneMatch(values []string, version uint64) bool {
	for _, v := range values {
		for v != "" {
			v = strings.TrimLeft(v, " \t,")
			if v == "" {
				break
			}
			if v[0] == '*' {
				return true
			}
			v = strings.TrimPrefix(v, "W/")
			if v == "" || v[0] != '"' {
				break
			}
			end := strings.IndexByte(v[1:], '"')
			if end < 0 {
				break
			}
			if v[1:1+end] == strconv.FormatUint(version, 10) {
				return true
			}
			v = v[2+end:]
		}
	}
	return false
}

// writeNotModified answers a GET or HEAD whose If-None-Match holds the
// current entity tag: 304, no body, with the headers a 200 would have that
// concern caching (RFC 9110 §15.4.5).
func writeNotModified(w http.ResponseWriter, u *User) {
	hdr := w.Header()
	hdr.Set("ETag", etag(u.Version))
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusNotModified)
}

func (h *Handler) servePatch(w http.ResponseWriter, r *http.Request) error {
	p, u, err := h.patch(w, r)
	if err != nil {
		return err
	}
	return h.writeClaims(w, r, p, u)
}

// get authenticates r and reads its user.
func (h *Handler) get(r *http.Request) (*Principal, *User, error) {
	p, err := h.auth.Authenticate(r)
	if err != nil {
		return nil, nil, err
	}
	u, err := h.user(r.Context(), p.Subject)
	return p, u, err
}

// user reads the user, mapping the store's errors.
func (h *Handler) user(ctx context.Context, subject string) (*User, error) {
	sctx, done := h.tel.storeCall(ctx, "get")
	u, err := h.store.GetUser(sctx, subject)
	done(err)
	if err != nil {
		return nil, storeError(err)
	}
	return u, nil
}

// storeError maps an error of a UserStore to its answer: an *Error (such as
// a redemption's, passed on by a RedeemingStore) as it is, the sentinels of
// store.go to their seed codes, anything else to 500 server_error.
func storeError(err error) error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return err
	case errors.Is(err, ErrUserNotFound):
		return &Error{Status: http.StatusNotFound, Code: CodeUserNotFound, Description: descUserNotFound}
	case errors.Is(err, ErrVersionConflict):
		return &Error{Status: http.StatusPreconditionFailed, Code: CodePreconditionFailed, Description: descPreconditionFailed}
	case errors.Is(err, ErrDuplicateEmail):
		return errBadRequest(CodeDuplicateEmail, "")
	case errors.Is(err, ErrDuplicatePhoneNumber):
		return errBadRequest(CodeDuplicatePhoneNumber, "")
	}
	return errServer(err)
}

// patch runs the contract's checks in order and applies the change.
func (h *Handler) patch(w http.ResponseWriter, r *http.Request) (*Principal, *User, error) {
	ctx := r.Context()
	au, err := h.auth.authenticate(r)
	if err != nil {
		return nil, nil, err
	}
	p := au.p
	body, err := ReadJSONObject(w, r, h.maxBody, MediaTypeJSON, MediaTypeMergePatch)
	if err != nil {
		return nil, nil, err
	}
	cur, err := h.user(ctx, p.Subject)
	if err != nil {
		return nil, nil, err
	}

	// 1. Unknown keys.
	for name := range body {
		if !h.registry.known(name) {
			return nil, nil, errInvalidRequest(descUnknownAttributes)
		}
	}
	// 2. Known but not writable, by the registry or for this client.
	for name := range body {
		if !h.mayWrite(ctx, p, name) {
			return nil, nil, errInvalidRequest(descUnsupportedAttributes)
		}
	}
	// 3. Email and phone: no null, and the code's fields come together.
	verify := make([]Channel, 0, len(channels))
	for _, ch := range channels {
		v, sent := body[ch.Attribute]
		if sent && v == nil {
			return nil, nil, errBadRequest(CodeIllegalParameterValue, fmt.Sprintf("Invalid value for attribute %q.", ch.Attribute))
		}
		_, hasToken := body[ch.TokenParam]
		_, hasCode := body[ch.CodeParam]
		switch {
		case !sent && (hasToken || hasCode):
			return nil, nil, errInvalidRequest(fmt.Sprintf("Missing parameter: %s.", ch.Attribute))
		case !sent:
			continue
		case !hasToken && !hasCode && h.isCurrent(ch, v, cur):
			delete(body, ch.Attribute) // the current value without a code: nothing to do
			continue
		case !hasToken:
			return nil, nil, errInvalidRequest(fmt.Sprintf("Missing parameter: %s.", ch.TokenParam))
		case !hasCode:
			return nil, nil, errInvalidRequest(fmt.Sprintf("Missing parameter: %s.", ch.CodeParam))
		}
		verify = append(verify, ch)
	}
	// 4 and 5. Every value against its rule.
	body, err = h.registry.validate(body)
	if err != nil {
		return nil, nil, err
	}
	// Step-up, before If-Match and before any code is spent: for codes to
	// redeem (also for the current value) and for step_up attributes.
	needsStepUp := len(verify) > 0
	for name := range body {
		needsStepUp = needsStepUp || h.registry.stepUp(name)
	}
	if needsStepUp {
		if err := h.auth.StepUp.check(au); err != nil {
			return nil, nil, err
		}
	}
	// If-Match, before any code is spent.
	ifVersion, err := checkIfMatch(r, cur)
	if err != nil {
		return nil, nil, err
	}
	// 6. The codes: every one is checked before any is spent, so that a
	// right code beside a wrong one is not lost.
	rs := make([]Redemption, 0, len(verify))
	for _, ch := range verify {
		r, err := h.check(ctx, p, ch, body)
		if err != nil {
			return nil, nil, err
		}
		rs = append(rs, channelRedemption{r: r, ch: ch})
	}

	up := Update{Subject: p.Subject, IfVersion: ifVersion, Set: map[string]any{}, Now: h.now()}
	for name, v := range body {
		switch {
		case isOTPField(name):
		case v == nil:
			up.Remove = append(up.Remove, name)
		default:
			up.Set[name] = v
		}
	}
	for _, ch := range verify {
		up.Set[ch.VerifiedClaim] = true
	}
	slices.Sort(up.Remove)
	wctx := ctx
	if len(verify) > 0 {
		// A code is to be spent: a client that goes away now must not lose
		// the change that the code paid for. The request's deadline still
		// holds.
		var cancel context.CancelFunc
		wctx, cancel = context.WithoutCancel(ctx), func() {}
		if d, ok := ctx.Deadline(); ok {
			wctx, cancel = context.WithDeadline(wctx, d)
		}
		defer cancel()
	}
	// 7 and 8. One atomic write; the store enforces uniqueness.
	before, next, err := h.write(wctx, cur, up, ifVersion != 0, rs)
	if err != nil {
		return nil, nil, err
	}
	if next != before && h.onUpdate != nil {
		// The change is stored: the hook runs outside the request's
		// deadline, and even when the client has gone.
		h.notify(context.WithoutCancel(ctx), updateEvent(p, before, up, next))
	}
	return p, next, nil
}

// maxWriteAttempts bounds the conditional writes of one request.
const maxWriteAttempts = 8

// write applies up to the user read as cur, spending the codes of rs with
// it, and returns the user as the write found it and as it left it (both
// cur, when up changes nothing). With the client's If-Match (conditional),
// up.IfVersion holds and a conflict is the answer. Without it, the write is
// still conditional on the version last read, re-reading on a conflict, so
// that the update event's previous values are the ones the write replaced;
// after maxWriteAttempts conflicts it writes unconditionally.
//
// A [RedeemingStore] spends the codes with the write, on the attempt that
// succeeds; any other store gets them spent here, once, before the first
// attempt. A [SwappingStore] does it all in one write, which returns the
// user it replaced.
func (h *Handler) write(ctx context.Context, cur *User, up Update, conditional bool, rs []Redemption) (before, next *User, err error) {
	rst, redeeming := h.store.(RedeemingStore)
	if len(rs) > 0 && (!redeeming || unchanged(cur, up)) {
		if err := RedeemAll(ctx, rs); err != nil {
			return nil, nil, err
		}
		rs = nil
	}
	if sw, ok := h.store.(SwappingStore); ok {
		if len(rs) == 0 && unchanged(cur, up) {
			return cur, cur, nil
		}
		sctx, done := h.tel.storeCall(ctx, "update")
		before, next, err = sw.SwapUser(sctx, up, rs)
		done(err)
		if err != nil {
			return nil, nil, storeError(err)
		}
		return before, next, nil
	}
	for attempt := 1; ; attempt++ {
		if len(rs) == 0 && unchanged(cur, up) {
			return cur, cur, nil
		}
		if !conditional {
			up.IfVersion = cur.Version
			if attempt > maxWriteAttempts {
				up.IfVersion = 0
			}
		}
		sctx, done := h.tel.storeCall(ctx, "update")
		if len(rs) > 0 {
			next, err = rst.UpdateUserRedeeming(sctx, up, rs)
		} else {
			next, err = h.store.UpdateUser(sctx, up)
		}
		done(err)
		switch {
		case err == nil:
			return cur, next, nil
		case conditional || !errors.Is(err, ErrVersionConflict):
			return nil, nil, storeError(err)
		}
		if cur, err = h.user(ctx, up.Subject); err != nil {
			return nil, nil, err
		}
	}
}

// notify calls OnUpdate. The change is stored by then, so a panic in the
// hook is logged and does not change the answer.
func (h *Handler) notify(ctx context.Context, e UpdateEvent) {
	defer func() {
		if v := recover(); v != nil {
			h.logger.ErrorContext(ctx, "userinfo: OnUpdate panicked after the change was stored",
				"panic_type", fmt.Sprintf("%T", v), "stack", string(debug.Stack()))
		}
	}()
	h.onUpdate(ctx, e)
}

// mayWrite reports whether p may send the request field name.
func (h *Handler) mayWrite(ctx context.Context, p *Principal, name string) bool {
	if isOTPField(name) {
		return true
	}
	if !h.registry.writable(name) {
		return false
	}
	if _, needsCode := channelOf(name); needsCode && h.otp == nil {
		return false
	}
	return h.policy.Allow(ctx, p, WriteAttribute, name)
}

// check checks the code of channel ch without spending it; the new value
// is body[ch.Attribute].
func (h *Handler) check(ctx context.Context, p *Principal, ch Channel, body map[string]any) (Redemption, error) {
	target, _ := body[ch.Attribute].(string)
	token, _ := body[ch.TokenParam].(string)
	code, _ := body[ch.CodeParam].(string)
	r, err := h.otp.CheckOTP(ctx, OTPCheck{Subject: p.Subject, Channel: ch.Name, Target: target,
		Purpose: PurposeUpdateUserinfo, Token: token, Code: code})
	if err == nil && r == nil {
		err = errors.New("userinfo: OTPVerifier.CheckOTP returned neither a redemption nor an error")
	}
	if err != nil {
		return nil, otpError(ch, err)
	}
	return r, nil
}

// isCurrent reports whether v, a value sent for ch's attribute, is the
// user's current one: equal to it, or a spelling of it that is stored as it
// (+8613612345678 sent as 13612345678).
func (h *Handler) isCurrent(ch Channel, v any, cur *User) bool {
	if reflect.DeepEqual(v, cur.Attributes[ch.Attribute]) {
		return true
	}
	s, ok := v.(string)
	if !ok {
		return false
	}
	n, err := h.registry.NormalizeAddress(ch.Name, s)
	return err == nil && n == cur.Attributes[ch.Attribute]
}

// channelOf returns the channel whose codes pay for a change of attribute.
func channelOf(attribute string) (Channel, bool) {
	for _, ch := range channels {
		if ch.Attribute == attribute {
			return ch, true
		}
	}
	return Channel{}, false
}

// checkIfMatch evaluates If-Match (RFC 9110 §13.1.1, strong comparison)
// against the user's current version and returns the version that the
// write must still find.
func checkIfMatch(r *http.Request, cur *User) (uint64, error) {
	values := r.Header.Values("If-Match")
	if len(values) == 0 {
		return 0, nil
	}
	current := etag(cur.Version)
	for _, v := range values {
		for _, tag := range strings.Split(v, ",") {
			switch strings.TrimSpace(tag) {
			case "*":
				// True whenever the user exists (RFC 9110 §13.1.1),
				// whatever its version: the write is not conditional.
				return 0, nil
			case current:
				return cur.Version, nil
			}
		}
	}
	return 0, storeError(ErrVersionConflict)
}

// etag is the strong entity tag of a user version.
func etag(version uint64) string {
	return `"` + strconv.FormatUint(version, 10) + `"`
}

// unchanged reports whether applying up to u would change nothing.
func unchanged(u *User, up Update) bool {
	for _, name := range up.Remove {
		if _, ok := u.Attributes[name]; ok {
			return false
		}
	}
	for name, v := range up.Set {
		if !reflect.DeepEqual(u.Attributes[name], v) {
			return false
		}
	}
	return true
}

func updateEvent(p *Principal, before *User, up Update, after *User) UpdateEvent {
	e := UpdateEvent{Subject: p.Subject, ClientID: p.ClientID, Set: maps.Clone(up.Set),
		Removed: slices.Clone(up.Remove), Previous: map[string]any{}, Version: after.Version, At: after.UpdatedAt}
	for _, name := range slices.Concat(slices.Collect(maps.Keys(up.Set)), up.Remove) {
		if v, ok := before.Attributes[name]; ok {
			e.Previous[name] = v
		}
	}
	return e
}

// appendClaims appends the JSON object of the claims of u that the policy
// releases to p, as json.Marshal writes a map of them: the released
// attributes, "updated_at" (when u has a time and the policy releases it)
// and "sub", which replace attributes of those names; keys sorted.
func (h *Handler) appendClaims(buf []byte, ctx context.Context, p *Principal, u *User) ([]byte, error) {
	np := attrjson.GetNames()
	defer attrjson.PutNames(np)
	names := *np
	withTime := !u.UpdatedAt.IsZero() && h.policy.Allow(ctx, p, ReleaseClaim, "updated_at")
	for name := range u.Attributes {
		if name == "sub" || name == "updated_at" && withTime {
			continue
		}
		if h.policy.Allow(ctx, p, ReleaseClaim, name) {
			names = append(names, name)
		}
	}
	if withTime {
		names = append(names, "updated_at")
	}
	names = append(names, "sub")
	slices.Sort(names)
	*np = names
	buf = append(buf, '{')
	for i, name := range names {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = attrjson.AppendString(buf, name, true)
		buf = append(buf, ':')
		switch {
		case name == "sub":
			buf = attrjson.AppendString(buf, u.Subject, true)
		case name == "updated_at" && withTime:
			buf = strconv.AppendInt(buf, u.UpdatedAt.Unix(), 10)
		default:
			var err error
			if buf, err = attrjson.AppendValue(buf, u.Attributes[name], true); err != nil {
				return nil, err
			}
		}
	}
	return append(buf, '}'), nil
}

// writeClaims writes the 200 response with u's released claims.
func (h *Handler) writeClaims(w http.ResponseWriter, r *http.Request, p *Principal, u *User) error {
	bp := attrjson.GetBuffer()
	defer attrjson.PutBuffer(bp)
	data, err := h.appendClaims(*bp, r.Context(), p, u)
	if err != nil {
		return errServer(err)
	}
	data = append(data, '\n')
	*bp = data
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Pragma", "no-cache")
	hdr.Set("ETag", etag(u.Version))
	hdr.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(data)
	}
	return nil
}
