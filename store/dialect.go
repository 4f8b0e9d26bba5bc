package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// dialect is the SQL flavour of the database behind the store. Queries are
// written once, in the SQL both databases accept:
//   - placeholders are `?`, rebound to `$n` for PostgreSQL;
//   - a SUM over integer columns is written CAST(SUM(x) AS BIGINT): PostgreSQL
//     sums BIGINT into NUMERIC, SQLite ignores the cast;
//   - flags are INTEGER 0/1 (b2i), times TEXT in timeFormat, so comparisons,
//     ORDER BY and substr agree (PostgreSQL text columns use COLLATE "C", the
//     byte order SQLite uses);
//   - a unique violation is detected by isUniqueViolation.
//
// Only the migrations are written per dialect.
type dialect int

const (
	sqliteDialect dialect = iota
	postgresDialect
)

func (d dialect) String() string {
	if d == postgresDialect {
		return "postgres"
	}
	return "sqlite"
}

// migrationLock is the statement that makes a migration transaction wait for
// any other process migrating the same schema. SQLite needs none: the store
// begins its transactions IMMEDIATE, which takes the database's write lock.
func (d dialect) migrationLock() string {
	if d != postgresDialect {
		return ""
	}
	// A transaction-scoped advisory lock, released at commit or rollback,
	// keyed by the schema so that a database holding several Telos schemas
	// (tests do) migrates them independently.
	return `SELECT pg_advisory_xact_lock(hashtext('telos migrate'), hashtext(COALESCE(current_schema(), '')))`
}

// pgUniqueViolation is PostgreSQL's SQLSTATE unique_violation.
const pgUniqueViolation = "23505"

// isUniqueViolation reports whether err is a unique or primary key
// constraint failure, in either dialect.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == pgUniqueViolation
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// rebind turns `?` placeholders into `$1, $2, …` for PostgreSQL. Queries in
// this package never put a `?` inside a string literal.
func (d dialect) rebind(q string) string {
	if d != postgresDialect || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// sqlDB is a *sql.DB whose query methods rebind placeholders for its dialect.
type sqlDB struct {
	*sql.DB
	dialect dialect
}

func (d *sqlDB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return d.DB.ExecContext(ctx, d.dialect.rebind(q), args...)
}

func (d *sqlDB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return d.DB.QueryContext(ctx, d.dialect.rebind(q), args...)
}

func (d *sqlDB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return d.DB.QueryRowContext(ctx, d.dialect.rebind(q), args...)
}

func (d *sqlDB) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sqlTx, error) {
	tx, err := d.DB.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &sqlTx{Tx: tx, dialect: d.dialect}, nil
}

// sqlTx is a *sql.Tx whose query methods rebind placeholders for its dialect.
type sqlTx struct {
	*sql.Tx
	dialect dialect
}

func (t *sqlTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, t.dialect.rebind(q), args...)
}

func (t *sqlTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, t.dialect.rebind(q), args...)
}

func (t *sqlTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, t.dialect.rebind(q), args...)
}
