package otp_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/otp"
)

// registry returns the attribute registry of the PATCH handler: the send
// handler checks addresses with its rules.
func registry() *userinfo.Registry {
	reg, err := userinfo.NewRegistry(userinfo.RegistryConfig{})
	if err != nil {
		panic(err)
	}
	return reg
}

// A code is sent, checked, redeemed once, and refused the second time. A
// wrong code counts against the token at once; a right one is spent only by
// its Redemption, which the PATCH handler hands to the write.
func Example() {
	ctx := context.Background()
	sender := &otp.RecordingSender{}
	svc, err := otp.New(otp.Config{
		Store:    otp.NewMemoryStore(), // replicas: a shared SQL store
		Sender:   sender,
		Registry: registry(),
		Key:      otp.GenerateKey(), // replicas: one key for all, from a secret store
	})
	if err != nil {
		panic(err)
	}

	token, err := svc.Send(ctx, "u1", userinfo.ChannelEmail, "new@example.test", userinfo.PurposeUpdateUserinfo)
	if err != nil {
		panic(err)
	}
	m, _ := sender.Last() // what the user receives
	check := userinfo.OTPCheck{Subject: "u1", Channel: userinfo.ChannelEmail, Target: "new@example.test",
		Purpose: userinfo.PurposeUpdateUserinfo, Token: token, Code: m.Code}

	wrong := check
	wrong.Code = "not-it"
	_, err = svc.CheckOTP(ctx, wrong)
	fmt.Println("wrong code:", errors.Is(err, userinfo.ErrBadOTP))

	redemption, err := svc.CheckOTP(ctx, check)
	fmt.Println("check:", err)
	fmt.Println("redeem:", redemption.Redeem(ctx))
	_, err = svc.CheckOTP(ctx, check)
	fmt.Println("again is bad token:", errors.Is(err, userinfo.ErrBadOTPToken))
	// Output:
	// wrong code: true
	// check: <nil>
	// redeem: <nil>
	// again is bad token: true
}

// POST /otp/send sits behind the bearer-token middleware, which gives it the
// user; the otp_token it answers goes into the PATCH /userinfo body with the
// code.
func ExampleService_SendHandler() {
	sender := &otp.RecordingSender{}
	svc, err := otp.New(otp.Config{Store: otp.NewMemoryStore(), Sender: sender, Registry: registry(), Key: otp.GenerateKey()})
	if err != nil {
		panic(err)
	}
	auth := &userinfo.Authenticator{Verifier: userinfo.TokenVerifierFunc(
		func(ctx context.Context, token string) (*userinfo.Principal, error) {
			if token != "good-token" {
				return nil, userinfo.ErrInvalidToken
			}
			return &userinfo.Principal{Subject: "u1", Scopes: []string{"openid"}}, nil
		})}
	mux := http.NewServeMux()
	mux.Handle("POST /otp/send", auth.Middleware(svc.SendHandler()))

	r := httptest.NewRequest("POST", "/otp/send", strings.NewReader(`{"usage":"update_userinfo","phone_number":"13612345678"}`))
	r.Header.Set("Authorization", "Bearer good-token")
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)

	m, _ := sender.Last()
	fmt.Println(w.Code, strings.HasPrefix(w.Body.String(), `{"otp_token":"`))
	fmt.Println("sent:", m.Kind, m.Channel, m.Target)
	// Output:
	// 200 true
	// sent: code sms +8613612345678
}

// The development outbox: one JSON line per code.
func ExampleOutboxSender() {
	o := otp.NewOutboxSender(os.Stdout) // the example server: otp.OpenOutbox(path)
	o.Send(context.Background(), otp.Message{Kind: otp.KindCode, Channel: userinfo.ChannelEmail,
		Target: "new@example.test", Code: "123456", Token: "v2.AAAAAAAAAAAAAAAAAAAAAA"})
	// Output:
	// {"channel":"email","target":"new@example.test","otp_token":"v2.AAAAAAAAAAAAAAAAAAAAAA","otp":"123456"}
}
