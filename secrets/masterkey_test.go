package secrets

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestLoadOrCreateMasterKeyCreatesThenReads(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data", "nested")

	key, created, err := LoadOrCreateMasterKey("", dataDir)
	if err != nil {
		t.Fatalf("first call: %v", err)
	}
	if !created || len(key) != MasterKeySize {
		t.Fatalf("first call: created=%v len=%d, want created=true len=32", created, len(key))
	}
	if _, err := NewKeyring(key); err != nil {
		t.Fatalf("created key does not make a keyring: %v", err)
	}

	path := filepath.Join(dataDir, MasterKeyFileName)
	if runtime.GOOS != "windows" {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("master key file mode = %o, want 600", perm)
		}
		dirInfo, err := os.Stat(dataDir)
		if err != nil {
			t.Fatal(err)
		}
		if perm := dirInfo.Mode().Perm(); perm != 0o700 {
			t.Errorf("data directory mode = %o, want 700", perm)
		}
	}
	entries, _ := os.ReadDir(dataDir)
	if len(entries) != 1 {
		t.Errorf("data directory has %d entries, want only %s (temporary file left behind?)", len(entries), MasterKeyFileName)
	}

	again, created, err := LoadOrCreateMasterKey("", dataDir)
	if err != nil {
		t.Fatalf("second call: %v", err)
	}
	if created || !bytes.Equal(again, key) {
		t.Errorf("second call: created=%v, same key=%v; want created=false, same key", created, bytes.Equal(again, key))
	}
}

func TestLoadOrCreateMasterKeyConfiguredWins(t *testing.T) {
	want := bytes.Repeat([]byte{0xab}, MasterKeySize)
	encodings := map[string]string{
		"standard":          base64.StdEncoding.EncodeToString(want),
		"raw url":           base64.RawURLEncoding.EncodeToString(want),
		"trailing newline":  base64.StdEncoding.EncodeToString(want) + "\n",
		"surrounding space": "  " + base64.RawURLEncoding.EncodeToString(want) + " ",
	}
	for name, configured := range encodings {
		t.Run(name, func(t *testing.T) {
			dataDir := t.TempDir()
			// A different key on disk must be ignored.
			if _, _, err := LoadOrCreateMasterKey("", dataDir); err != nil {
				t.Fatal(err)
			}
			got, created, err := LoadOrCreateMasterKey(configured, dataDir)
			if err != nil {
				t.Fatal(err)
			}
			if created || !bytes.Equal(got, want) {
				t.Errorf("got created=%v key=%x, want created=false key=%x", created, got, want)
			}
		})
	}

	t.Run("no file written", func(t *testing.T) {
		dataDir := t.TempDir()
		if _, _, err := LoadOrCreateMasterKey(encodings["standard"], dataDir); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dataDir, MasterKeyFileName)); !os.IsNotExist(err) {
			t.Errorf("master key file exists (err=%v), want none when a key is configured", err)
		}
	})
}

func TestLoadOrCreateMasterKeyBadConfigured(t *testing.T) {
	tests := []struct {
		name       string
		configured string
	}{
		{"not base64", "this-is-my-very-secret-master-key!!"},
		{"too short", base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))},
		{"too long", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("k"), 33))},
		{"hex instead of base64", strings.Repeat("ab", 32) + "zz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := LoadOrCreateMasterKey(tt.configured, t.TempDir())
			if err == nil {
				t.Fatal("want error")
			}
			if !strings.Contains(err.Error(), "master_key") {
				t.Errorf("error %q does not name the master_key config key", err)
			}
			if strings.Contains(err.Error(), strings.TrimSpace(tt.configured)) {
				t.Errorf("error %q echoes the configured value", err)
			}
		})
	}
}

func TestLoadOrCreateMasterKeyBadFile(t *testing.T) {
	dataDir := t.TempDir()
	contents := "not-a-key-but-still-private-content"
	path := filepath.Join(dataDir, MasterKeyFileName)
	if err := os.WriteFile(path, []byte(contents), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := LoadOrCreateMasterKey("", dataDir)
	if err == nil {
		t.Fatal("want error for a corrupt master key file")
	}
	if strings.Contains(err.Error(), contents) {
		t.Errorf("error %q echoes the file contents", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
	// A corrupt key must never be silently replaced: that would orphan every
	// ciphertext made with the old one.
	if got, _ := os.ReadFile(path); string(got) != contents {
		t.Error("corrupt master key file was overwritten")
	}
}

func TestLoadOrCreateMasterKeyLosesRaceGracefully(t *testing.T) {
	dataDir := t.TempDir()
	existing := bytes.Repeat([]byte{7}, MasterKeySize)
	path := filepath.Join(dataDir, MasterKeyFileName)
	// Simulate another process winning between our read and our write.
	created, err := writeMasterKeyFile(dataDir, path, existing)
	if err != nil || !created {
		t.Fatalf("first write: created=%v err=%v", created, err)
	}
	created, err = writeMasterKeyFile(dataDir, path, bytes.Repeat([]byte{8}, MasterKeySize))
	if err != nil || created {
		t.Fatalf("second write: created=%v err=%v, want false, nil", created, err)
	}
	got, err := readMasterKeyFile(path)
	if err != nil || !bytes.Equal(got, existing) {
		t.Errorf("file holds %x (err %v), want the first key %x", got, err, existing)
	}
}

func FuzzDecodeMasterKey(f *testing.F) {
	f.Add(base64.StdEncoding.EncodeToString(make([]byte, 32)))
	f.Add(base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)) + "\n")
	f.Add("")
	f.Add("====")
	f.Fuzz(func(t *testing.T, s string) {
		key, err := decodeMasterKey(s)
		if err != nil {
			if key != nil {
				t.Fatal("returned a key with an error")
			}
			return
		}
		if len(key) != MasterKeySize {
			t.Fatalf("accepted a %d-byte key", len(key))
		}
	})
}
