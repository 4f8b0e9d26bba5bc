package store

import (
	"context"
	"fmt"
	"time"

	"github.com/telos-dev/telos/agents"
	"github.com/telos-dev/telos/ledger"
)

// AppendLedger records one step attempt. It is idempotent on (workflow run id,
// activity id, attempt): a second write of the same attempt changes nothing and
// reports inserted=false.
func (s *Store) AppendLedger(ctx context.Context, e ledger.Entry) (inserted bool, err error) {
	err = s.inTx(ctx, func(tx *sqlTx) error {
		var err error
		inserted, err = s.appendLedger(ctx, tx, e)
		if err != nil || !inserted {
			return err
		}
		return s.rollUp(ctx, tx, e)
	})
	if err != nil {
		return false, fmt.Errorf("append ledger: %w", err)
	}
	return inserted, nil
}

// rollUp adds an entry to the usage_daily roll-up of its agent and day.
func (s *Store) rollUp(ctx context.Context, tx *sqlTx, e ledger.Entry) error {
	// Dry runs are forecasts: their cost counts as simulated, not as spend.
	cost, simCost, unpriced, in, out := int64(e.Cost), int64(0), 0, e.InputTokens, e.OutputTokens
	switch {
	case e.Unpriced:
		cost, unpriced = 0, 1
	case e.Trigger == "dry-run":
		cost, simCost, in, out = 0, int64(e.Cost), 0, 0
	case e.Simulated:
		simCost = int64(e.Cost)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO usage_daily (team, agent, day, entries, input_tokens, output_tokens, cost_picos, unpriced, simulated_cost_picos)
		VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?)
		ON CONFLICT (team, agent, day) DO UPDATE SET entries = usage_daily.entries + 1,
			input_tokens = usage_daily.input_tokens + excluded.input_tokens, output_tokens = usage_daily.output_tokens + excluded.output_tokens,
			cost_picos = usage_daily.cost_picos + excluded.cost_picos, unpriced = usage_daily.unpriced + excluded.unpriced,
			simulated_cost_picos = usage_daily.simulated_cost_picos + excluded.simulated_cost_picos`,
		e.Team, e.Agent, s.day(e.StartedAt), in, out, cost, unpriced, simCost)
	return err
}

func (s *Store) appendLedger(ctx context.Context, tx *sqlTx, e ledger.Entry) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO ledger (workflow_run_id, activity_id, attempt, run_id, agent, version, team, owner, trigger_kind,
		step_id, kind, action, purpose, purpose_category, provider, model, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens,
		cost_picos, price_version, unpriced, simulated, usage_estimated, status, error, outcome_ref, output_ref, prompt_hash, answer_hash, started_at, finished_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (workflow_run_id, activity_id, attempt) DO NOTHING`,
		e.WorkflowRunID, e.ActivityID, e.Attempt, e.RunID, e.Agent, e.Version, e.Team, e.Owner, e.Trigger,
		e.StepID, e.Kind, e.Action, e.Purpose, e.PurposeCategory, e.Provider, e.Model,
		e.InputTokens, e.CachedInputTokens, e.OutputTokens, e.ReasoningTokens,
		int64(e.Cost), e.PriceVersion, b2i(e.Unpriced), b2i(e.Simulated), b2i(e.UsageEstimated), e.Status, e.Error,
		e.OutcomeRef, e.OutputRef, e.PromptHash, e.AnswerHash, formatTime(e.StartedAt), formatTime(e.FinishedAt))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RunLedger lists a run's entries in the order they were written.
func (s *Store) RunLedger(ctx context.Context, runID string) ([]ledger.Entry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, workflow_run_id, activity_id, attempt, run_id, agent, version, team, owner, trigger_kind,
		step_id, kind, action, purpose, purpose_category, provider, model, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens,
		cost_picos, price_version, unpriced, simulated, usage_estimated, status, error, outcome_ref, output_ref, prompt_hash, answer_hash, started_at, finished_at
		FROM ledger WHERE run_id = ? ORDER BY id`, runID)
	if err != nil {
		return nil, fmt.Errorf("run ledger: %w", err)
	}
	defer rows.Close()
	out := []ledger.Entry{}
	for rows.Next() {
		var e ledger.Entry
		var cost int64
		var unpriced, simulated, estimated int
		var started, finished string
		if err := rows.Scan(&e.ID, &e.WorkflowRunID, &e.ActivityID, &e.Attempt, &e.RunID, &e.Agent, &e.Version, &e.Team, &e.Owner, &e.Trigger,
			&e.StepID, &e.Kind, &e.Action, &e.Purpose, &e.PurposeCategory, &e.Provider, &e.Model,
			&e.InputTokens, &e.CachedInputTokens, &e.OutputTokens, &e.ReasoningTokens,
			&cost, &e.PriceVersion, &unpriced, &simulated, &estimated, &e.Status, &e.Error,
			&e.OutcomeRef, &e.OutputRef, &e.PromptHash, &e.AnswerHash, &started, &finished); err != nil {
			return nil, fmt.Errorf("run ledger: %w", err)
		}
		e.Cost = agents.Money(cost)
		e.Unpriced, e.Simulated, e.UsageEstimated = unpriced == 1, simulated == 1, estimated == 1
		e.StartedAt, e.FinishedAt = parseTime(started), parseTime(finished)
		out = append(out, e)
	}
	return out, rows.Err()
}

// RunSpend is the cost and tokens a run has used so far.
func (s *Store) RunSpend(ctx context.Context, runID string) (ledger.Totals, error) {
	rows, err := s.Usage(ctx, UsageQuery{GroupBy: "run", RunID: runID})
	if err != nil || len(rows) == 0 {
		return ledger.Totals{}, err
	}
	return rows[0].Totals, nil
}

// UsageQuery selects and groups ledger entries.
type UsageQuery struct {
	GroupBy string // agent | team | purpose | model | day | run
	Team    string // "" for every team
	RunID   string
	From    time.Time
	To      time.Time // exclusive
}

// UsageRow is the totals of one group.
type UsageRow struct {
	Key string
	ledger.Totals
}

var groupColumns = map[string]string{
	"agent":   "team || '/' || agent",
	"team":    "team",
	"purpose": "purpose_category",
	"model":   "CASE WHEN model = '' THEN '(none)' ELSE model END",
	"day":     "substr(started_at, 1, 10)",
	"run":     "run_id",
}

// UsageGroups lists the values GroupBy accepts.
func UsageGroups() []string { return []string{"agent", "team", "purpose", "model", "day"} }

// Usage sums tokens and exact cost per group.
func (s *Store) Usage(ctx context.Context, q UsageQuery) ([]UsageRow, error) {
	col, ok := groupColumns[q.GroupBy]
	if !ok {
		return nil, fmt.Errorf("usage: unknown group %q", q.GroupBy)
	}
	sqlq := `SELECT ` + col + ` AS k, CAST(SUM(input_tokens) AS BIGINT), CAST(SUM(cached_input_tokens) AS BIGINT),
		CAST(SUM(output_tokens) AS BIGINT), CAST(SUM(reasoning_tokens) AS BIGINT),
		CAST(SUM(CASE WHEN unpriced = 1 THEN 0 ELSE cost_picos END) AS BIGINT), CAST(SUM(unpriced) AS BIGINT), CAST(SUM(simulated) AS BIGINT),
		COUNT(*) FROM ledger WHERE 1=1`
	var args []any
	if q.Team != "" {
		sqlq += ` AND team = ?`
		args = append(args, q.Team)
	}
	if q.RunID != "" {
		sqlq += ` AND run_id = ?`
		args = append(args, q.RunID)
	}
	if !q.From.IsZero() {
		sqlq += ` AND started_at >= ?`
		args = append(args, formatTime(q.From))
	}
	if !q.To.IsZero() {
		sqlq += ` AND started_at < ?`
		args = append(args, formatTime(q.To))
	}
	sqlq += ` GROUP BY k ORDER BY k`
	rows, err := s.db.QueryContext(ctx, sqlq, args...)
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	defer rows.Close()
	out := []UsageRow{}
	for rows.Next() {
		var r UsageRow
		var cost int64
		if err := rows.Scan(&r.Key, &r.InputTokens, &r.CachedInputTokens, &r.OutputTokens, &r.ReasoningTokens, &cost, &r.Unpriced, &r.Simulated, &r.Entries); err != nil {
			return nil, fmt.Errorf("usage: %w", err)
		}
		r.Cost = agents.Money(cost)
		out = append(out, r)
	}
	return out, rows.Err()
}

// ImportLedger appends many entries in one transaction — for imports and
// benchmarks — with the same idempotency and roll-ups as AppendLedger. It
// returns how many entries were new.
func (s *Store) ImportLedger(ctx context.Context, entries []ledger.Entry) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx *sqlTx) error {
		for _, e := range entries {
			inserted, err := s.appendLedger(ctx, tx, e)
			if err != nil {
				return err
			}
			if inserted {
				n++
				if err := s.rollUp(ctx, tx, e); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("import ledger: %w", err)
	}
	return n, nil
}
