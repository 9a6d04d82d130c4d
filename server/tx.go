package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/paymux/paymux/ent"
)

// inTx runs fn in a transaction: committed if fn returns nil, rolled back
// otherwise, so a failed call never leaves half a change behind.
func inTx(ctx context.Context, db *ent.Client, fn func(tx *ent.Tx) error) error {
	tx, err := db.Tx(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			return errors.Join(err, fmt.Errorf("rollback: %w", rerr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
