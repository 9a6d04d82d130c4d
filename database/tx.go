package database

import (
	"context"
	stdsql "database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"sync/atomic"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/store"
	"github.com/paymux/paymux/tenant"
)

// InTx runs fn in a transaction: committed if fn returns nil, rolled back
// otherwise, so a failed call never leaves half a change behind.
func InTx(ctx context.Context, db *ent.Client, fn func(tx *ent.Tx) error) error {
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

// ReadTx runs fn in a read-only transaction, so that its reads see one
// snapshot of the database (REPEATABLE READ on PostgreSQL; on SQLite a
// deferred transaction, which needs no write turn).
func ReadTx(ctx context.Context, db *ent.Client, fn func(tx *ent.Tx) error) error {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: stdsql.LevelRepeatableRead})
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			return errors.Join(err, fmt.Errorf("rollback: %w", rerr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit read: %w", err)
	}
	return nil
}

// LockStore makes a transaction that checks a per-store limit (count, then
// insert) the only one doing so for that store until it ends. On PostgreSQL
// it locks the store's row; SQLite runs write transactions one at a time
// already (BEGIN IMMEDIATE), so there is nothing to add.
func LockStore(ctx context.Context, tx *ent.Tx, storeID string) error {
	_, err := tx.Store.Query().Where(store.ID(storeID)).Select(store.FieldID).
		Modify(ForUpdate).
		Strings(tenant.System(ctx))
	if err != nil {
		return fmt.Errorf("lock store %s: %w", storeID, err)
	}
	return nil
}

// ForUpdate makes a query inside a transaction lock the rows it reads until
// the transaction ends: FOR UPDATE on PostgreSQL. SQLite needs nothing: it
// runs write transactions one at a time (BEGIN IMMEDIATE).
func ForUpdate(s *sql.Selector) {
	if s.Dialect() == dialect.Postgres {
		s.ForUpdate()
	}
}

// IsTxConflict reports whether PostgreSQL ended a transaction for
// conflicting with another (a deadlock, a serialization failure): the
// work may be retried as it is.
func IsTxConflict(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// KeyLocks make a transaction the only one holding a key until it ends:
// on PostgreSQL a transaction-scoped advisory lock on the key's hash (two
// keys may share a hash: they then wait for each other, which is safe);
// SQLite runs write transactions one at a time already. They serialise
// work that must see each other's rows but share no row to lock, such as a
// new order and a new deposit of the same name and amount. The zero value
// is ready; it learns the database's dialect on first use.
type KeyLocks struct {
	dialect atomic.Int32 // 0 not known yet, 1 PostgreSQL, 2 another
}

// Lock takes key for tx.
func (l *KeyLocks) Lock(ctx context.Context, tx *ent.Tx, key string) error {
	if l.dialect.Load() == 0 {
		postgres := false
		// The dialect shows only to a query's modifier; this one reads nothing.
		_, err := tx.Store.Query().Select(store.FieldID).Modify(func(s *sql.Selector) {
			postgres = s.Dialect() == dialect.Postgres
			s.Where(sql.False())
		}).Strings(tenant.System(ctx))
		if err != nil {
			return err
		}
		l.dialect.Store(map[bool]int32{true: 1, false: 2}[postgres])
	}
	if l.dialect.Load() != 1 {
		return nil
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(h.Sum64())); err != nil {
		return fmt.Errorf("lock %q: %w", key, err)
	}
	return nil
}
