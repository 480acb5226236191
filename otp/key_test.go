package otp

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestGenerateKey(t *testing.T) {
	a, b := GenerateKey(), GenerateKey()
	if len(a) != MinKeyLen || bytes.Equal(a, b) {
		t.Errorf("GenerateKey: %d bytes, repeated %v", len(a), bytes.Equal(a, b))
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "otp.key")
	k1, err := LoadOrCreateKeyFile(path)
	if err != nil || len(k1) != MinKeyLen {
		t.Fatalf("first LoadOrCreateKeyFile: %d bytes, %v", len(k1), err)
	}
	k2, err := LoadOrCreateKeyFile(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second LoadOrCreateKeyFile: another key or %v", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v, %v; want 0600", fi.Mode(), err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("the directory holds %d files, want only the key", len(entries))
	}
}

func TestLoadOrCreateKeyFileConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "otp.key")
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		keys [][]byte
	)
	for range 20 {
		wg.Go(func() {
			k, err := LoadOrCreateKeyFile(path)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			keys = append(keys, k)
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, k := range keys {
		if !bytes.Equal(k, keys[0]) {
			t.Fatalf("concurrent LoadOrCreateKeyFile calls got different keys")
		}
	}
}

func TestLoadOrCreateKeyFileBad(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"short":      "c2VjcmV0LXNob3J0Cg==\n",
		"not base64": "this is the secret text!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n",
	} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(content), 0o600)
		_, err := LoadOrCreateKeyFile(path)
		if err == nil {
			t.Errorf("%s: got nil error", name)
			continue
		}
		if strings.Contains(err.Error(), strings.TrimSpace(content)) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error quotes the file: %v", name, err)
		}
	}
	if _, err := LoadOrCreateKeyFile(filepath.Join(dir, "missing", "otp.key")); err == nil {
		t.Errorf("key file in a missing directory: got nil error")
	}
}
