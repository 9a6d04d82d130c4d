package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// lockFileName is the file, inside the data directory, whose lock marks the
// directory as in use by a running `paymux serve`.
const lockFileName = "paymux.lock"

// lockDataDir creates the data directory if need be and takes an exclusive
// lock on its lock file, so that a second `paymux serve` on the same
// directory stops at once instead of serving beside the first (both would
// hand out the same sandbox transaction ids). The operating system drops
// the lock when the process ends, however it ends; release drops it
// before.
func lockDataDir(dataDir string) (release func(), err error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	path := filepath.Join(dataDir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	locked, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("data directory: lock %s: %w", path, err)
	}
	if !locked {
		holder := "another process"
		if b, err := os.ReadFile(path); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				holder = "process " + strconv.Itoa(pid)
			}
		}
		f.Close()
		return nil, fmt.Errorf("data directory %s is in use by another paymux serve (%s holds %s): stop it first, or give this one its own --data-dir", dataDir, holder, lockFileName)
	}
	// Who holds it, for the message above; the lock, not this, is what counts.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0) // best effort: only a message reads it
	}
	return func() { f.Close() }, nil
}
