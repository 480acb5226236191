package otp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
)

// Kind says what a [Message] carries.
type Kind string

const (
	// KindCode is a one-time code for the user to enter.
	KindCode Kind = "code"
	// KindNotice tells the previous address that it was replaced; it carries
	// no code. See [Service.NotifyChanged].
	KindNotice Kind = "notice"
)

// Message is what a [Sender] delivers.
//
// Its String, GoString and LogValue methods leave out Code and Token, so
// that printing or logging a Message by mistake leaks neither.
type Message struct {
	// Kind is KindCode or KindNotice.
	Kind Kind
	// Channel is userinfo.ChannelEmail or userinfo.ChannelSMS.
	Channel string
	// Target is the email address or phone number to deliver to.
	Target string
	// Subject is the user the message is about.
	Subject string
	// Purpose is what the code authorises, e.g.
	// userinfo.PurposeUpdateUserinfo; for a notice, what the change was
	// made through.
	Purpose string
	// Code is the code to deliver, for KindCode.
	Code string
	// Token is the otp_token that the code goes with, for KindCode. It is
	// there for development outboxes and tests, which must pair codes with
	// tokens; a production sender MUST NOT deliver or log it.
	Token string
}

// String describes m without its code and token.
func (m Message) String() string {
	return fmt.Sprintf("otp.Message{Kind:%s Channel:%s Target:%s Subject:%s Purpose:%s Code:%s Token:%s}",
		m.Kind, m.Channel, m.Target, m.Subject, m.Purpose, redacted(m.Code), redacted(m.Token))
}

// GoString is String, so that %#v does not print the code either.
func (m Message) GoString() string { return m.String() }

// LogValue implements [slog.LogValuer]: m without its code and token.
func (m Message) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("kind", string(m.Kind)),
		slog.String("channel", m.Channel),
		slog.String("subject", m.Subject),
		slog.String("purpose", m.Purpose),
	)
}

func redacted(s string) string {
	if s == "" {
		return ""
	}
	return "[REDACTED]"
}

// Sender delivers messages by SMS or email. The gateways belong to the
// embedding server; this package ships development senders
// ([ConsoleSender], [OutboxSender]) and a test double ([RecordingSender]).
//
// Send returns once the message is accepted for delivery. An error is
// answered 503 temporarily_unavailable and the code is withdrawn. The error
// may be logged: it must not contain the code or the token (the service
// redacts both from error texts it logs, as a second line of defence).
// Implementations must be safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// SenderFunc adapts a function to [Sender].
type SenderFunc func(ctx context.Context, m Message) error

// Send calls f(ctx, m).
func (f SenderFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }

// ConsoleSender writes each message as one human-readable line, code
// included, to a writer such as os.Stderr. It is for development only: it is
// the one place besides [OutboxSender] where codes are printed. It is safe
// for concurrent use.
type ConsoleSender struct {
	mu sync.Mutex
	w  io.Writer
}

// NewConsoleSender returns a ConsoleSender writing to w.
func NewConsoleSender(w io.Writer) *ConsoleSender { return &ConsoleSender{w: w} }

// Send implements [Sender].
func (c *ConsoleSender) Send(ctx context.Context, m Message) error {
	var line string
	if m.Kind == KindNotice {
		line = fmt.Sprintf("otp: %s notice to %q: an address of user %q was replaced\n", m.Channel, m.Target, m.Subject)
	} else {
		line = fmt.Sprintf("otp: %s code for %q: %s (otp_token %s)\n", m.Channel, m.Target, m.Code, m.Token)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := io.WriteString(c.w, line)
	return err
}

// OutboxSender appends each message as one JSON line to a writer, usually a
// file (the example server's -otp-outbox). A code is written as
//
//	{"channel":"sms"|"email","target":…,"otp_token":…,"otp":…}
//
// and a notice as {"channel":…,"target":…,"notice":"replaced"}. It is for
// development and tests only. It is safe for concurrent use; each line is
// written with one Write call, so lines never interleave.
type OutboxSender struct {
	mu     sync.Mutex
	w      io.Writer
	closer io.Closer
}

// NewOutboxSender returns an OutboxSender writing to w.
func NewOutboxSender(w io.Writer) *OutboxSender { return &OutboxSender{w: w} }

// OpenOutbox returns an OutboxSender appending to the file at path, created
// with mode 0600 when absent. Close closes the file.
func OpenOutbox(path string) (*OutboxSender, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return &OutboxSender{w: f, closer: f}, nil
}

// outboxLine is one line of an outbox.
type outboxLine struct {
	Channel string `json:"channel"`
	Target  string `json:"target"`
	Token   string `json:"otp_token,omitempty"`
	Code    string `json:"otp,omitempty"`
	Notice  string `json:"notice,omitempty"`
}

// Send implements [Sender].
func (o *OutboxSender) Send(ctx context.Context, m Message) error {
	l := outboxLine{Channel: m.Channel, Target: m.Target, Token: m.Token, Code: m.Code}
	if m.Kind == KindNotice {
		l = outboxLine{Channel: m.Channel, Target: m.Target, Notice: "replaced"}
	}
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	o.mu.Lock()
	defer o.mu.Unlock()
	_, err = o.w.Write(b)
	return err
}

// Close closes the file that OpenOutbox opened; for an OutboxSender of
// NewOutboxSender it does nothing.
func (o *OutboxSender) Close() error {
	if o.closer == nil {
		return nil
	}
	return o.closer.Close()
}

// RecordingSender is a [Sender] for tests: it keeps every message it is
// given and fails with Err when Err is set. It is safe for concurrent use;
// set Err before the sender is used, or through SetErr.
type RecordingSender struct {
	mu   sync.Mutex
	msgs []Message
	// Err, when not nil, is returned by Send, which then keeps nothing.
	Err error
}

// Send implements [Sender].
func (r *RecordingSender) Send(ctx context.Context, m Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return r.Err
	}
	r.msgs = append(r.msgs, m)
	return nil
}

// SetErr sets Err while other goroutines may be sending.
func (r *RecordingSender) SetErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Err = err
}

// Messages returns a copy of the messages sent so far, oldest first.
func (r *RecordingSender) Messages() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// Last returns the newest message sent, and false when none was.
func (r *RecordingSender) Last() (Message, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.msgs) == 0 {
		return Message{}, false
	}
	return r.msgs[len(r.msgs)-1], true
}
