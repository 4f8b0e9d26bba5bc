package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/telos-dev/telos/agents"
)

// Version statuses. A version is immutable; only its status moves:
// draft → in_review → approved | changes_requested | rejected, and an
// approved version becomes superseded when its successor is approved.
const (
	VersionDraft            = "draft"
	VersionInReview         = "in_review"
	VersionApproved         = "approved"
	VersionChangesRequested = "changes_requested"
	VersionRejected         = "rejected"
	VersionSuperseded       = "superseded"
)

// Agent statuses, above the versions.
const (
	AgentActive    = "active"
	AgentSuspended = "suspended"
	AgentArchived  = "archived"
)

// ErrInvalidTransition is returned for a review action a version's status
// does not allow.
var ErrInvalidTransition = errors.New("invalid transition")

// transitions lists, per review action, the statuses it may start from and
// the status it leads to.
var transitions = map[string]struct {
	from []string
	to   string
}{
	"submit":          {[]string{VersionDraft}, VersionInReview},
	"approve":         {[]string{VersionInReview}, VersionApproved},
	"request-changes": {[]string{VersionInReview}, VersionChangesRequested},
	"reject":          {[]string{VersionInReview}, VersionRejected},
}

// ReviewActions lists the review actions in a stable order.
func ReviewActions() []string { return []string{"submit", "approve", "request-changes", "reject"} }

// AgentState is an agent's governance state.
type AgentState struct {
	Team            string
	Name            string
	Owner           string
	Status          string // active | suspended | archived
	LatestVersion   int
	ApprovedVersion int // 0: none
	PurposeCategory string
}

// AgentState returns the governance state of an agent.
func (s *Store) AgentState(ctx context.Context, team, name string) (AgentState, error) {
	var a AgentState
	err := s.db.QueryRowContext(ctx, `SELECT team, name, owner, status, latest_version, approved_version, purpose_category FROM agents WHERE team = ? AND name = ?`, team, name).
		Scan(&a.Team, &a.Name, &a.Owner, &a.Status, &a.LatestVersion, &a.ApprovedVersion, &a.PurposeCategory)
	if errors.Is(err, sql.ErrNoRows) {
		return AgentState{}, ErrNotFound
	}
	if err != nil {
		return AgentState{}, fmt.Errorf("agent state: %w", err)
	}
	return a, nil
}

// VersionStatus returns the review status of one version.
func (s *Store) VersionStatus(ctx context.Context, team, name string, version int) (string, error) {
	var st string
	err := s.db.QueryRowContext(ctx, `SELECT status FROM agent_versions WHERE team = ? AND name = ? AND version = ?`, team, name, version).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return st, err
}

// SetVersionCategory records a version's purpose category; the agent row
// follows the latest version so the catalog can filter on it.
func (s *Store) SetVersionCategory(ctx context.Context, team, name string, version int, category string) error {
	return s.inTx(ctx, func(tx *sqlTx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE agent_versions SET purpose_category = ? WHERE team = ? AND name = ? AND version = ?`, category, team, name, version); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE agents SET purpose_category = ? WHERE team = ? AND name = ? AND latest_version = ?`, category, team, name, version)
		return err
	})
}

// Review is one recorded review action.
type Review struct {
	Version    int       `json:"version"`
	Action     string    `json:"action"`
	FromStatus string    `json:"from_status"`
	ToStatus   string    `json:"to_status"`
	Actor      string    `json:"actor"`
	Comment    string    `json:"comment,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// Transition applies a review action to a version, records it and appends
// audit, all in one transaction. Approving a version makes it the agent's
// approved version and supersedes the one before.
func (s *Store) Transition(ctx context.Context, team, name string, version int, action, actor, comment string, audit AuditEntry) (string, error) {
	t, ok := transitions[action]
	if !ok {
		return "", fmt.Errorf("%w: unknown action %q", ErrInvalidTransition, action)
	}
	var to string
	err := s.inTx(ctx, func(tx *sqlTx) error {
		var from string
		err := tx.QueryRowContext(ctx, `SELECT status FROM agent_versions WHERE team = ? AND name = ? AND version = ?`, team, name, version).Scan(&from)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		allowed := false
		for _, f := range t.from {
			allowed = allowed || f == from
		}
		if !allowed {
			return fmt.Errorf("%w: version %d is %s; %s needs %s", ErrInvalidTransition, version, from, action, strings.Join(t.from, " or "))
		}
		to = t.to
		now := formatTime(s.now())
		// The conditional update is the serialization point: of two
		// concurrent decisions, only one finds the version still in from.
		res, err := tx.ExecContext(ctx, `UPDATE agent_versions SET status = ? WHERE team = ? AND name = ? AND version = ? AND status = ?`, to, team, name, version, from)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("%w: version %d changed status concurrently", ErrInvalidTransition, version)
		}
		if action == "approve" {
			if _, err := tx.ExecContext(ctx, `UPDATE agent_versions SET status = ? WHERE team = ? AND name = ? AND status = ? AND version <> ?`, VersionSuperseded, team, name, VersionApproved, version); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE agents SET approved_version = ?, updated_at = ? WHERE team = ? AND name = ?`, version, now, team, name); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO reviews (team, name, version, action, from_status, to_status, actor, comment, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			team, name, version, action, from, to, actor, comment, now); err != nil {
			return err
		}
		audit.BeforeHash, audit.AfterHash = Hash([]byte(from)), Hash([]byte(to))
		return s.appendAudit(ctx, tx, audit)
	})
	return to, err
}

// Reviews lists the review actions on an agent, oldest first.
func (s *Store) Reviews(ctx context.Context, team, name string) ([]Review, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT version, action, from_status, to_status, actor, comment, created_at FROM reviews WHERE team = ? AND name = ? ORDER BY id`, team, name)
	if err != nil {
		return nil, fmt.Errorf("reviews: %w", err)
	}
	defer rows.Close()
	out := []Review{}
	for rows.Next() {
		var r Review
		var at string
		if err := rows.Scan(&r.Version, &r.Action, &r.FromStatus, &r.ToStatus, &r.Actor, &r.Comment, &at); err != nil {
			return nil, err
		}
		r.CreatedAt = parseTime(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetAgentStatus suspends, resumes or archives an agent and appends audit.
func (s *Store) SetAgentStatus(ctx context.Context, team, name, status string, audit AuditEntry) error {
	return s.inTx(ctx, func(tx *sqlTx) error {
		var from string
		err := tx.QueryRowContext(ctx, `SELECT status FROM agents WHERE team = ? AND name = ?`, team, name).Scan(&from)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if from == status {
			return fmt.Errorf("%w: the agent is already %s", ErrInvalidTransition, status)
		}
		if from == AgentArchived {
			return fmt.Errorf("%w: the agent is archived", ErrInvalidTransition)
		}
		res, err := tx.ExecContext(ctx, `UPDATE agents SET status = ?, updated_at = ? WHERE team = ? AND name = ? AND status = ?`, status, formatTime(s.now()), team, name, from)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("%w: the agent changed status concurrently", ErrInvalidTransition)
		}
		audit.BeforeHash, audit.AfterHash = Hash([]byte(from)), Hash([]byte(status))
		return s.appendAudit(ctx, tx, audit)
	})
}

// Category is a purpose category of the admin-managed taxonomy, with its
// optional monthly budget.
type Category struct {
	Name          string        `json:"name"`
	Description   string        `json:"description"`
	MonthlyUSD    *agents.Money `json:"monthly_usd,omitempty"`
	MonthlyTokens *int64        `json:"monthly_tokens,omitempty"`
}

// DefaultCategories seed an empty taxonomy so a fresh install can be used at once.
var DefaultCategories = []Category{
	{Name: "customer-support", Description: "Answering and routing customer requests."},
	{Name: "engineering-productivity", Description: "Work that saves engineers time: reviews, upgrades, triage, digests."},
	{Name: "operations", Description: "Keeping systems and business processes running."},
	{Name: "research", Description: "Finding, reading and summarizing information for a decision."},
	{Name: "sales-marketing", Description: "Prospecting, campaigns and customer communication."},
	{Name: "security-compliance", Description: "Security review, audits and compliance evidence."},
}

// Categories lists the taxonomy by name.
func (s *Store) Categories(ctx context.Context) ([]Category, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, description, monthly_usd_picos, monthly_tokens FROM purpose_categories ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("categories: %w", err)
	}
	defer rows.Close()
	out := []Category{}
	for rows.Next() {
		var c Category
		var usd, tokens sql.NullInt64
		if err := rows.Scan(&c.Name, &c.Description, &usd, &tokens); err != nil {
			return nil, err
		}
		if usd.Valid {
			m := agents.Money(usd.Int64)
			c.MonthlyUSD = &m
		}
		if tokens.Valid {
			c.MonthlyTokens = &tokens.Int64
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ReplaceCategories replaces the whole taxonomy and appends audit.
func (s *Store) ReplaceCategories(ctx context.Context, cats []Category, audit AuditEntry) error {
	before, err := s.Categories(ctx)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sqlTx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM purpose_categories`); err != nil {
			return err
		}
		now := formatTime(s.now())
		for _, c := range cats {
			if _, err := tx.ExecContext(ctx, `INSERT INTO purpose_categories (name, description, monthly_usd_picos, monthly_tokens, updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
				c.Name, c.Description, nullMoney(c.MonthlyUSD), nullInt(c.MonthlyTokens), audit.Actor, now); err != nil {
				return err
			}
		}
		audit.BeforeHash, audit.AfterHash = hashJSON(before), hashJSON(cats)
		return s.appendAudit(ctx, tx, audit)
	})
}

// SeedCategories fills an empty taxonomy with DefaultCategories.
func (s *Store) SeedCategories(ctx context.Context) error {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM purpose_categories`).Scan(&n); err != nil {
		return fmt.Errorf("seed categories: %w", err)
	}
	if n > 0 {
		return nil
	}
	return s.ReplaceCategories(ctx, DefaultCategories, AuditEntry{Actor: "telos", ActorRole: "system", Action: "categories.seeded", ObjectKind: "purpose_categories", ObjectID: "taxonomy"})
}

// TeamBudget is a team's monthly budget.
type TeamBudget struct {
	Team          string        `json:"team"`
	MonthlyUSD    *agents.Money `json:"monthly_usd,omitempty"`
	MonthlyTokens *int64        `json:"monthly_tokens,omitempty"`
}

// TeamBudget returns a team's budget; a team without one has nil limits.
func (s *Store) TeamBudget(ctx context.Context, team string) (TeamBudget, error) {
	b := TeamBudget{Team: team}
	var usd, tokens sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT monthly_usd_picos, monthly_tokens FROM team_budgets WHERE team = ?`, team).Scan(&usd, &tokens)
	if errors.Is(err, sql.ErrNoRows) {
		return b, nil
	}
	if err != nil {
		return b, fmt.Errorf("team budget: %w", err)
	}
	if usd.Valid {
		m := agents.Money(usd.Int64)
		b.MonthlyUSD = &m
	}
	if tokens.Valid {
		b.MonthlyTokens = &tokens.Int64
	}
	return b, nil
}

// SetTeamBudget sets a team's monthly budget and appends audit.
func (s *Store) SetTeamBudget(ctx context.Context, b TeamBudget, audit AuditEntry) error {
	before, err := s.TeamBudget(ctx, b.Team)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sqlTx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO team_budgets (team, monthly_usd_picos, monthly_tokens, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (team) DO UPDATE SET monthly_usd_picos = excluded.monthly_usd_picos, monthly_tokens = excluded.monthly_tokens, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
			b.Team, nullMoney(b.MonthlyUSD), nullInt(b.MonthlyTokens), audit.Actor, formatTime(s.now())); err != nil {
			return err
		}
		audit.BeforeHash, audit.AfterHash = hashJSON(before), hashJSON(b)
		return s.appendAudit(ctx, tx, audit)
	})
}

// TeamBudgets lists every team budget.
func (s *Store) TeamBudgets(ctx context.Context) ([]TeamBudget, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT team, monthly_usd_picos, monthly_tokens FROM team_budgets ORDER BY team`)
	if err != nil {
		return nil, fmt.Errorf("team budgets: %w", err)
	}
	defer rows.Close()
	out := []TeamBudget{}
	for rows.Next() {
		var b TeamBudget
		var usd, tokens sql.NullInt64
		if err := rows.Scan(&b.Team, &usd, &tokens); err != nil {
			return nil, err
		}
		if usd.Valid {
			m := agents.Money(usd.Int64)
			b.MonthlyUSD = &m
		}
		if tokens.Valid {
			b.MonthlyTokens = &tokens.Int64
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// RecordAlert records that scope crossed threshold percent in the window
// starting at windowStart. It reports false when that was recorded already,
// so each alert is sent once per window.
func (s *Store) RecordAlert(ctx context.Context, scope, windowStart string, threshold int) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO budget_alerts (scope, window_start, threshold, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		scope, windowStart, threshold, formatTime(s.now()))
	if err != nil {
		return false, fmt.Errorf("record alert: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *Store) inTx(ctx context.Context, fn func(tx *sqlTx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func nullMoney(m *agents.Money) any {
	if m == nil {
		return nil
	}
	return int64(*m)
}

func nullInt(n *int64) any {
	if n == nil {
		return nil
	}
	return *n
}

// DryRunStats sums the ledger of an agent version's dry runs: how many runs,
// and their total usage and cost.
type DryRunStats struct {
	Runs     int64
	Usage    agents.Usage
	Cost     agents.Money
	Unpriced int64
}

// DryRunStats returns the totals of a version's dry runs.
func (s *Store) DryRunStats(ctx context.Context, team, name string, version int) (DryRunStats, error) {
	var d DryRunStats
	var cost int64
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT run_id), `+s.sumInt("input_tokens")+`, `+s.sumInt("cached_input_tokens")+`, `+s.sumInt("output_tokens")+`,
		`+s.sumInt("reasoning_tokens")+`, `+s.sumInt("cost_picos")+`, `+s.sumInt("unpriced")+`
		FROM ledger WHERE team = ? AND agent = ? AND version = ? AND trigger_kind = 'dry-run'`, team, name, version).
		Scan(&d.Runs, &d.Usage.InputTokens, &d.Usage.CachedInputTokens, &d.Usage.OutputTokens, &d.Usage.ReasoningTokens, &cost, &d.Unpriced)
	if err != nil {
		return d, fmt.Errorf("dry run stats: %w", err)
	}
	d.Cost = agents.Money(cost)
	return d, nil
}

// sumInt is SUM(col) as a 64-bit integer, 0 over no rows, in either dialect
// (PostgreSQL sums BIGINT as NUMERIC).
func (s *Store) sumInt(col string) string {
	return "CAST(COALESCE(SUM(" + col + "), 0) AS BIGINT)"
}
