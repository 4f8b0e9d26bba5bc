package api

import (
	"encoding/csv"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/telos-dev/telos/agents"
	"github.com/telos-dev/telos/store"
)

var validStatuses = map[string]bool{
	store.AgentActive: true, store.AgentSuspended: true, store.AgentArchived: true,
	store.VersionDraft: true, store.VersionInReview: true, store.VersionApproved: true,
	store.VersionChangesRequested: true, store.VersionRejected: true, store.VersionSuperseded: true,
}

type catalogItem struct {
	Name            string       `json:"name"`
	Team            string       `json:"team"`
	Owner           string       `json:"owner"`
	Category        string       `json:"category"`
	Status          string       `json:"status"`
	VersionStatus   string       `json:"version_status"`
	LatestVersion   int          `json:"latest_version"`
	ApprovedVersion int          `json:"approved_version"`
	Runs7d          int64        `json:"runs_7d"`
	Runs30d         int64        `json:"runs_30d"`
	Tokens7d        int64        `json:"tokens_7d"`
	Tokens30d       int64        `json:"tokens_30d"`
	Cost7d          agents.Money `json:"cost_7d_usd"`
	Cost30d         agents.Money `json:"cost_30d_usd"`
	Unpriced30d     int64        `json:"unpriced_entries_30d"`
	SimulatedCost30 agents.Money `json:"simulated_cost_30d_usd"`
	BudgetState     string       `json:"budget_state"`
}

// catalog lists every agent a reviewer or admin oversees with its state and
// recent spend; ?format=csv for spreadsheets.
func (s *Server) catalog(c echo.Context) error {
	p := principal(c)
	if p.Role != store.RoleAdmin && p.Role != store.RoleReviewer {
		return newError(http.StatusForbidden, "the catalog is for reviewers and admins")
	}
	f := store.CatalogFilter{Team: c.QueryParam("team"), Owner: c.QueryParam("owner"), Status: c.QueryParam("status"),
		Category: c.QueryParam("category"), Sort: c.QueryParam("sort")}
	if !p.Admin() {
		f.Teams = append([]string{p.Team}, p.ReviewTeams...)
	}
	if f.Status != "" && !validStatuses[f.Status] {
		return fieldError(http.StatusBadRequest, "status", "must be an agent status (active, suspended, archived) or a version status (draft, in_review, approved, changes_requested, rejected, superseded)")
	}
	if f.Sort != "" {
		known := false
		for _, k := range store.CatalogSorts() {
			known = known || f.Sort == k || f.Sort == "-"+k
		}
		if !known {
			return fieldError(http.StatusBadRequest, "sort", "must be one of name, team, owner, category, status, runs_7d, runs_30d, tokens_7d, tokens_30d, cost_7d, cost_30d (prefix - for descending)")
		}
	}
	entries, err := s.Store.Catalog(c.Request().Context(), f)
	if err != nil {
		return err
	}
	states, err := s.budgetStates(c)
	if err != nil {
		return err
	}
	items := make([]catalogItem, 0, len(entries))
	for _, e := range entries {
		items = append(items, catalogItem{e.Name, e.Team, e.Owner, e.Category, e.Status, e.VersionStatus, e.LatestVersion, e.ApprovedVersion,
			e.Runs7d, e.Runs30d, e.Tokens7d, e.Tokens30d, e.Cost7d, e.Cost30d, e.Unpriced30d, e.SimulatedCost30, budgetState(states["agent:"+e.Team+"/"+e.Name], states["team:"+e.Team], states["category:"+e.Category])})
	}
	switch c.QueryParam("format") {
	case "", "json":
		return c.JSON(http.StatusOK, map[string]any{"items": items})
	case "csv":
		return writeCatalogCSV(c, items)
	default:
		return fieldError(http.StatusBadRequest, "format", `must be "json" or "csv"`)
	}
}

func writeCatalogCSV(c echo.Context, items []catalogItem) error {
	c.Response().Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	c.Response().Header().Set("Content-Disposition", `attachment; filename="telos-catalog.csv"`)
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	w.Write([]string{"team", "name", "owner", "category", "status", "version_status", "latest_version", "approved_version",
		"runs_7d", "runs_30d", "tokens_7d", "tokens_30d", "cost_7d_usd", "cost_30d_usd", "unpriced_entries_30d", "simulated_cost_30d_usd", "budget_state"})
	i64 := func(n int64) string { return strconv.FormatInt(n, 10) }
	for _, it := range items {
		w.Write([]string{csvSafe(it.Team), csvSafe(it.Name), csvSafe(it.Owner), csvSafe(it.Category), it.Status, it.VersionStatus,
			strconv.Itoa(it.LatestVersion), strconv.Itoa(it.ApprovedVersion), i64(it.Runs7d), i64(it.Runs30d), i64(it.Tokens7d), i64(it.Tokens30d),
			it.Cost7d.String(), it.Cost30d.String(), i64(it.Unpriced30d), it.SimulatedCost30.String(), it.BudgetState})
	}
	w.Flush()
	return w.Error()
}

// csvSafe defuses spreadsheet formula injection in user-chosen text.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}
