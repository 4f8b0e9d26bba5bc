package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/telos-dev/telos/agents"
)

// day is the UTC date of t (now when t is zero), the key of usage_daily.
func (s *Store) day(t time.Time) string {
	if t.IsZero() {
		t = s.now()
	}
	return t.UTC().Format(time.DateOnly)
}

// CatalogEntry is one agent as admins and reviewers review the catalog.
type CatalogEntry struct {
	Team            string
	Name            string
	Owner           string
	Category        string
	Status          string
	VersionStatus   string
	LatestVersion   int
	ApprovedVersion int
	Runs7d          int64
	Runs30d         int64
	Tokens7d        int64
	Tokens30d       int64
	Cost7d          agents.Money
	Cost30d         agents.Money
	Unpriced30d     int64
	SimulatedCost30 agents.Money
}

// CatalogFilter selects and orders catalog entries. Teams limits the result
// to those teams when not nil (a reviewer's own and reviewed teams).
type CatalogFilter struct {
	Teams    []string
	Team     string
	Owner    string
	Status   string // an agent status (active, suspended, archived) or a version status
	Category string
	Sort     string // name, team, owner, category, status, runs_7d, runs_30d, tokens_7d, tokens_30d, cost_7d, cost_30d; "-" prefix for descending
	Limit    int
}

var catalogSorts = map[string]string{
	"name": "a.name", "team": "a.team", "owner": "a.owner", "category": "a.purpose_category", "status": "a.status",
	"runs_7d": "runs7", "runs_30d": "runs30", "tokens_7d": "tokens7", "tokens_30d": "tokens30", "cost_7d": "cost7", "cost_30d": "cost30",
}

// CatalogSorts lists the fields the catalog sorts by.
func CatalogSorts() []string {
	return []string{"name", "team", "owner", "category", "status", "runs_7d", "runs_30d", "tokens_7d", "tokens_30d", "cost_7d", "cost_30d"}
}

// Catalog lists agents with their governance state and their runs, tokens and
// cost over the last 7 and 30 days (UTC days, today included), read from the
// usage_daily roll-up.
func (s *Store) Catalog(ctx context.Context, f CatalogFilter) ([]CatalogEntry, error) {
	now := s.now()
	d7, d30 := s.day(now.AddDate(0, 0, -6)), s.day(now.AddDate(0, 0, -29))
	in7 := func(col string) string {
		return "CAST(COALESCE(SUM(CASE WHEN u.day >= ? THEN u." + col + " END), 0) AS BIGINT)"
	}
	in30 := func(col string) string { return "CAST(COALESCE(SUM(u." + col + "), 0) AS BIGINT)" }
	q := `SELECT a.team, a.name, a.owner, a.purpose_category, a.status, v.status, a.latest_version, a.approved_version,
		` + in7("runs") + ` AS runs7, ` + in30("runs") + ` AS runs30,
		` + in7("input_tokens + u.output_tokens") + ` AS tokens7, ` + in30("input_tokens + u.output_tokens") + ` AS tokens30,
		` + in7("cost_picos") + ` AS cost7, ` + in30("cost_picos") + ` AS cost30,
		` + in30("unpriced") + `, ` + in30("simulated_cost_picos") + `
		FROM agents a
		JOIN agent_versions v ON v.team = a.team AND v.name = a.name AND v.version = a.latest_version
		LEFT JOIN usage_daily u ON u.team = a.team AND u.agent = a.name AND u.day >= ?
		WHERE 1=1`
	args := []any{d7, d7, d7, d30}
	if f.Teams != nil {
		if len(f.Teams) == 0 {
			return []CatalogEntry{}, nil
		}
		q += ` AND a.team IN (?` + strings.Repeat(", ?", len(f.Teams)-1) + `)`
		for _, t := range f.Teams {
			args = append(args, t)
		}
	}
	for _, c := range []struct{ col, v string }{{"a.team", f.Team}, {"a.owner", f.Owner}, {"a.purpose_category", f.Category}} {
		if c.v != "" {
			q += ` AND ` + c.col + ` = ?`
			args = append(args, c.v)
		}
	}
	switch f.Status {
	case "":
	case "approved":
		// Agents with an approved version, whatever their newer drafts say.
		q += ` AND a.approved_version > 0`
	default:
		q += ` AND (a.status = ? OR v.status = ?)`
		args = append(args, f.Status, f.Status)
	}
	q += ` GROUP BY a.team, a.name, a.owner, a.purpose_category, a.status, v.status, a.latest_version, a.approved_version`
	order, desc := strings.CutPrefix(f.Sort, "-")
	col, ok := catalogSorts[order]
	if !ok && f.Sort != "" {
		return nil, fmt.Errorf("catalog: unknown sort %q", f.Sort)
	}
	if !ok {
		col = "a.name"
	}
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	q += ` ORDER BY ` + col + ` ` + dir + `, a.team, a.name`
	if f.Limit <= 0 || f.Limit > 5000 {
		f.Limit = 5000
	}
	q += ` LIMIT ?`
	args = append(args, f.Limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	defer rows.Close()
	out := []CatalogEntry{}
	for rows.Next() {
		var e CatalogEntry
		var c7, c30, sim int64
		if err := rows.Scan(&e.Team, &e.Name, &e.Owner, &e.Category, &e.Status, &e.VersionStatus, &e.LatestVersion, &e.ApprovedVersion,
			&e.Runs7d, &e.Runs30d, &e.Tokens7d, &e.Tokens30d, &c7, &c30, &e.Unpriced30d, &sim); err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
		e.Cost7d, e.Cost30d, e.SimulatedCost30 = agents.Money(c7), agents.Money(c30), agents.Money(sim)
		out = append(out, e)
	}
	return out, rows.Err()
}

// AgentBudgets returns the budget of every agent's governing version — the
// approved one, or the latest when none is approved — keyed "team/name".
func (s *Store) AgentBudgets(ctx context.Context) (map[string]*agents.Budget, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT a.team, a.name, v.spec FROM agents a
		JOIN agent_versions v ON v.team = a.team AND v.name = a.name
			AND v.version = CASE WHEN a.approved_version > 0 THEN a.approved_version ELSE a.latest_version END
		WHERE v.spec LIKE '%"budget"%'`)
	if err != nil {
		return nil, fmt.Errorf("agent budgets: %w", err)
	}
	defer rows.Close()
	out := map[string]*agents.Budget{}
	for rows.Next() {
		var team, name, spec string
		if err := rows.Scan(&team, &name, &spec); err != nil {
			return nil, err
		}
		var a struct {
			Spec struct {
				Budget *agents.Budget `json:"budget"`
			} `json:"spec"`
		}
		if err := json.Unmarshal([]byte(spec), &a); err != nil {
			return nil, fmt.Errorf("agent budgets: %s/%s: %w", team, name, err)
		}
		if a.Spec.Budget != nil {
			out[team+"/"+name] = a.Spec.Budget
		}
	}
	return out, rows.Err()
}
