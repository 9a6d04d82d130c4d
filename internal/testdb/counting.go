package testdb

import (
	"context"
	"sync/atomic"

	"entgo.io/ent/dialect"
)

// CountingDriver counts database round trips (statements and transactions
// begun), for tests that prove a path makes none.
type CountingDriver struct {
	dialect.Driver
	N atomic.Int64
}

func (d *CountingDriver) Exec(ctx context.Context, q string, args, v any) error {
	d.N.Add(1)
	return d.Driver.Exec(ctx, q, args, v)
}

func (d *CountingDriver) Query(ctx context.Context, q string, args, v any) error {
	d.N.Add(1)
	return d.Driver.Query(ctx, q, args, v)
}

func (d *CountingDriver) Tx(ctx context.Context) (dialect.Tx, error) {
	d.N.Add(1)
	return d.Driver.Tx(ctx)
}
