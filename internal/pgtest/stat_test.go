package pgtest

import (
	"os"
	"testing"
)

// The fields of /proc/PID/stat are counted after the last ')', since a
// comm may hold spaces and parentheses.
func TestParseStat(t *testing.T) {
	b := []byte("4242 (post gres) (x)) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615\n")
	st, ok := parseStat(b)
	if !ok || st.state != "S" || st.ppid != 17 || st.start != 987654 {
		t.Errorf("parseStat = %+v, %v; want state S, ppid 17, start 987654", st, ok)
	}
	if _, ok := parseStat([]byte("4242 (postgres) S 17")); ok {
		t.Error("parseStat of a truncated stat succeeded")
	}
}

// A process is current only with its PID, comm postgres and start time.
func TestProcCurrent(t *testing.T) {
	me, ok := lookup(os.Getpid())
	if !ok || me.start == 0 {
		t.Fatalf("lookup of this process: %+v, %v", me, ok)
	}
	if me.current() {
		t.Error("this test process, whose comm is not postgres, is current")
	}
	if (proc{pid: me.pid, start: me.start + 1}).signal(0) == nil {
		t.Error("a signal went to a process with another start time")
	}
}
