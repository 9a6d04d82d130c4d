package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// The sandbox PG keeps its state in memory, as a real PG keeps it on its
// side; StateFile saves it to <data_dir>/sandbox-state.json so that a restart
// does not make yesterday's test payments unknown to the PG (a cancel would
// fail). The file holds no card number: see sandbox.Snapshot.

const stateFileName = "sandbox-state.json"

// StateFile saves a sandbox's state when it changes: a runner.
type StateFile struct {
	sb       *Sandbox
	path     string
	saved    uint64 // the Version last written
	interval time.Duration
	onErr    func(error)
}

// OpenStateFile restores sb from its file in dataDir, if there is one, and
// returns the runner that keeps the file up to date every interval.
func OpenStateFile(sb *Sandbox, dataDir string, interval time.Duration, onErr func(error)) (*StateFile, error) {
	st := &StateFile{sb: sb, path: filepath.Join(dataDir, stateFileName), interval: interval, onErr: onErr}
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
func (st *StateFile) save() error {
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

// Run saves every interval until ctx ends, then once more.
func (st *StateFile) Run(ctx context.Context) error {
	onErr := st.onErr
	t := time.NewTicker(st.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := st.save(); err != nil {
				onErr(err)
			}
			return nil
		case <-t.C:
			if err := st.save(); err != nil {
				onErr(err)
			}
		}
	}
}
