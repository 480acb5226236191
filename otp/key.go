package otp

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// GenerateKey returns MinKeyLen fresh random bytes for Config.Key.
func GenerateKey() []byte {
	key := make([]byte, MinKeyLen)
	rand.Read(key) // never fails (crypto/rand, Go 1.24+)
	return key
}

// LoadOrCreateKeyFile returns the key kept in the file at path: standard
// base64 of at least MinKeyLen bytes, surrounding white space ignored. When
// the file does not exist it first writes a [GenerateKey] key to it, with
// mode 0600. The file appears complete or not at all, and a file that
// another process created at the same time is not overwritten: both then
// use that one.
//
// It suits a single server or replicas that share a file system; replicas
// elsewhere should get the key from their secret store instead.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return parseKeyFile(path, b)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".otpkey-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	key := GenerateKey()
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, werr
	}
	// CreateTemp made it 0600. Link, unlike Rename, fails when path exists.
	if err := os.Link(f.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			return parseKeyFile(path, b)
		}
		return nil, err
	}
	return key, nil
}

func parseKeyFile(path string, b []byte) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(b)))
	if err != nil || len(key) < MinKeyLen {
		// The content is secret: do not quote it.
		return nil, fmt.Errorf("otp: key file %s: not base64 of at least %d bytes", path, MinKeyLen)
	}
	return key, nil
}
