package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Run statuses.
const (
	RunRunning        = "running"
	RunCompleted      = "completed"
	RunFailed         = "failed"
	RunBudgetExceeded = "budget_exceeded"
	RunCanceled       = "canceled"
)

// Run is one execution of an agent version.
type Run struct {
	ID             string
	Team           string
	Agent          string
	Version        int
	Owner          string
	Trigger        string
	Status         string
	Error          string
	WorkflowID     string
	IdempotencyKey string
	CreatedAt      time.Time
	FinishedAt     time.Time
}

// RunFilter selects runs; empty fields do not filter. Before is a cursor: runs
// created strictly before that run (by creation time, then id).
type RunFilter struct {
	Team   string
	Agent  string
	Before string
	Limit  int
}

// CreateRun stores a new run.
func (s *Store) CreateRun(ctx context.Context, r Run) error {
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.now()
	}
	err := s.inTx(ctx, func(tx *sqlTx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO runs (id, team, agent, version, owner, trigger_kind, status, error, workflow_id, idempotency_key, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.Team, r.Agent, r.Version, r.Owner, r.Trigger, r.Status, r.Error, r.WorkflowID, r.IdempotencyKey, formatTime(r.CreatedAt)); err != nil {
			return err
		}
		if r.Trigger == "dry-run" {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO usage_daily (team, agent, day, runs) VALUES (?, ?, ?, 1)
			ON CONFLICT (team, agent, day) DO UPDATE SET runs = usage_daily.runs + 1`, r.Team, r.Agent, s.day(r.CreatedAt))
		return err
	})
	if isUniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("create run: %w", err)
	}
	return nil
}

const runColumns = `id, team, agent, version, owner, trigger_kind, status, error, workflow_id, idempotency_key, created_at, finished_at`

func scanRun(sc interface{ Scan(...any) error }) (Run, error) {
	var r Run
	var created string
	var finished sql.NullString
	err := sc.Scan(&r.ID, &r.Team, &r.Agent, &r.Version, &r.Owner, &r.Trigger, &r.Status, &r.Error, &r.WorkflowID, &r.IdempotencyKey, &created, &finished)
	r.CreatedAt, r.FinishedAt = parseTime(created), nullTime(finished)
	return r, err
}

// Run returns one run.
func (s *Store) Run(ctx context.Context, id string) (Run, error) {
	r, err := scanRun(s.db.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, ErrNotFound
	}
	if err != nil {
		return Run{}, fmt.Errorf("get run %s: %w", id, err)
	}
	return r, nil
}

// ListRuns lists runs, newest first.
func (s *Store) ListRuns(ctx context.Context, f RunFilter) ([]Run, error) {
	q := `SELECT ` + runColumns + ` FROM runs WHERE 1=1`
	var args []any
	if f.Team != "" {
		q += ` AND team = ?`
		args = append(args, f.Team)
	}
	if f.Agent != "" {
		q += ` AND agent = ?`
		args = append(args, f.Agent)
	}
	if f.Before != "" {
		q += ` AND (created_at, id) < (SELECT created_at, id FROM runs WHERE id = ?)`
		args = append(args, f.Before)
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, f.Limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	out := []Run{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// FinishRun sets a run's final status once; a run that has finished already
// keeps its first final status.
func (s *Store) FinishRun(ctx context.Context, id, status, errMsg string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ? AND status = ?`,
		status, errMsg, formatTime(s.now()), id, RunRunning)
	if err != nil {
		return fmt.Errorf("finish run %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.Run(ctx, id); err != nil {
			return err
		}
	}
	return nil
}
