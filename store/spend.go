package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/telos-dev/telos/agents"
)

// Spend sums the cost and tokens (input + output) that the ledger holds for a
// budget scope in [from, to): "agent:<team>/<name>", "team:<team>",
// "category:<name>" or "run:<id>" (the whole run; from and to are ignored).
// Dry runs are forecasts, not spend, and count only toward their own run;
// unpriced entries count their tokens but no dollars. It implements
// budget.Ledger, which rebuilds Redis counters from it.
func (s *Store) Spend(ctx context.Context, scope string, from, to time.Time) (agents.Money, int64, error) {
	kind, key, ok := strings.Cut(scope, ":")
	if !ok || key == "" {
		return 0, 0, fmt.Errorf("spend: bad scope %q", scope)
	}
	q := `SELECT ` + s.sumInt("CASE WHEN unpriced = 1 THEN 0 ELSE cost_picos END") + `, ` + s.sumInt("input_tokens + output_tokens") + ` FROM ledger WHERE `
	var args []any
	switch kind {
	case "run":
		q += `run_id = ?`
		args = append(args, key)
	case "agent":
		team, name, ok := strings.Cut(key, "/")
		if !ok {
			return 0, 0, fmt.Errorf("spend: bad agent scope %q", scope)
		}
		q += `team = ? AND agent = ?`
		args = append(args, team, name)
	case "team":
		q += `team = ?`
		args = append(args, key)
	case "category":
		q += `purpose_category = ?`
		args = append(args, key)
	default:
		return 0, 0, fmt.Errorf("spend: unknown scope kind %q", kind)
	}
	if kind != "run" {
		q += ` AND trigger_kind <> 'dry-run' AND started_at >= ? AND started_at < ?`
		args = append(args, formatTime(from), formatTime(to))
	}
	var cost, tokens int64
	if err := s.db.QueryRowContext(ctx, q, args...).Scan(&cost, &tokens); err != nil {
		return 0, 0, fmt.Errorf("spend %s: %w", scope, err)
	}
	return agents.Money(cost), tokens, nil
}
