package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/paymux/paymux/providers/sandbox"
)

// The sandbox PG keeps its state in memory, as a real PG keeps it on its
// side; paymux saves it to <data_dir>/sandbox-state.json so that a restart
// does not make yesterday's test payments unknown to the PG (a cancel would
// fail). The file holds no card number: see sandbox.Snapshot.

const sandboxStateFile = "sandbox-state.json"

// sandboxState saves a sandbox's state when it changes.
type sandboxState struct {
	sb    *sandbox.Sandbox
	path  string
	saved uint64 // the Version last written
}

// openSandboxState restores the sandbox from its file, if there is one.
func openSandboxState(sb *sandbox.Sandbox, dataDir string) (*sandboxState, error) {
	st := &sandboxState{sb: sb, path: filepath.Join(dataDir, sandboxStateFile)}
	data, err := os.ReadFile(st.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("sandbox state: %w", err)
	default:
		if err := sb.Restore(data); err != nil {
			return nil, fmt.Errorf("sandbox state %s: %w", st.path, err)
		}
	}
	st.saved = sb.Version()
	return st, nil
}

// save writes the state if it moved since the last save: to a temporary
// file, then renamed over the old one, so a crash never leaves half a file.
func (st *sandboxState) save() error {
	v := st.sb.Version() // before the snapshot: a change in between is saved next time
	if v == st.saved {
		return nil
	}
	data, err := st.sb.Snapshot()
	if err != nil {
		return fmt.Errorf("sandbox state: %w", err)
	}
	tmp := st.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("sandbox state: %w", err)
	}
	if err := os.Rename(tmp, st.path); err != nil {
		return fmt.Errorf("sandbox state: %w", err)
	}
	st.saved = v
	return nil
}

// run saves every interval until ctx ends, then once more.
func (st *sandboxState) run(ctx context.Context, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := st.save(); err != nil {
				onErr(err)
			}
			return
		case <-t.C:
			if err := st.save(); err != nil {
				onErr(err)
			}
		}
	}
}
