// Package pgtest runs a PostgreSQL server of its own for fault-injection
// tests and the soak command: a fresh cluster (initdb) in a directory of
// its own, on a free loopback port, that the caller may pause (SIGSTOP of
// the postmaster and of every process it forked, by PID), resume, kill
// (SIGKILL of the postmaster, as a crash), stop and start again on the same
// port and data.
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
	paused  []int         // PIDs stopped by Pause, the postmaster first
	orphans []int         // children of a killed postmaster
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
	s, err := Start(context.Background(), Config{})
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
	// notice; a new postmaster refuses to start while they do.
	deadline := time.Now().Add(5 * time.Second)
	for len(s.orphans) > 0 {
		s.orphans = slices.DeleteFunc(s.orphans, func(pid int) bool { return !alive(pid) })
		if time.Now().After(deadline) {
			killOrphans(s.orphans)
		}
		time.Sleep(10 * time.Millisecond)
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

// alive reports whether the process pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, state, _ := statFields(b)
	return state != "Z" && state != "X"
}

// killOrphans kills those of pids that are still postgres processes (a
// PID may have been reused since).
func killOrphans(pids []int) {
	for _, pid := range pids {
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && alive(pid) &&
			strings.TrimSpace(string(comm)) == "postgres" {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// statFields returns the ppid and state of a /proc/PID/stat.
func statFields(b []byte) (ppid int, state string, ok bool) {
	// "pid (comm) state ppid …": comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, "", false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, "", false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, f[0], err == nil
}

// children returns the PIDs of the processes whose parent is pid.
func children(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		if ppid, _, ok := statFields(b); ok && ppid == pid {
			out = append(out, c)
		}
	}
	return out
}

// Pause stops the server as a frozen machine would: SIGSTOP to the
// postmaster, then to every process it forked (backends, background
// workers), by PID. Connections stay open and new ones are accepted by the
// kernel, but nothing answers until [Server.Resume].
func (s *Server) Pause() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return errors.New("pgtest: Pause: the server is not running")
	}
	pm := s.cmd.Process.Pid
	if err := syscall.Kill(pm, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("pgtest: Pause: %w", err)
	}
	s.paused = append(s.paused, pm)
	// A stopped postmaster forks no more; list twice to catch a child
	// forked just before the stop.
	for range 2 {
		for _, c := range children(pm) {
			if slices.Contains(s.paused, c) {
				continue
			}
			if err := syscall.Kill(c, syscall.SIGSTOP); err == nil {
				s.paused = append(s.paused, c)
			}
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
	for _, pid := range slices.Backward(s.paused) {
		if err := syscall.Kill(pid, syscall.SIGCONT); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, err)
		}
	}
	s.paused = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pgtest: Resume: %w", err)
	}
	return nil
}

// Kill crashes the server: SIGKILL to the postmaster alone, as the OOM
// killer would. Its backends end once they notice; [Server.Restart]
// starts it again, with crash recovery.
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

func (s *Server) killLocked() {
	pm := s.cmd.Process.Pid
	s.orphans = append(s.orphans, children(pm)...)
	syscall.Kill(pm, syscall.SIGKILL)
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
