// Package testdb gives every package's tests the databases paymux runs on:
// SQLite always, and PostgreSQL when PAYMUX_TEST_POSTGRES_DSN is set (in CI,
// where CI is set, it must be). Each test gets a fresh, migrated database
// that is removed when it ends.
package testdb

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"

	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/secrets"
)

// DB is one database kind a test runs on.
type DB struct {
	Name string
	Open func(t testing.TB) *ent.Client
}

// PostgresDSN is the PostgreSQL server tests use, or "" for none. In CI a
// missing one fails the test: there the suite runs on PostgreSQL too.
func PostgresDSN(t testing.TB) string {
	dsn := os.Getenv("PAYMUX_TEST_POSTGRES_DSN")
	if dsn == "" && os.Getenv("CI") != "" {
		t.Fatal("PAYMUX_TEST_POSTGRES_DSN must be set in CI: the suite runs on PostgreSQL too")
	}
	return dsn
}

// All lists the databases: SQLite, then PostgreSQL when there is one.
func All(t testing.TB) []DB {
	dbs := []DB{{"sqlite", SQLite}}
	if PostgresDSN(t) != "" {
		dbs = append(dbs, DB{"postgres", Postgres})
	}
	return dbs
}

// ForEach runs fn as a subtest on each database.
func ForEach(t *testing.T, fn func(t *testing.T, db *ent.Client)) {
	for _, d := range All(t) {
		t.Run(d.Name, func(t *testing.T) { fn(t, d.Open(t)) })
	}
}

// SQLite opens a new SQLite database in the test's temporary directory.
func SQLite(t testing.TB) *ent.Client {
	return Open(t, "", t.TempDir()+"/paymux.db")
}

// Open opens the database at dsn (PostgreSQL) or path (SQLite), closed
// when the test ends, and migrates it.
func Open(t testing.TB, dsn, path string) *ent.Client {
	db, err := database.Open(dsn, path, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := database.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

// Postgres gives the test a schema of its own on the PostgreSQL server,
// dropped when the test ends.
func Postgres(t testing.TB) *ent.Client {
	dsn := PostgresSchema(t)
	return Open(t, dsn, "")
}

// PostgresSchema creates a schema of the test's own and returns a DSN that
// uses it, for tests that open the database themselves (a replica, say).
func PostgresSchema(t testing.TB) string {
	dsn := PostgresDSN(t)
	if dsn == "" {
		t.Fatal("no PostgreSQL: set PAYMUX_TEST_POSTGRES_DSN")
	}
	schema := "pmt_" + strings.ToLower(secrets.RandomString(12))
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema on %s: %v", dsn, err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
		admin.Close()
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}
