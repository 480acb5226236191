package userinfo

import (
	"strconv"
	"testing"
)

// The bodies of BenchmarkValidateAddresses: a profile form with a new
// email address and phone number, and a phone number alone.
const (
	benchProfileBody = `{"name":"张三","nickname":"zs","zoneinfo":"Asia/Shanghai","locale":"zh-CN",
"website":"https://example.com/~zs","birthdate":"1990-05-17","address":{"locality":"Shanghai","country":"CN"},
"email":"zs@example.com","email_otp_token":"tok_abcdefghijklmnop","email_otp":"123456",
"phone_number":"13612345678","phone_number_otp_token":"tok_abcdefghijklmnop","phone_number_otp":"123456"}`
	benchPhoneBody = `{"phone_number":"13612345678","phone_number_otp_token":"tok_abcdefghijklmnop","phone_number_otp":"123456"}`
)

// BenchmarkValidateAddresses measures checks 4 and 5 of a PATCH body that
// changes addresses, with the default registry (the same code before and
// after libphonenumber, for comparison).
func BenchmarkValidateAddresses(b *testing.B) {
	for _, bm := range []struct{ name, body string }{{"profile", benchProfileBody}, {"phone", benchPhoneBody}} {
		b.Run(bm.name, func(b *testing.B) {
			r, err := NewRegistry(RegistryConfig{})
			if err != nil {
				b.Fatal(err)
			}
			body := decodeBody(b, bm.body)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.validate(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkValidateNewPhone is BenchmarkValidateAddresses/phone with a
// number not seen before on every iteration: the cost of a first look.
func BenchmarkValidateNewPhone(b *testing.B) {
	r, err := NewRegistry(RegistryConfig{})
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		n := strconv.Itoa(13600000000 + i%100000000)
		if _, err := r.validate(map[string]any{"phone_number": n, "phone_number_otp_token": "t", "phone_number_otp": "123456"}); err != nil {
			b.Fatal(err)
		}
	}
}
