package server

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/migrate"
	_ "github.com/paymux/paymux/ent/runtime" // privacy policies and defaults
)

// OpenDatabase opens PostgreSQL when dsn is set, else SQLite at sqlitePath.
func OpenDatabase(dsn, sqlitePath string, maxOpenConns int) (*ent.Client, error) {
	drv, err := OpenDriver(dsn, sqlitePath, maxOpenConns)
	if err != nil {
		return nil, err
	}
	return ent.NewClient(ent.Driver(drv)), nil
}

// OpenDriver is OpenDatabase's driver, for callers that wrap it.
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
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+sqlitePath+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open SQLite %s: %w", sqlitePath, err)
	}
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxOpenConns)
	return entsql.OpenDB(dialect.SQLite, db), nil
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
