package userinfo

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"
)

// stallingStore blocks the calls named in stall until their context ends,
// as a database that stopped answering does, and returns the context's
// error, wrapped as a driver would.
type stallingStore struct {
	UserStore
	stall map[string]bool // "get", "update"
}

func (s *stallingStore) wait(ctx context.Context, op string) error {
	if !s.stall[op] {
		return nil
	}
	<-ctx.Done()
	return fmt.Errorf("db: %s: %w", op, ctx.Err())
}

func (s *stallingStore) GetUser(ctx context.Context, sub string) (*User, error) {
	if err := s.wait(ctx, "get"); err != nil {
		return nil, err
	}
	return s.UserStore.GetUser(ctx, sub)
}

func (s *stallingStore) UpdateUser(ctx context.Context, u Update) (*User, error) {
	if err := s.wait(ctx, "update"); err != nil {
		return nil, err
	}
	return s.UserStore.UpdateUser(ctx, u)
}

// A store or OTP verifier that does not answer within the request timeout
// gets 503 temporarily_unavailable with Retry-After, in time, and nothing is
// written; a code checked before the stall is not spent.
func TestRequestTimeout(t *testing.T) {
	const timeout = 100 * time.Millisecond
	// A bound that holds under -race on a loaded machine, far below any
	// server's write timeout: the answer must not wait for the store.
	const bound = 5 * time.Second
	tests := []struct {
		name   string
		method string
		body   string
		stall  map[string]bool
		otp    bool // the OTP verifier stalls
		// spent: the code is spent though nothing was written. The store
		// here is no RedeemingStore, so the handler spends codes right
		// before the write, as UserStore documents.
		spent bool
	}{
		{"GET, store read stalls", http.MethodGet, "", map[string]bool{"get": true}, false, false},
		{"PATCH, store read stalls", http.MethodPatch, `{"nickname":"late"}`, map[string]bool{"get": true}, false, false},
		{"PATCH, store write stalls", http.MethodPatch, `{"nickname":"late"}`, map[string]bool{"update": true}, false, false},
		{"PATCH with a code, store write stalls", http.MethodPatch,
			`{"email":"late@example.com","email_otp_token":"t-late","email_otp":"123456"}`, map[string]bool{"update": true}, false, true},
		{"PATCH with a code, OTP verifier stalls", http.MethodPatch,
			`{"email":"late@example.com","email_otp_token":"t-late","email_otp":"123456"}`, nil, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t, func(c *Config) { c.RequestTimeout = timeout })
			hs.h.store = &stallingStore{UserStore: hs.mem, stall: tt.stall}
			hs.otp.issue("t-late", issuedOTP{"u1", ChannelEmail, "late@example.com", "123456"})
			if tt.otp {
				hs.h.otp = OTPVerifierFunc(func(ctx context.Context, c OTPCheck) (Redemption, error) {
					<-ctx.Done()
					return nil, fmt.Errorf("otp store: %w", ctx.Err())
				})
			}
			before := hs.user(t, "u1")
			start := time.Now()
			w := hs.serve(newRequest(tt.method, "tok-u1", tt.body))
			took := time.Since(start)
			checkError(t, w, http.StatusServiceUnavailable, CodeTemporarilyUnavailable, descTemporarilyUnavailable)
			if got := w.Header().Get("Retry-After"); got != fmt.Sprint(RetryAfter) {
				t.Errorf("Retry-After = %q, want %d", got, RetryAfter)
			}
			if took < timeout || took > bound {
				t.Errorf("answered after %v, want between the timeout %v and %v", took, timeout, bound)
			}
			if after := hs.user(t, "u1"); after.Version != before.Version || !reflect.DeepEqual(after.Attributes, before.Attributes) {
				t.Errorf("user changed by a request answered 503: %+v → %+v", before, after)
			}
			if hs.otp.redeemable("t-late") == tt.spent {
				t.Errorf("code redeemable after the 503: %v, want %v", !tt.spent, tt.spent)
			}
		})
	}
}

// A hook after the write runs outside the request's deadline: the change is
// stored, and the hook may take its time.
func TestOnUpdateOutsideDeadline(t *testing.T) {
	const timeout = 50 * time.Millisecond
	var hookErr error
	hs := newHarness(t, func(c *Config) {
		c.RequestTimeout = timeout
		c.OnUpdate = func(ctx context.Context, _ UpdateEvent) {
			time.Sleep(2 * timeout)
			hookErr = ctx.Err()
		}
	})
	w := hs.serve(newRequest(http.MethodPatch, "tok-u1", `{"nickname":"hooked"}`))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	if hookErr != nil {
		t.Errorf("the hook's context ended: %v", hookErr)
	}
}

// A negative RequestTimeout means no deadline.
func TestNoRequestTimeout(t *testing.T) {
	var deadline bool
	hs := newHarness(t, func(c *Config) { c.RequestTimeout = -1 })
	hs.h.store = getHook{get: func(ctx context.Context, sub string) (*User, error) {
		_, deadline = ctx.Deadline()
		return hs.mem.GetUser(ctx, sub)
	}, UserStore: hs.mem}
	if w := hs.serve(newRequest(http.MethodGet, "tok-u1", "")); w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	if deadline {
		t.Error("the store's context has a deadline with RequestTimeout < 0")
	}
}

// getHook overrides GetUser of a store.
type getHook struct {
	UserStore
	get func(ctx context.Context, sub string) (*User, error)
}

func (s getHook) GetUser(ctx context.Context, sub string) (*User, error) { return s.get(ctx, sub) }
