package api

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/telos-dev/telos/agents"
	"github.com/telos-dev/telos/budget"
)

type budgetItem struct {
	Scope           string        `json:"scope"`
	Window          string        `json:"window"`
	WindowStart     *time.Time    `json:"window_start,omitempty"`
	WindowEnd       *time.Time    `json:"window_end,omitempty"`
	LimitUSD        *agents.Money `json:"limit_usd"`
	LimitTokens     *int64        `json:"limit_tokens"`
	SpentUSD        agents.Money  `json:"spent_usd"`
	SpentTokens     int64         `json:"spent_tokens"`
	ReservedUSD     agents.Money  `json:"reserved_usd"`
	ReservedTokens  int64         `json:"reserved_tokens"`
	RemainingUSD    *agents.Money `json:"remaining_usd"`
	RemainingTokens *int64        `json:"remaining_tokens"`
}

// visibleLimits are the day and month budgets the caller may see: its
// agents', its teams' and every purpose category's.
func (s *Server) visibleLimits(c echo.Context) ([]budget.Limit, error) {
	ctx := c.Request().Context()
	p := principal(c)
	var limits []budget.Limit
	add := func(scope string, w budget.Window, l *agents.Limit) {
		if l == nil {
			return
		}
		lim := budget.Limit{Scope: scope, Window: w}
		if l.Tokens != nil {
			lim.Tokens = *l.Tokens
		}
		if l.USD != nil {
			lim.USD, _ = agents.ParseUSD(*l.USD)
		}
		limits = append(limits, lim)
	}
	ab, err := s.Store.AgentBudgets(ctx)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(ab))
	for k := range ab {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		team, _, _ := strings.Cut(k, "/")
		if !p.CanRead(team) {
			continue
		}
		add("agent:"+k, budget.PerDay, ab[k].PerDay)
		add("agent:"+k, budget.PerMonth, ab[k].PerMonth)
	}
	tbs, err := s.Store.TeamBudgets(ctx)
	if err != nil {
		return nil, err
	}
	for _, tb := range tbs {
		if p.CanRead(tb.Team) && (tb.MonthlyUSD != nil || tb.MonthlyTokens != nil) {
			limits = append(limits, budget.Limit{Scope: "team:" + tb.Team, Window: budget.PerMonth, USD: derefMoney(tb.MonthlyUSD), Tokens: derefInt(tb.MonthlyTokens)})
		}
	}
	cats, err := s.Store.Categories(ctx)
	if err != nil {
		return nil, err
	}
	for _, cat := range cats {
		// A category's spend is the whole company's: members do not see it.
		if p.Role == "member" {
			break
		}
		if cat.MonthlyUSD != nil || cat.MonthlyTokens != nil {
			limits = append(limits, budget.Limit{Scope: "category:" + cat.Name, Window: budget.PerMonth, USD: derefMoney(cat.MonthlyUSD), Tokens: derefInt(cat.MonthlyTokens)})
		}
	}
	return limits, nil
}

// listBudgets shows limit, spent, reserved and remaining per budget in its
// current window.
func (s *Server) listBudgets(c echo.Context) error {
	limits, err := s.visibleLimits(c)
	if err != nil {
		return err
	}
	states, err := s.Budgets.State(c.Request().Context(), limits)
	if err != nil {
		return err
	}
	items := make([]budgetItem, 0, len(states))
	for _, st := range states {
		it := budgetItem{Scope: st.Limit.Scope, Window: string(st.Limit.Window), SpentUSD: st.Spent.USD, SpentTokens: st.Spent.Tokens,
			ReservedUSD: st.Reserved.USD, ReservedTokens: st.Reserved.Tokens}
		if !st.Start.IsZero() {
			start, end := st.Start, st.End
			it.WindowStart, it.WindowEnd = &start, &end
		}
		if st.Limit.USD > 0 {
			l, r := st.Limit.USD, st.Remaining.USD
			it.LimitUSD, it.RemainingUSD = &l, &r
		}
		if st.Limit.Tokens > 0 {
			l, r := st.Limit.Tokens, st.Remaining.Tokens
			it.LimitTokens, it.RemainingTokens = &l, &r
		}
		items = append(items, it)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// budgetStates reads the state of every visible budget once, keyed by scope,
// for the catalog.
func (s *Server) budgetStates(c echo.Context) (map[string][]budget.State, error) {
	limits, err := s.visibleLimits(c)
	if err != nil {
		return nil, err
	}
	states, err := s.Budgets.State(c.Request().Context(), limits)
	if err != nil {
		return nil, err
	}
	out := map[string][]budget.State{}
	for _, st := range states {
		out[st.Limit.Scope] = append(out[st.Limit.Scope], st)
	}
	return out, nil
}

// budgetState summarises the budgets that apply to an agent — its own, its
// team's and its category's: "none", "ok", "warning" (80 % or more of a limit
// spent or held) or "exceeded".
func budgetState(groups ...[]budget.State) string {
	var states []budget.State
	for _, g := range groups {
		states = append(states, g...)
	}
	if len(states) == 0 {
		return "none"
	}
	worst := "ok"
	for _, st := range states {
		for _, m := range []struct{ used, limit int64 }{
			{int64(st.Spent.USD + st.Reserved.USD), int64(st.Limit.USD)},
			{st.Spent.Tokens + st.Reserved.Tokens, st.Limit.Tokens},
		} {
			switch {
			case m.limit <= 0:
			case m.used >= m.limit:
				return "exceeded"
			case m.used*5 >= m.limit*4:
				worst = "warning"
			}
		}
	}
	return worst
}

func derefMoney(m *agents.Money) agents.Money {
	if m == nil {
		return 0
	}
	return *m
}

func derefInt(n *int64) int64 {
	if n == nil {
		return 0
	}
	return *n
}
