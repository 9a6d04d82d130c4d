// Package database opens paymux's database (SQLite in the data directory,
// or PostgreSQL), migrates its schema, and holds the transaction helpers
// every domain service writes through: InTx, ReadTx, and the row locks that
// PostgreSQL needs and SQLite's one writer makes unnecessary.
package database

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/migrate"
	_ "github.com/paymux/paymux/ent/runtime" // privacy policies and defaults
)

// Open opens PostgreSQL when dsn is set, else SQLite at sqlitePath.
func Open(dsn, sqlitePath string, maxOpenConns int) (*ent.Client, error) {
	drv, err := OpenDriver(dsn, sqlitePath, maxOpenConns)
	if err != nil {
		return nil, err
	}
	return ent.NewClient(ent.Driver(drv)), nil
}

// OpenDriver is Open's driver, for callers that wrap it.
func OpenDriver(dsn, sqlitePath string, maxOpenConns int) (dialect.Driver, error) {
	if dsn != "" {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		db.SetMaxOpenConns(maxOpenConns)
		db.SetMaxIdleConns(maxOpenConns)
		return entsql.OpenDB(dialect.Postgres, db), nil
	}
	// WAL lets readers run beside the writer; writers wait their turn
	// (busy_timeout) and take the write lock when they begin (_txlock), so
	// a transaction never fails half way for want of it.
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	// Checkpoints run in the background (see oneWriter), not in whichever
	// commit happens to cross the threshold.
	q.Add("_pragma", "wal_autocheckpoint(0)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+sqlitePath+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open SQLite %s: %w", sqlitePath, err)
	}
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxOpenConns)
	w := &oneWriter{Driver: entsql.OpenDB(dialect.SQLite, db), turn: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	go w.checkpoint(db)
	return w, nil
}

// checkpointEvery is how often the WAL is copied back into the database
// file. A passive checkpoint waits for no one and holds no writer back.
const checkpointEvery = 500 * time.Millisecond

// checkpoint keeps the WAL short in the background until Close.
func (d *oneWriter) checkpoint(db *sql.DB) {
	defer close(d.stopped)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			// An error (the database closing, a busy reader) only means this
			// round is skipped; the next one catches up.
			_, _ = db.Exec("PRAGMA wal_checkpoint(PASSIVE)")
		}
	}
}

// Close stops the checkpoints, then closes the database.
func (d *oneWriter) Close() error {
	d.closeOnce.Do(func() { close(d.stop) })
	<-d.stopped
	return d.Driver.Close()
}

// oneWriter hands SQLite's single write lock to one transaction of this
// process at a time, in Go. Left to SQLite, waiting writers poll with
// sleeps of up to 100 ms (its busy handler) and hold a pooled connection
// while they wait; queued here, the next one starts the moment the last
// one ends. Another process on the same file still waits by busy_timeout.
type oneWriter struct {
	*entsql.Driver
	turn chan struct{}

	stop, stopped chan struct{}
	closeOnce     sync.Once
}

func (d *oneWriter) Tx(ctx context.Context) (dialect.Tx, error) { return d.BeginTx(ctx, nil) }

// Exec runs a statement outside a transaction (a bulk insert, a delete)
// in its own write turn too; Query needs none.
func (d *oneWriter) Exec(ctx context.Context, query string, args, v any) error {
	select {
	case d.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-d.turn }()
	return d.Driver.Exec(ctx, query, args, v)
}

func (d *oneWriter) BeginTx(ctx context.Context, opts *entsql.TxOptions) (dialect.Tx, error) {
	if opts != nil && opts.ReadOnly {
		// A reader needs no write turn (the driver begins it deferred).
		return d.Driver.BeginTx(ctx, opts)
	}
	select {
	case d.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	tx, err := d.Driver.BeginTx(ctx, opts)
	if err != nil {
		<-d.turn
		return nil, err
	}
	return &writerTx{Tx: tx, done: func() { <-d.turn }}, nil
}

// writerTx gives the turn back when it ends, once.
type writerTx struct {
	dialect.Tx
	once sync.Once
	done func()
}

func (t *writerTx) Commit() error {
	defer t.once.Do(t.done)
	return t.Tx.Commit()
}

func (t *writerTx) Rollback() error {
	defer t.once.Do(t.done)
	return t.Tx.Rollback()
}

// Migrate brings the schema up to date. It only adds tables, columns and
// indexes; it never drops one, so upgrading a populated database keeps
// every row.
func Migrate(ctx context.Context, db *ent.Client) error {
	if err := db.Schema.Create(ctx, migrate.WithForeignKeys(true)); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
