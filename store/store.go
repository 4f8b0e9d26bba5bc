// Package store keeps Telos's durable state — API keys, agents and their
// versions, runs, the ledger, large step outputs and the team inbox — in a SQL
// database through database/sql: SQLite (modernc.org/sqlite, no cgo) for
// `telos dev` and tests, PostgreSQL (pgx) in production. Both run the same
// queries; dialect.go holds the few places where they differ.
package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// Errors callers test for with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
)

// Store is a SQL database holding Telos's state.
type Store struct {
	db  *sqlDB
	now func() time.Time
}

// Open opens the store named by target: a postgres:// or postgresql:// URL is
// a PostgreSQL database, anything else the path of a SQLite file.
func Open(ctx context.Context, target string) (*Store, error) {
	if scheme, _, ok := strings.Cut(target, "://"); ok && (strings.EqualFold(scheme, "postgres") || strings.EqualFold(scheme, "postgresql")) {
		return OpenPostgres(ctx, target)
	}
	return OpenSQLite(ctx, target)
}

// OpenSQLite opens (creating if needed) the SQLite database at path and applies
// migrations. path ":memory:" is refused: use a file in a temp dir instead, so
// that every connection sees the same database.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("open sqlite: need a file path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	db.SetMaxOpenConns(4)
	s := &Store{db: &sqlDB{DB: db, dialect: sqliteDialect}, now: func() time.Time { return time.Now().UTC() }}
	// Processes opening a new database together race to switch it to WAL,
	// and SQLite answers the loser "busy" at once, without waiting; a
	// migration found busy is simply tried again.

	for attempt := 0; attempt < 50; attempt++ {
		if err = s.migrate(ctx, sqliteMigrations); err == nil || !strings.Contains(err.Error(), "SQLITE_BUSY") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Dialect names the database behind the store: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.db.dialect.String() }

// SchemaVersion is the newest migration applied to the database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}

// migration is one schema version: statements run in order, in one transaction.
type migration struct {
	version int
	stmts   []string
}

// sqliteMigrations is the SQLite schema history. Never edit a released
// version: add a new one, here and in postgresMigrations.
var sqliteMigrations = []migration{
	{1, []string{
		`CREATE TABLE IF NOT EXISTS api_keys (
			hash TEXT PRIMARY KEY,
			prefix TEXT NOT NULL,
			user_name TEXT NOT NULL,
			team TEXT NOT NULL,
			role TEXT NOT NULL,
			created_by TEXT NOT NULL,
			created_at TEXT NOT NULL,
			revoked_at TEXT
		)`,
		`CREATE TABLE IF NOT EXISTS agents (
			team TEXT NOT NULL,
			name TEXT NOT NULL,
			owner TEXT NOT NULL,
			latest_version INTEGER NOT NULL,
			created_at TEXT NOT NULL,
			updated_at TEXT NOT NULL,
			PRIMARY KEY (team, name)
		)`,
		`CREATE TABLE IF NOT EXISTS agent_versions (
			team TEXT NOT NULL,
			name TEXT NOT NULL,
			version INTEGER NOT NULL,
			spec TEXT NOT NULL,
			spec_hash TEXT NOT NULL,
			created_by TEXT NOT NULL,
			created_at TEXT NOT NULL,
			PRIMARY KEY (team, name, version)
		)`,
		`CREATE TABLE IF NOT EXISTS runs (
			id TEXT PRIMARY KEY,
			team TEXT NOT NULL,
			agent TEXT NOT NULL,
			version INTEGER NOT NULL,
			owner TEXT NOT NULL,
			trigger_kind TEXT NOT NULL,
			status TEXT NOT NULL,
			error TEXT NOT NULL DEFAULT '',
			workflow_id TEXT NOT NULL,
			idempotency_key TEXT NOT NULL DEFAULT '',
			created_at TEXT NOT NULL,
			finished_at TEXT
		)`,
		`CREATE INDEX IF NOT EXISTS runs_team_agent ON runs (team, agent, created_at)`,
		`CREATE TABLE IF NOT EXISTS ledger (
			id INTEGER PRIMARY KEY AUTOINCREMENT,
			workflow_run_id TEXT NOT NULL,
			activity_id TEXT NOT NULL,
			attempt INTEGER NOT NULL,
			run_id TEXT NOT NULL,
			agent TEXT NOT NULL,
			version INTEGER NOT NULL,
			team TEXT NOT NULL,
			owner TEXT NOT NULL,
			trigger_kind TEXT NOT NULL,
			step_id TEXT NOT NULL,
			kind TEXT NOT NULL,
			action TEXT NOT NULL,
			purpose TEXT NOT NULL,
			purpose_category TEXT NOT NULL,
			provider TEXT NOT NULL,
			model TEXT NOT NULL,
			input_tokens INTEGER NOT NULL,
			cached_input_tokens INTEGER NOT NULL,
			output_tokens INTEGER NOT NULL,
			reasoning_tokens INTEGER NOT NULL,
			cost_picos INTEGER NOT NULL,
			price_version TEXT NOT NULL,
			unpriced INTEGER NOT NULL,
			simulated INTEGER NOT NULL,
			usage_estimated INTEGER NOT NULL,
			status TEXT NOT NULL,
			error TEXT NOT NULL,
			outcome_ref TEXT NOT NULL,
			output_ref TEXT NOT NULL,
			prompt_hash TEXT NOT NULL,
			answer_hash TEXT NOT NULL,
			started_at TEXT NOT NULL,
			finished_at TEXT NOT NULL,
			UNIQUE (workflow_run_id, activity_id, attempt)
		)`,
		`CREATE INDEX IF NOT EXISTS ledger_run ON ledger (run_id, id)`,
		`CREATE INDEX IF NOT EXISTS ledger_started ON ledger (started_at)`,
		`CREATE TABLE IF NOT EXISTS blobs (
			hash TEXT PRIMARY KEY,
			data BLOB NOT NULL,
			created_at TEXT NOT NULL
		)`,
		`CREATE TABLE IF NOT EXISTS inbox (
			id TEXT PRIMARY KEY,
			team TEXT NOT NULL,
			agent TEXT NOT NULL,
			run_id TEXT NOT NULL,
			step_id TEXT NOT NULL,
			title TEXT NOT NULL,
			body TEXT NOT NULL,
			created_at TEXT NOT NULL,
			UNIQUE (run_id, step_id)
		)`,
		`CREATE INDEX IF NOT EXISTS inbox_team ON inbox (team, created_at)`,
	}},
	{2, []string{
		`ALTER TABLE api_keys ADD COLUMN expires_at TEXT`,
		`ALTER TABLE api_keys ADD COLUMN review_teams TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE agents ADD COLUMN status TEXT NOT NULL DEFAULT 'active'`,
		`ALTER TABLE agents ADD COLUMN approved_version INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE agents ADD COLUMN purpose_category TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE agent_versions ADD COLUMN status TEXT NOT NULL DEFAULT 'draft'`,
		`ALTER TABLE agent_versions ADD COLUMN purpose_category TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE runs ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0`,
		`CREATE TABLE reviews (
			id INTEGER PRIMARY KEY AUTOINCREMENT,
			team TEXT NOT NULL,
			name TEXT NOT NULL,
			version INTEGER NOT NULL,
			action TEXT NOT NULL,
			from_status TEXT NOT NULL,
			to_status TEXT NOT NULL,
			actor TEXT NOT NULL,
			comment TEXT NOT NULL,
			created_at TEXT NOT NULL
		)`,
		`CREATE INDEX reviews_agent ON reviews (team, name, version, id)`,
		`CREATE TABLE purpose_categories (
			name TEXT PRIMARY KEY,
			description TEXT NOT NULL,
			monthly_usd_picos INTEGER,
			monthly_tokens INTEGER,
			updated_by TEXT NOT NULL,
			updated_at TEXT NOT NULL
		)`,
		`CREATE TABLE team_budgets (
			team TEXT PRIMARY KEY,
			monthly_usd_picos INTEGER,
			monthly_tokens INTEGER,
			updated_by TEXT NOT NULL,
			updated_at TEXT NOT NULL
		)`,
		`CREATE TABLE audit (
			id INTEGER PRIMARY KEY AUTOINCREMENT,
			at TEXT NOT NULL,
			actor TEXT NOT NULL,
			actor_role TEXT NOT NULL,
			action TEXT NOT NULL,
			object_kind TEXT NOT NULL,
			object_id TEXT NOT NULL,
			team TEXT NOT NULL,
			before_hash TEXT NOT NULL,
			after_hash TEXT NOT NULL,
			detail TEXT NOT NULL
		)`,
		`CREATE INDEX audit_at ON audit (at, id)`,
		`CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END`,
		`CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END`,
		`CREATE TABLE budget_alerts (
			scope TEXT NOT NULL,
			window_start TEXT NOT NULL,
			threshold INTEGER NOT NULL,
			created_at TEXT NOT NULL,
			PRIMARY KEY (scope, window_start, threshold)
		)`,
		`CREATE INDEX ledger_team_agent_started ON ledger (team, agent, started_at)`,
		`CREATE INDEX ledger_category_started ON ledger (purpose_category, started_at)`,
	}},
	{3, []string{
		// usage_daily rolls the ledger and runs up per agent and UTC day, so
		// the catalog reads 30 rows per agent instead of every ledger entry.
		`CREATE TABLE usage_daily (
			team TEXT NOT NULL,
			agent TEXT NOT NULL,
			day TEXT NOT NULL,
			runs INTEGER NOT NULL DEFAULT 0,
			entries INTEGER NOT NULL DEFAULT 0,
			input_tokens INTEGER NOT NULL DEFAULT 0,
			output_tokens INTEGER NOT NULL DEFAULT 0,
			cost_picos INTEGER NOT NULL DEFAULT 0,
			unpriced INTEGER NOT NULL DEFAULT 0,
			simulated_cost_picos INTEGER NOT NULL DEFAULT 0,
			PRIMARY KEY (team, agent, day)
		)`,
		`INSERT INTO usage_daily (team, agent, day, entries, input_tokens, output_tokens, cost_picos, unpriced, simulated_cost_picos)
			SELECT team, agent, substr(started_at, 1, 10), COUNT(*),
				SUM(CASE WHEN trigger_kind = 'dry-run' THEN 0 ELSE input_tokens END), SUM(CASE WHEN trigger_kind = 'dry-run' THEN 0 ELSE output_tokens END),
				SUM(CASE WHEN unpriced = 1 OR trigger_kind = 'dry-run' THEN 0 ELSE cost_picos END), SUM(unpriced),
				SUM(CASE WHEN simulated = 1 OR trigger_kind = 'dry-run' THEN cost_picos ELSE 0 END)
			FROM ledger GROUP BY team, agent, substr(started_at, 1, 10)`,
		`INSERT INTO usage_daily (team, agent, day, runs)
			SELECT team, agent, substr(created_at, 1, 10), COUNT(*) FROM runs WHERE trigger_kind <> 'dry-run' GROUP BY team, agent, substr(created_at, 1, 10)
			ON CONFLICT (team, agent, day) DO UPDATE SET runs = excluded.runs`,
		`CREATE INDEX ledger_team_started ON ledger (team, started_at)`,
	}},
	{4, []string{
		// secrets holds connector credentials sealed with AES-256-GCM by
		// secrets.Vault; the key never reaches the database.
		`CREATE TABLE secrets (
			team TEXT NOT NULL,
			name TEXT NOT NULL,
			ciphertext BLOB NOT NULL,
			nonce BLOB NOT NULL,
			version INTEGER NOT NULL,
			created_by TEXT NOT NULL,
			created_at TEXT NOT NULL,
			updated_at TEXT NOT NULL,
			PRIMARY KEY (team, name)
		)`,
	}},
	{5, []string{
		// pins holds, per approved version, the tool-list fingerprint of each
		// MCP server it may call, as its reviewer saw them (JSON object).
		`ALTER TABLE agent_versions ADD COLUMN pins TEXT NOT NULL DEFAULT '{}'`,
	}},
}

// migrate applies the schema versions the database does not have yet, each
// in its own transaction, and records them in schema_migrations.
func (s *Store) migrate(ctx context.Context, ms []migration) error {
	for _, m := range ms {
		if err := s.applyMigration(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// applyMigration applies m unless the database has it. Several processes may
// start at once against one database: each takes the dialect's migration lock
// before it looks, so one applies the version and the others find it applied.
func (s *Store) applyMigration(ctx context.Context, m migration) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if lock := s.db.dialect.migrationLock(); lock != "" {
		if _, err := tx.ExecContext(ctx, lock); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if n > 0 {
		return nil
	}
	for i, stmt := range m.stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrate to version %d, statement %d: %w", m.version, i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, m.version, formatTime(s.now())); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Hash returns the hex SHA-256 of b; the store names blobs and API keys by it.
func Hash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

const timeFormat = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		t, _ = time.Parse(time.RFC3339Nano, s)
	}
	return t
}

func nullTime(ns sql.NullString) time.Time {
	if !ns.Valid {
		return time.Time{}
	}
	return parseTime(ns.String)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
