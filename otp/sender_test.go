package otp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ciamkit/userinfo"
)

var (
	codeMsg = Message{Kind: KindCode, Channel: userinfo.ChannelSMS, Target: "13612345678", Subject: "u1",
		Purpose: userinfo.PurposeUpdateUserinfo, Code: "024680", Token: "v2.AAAAAAAAAAAAAAAAAAAAAA"}
	noticeMsg = Message{Kind: KindNotice, Channel: userinfo.ChannelEmail, Target: "old@x.test", Subject: "u1",
		Purpose: userinfo.PurposeUpdateUserinfo}
)

func TestMessageHidesSecrets(t *testing.T) {
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("sending", "msg", codeMsg)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("sending", "msg", codeMsg)
	for _, s := range []string{
		fmt.Sprint(codeMsg), fmt.Sprintf("%v|%+v|%#v|%s", codeMsg, codeMsg, codeMsg, codeMsg), logs.String(),
	} {
		if strings.Contains(s, codeMsg.Code) || strings.Contains(s, codeMsg.Token) {
			t.Errorf("a Message shows its code or token: %s", s)
		}
	}
	if !strings.Contains(fmt.Sprint(codeMsg), "[REDACTED]") || !strings.Contains(logs.String(), `"channel":"sms"`) {
		t.Errorf("the Message is not described: %v\n%s", codeMsg, logs.String())
	}
}

func TestConsoleSender(t *testing.T) {
	var out bytes.Buffer
	c := NewConsoleSender(&out)
	for _, m := range []Message{codeMsg, noticeMsg} {
		if err := c.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	want := `otp: sms code for "13612345678": 024680 (otp_token v2.AAAAAAAAAAAAAAAAAAAAAA)` + "\n" +
		`otp: email notice to "old@x.test": an address of user "u1" was replaced` + "\n"
	if out.String() != want {
		t.Errorf("console:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestOutboxSender(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	o, err := OpenOutbox(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []Message{codeMsg, noticeMsg} {
		if err := o.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	// A second sender appends.
	o, err = OpenOutbox(path)
	if err != nil {
		t.Fatal(err)
	}
	o.Send(context.Background(), codeMsg)
	o.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line := `{"channel":"sms","target":"13612345678","otp_token":"v2.AAAAAAAAAAAAAAAAAAAAAA","otp":"024680"}` + "\n"
	want := line + `{"channel":"email","target":"old@x.test","notice":"replaced"}` + "\n" + line
	if string(b) != want {
		t.Errorf("outbox:\n%s\nwant:\n%s", b, want)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("outbox mode: %v, %v; want 0600", fi.Mode(), err)
	}
}

func TestOutboxSenderConcurrent(t *testing.T) {
	var out syncBuffer
	o := NewOutboxSender(&out)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			m := codeMsg
			m.Target = fmt.Sprintf("a%d@x.test", i)
			m.Channel = userinfo.ChannelEmail
			if err := o.Send(context.Background(), m); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := o.Close(); err != nil {
		t.Errorf("Close of a writer outbox: %v", err)
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var l map[string]string
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil || len(l) != 4 || l["otp"] != codeMsg.Code {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		seen[l["target"]] = true
	}
	if len(seen) != 50 {
		t.Errorf("%d distinct lines, want 50", len(seen))
	}
}

func TestRecordingSender(t *testing.T) {
	var r RecordingSender
	if _, ok := r.Last(); ok {
		t.Errorf("Last of an empty sender: ok")
	}
	r.Send(context.Background(), codeMsg)
	r.SetErr(fmt.Errorf("down"))
	if err := r.Send(context.Background(), noticeMsg); err == nil {
		t.Errorf("Send with Err set: nil error")
	}
	msgs := r.Messages()
	msgs[0].Code = "changed"
	if m, _ := r.Last(); len(r.Messages()) != 1 || m != codeMsg {
		t.Errorf("messages: %v, want only the first, unchanged", r.Messages())
	}
}
