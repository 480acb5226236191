package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// readmeFile is a code block of the README that begins with a
// "// file: DIR/NAME.go" line.
type readmeFile struct {
	path string // DIR/NAME.go
	code string
	line int // of the block's first line, for messages
}

// readmeFiles returns the "// file:" blocks of the README.
func readmeFiles(t *testing.T) []readmeFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var (
		files []readmeFile
		block []string
		in    bool
		start int
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case !in && line == "```go":
			in, block, start = true, nil, n+1
		case in && line == "```":
			in = false
			if len(block) > 0 {
				if p, ok := strings.CutPrefix(block[0], "// file: "); ok {
					files = append(files, readmeFile{path: p, code: strings.Join(block, "\n") + "\n", line: start})
				}
			}
		case in:
			block = append(block, line)
		}
	}
	return files
}

// The README's code is real: every "// file:" block compiles in this
// module, each directory as one package, and its tests pass. The files are
// given to the go command as an overlay, so nothing is written to the
// repository.
func TestREADMECode(t *testing.T) {
	files := readmeFiles(t)
	if len(files) < 5 {
		t.Fatalf("found %d \"// file:\" blocks in README.md, want the server, chi, store, store test and replica", len(files))
	}
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	// A directory that does not exist: the overlay adds it.
	root := filepath.Join(wd, "zz_readme_overlay")
	if _, err := os.Stat(root); err == nil {
		t.Fatalf("%s exists; it must not", root)
	}
	tmp := t.TempDir()
	overlay := map[string]map[string]string{"Replace": {}}
	var dirs []string
	for i, f := range files {
		if path.IsAbs(f.path) || strings.Contains(f.path, "..") || path.Ext(f.path) != ".go" {
			t.Fatalf("README.md:%d: bad file name %q", f.line, f.path)
		}
		real := filepath.Join(tmp, strings.ReplaceAll(f.path, "/", "_")+"."+string(rune('a'+i)))
		if err := os.WriteFile(real, []byte(f.code), 0o600); err != nil {
			t.Fatal(err)
		}
		overlay["Replace"][filepath.Join(root, filepath.FromSlash(f.path))] = real
		if d := "./" + path.Join("zz_readme_overlay", path.Dir(f.path)); !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	ovl := filepath.Join(tmp, "overlay.json")
	data, err := json.Marshal(overlay)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ovl, data, 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	for _, dir := range dirs {
		t.Run(path.Base(dir), func(t *testing.T) {
			// go vet and go test run tools inside the package directory,
			// which only the overlay has; go build and go test -c do not.
			out, err := exec.CommandContext(ctx, gotool, append([]string{"build", "-overlay", ovl, "-o", os.DevNull}, dir)...).CombinedOutput()
			if err != nil {
				t.Fatalf("go build %s: %v\n%s", dir, err, out)
			}
			bin := filepath.Join(tmp, path.Base(dir)+".test")
			out, err = exec.CommandContext(ctx, gotool, "test", "-c", "-race", "-vet=off", "-overlay", ovl, "-o", bin, dir).CombinedOutput()
			if err != nil {
				t.Fatalf("go test -c %s: %v\n%s", dir, err, out)
			}
			if _, err := os.Stat(bin); err != nil {
				return // no tests in the package
			}
			out, err = exec.CommandContext(ctx, bin, "-test.v", "-test.timeout=3m").CombinedOutput()
			if err != nil {
				t.Fatalf("the tests of %s fail: %v\n%s", dir, err, out)
			}
			if !bytes.Contains(out, []byte("--- PASS: ")) {
				t.Fatalf("the tests of %s ran nothing:\n%s", dir, out)
			}
			t.Logf("%s: %d subtests passed", dir, bytes.Count(out, []byte("--- PASS: ")))
		})
	}
}
