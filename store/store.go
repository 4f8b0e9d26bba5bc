// Package store keeps Telos's durable state — API keys, agents and their
// versions, runs, the ledger, large step outputs and the team inbox — in a SQL
// database through database/sql: SQLite (modernc.org/sqlite, no cgo) for
// `telos dev` and tests.
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
	db  *sql.DB
	now func() time.Time
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
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	db.SetMaxOpenConns(4)
	s := &Store{db: db, now: func() time.Time { return time.Now().UTC() }}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

var migrations = []string{
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
}

func (s *Store) migrate(ctx context.Context) error {
	for i, m := range migrations {
		if _, err := s.db.ExecContext(ctx, m); err != nil {
			return fmt.Errorf("migrate step %d: %w", i, err)
		}
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

func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
