package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"
	"time"
)

// envSoak turns on the smoke test, which builds the example and starts
// PostgreSQL: too slow for every run of the package's tests.
const envSoak = "USERINFO_SOAK"

// A short soak, a kill and two pauses, finds every write answered
// truthfully.
func TestSoakSmoke(t *testing.T) {
	if os.Getenv(envSoak) == "" {
		t.Skipf("set %s=1 to run a short soak (it builds the example and starts PostgreSQL)", envSoak)
	}
	o, err := parseFlags([]string{"-duration", "8s", "-clients", "8", "-kills", "1", "-pauses", "2", "-email-every", "50"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var log bytes.Buffer
	r, err := run(ctx, o, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	var out bytes.Buffer
	r.print(&out)
	t.Log(out.String())
	if r.lost != 0 || r.phantom != 0 || r.torn != 0 {
		t.Errorf("%d lost, %d phantom and %d half-written writes", r.lost, r.phantom, r.torn)
	}
	if r.byStatus["200"] == 0 || r.kills != 1 || r.pauses != 2 {
		t.Errorf("the soak did not run: %d answered 200, %d kills, %d pauses", r.byStatus["200"], r.kills, r.pauses)
	}
	// Each pause outlasts the request timeout: the writes in flight are
	// answered 503, which is what the phantom check is about. (Only the
	// clients amid a PATCH, rather than a read, when a pause begins get
	// one: hence 8 clients and 2 pauses.)
	if r.byStatus["503"] == 0 {
		t.Errorf("no write answered 503 (with Retry-After): %v", r.byStatus)
	}
	// Email changes ran, and some were stored, which the half-written
	// check is about.
	if r.emailWrites["200"] == 0 {
		t.Errorf("no email write answered 200: email writes %v, codes sent %v", r.emailWrites, r.sends)
	}
}

func TestParseFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-duration", "0s"}, {"-duration", "31m"}, {"-clients", "0"}, {"-clients", "257"},
		{"-max-requests", "0"}, {"-kills", "-1"}, {"extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) succeeded", args)
		}
	}
	if _, err := parseFlags(nil, io.Discard); err != nil {
		t.Errorf("defaults: %v", err)
	}
}
