// Package pgtest runs a PostgreSQL server of its own for fault-injection
// tests and the soak command: a fresh cluster (initdb) in a directory of
// its own, on a free loopback port, that the caller may pause (SIGSTOP of
// the postmaster and of every process it forked, by PID), resume, kill
// (SIGKILL of the postmaster and of every process it forked, as a crash),
// stop and start again on the same port and data.
//
// It never touches any other server: the shared test server of .ci/run
// (USERINFO_TEST_POSTGRES) is left alone. It needs the server binaries
// under /usr/lib/postgresql/*/bin (Debian's layout; the newest version is
// used) or in the directory named by PGTEST_BIN. As root it runs the
// server as the postgres user, since PostgreSQL refuses to run as root.
//
// Typical usage inside a test:
//
//	srv := pgtest.New(t) // skips without the binaries, unless CI is set
//	db, err := postgres.Open(ctx, srv.DSN())
//	…
//	srv.Pause()
//	… // requests in flight see a server that accepts but never answers
//	srv.Resume()
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoBinaries is the error of [Start] when no PostgreSQL server binaries
// are found.
var ErrNoBinaries = errors.New("pgtest: no PostgreSQL binaries (initdb, postgres) under /usr/lib/postgresql/*/bin or $PGTEST_BIN")

// Database is the name of the database that [Start] creates, which
// [Server.DSN] names.
const Database = "userinfo_test"

// Server is one PostgreSQL server run by this package. Its methods are safe
// for concurrent use.
type Server struct {
	bin  string
	dir  string // the cluster's files: dir/data, dir/server.log
	port int
	cred *syscall.Credential // nil: run as the current user
	temp bool                // dir is ours to remove

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has exited
	paused  []proc        // processes stopped by Pause, the postmaster first
	orphans []proc        // children of a killed postmaster
}

// proc identifies a process: a PID alone may be reused once the process
// has ended, by anything, such as another PostgreSQL server.
type proc struct {
	pid   int
	start uint64 // start time, field 22 of /proc/PID/stat
}

// Config configures [Start]. The zero value is ready to use.
type Config struct {
	// Dir is where the cluster's files go. Default: a new directory under
	// os.TempDir, removed by Close.
	Dir string
}

// New starts a server for t, stopped and removed when t ends. When it
// cannot ([Available]: no binaries, or no postgres user under root) it
// skips t, or fails it when the environment variable CI is set, where a
// skip would hide that the test never ran.
func New(t testing.TB) *Server {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v, and CI is set", err)
		}
		t.Skipf("%v: install postgresql (apt-get install postgresql) to run this test", err)
	}
	// Bounded, so that a server that never accepts fails the test instead
	// of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Start(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// Available reports why [Start] cannot run here, or nil: no binaries, or,
// as root, no postgres user to run the server as.
func Available() error {
	if _, err := FindBinaries(); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			return fmt.Errorf("pgtest: running as root needs a postgres user to run the server as: %w", err)
		}
	}
	return nil
}

// FindBinaries returns the directory of the PostgreSQL server binaries:
// $PGTEST_BIN, or the newest /usr/lib/postgresql/*/bin.
func FindBinaries() (string, error) {
	dirs := []string{os.Getenv("PGTEST_BIN")}
	if dirs[0] == "" {
		found, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		// Newest major version first (numerically: 9.6 < 10).
		slices.SortFunc(found, func(a, b string) int { return version(b) - version(a) })
		dirs = found
	}
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

// version is the major version of a /usr/lib/postgresql/V/bin path.
func version(dir string) int {
	v, _ := strconv.Atoi(strings.SplitN(filepath.Base(filepath.Dir(dir)), ".", 2)[0])
	return v
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// Start creates a cluster and starts its server on a free port of
// 127.0.0.1 (no Unix socket), with fsync off but synchronous_commit on, so
// that a committed transaction survives a kill of the server (not of the
// machine). It returns once the database [Database] exists.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	bin, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: cfg.Dir}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgtest: running as root needs a postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if s.dir == "" {
		// Not t.TempDir: its parents are the current user's alone, and the
		// server may run as another.
		if s.dir, err = os.MkdirTemp("", "pgtest-"); err != nil {
			return nil, fmt.Errorf("pgtest: %w", err)
		}
		s.temp = true
	}
	if s.cred != nil {
		if err := os.Chown(s.dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			s.remove()
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "--pgdata="+s.dataDir(), "--username=postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		s.remove()
		return nil, fmt.Errorf("pgtest: initdb: %v\n%s", err, out)
	}
	// A free port: another process may take it between our probe and the
	// server's bind, so try a few.
	for range 5 {
		if s.port, err = freePort(); err != nil {
			break
		}
		if err = s.Restart(ctx); err == nil {
			break
		}
	}
	if err != nil {
		s.remove()
		return nil, err
	}
	conn, err := pgx.Connect(ctx, s.dsn("postgres"))
	if err == nil {
		_, err = conn.Exec(ctx, "CREATE DATABASE "+Database)
		conn.Close(ctx)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("pgtest: creating the database: %w", err)
	}
	return s, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }

func (s *Server) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// DSN returns the URL of the database [Database], the same across
// restarts.
func (s *Server) DSN() string { return s.dsn(Database) }

// Port returns the server's TCP port on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// Log returns what the server has logged.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
	return string(b)
}

// PID returns the postmaster's process ID, or 0 when it is not running.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Restart starts the server when it is not running (after [Server.Stop]
// or [Server.Kill]; a killed server recovers from its WAL), on the same
// port and data, and returns once it accepts connections. The processes
// of a killed postmaster are waited for, then killed, first.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	// Backends of a killed postmaster hold its shared memory until they
	// notice; a new postmaster refuses to start while they do. They are
	// given 5 s, then killed, then 5 s more to go; a PID that now names
	// another process (or none) is dropped.
	killAt := time.Now().Add(5 * time.Second)
	giveUp := time.After(10 * time.Second)
	for {
		s.orphans = slices.DeleteFunc(s.orphans, func(p proc) bool { return !p.alive() })
		if len(s.orphans) == 0 {
			break
		}
		if time.Now().After(killAt) {
			killOrphans(s.orphans)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtest: waiting for the processes of the killed postmaster to end: %w", ctx.Err())
		case <-giveUp:
			return fmt.Errorf("pgtest: %d processes of the killed postmaster still run after 10 s", len(s.orphans))
		case <-time.After(10 * time.Millisecond):
		}
	}
	logf, err := os.OpenFile(filepath.Join(s.dir, "server.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", s.dataDir(), "-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=300")
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so that a terminal's ^C goes to the caller
	// alone, which then stops the server.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: starting postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		conn, err := pgx.Connect(cctx, s.dsn("postgres"))
		cancel()
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case <-exited:
			s.cmd = nil
			return fmt.Errorf("pgtest: postgres exited at start: %v; its log:\n%s", cmd.ProcessState, tail(s.Log()))
		case <-ctx.Done():
			s.killLocked()
			return fmt.Errorf("pgtest: waiting for postgres to start: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func tail(log string) string {
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

// procStat is what this package reads of a /proc/PID/stat.
type procStat struct {
	state string
	ppid  int
	start uint64 // field 22: the start time, in clock ticks after boot
}

// readStat reads /proc/pid/stat; ok is false when pid does not exist.
func readStat(pid int) (st procStat, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, false
	}
	return parseStat(b)
}

// parseStat parses a /proc/PID/stat.
func parseStat(b []byte) (st procStat, ok bool) {
	// "pid (comm) state ppid …": comm may hold spaces and parentheses, so
	// the fields are counted after the last ')': field 3 (state) is f[0].
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 22-2 {
		return procStat{}, false
	}
	ppid, err1 := strconv.Atoi(f[4-3])
	start, err2 := strconv.ParseUint(f[22-3], 10, 64)
	if err1 != nil || err2 != nil {
		return procStat{}, false
	}
	return procStat{state: f[0], ppid: ppid, start: start}, true
}

// lookup returns the identity of the process pid, if it exists.
func lookup(pid int) (proc, bool) {
	st, ok := readStat(pid)
	return proc{pid: pid, start: st.start}, ok
}

// current reports whether p is still the process it was: a postgres
// process with the PID and the start time recorded. A reused PID, even of
// another PostgreSQL server's process, has another start time.
func (p proc) current() bool {
	st, ok := readStat(p.pid)
	if !ok || st.start != p.start {
		return false
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p.pid))
	return err == nil && strings.TrimSpace(string(comm)) == "postgres"
}

// alive reports whether p is current and not a zombie.
func (p proc) alive() bool {
	st, ok := readStat(p.pid)
	return ok && st.state != "Z" && st.state != "X" && p.current()
}

// signal sends sig to p if it is current. Between the check and the kill
// the process could end and its PID be reused, but PIDs are reused only
// after the whole range has been gone through, which takes far longer.
func (p proc) signal(sig syscall.Signal) error {
	if !p.current() {
		return syscall.ESRCH
	}
	return syscall.Kill(p.pid, sig)
}

// killOrphans kills those of ps that are still alive as the same
// processes.
func killOrphans(ps []proc) {
	for _, p := range ps {
		if p.alive() {
			p.signal(syscall.SIGKILL)
		}
	}
}

// children returns the processes whose parent is pid.
func children(pid int) []proc {
	ents, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range ents {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(c); ok && st.ppid == pid {
			out = append(out, proc{pid: c, start: st.start})
		}
	}
	return out
}

// stopPostmaster sends SIGSTOP to the postmaster pm and waits (at most
// 5 s) until it is stopped: then it forks no more, and its children can
// be listed once and for all.
func stopPostmaster(p *os.Process) error {
	// Through os.Process, which never signals a PID that it has reaped.
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		return err
	}
	pm := p.Pid
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, ok := readStat(pm)
		switch {
		case !ok || st.state == "Z" || st.state == "X":
			return fmt.Errorf("the postmaster (PID %d) has exited", pm)
		case st.state == "T":
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("the postmaster (PID %d) is not stopped after 5 s (state %s)", pm, st.state)
		}
		time.Sleep(time.Millisecond)
	}
}

// Pause stops the server as a frozen machine would: SIGSTOP to the
// postmaster, and once it is stopped (so that it forks no more), to every
// process it forked (backends, background workers), by PID. Connections stay open and new ones are accepted by the
// kernel, but nothing answers until [Server.Resume].
func (s *Server) Pause() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return errors.New("pgtest: Pause: the server is not running")
	}
	pm, ok := lookup(s.cmd.Process.Pid)
	if !ok {
		return errors.New("pgtest: Pause: the postmaster has exited")
	}
	err := stopPostmaster(s.cmd.Process)
	if !slices.Contains(s.paused, pm) {
		s.paused = append(s.paused, pm)
	}
	if err != nil {
		return fmt.Errorf("pgtest: Pause: %w", err)
	}
	for _, c := range children(pm.pid) {
		if slices.Contains(s.paused, c) {
			continue
		}
		if err := c.signal(syscall.SIGSTOP); err == nil {
			s.paused = append(s.paused, c)
		}
	}
	return nil
}

// Resume continues every process that [Server.Pause] stopped, the
// postmaster last.
func (s *Server) Resume() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resumeLocked()
}

func (s *Server) resumeLocked() error {
	var errs []error
	for _, p := range slices.Backward(s.paused) {
		if err := p.signal(syscall.SIGCONT); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, err)
		}
	}
	s.paused = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pgtest: Resume: %w", err)
	}
	return nil
}

// Kill crashes the server: SIGKILL to every process it forked, then to
// the postmaster (stopped first, so that no child escapes the list), as a
// crash of the machine would end them. [Server.Restart] starts it again,
// with crash recovery.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return errors.New("pgtest: Kill: the server is not running")
	}
	s.resumeLocked()
	s.killLocked()
	return nil
}

// killLocked kills the postmaster: SIGSTOP first, so that it forks no
// more, then, once it is stopped, the listing of its children (recorded as
// orphans, for Restart and Close) and their SIGKILL, and the postmaster's.
func (s *Server) killLocked() {
	// On an error (it exited, or is not stopped in 5 s) go on all the same.
	stopPostmaster(s.cmd.Process)
	cs := children(s.cmd.Process.Pid)
	for _, c := range cs {
		c.signal(syscall.SIGKILL)
	}
	s.orphans = append(s.orphans, cs...)
	s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Stop shuts the server down (fast shutdown: sessions are ended, and
// transactions in progress rolled back), killing it after 10 s.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	s.resumeLocked()
	s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.exited:
		s.cmd = nil
	case <-time.After(10 * time.Second):
		s.killLocked()
		return errors.New("pgtest: Stop: the server did not stop in 10 s; killed")
	}
	return nil
}

// Close stops the server and removes its files, if Start made their
// directory.
func (s *Server) Close() error {
	err := s.Stop()
	s.mu.Lock()
	killOrphans(s.orphans)
	s.orphans = nil
	s.mu.Unlock()
	s.remove()
	return err
}

func (s *Server) remove() {
	if s.temp {
		os.RemoveAll(s.dir)
	}
}
