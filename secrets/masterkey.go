package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MasterKeyFileName is the file, inside the data directory, that holds the
// generated master key when none is configured.
const MasterKeyFileName = "master.key"

// LoadOrCreateMasterKey returns the 32-byte master key.
//
// A non-empty configured value (base64, standard or raw URL-safe) wins.
// Otherwise the key is read from <dataDir>/master.key, or, if that file does
// not exist, generated and written there (mode 0600, directory created 0700)
// with created=true. Errors never contain the key or the configured value.
func LoadOrCreateMasterKey(configured string, dataDir string) (key []byte, created bool, err error) {
	if strings.TrimSpace(configured) != "" {
		key, err := decodeMasterKey(configured)
		if err != nil {
			return nil, false, fmt.Errorf("secrets: config key master_key: %w", err)
		}
		return key, false, nil
	}

	path := filepath.Join(dataDir, MasterKeyFileName)
	key, err = readMasterKeyFile(path)
	if err == nil {
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}

	key = make([]byte, MasterKeySize)
	rand.Read(key) // never fails; see crypto/rand.Read
	created, err = writeMasterKeyFile(dataDir, path, key)
	if err != nil {
		return nil, false, err
	}
	if !created {
		// Another process created the file first; use its key, not ours.
		key, err = readMasterKeyFile(path)
		if err != nil {
			return nil, false, err
		}
	}
	return key, created, nil
}

// decodeMasterKey accepts standard (padded) or raw URL-safe base64, with
// surrounding whitespace ignored (files and env vars often end in a newline).
func decodeMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		key, err = base64.RawURLEncoding.DecodeString(s)
	}
	if err != nil {
		// The decoder's error only reports an offset, but stay vague anyway.
		return nil, errors.New("not valid base64 (standard or raw URL-safe)")
	}
	if len(key) != MasterKeySize {
		return nil, fmt.Errorf("decodes to %d bytes, want %d", len(key), MasterKeySize)
	}
	return key, nil
}

func readMasterKeyFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secrets: read master key: %w", err)
	}
	key, err := decodeMasterKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("secrets: master key file %s: %w", path, err)
	}
	return key, nil
}

// writeMasterKeyFile writes key to path atomically: a reader sees either no
// file or the complete key. It returns false if path already existed.
func writeMasterKeyFile(dataDir, path string, key []byte) (bool, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return false, fmt.Errorf("secrets: create data directory: %w", err)
	}
	// CreateTemp creates the file with mode 0600.
	tmp, err := os.CreateTemp(dataDir, MasterKeyFileName+".tmp-*")
	if err != nil {
		return false, fmt.Errorf("secrets: create temporary master key file: %w", err)
	}
	tmpPath := tmp.Name()
	defer os.Remove(tmpPath) // no-op once renamed; after a link it drops the extra name

	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return false, fmt.Errorf("secrets: write temporary master key file: %w", err)
	}

	// Link, unlike rename, fails if the file already exists, so two processes
	// starting together cannot overwrite each other's key (whoever lost would
	// be left encrypting with a key that no longer exists on disk).
	err = os.Link(tmpPath, path)
	switch {
	case errors.Is(err, fs.ErrExist):
		return false, nil
	case err != nil:
		// Filesystems without hard links: fall back to a plain rename.
		if err := os.Rename(tmpPath, path); err != nil {
			return false, fmt.Errorf("secrets: install master key file: %w", err)
		}
	}
	syncDir(dataDir)
	return true, nil
}

// syncDir makes the new directory entry durable. Best effort: some platforms
// cannot fsync a directory, and the file itself is already synced.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
