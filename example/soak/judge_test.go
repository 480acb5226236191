package main

import (
	"net/http"
	"testing"
)

func newClient() *client {
	return &client{r: &result{byStatus: map[string]int{}, applied: map[string]int{}, unapplied: map[string]int{}},
		status: map[int]answer{}, emails: map[int]string{}}
}

// Any 503, with Retry-After or not, and any temporarily_unavailable
// promise that nothing was written: stored, each is a phantom, at once or
// seen late.
func TestJudgePhantom(t *testing.T) {
	for _, a := range []answer{
		{http: http.StatusServiceUnavailable, status: "503"},
		{http: http.StatusServiceUnavailable, status: "503 no Retry-After"},
		{http: http.StatusInternalServerError, status: "500", code: "temporarily_unavailable"},
	} {
		c := newClient()
		c.status[1] = a
		if !c.judge(1, a, 1, "") || c.r.phantom != 1 {
			t.Errorf("%+v, stored: phantom %d, want 1", a, c.r.phantom)
		}
		c = newClient()
		c.status[1] = a
		if c.judge(1, a, 0, "") || c.r.phantom != 0 {
			t.Errorf("%+v, not stored: phantom %d, want 0", a, c.r.phantom)
		}
		c.status[2] = answer{http: http.StatusOK, status: "200"}
		c.judge(2, c.status[2], 1, "") // write 1 seen late
		if c.r.phantom != 1 {
			t.Errorf("%+v, stored late: phantom %d, want 1", a, c.r.phantom)
		}
	}
}

// A write stored late moves from not stored to stored only if it was
// counted as not stored: a 4xx was not, and no count goes negative.
func TestJudgeLate(t *testing.T) {
	c := newClient()
	bad := answer{http: http.StatusBadRequest, status: "400"}
	c.status[1] = bad
	c.judge(1, bad, 0, "")
	ok := answer{http: http.StatusOK, status: "200"}
	c.status[2] = ok
	c.judge(2, ok, 1, "") // write 1 seen late
	if c.r.unapplied["400"] != 0 || c.r.applied["400"] != 0 {
		t.Errorf("a 400 stored late: applied %d, unapplied %d; want 0, 0", c.r.applied["400"], c.r.unapplied["400"])
	}

	c = newClient()
	e := answer{http: http.StatusInternalServerError, status: "500"}
	c.status[1] = e
	c.judge(1, e, 0, "")
	c.status[2] = ok
	c.judge(2, ok, 1, "")
	if c.r.unapplied["500"] != 0 || c.r.applied["500"] != 1 {
		t.Errorf("a 500 stored late: applied %d, unapplied %d; want 1, 0", c.r.applied["500"], c.r.unapplied["500"])
	}
}
