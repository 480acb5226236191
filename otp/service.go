package otp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ciamkit/userinfo"
)

// Defaults of [Config].
const (
	DefaultTTL          = 5 * time.Minute
	DefaultMaxAttempts  = 5
	DefaultTargetLimit  = 5
	DefaultSubjectLimit = 10
	DefaultWindow       = 10 * time.Minute
	DefaultPurgeEvery   = time.Minute
	// MaxTTL bounds Config.TTL and Config.Window: a code or a counted send
	// must end at a time every store can keep.
	MaxTTL = 24 * time.Hour
	// MinKeyLen is the least length of Config.Key, in bytes.
	MinKeyLen = 32
)

// Config configures a [Service]. Store, Sender, Registry and Key are
// required; every other zero field takes its default.
type Config struct {
	// Store keeps codes and send counters. Replicas MUST share one store
	// (a SQL store); a MemoryStore serves one process only. Required.
	Store Store
	// Sender delivers codes and notices. Required.
	Sender Sender
	// Users, when set, is the handler's user store: a send for a subject it
	// does not hold (a deleted user whose token still lives) is answered
	// 404 user_not_found, and nothing is sent or counted. Set it to the
	// same store as userinfo.Config.Store. Default: none, no such check.
	Users userinfo.UserStore
	// Registry checks the addresses codes are sent to
	// ([userinfo.Registry.CheckAddress]). Give the handler the same value
	// (userinfo.Config.Registry, or leave that nil to take this one), so
	// that codes are only sent to addresses that a PATCH accepts. Required.
	Registry *userinfo.Registry
	// Key is the secret of the keyed hash (HMAC-SHA256) under which codes
	// are stored, at least MinKeyLen random bytes ([GenerateKey],
	// [LoadOrCreateKeyFile]). A 6-digit code has only a million values: a
	// plain or salted hash of it is reversed in a moment by anyone who reads
	// the store, and the key is what prevents that. Keep it out of the
	// database. Every replica MUST use the same key, or codes issued by one
	// fail on the others; changing it invalidates the codes in flight (at
	// most TTL old). Required.
	Key []byte
	// TTL is the lifetime of a code, at most MaxTTL. Default: DefaultTTL,
	// 5 minutes.
	TTL time.Duration
	// MaxAttempts is how many times a code may be tried; after that many
	// wrong codes its otp_token is dead. Default: DefaultMaxAttempts, 5.
	MaxAttempts int
	// TargetLimit is how many codes may be sent to one address (channel and
	// target) within Window, for all users together. Default:
	// DefaultTargetLimit, 5.
	TargetLimit int
	// SubjectLimit is how many codes one user may have sent within Window.
	// Default: DefaultSubjectLimit, 10.
	SubjectLimit int
	// Window is the sliding window of TargetLimit and SubjectLimit.
	// Default: DefaultWindow, 10 minutes.
	Window time.Duration
	// PurgeEvery is how often, at most, Send asks the store to purge expired
	// records and counters (Store.Purge), inline. Negative: never; the
	// embedding server then calls Service.Purge itself. Default:
	// DefaultPurgeEvery, 1 minute.
	PurgeEvery time.Duration

	// RequestTimeout is the most a request to [Service.SendHandler] may
	// take, as userinfo.Config.RequestTimeout: a store that misses it is
	// answered 503 temporarily_unavailable with Retry-After. Default:
	// userinfo.DefaultRequestTimeout; negative: no deadline.
	RequestTimeout time.Duration
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Logger receives failures and security events. Codes, otp_tokens and
	// addresses are never logged. Default: no logging.
	Logger *slog.Logger

	// TracerProvider makes the spans otp.send, otp.check and otp.redeem,
	// children of the request's, with the attributes userinfo.otp.channel
	// and userinfo.otp.outcome; never a code, otp_token, address or
	// subject. Default: the global provider, otel.GetTracerProvider(), a
	// no-op until the server sets one.
	TracerProvider trace.TracerProvider
	// MeterProvider makes the Service's instruments, once, in New:
	// userinfo.otp.sends by channel and outcome (sent, throttled,
	// malformed, failed); userinfo.otp.checks and userinfo.otp.redemptions
	// by channel and outcome (ok, bad_token, bad_code, error);
	// userinfo.otp.throttles by channel and userinfo.otp.limit (target,
	// subject). Default: the global provider, otel.GetMeterProvider(), a
	// no-op until the server sets one.
	MeterProvider metric.MeterProvider
}

// Service issues, delivers and redeems one-time codes. It implements
// [userinfo.OTPVerifier]; its [Service.SendHandler] serves POST /otp/send.
// It is safe for concurrent use, and any number of Services (replicas) may
// share one Store and Key.
type Service struct {
	cfg  Config
	k    keyer
	rand io.Reader
	log  *slog.Logger
	tel  *telemetry

	mu     sync.Mutex
	purged time.Time
}

var _ userinfo.OTPVerifier = (*Service)(nil)

// Registry returns Config.Registry. The handler takes it as its own when
// its Config.Registry is nil, and refuses another one.
func (s *Service) Registry() *userinfo.Registry { return s.cfg.Registry }

// New returns a Service of cfg, or an error when a required field is missing
// or a field is out of range.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("otp: Config.Store is required")
	case cfg.Sender == nil:
		return nil, errors.New("otp: Config.Sender is required")
	case cfg.Registry == nil:
		return nil, errors.New("otp: Config.Registry is required")
	case len(cfg.Key) < MinKeyLen:
		return nil, fmt.Errorf("otp: Config.Key must be at least %d bytes", MinKeyLen)
	case cfg.TTL < 0, cfg.MaxAttempts < 0, cfg.TargetLimit < 0, cfg.SubjectLimit < 0, cfg.Window < 0:
		return nil, errors.New("otp: Config durations and limits must not be negative")
	case cfg.TTL > MaxTTL, cfg.Window > MaxTTL:
		return nil, fmt.Errorf("otp: Config.TTL and Config.Window must be at most %v", MaxTTL)
	}
	cfg.Key = append([]byte(nil), cfg.Key...)
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.TargetLimit == 0 {
		cfg.TargetLimit = DefaultTargetLimit
	}
	if cfg.SubjectLimit == 0 {
		cfg.SubjectLimit = DefaultSubjectLimit
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = userinfo.DefaultRequestTimeout
	}
	if cfg.PurgeEvery == 0 {
		cfg.PurgeEvery = DefaultPurgeEvery
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, k: keyer{cfg.Key}, rand: rand.Reader, log: cfg.Logger,
		tel: newTelemetry(cfg.TracerProvider, cfg.MeterProvider)}, nil
}

// now returns the time without its monotonic reading, as stores keep it.
func (s *Service) now() time.Time { return s.cfg.Now().Round(0) }

// Description of the 503 of a failed send, as the send-OTP API words it.
const descSendFailed = "Failed to send OTP. Please try again later."

// Send issues a code for subject to prove control of target, an email
// address (channel userinfo.ChannelEmail) or a phone number
// (userinfo.ChannelSMS), for purpose (userinfo.PurposeUpdateUserinfo), has
// the Sender deliver it, and returns the otp_token that the code must be
// presented with. It never looks at whether the address is taken.
//
// target is taken in its stored form (userinfo.Registry.NormalizeAddress:
// a phone number in E.164, an email address with an A-label domain): the
// Sender gets that form, the code is bound to it, and the send limits count
// every spelling of one address together (email ignoring ASCII case).
//
// Errors are *userinfo.Error for the client: invalid_request for an unknown
// channel or an empty purpose, malformed_email / malformed_phone_number for
// an address that Config.Registry refuses, 404 user_not_found for a subject
// that Config.Users does not hold, 429 sms_rate_limit_exceeded /
// email_rate_limit_exceeded with Retry-After when the subject or the address
// had too many codes sent (a request refused for the address still counts
// towards the subject's limit), 503 temporarily_unavailable when the Sender
// failed (the code is then withdrawn). A store failure is returned as
// another error (500 server_error).
func (s *Service) Send(ctx context.Context, subject, channel, target, purpose string) (otpToken string, err error) {
	ctx, span := s.tel.tracer.Start(ctx, "otp.send")
	defer func() {
		outcome := sendOutcome(err)
		s.tel.end(ctx, span, s.tel.sends, channel, outcome, outcome == outcomeFailed)
	}()
	if subject == "" {
		return "", errors.New("otp: Send: empty subject")
	}
	if purpose == "" {
		return "", userinfo.NewError(http.StatusBadRequest, userinfo.CodeInvalidRequest, "The usage is missing.")
	}
	// Codes are bound to, sent to and counted under the stored form of
	// the address, so that every spelling of it is one address.
	target, err = s.cfg.Registry.NormalizeAddress(channel, target)
	if err != nil {
		return "", err
	}
	if s.cfg.Users != nil {
		if _, err := s.cfg.Users.GetUser(ctx, subject); errors.Is(err, userinfo.ErrUserNotFound) {
			return "", userinfo.NewError(http.StatusNotFound, userinfo.CodeUserNotFound, "The user of the access token does not exist.")
		} else if err != nil {
			return "", s.storeFailed(ctx, "user lookup", err)
		}
	}
	// What Record promises stores.
	if !storable(target) {
		return "", malformed(channel, errors.New("otp: address not storable"))
	}
	if !storable(subject) || !storable(purpose) {
		return "", errors.New("otp: Send: subject or purpose is not valid UTF-8 without NUL of at most 1024 bytes")
	}
	now := s.now()
	// The target first, and each counts on its own: a request refused for
	// the target's volume (the usual case: a user asking again and again
	// for a code to one address) does not use up the user's allowance for
	// other addresses. One refused for the user's volume still counts for
	// the target, which gives nobody more than the target's own limit.
	if err := s.throttle(ctx, channel, now, []throttleKey{
		{"target:" + channel, normalizeTarget(channel, target), s.cfg.TargetLimit},
		{"subject", subject, s.cfg.SubjectLimit},
	}); err != nil {
		return "", err
	}

	token, raw, err := newToken(s.rand)
	if err != nil {
		return "", fmt.Errorf("otp: random token: %w", err)
	}
	code, err := newCode(s.rand)
	if err != nil {
		return "", fmt.Errorf("otp: random code: %w", err)
	}
	rec := Record{
		ID:        recordID(raw),
		Subject:   subject,
		Channel:   channel,
		Target:    target,
		Purpose:   purpose,
		ExpiresAt: now.Add(s.cfg.TTL).Truncate(time.Millisecond),
	}
	rec.CodeHash = s.k.codeHash(&rec, code)
	if err := s.cfg.Store.Create(ctx, rec); err != nil {
		return "", s.storeFailed(ctx, "create", err)
	}
	msg := Message{Kind: KindCode, Channel: channel, Target: target, Subject: subject, Purpose: purpose, Code: code, Token: token}
	if err := s.cfg.Sender.Send(ctx, msg); err != nil {
		err = &redactedError{err: err, secrets: []string{code, token}}
		s.log.WarnContext(ctx, "otp: sender failed; code withdrawn", "channel", channel, "subject", subject, "err", err)
		// Withdraw the code even when ctx is done: it was never delivered.
		if _, derr := s.cfg.Store.Delete(context.WithoutCancel(ctx), rec.ID); derr != nil {
			s.log.ErrorContext(ctx, "otp: store failed", "op", "delete", "err", derr)
		}
		return "", &userinfo.Error{Status: http.StatusServiceUnavailable, Code: userinfo.CodeTemporarilyUnavailable,
			Description: descSendFailed, Err: err}
	}
	s.log.DebugContext(ctx, "otp: code sent", "channel", channel, "subject", subject, "purpose", purpose)
	s.maybePurge(ctx, now)
	return token, nil
}

// malformed returns the 400 malformed_email or malformed_phone_number of
// channel.
func malformed(channel string, cause error) error {
	ch, _ := userinfo.LookupChannel(channel)
	return &userinfo.Error{Status: http.StatusBadRequest, Code: ch.MalformedCode, Err: cause}
}

// storable reports whether s is what Record promises stores: valid UTF-8
// without NUL, at most 1024 bytes.
func storable(s string) bool {
	return len(s) <= 1024 && utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// throttleKey is one limit of a send: limit sends under (kind, value).
type throttleKey struct {
	kind, value string
	limit       int
}

// throttle counts a send under each of keys in order, stopping at the first
// that refuses it, whose 429 it returns: in one call of a [BatchThrottler]
// store, else key by key.
func (s *Service) throttle(ctx context.Context, channel string, now time.Time, keys []throttleKey) error {
	refused, retry := -1, time.Duration(0)
	if bt, ok := s.cfg.Store.(BatchThrottler); ok {
		limits := make([]Limit, len(keys))
		for i, k := range keys {
			limits[i] = Limit{Key: s.k.throttleKey(k.kind, k.value), Limit: k.limit}
		}
		var err error
		if refused, retry, err = bt.ThrottleAll(ctx, now, s.cfg.Window, limits); err != nil {
			return s.storeFailed(ctx, "throttle", err)
		}
	} else {
		for i, k := range keys {
			ok, r, err := s.cfg.Store.Throttle(ctx, s.k.throttleKey(k.kind, k.value), now, s.cfg.Window, k.limit)
			if err != nil {
				return s.storeFailed(ctx, "throttle", err)
			}
			if !ok {
				refused, retry = i, r
				break
			}
		}
	}
	if refused < 0 {
		return nil
	}
	if refused >= len(keys) {
		return s.storeFailed(ctx, "throttle", fmt.Errorf("ThrottleAll refused limit %d of %d", refused, len(keys)))
	}
	which := strings.SplitN(keys[refused].kind, ":", 2)[0]
	s.log.InfoContext(ctx, "otp: send throttled", "channel", channel, "limit", which)
	if s.tel.throttles.Enabled(ctx) {
		s.tel.throttles.Add(ctx, 1, metric.WithAttributes(attrChannel.String(boundedChannel(channel)), attrLimit.String(which)))
	}
	ch, _ := userinfo.LookupChannel(channel)
	secs := int64((retry + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return &userinfo.Error{Status: http.StatusTooManyRequests, Code: ch.RateLimitCode,
		Description: "Too many codes were sent. Please try again later.",
		Header:      http.Header{"Retry-After": {strconv.FormatInt(secs, 10)}}}
}

// storeFailed logs a store failure and returns it for a 500.
func (s *Service) storeFailed(ctx context.Context, op string, err error) error {
	s.log.ErrorContext(ctx, "otp: store failed", "op", op, "err", err)
	return fmt.Errorf("otp: store %s: %w", op, err)
}

// maybePurge runs Store.Purge when Config.PurgeEvery has passed since the
// last run of this Service.
func (s *Service) maybePurge(ctx context.Context, now time.Time) {
	if s.cfg.PurgeEvery < 0 {
		return
	}
	s.mu.Lock()
	due := s.purged.IsZero() || now.Sub(s.purged) >= s.cfg.PurgeEvery || now.Before(s.purged)
	if due {
		s.purged = now
	}
	s.mu.Unlock()
	if due {
		if err := s.cfg.Store.Purge(ctx, now); err != nil {
			s.log.WarnContext(ctx, "otp: store purge failed", "err", err)
		}
	}
}

// Purge asks the store to remove expired records and counters. Send does it
// on its own unless Config.PurgeEvery is negative.
func (s *Service) Purge(ctx context.Context) error {
	return s.cfg.Store.Purge(ctx, s.now())
}

// CheckOTP implements [userinfo.OTPVerifier]. The code is good when c.Code
// is the code of c.Token and the token was issued to c.Subject for
// c.Channel, c.Target (in any spelling of the address: phone numbers
// compared in E.164, email addresses ignoring ASCII case) and
// c.Purpose, is not expired and not dead; CheckOTP then returns the
// Redemption that spends it, exactly once also under concurrent calls on any
// replica. Otherwise it returns an error wrapping userinfo.ErrBadOTPToken
// (unknown, malformed, expired, spent, dead, or bound to something else) or
// userinfo.ErrBadOTP (wrong code), or a store failure.
//
// Every call on a live token counts one attempt, at once and whatever
// happens to the write; the code is compared (in constant time) only on
// attempts 1 … MaxAttempts, so concurrent guesses are bounded too. The token
// dies with the MaxAttempts-th wrong code.
func (s *Service) CheckOTP(ctx context.Context, c userinfo.OTPCheck) (_ userinfo.Redemption, err error) {
	ctx, span := s.tel.tracer.Start(ctx, "otp.check")
	defer func() {
		outcome := checkOutcome(err)
		s.tel.end(ctx, span, s.tel.checks, c.Channel, outcome, outcome == outcomeError)
	}()
	raw, err := parseToken(c.Token)
	if err != nil {
		return nil, fmt.Errorf("%w: malformed", userinfo.ErrBadOTPToken)
	}
	id := recordID(raw)
	rec, err := s.cfg.Store.Attempt(ctx, id, s.now())
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: unknown, expired or spent", userinfo.ErrBadOTPToken)
	}
	if err != nil {
		return nil, s.storeFailed(ctx, "attempt", err)
	}
	if rec.Attempts > s.cfg.MaxAttempts {
		return nil, fmt.Errorf("%w: too many attempts", userinfo.ErrBadOTPToken)
	}
	if rec.Subject != c.Subject || rec.Channel != c.Channel || rec.Purpose != c.Purpose || !s.sameTarget(rec, c.Target) {
		s.log.InfoContext(ctx, "otp: token presented for something it was not issued for",
			"channel", c.Channel, "subject", c.Subject)
		return nil, fmt.Errorf("%w: issued for another user, channel, address or purpose", userinfo.ErrBadOTPToken)
	}
	if !wellFormedCode(c.Code) || !hmac.Equal(rec.CodeHash, s.k.codeHash(&rec, c.Code)) {
		if rec.Attempts >= s.cfg.MaxAttempts {
			s.log.InfoContext(ctx, "otp: token dead after too many wrong codes", "channel", rec.Channel, "subject", rec.Subject)
			if _, err := s.cfg.Store.Delete(ctx, id); err != nil {
				s.log.ErrorContext(ctx, "otp: store failed", "op", "delete", "err", err)
			}
		}
		return nil, userinfo.ErrBadOTP
	}
	// The right code: this attempt does not count against the limit.
	if err := s.cfg.Store.Refund(ctx, id); err != nil {
		return nil, s.storeFailed(ctx, "refund", err)
	}
	rec.Attempts--
	return &redemption{s: s, id: id, channel: rec.Channel, rec: rec}, nil
}

// sameTarget reports whether target, as a PATCH sent it, is the address
// that rec was issued for (stored in its normalised form): equal keys, or
// equal keys once target is normalised too. An address that the registry
// refuses is no address a code was issued for.
func (s *Service) sameTarget(rec Record, target string) bool {
	want := normalizeTarget(rec.Channel, rec.Target)
	if normalizeTarget(rec.Channel, target) == want {
		return true
	}
	n, err := s.cfg.Registry.NormalizeAddress(rec.Channel, target)
	return err == nil && normalizeTarget(rec.Channel, n) == want
}

// redemption spends one checked code of a Service.
type redemption struct {
	s       *Service
	id      string
	channel string
	rec     Record // as CheckOTP found it, for Restore
}

// Redeem implements [userinfo.Redemption]: an atomic delete of the record,
// which at most one of concurrent calls wins, on any replica.
func (r *redemption) Redeem(ctx context.Context) (err error) {
	ctx, span := r.s.tel.tracer.Start(ctx, "otp.redeem")
	defer func() {
		outcome := checkOutcome(err)
		r.s.tel.end(ctx, span, r.s.tel.redemptions, r.channel, outcome, outcome == outcomeError)
	}()
	deleted, err := r.s.cfg.Store.Delete(ctx, r.id)
	if err != nil {
		return r.s.storeFailed(ctx, "delete", err)
	}
	if !deleted {
		return ErrSpent
	}
	return nil
}

// Restore implements [userinfo.Restorer]: it puts the record that Redeem
// deleted back as CheckOTP found it, so that the code is redeemable again
// when another code of the same request could not be spent.
func (r *redemption) Restore(ctx context.Context) error {
	if err := r.s.cfg.Store.Create(ctx, r.rec); err != nil {
		return r.s.storeFailed(ctx, "restore", err)
	}
	return nil
}

// NotifyChanged tells oldTarget, the address that subject's email address
// (channel userinfo.ChannelEmail) or phone number (userinfo.ChannelSMS) had
// before a change, that it was replaced: a [Message] of KindNotice through
// the Sender, so that a hijacked session cannot move an account away
// unnoticed. An empty oldTarget (there was none) sends nothing.
//
// Call it after the change is stored, e.g. from the handler's update hook;
// a failure should be logged, not undo the change.
func (s *Service) NotifyChanged(ctx context.Context, subject, channel, oldTarget string) error {
	if oldTarget == "" {
		return nil
	}
	err := s.cfg.Sender.Send(ctx, Message{Kind: KindNotice, Channel: channel, Target: oldTarget,
		Subject: subject, Purpose: userinfo.PurposeUpdateUserinfo})
	if err != nil {
		s.log.WarnContext(ctx, "otp: notice failed", "channel", channel, "subject", subject, "err", err)
	}
	return err
}

// NotifyOnUpdate notifies the previous email address and phone number of a
// user when a change replaced them (see [Service.NotifyChanged]); it has the
// signature of userinfo.Config.OnUpdate, so a server wires it as
//
//	OnUpdate: svc.NotifyOnUpdate,
//
// or calls it from its own hook. An address set to the value it had (email
// compared case-insensitively) is not notified. It runs on the request's
// goroutine, so a slow Sender delays the PATCH response: a production Sender
// should queue. Failures are logged and otherwise ignored.
func (s *Service) NotifyOnUpdate(ctx context.Context, e userinfo.UpdateEvent) {
	for _, ch := range userinfo.Channels() {
		now, ok := e.Set[ch.Attribute].(string)
		if !ok {
			continue
		}
		old, _ := e.Previous[ch.Attribute].(string)
		if old == "" || normalizeTarget(ch.Name, old) == normalizeTarget(ch.Name, now) {
			continue
		}
		_ = s.NotifyChanged(ctx, e.Subject, ch.Name, old)
	}
}

// redactedError hides secrets from the text of a wrapped error, so that a
// Sender that quotes its request in an error cannot leak a code to a log.
type redactedError struct {
	err     error
	secrets []string
}

func (e *redactedError) Error() string {
	msg := e.err.Error()
	for _, s := range e.secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[REDACTED]")
		}
	}
	return msg
}

func (e *redactedError) Unwrap() error { return e.err }
