package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/telos-dev/telos/agents"
	"github.com/telos-dev/telos/connectors"
	"github.com/telos-dev/telos/llm"
	"github.com/telos-dev/telos/store"
)

// dossier is what a reviewer reads before approving a version.
type dossier struct {
	Name            string          `json:"name"`
	Team            string          `json:"team"`
	Owner           string          `json:"owner"`
	Version         int             `json:"version"`
	VersionStatus   string          `json:"version_status"`
	Status          string          `json:"status"`
	ApprovedVersion int             `json:"approved_version,omitempty"`
	Description     string          `json:"description,omitempty"`
	Purpose         agents.Purpose  `json:"purpose"`
	Estimate        estimate        `json:"estimate_per_run"`
	MonthlyForecast *monthly        `json:"monthly_forecast"`
	Steps           []dossierStep   `json:"steps"`
	Actions         []dossierAction `json:"actions"`
	Budget          *agents.Budget  `json:"budget"`
	// Allow is where the agent declares it may write; writes elsewhere are refused.
	Allow map[string][]string `json:"declared_destinations"`
	// Warnings are problems a reviewer should see before approving.
	Warnings []string       `json:"warnings"`
	Reviews  []store.Review `json:"reviews"`
}

type estimate struct {
	// Source is "dry_runs" (the average of this version's dry runs) or
	// "forecast" (counted from the spec: prompts without referenced data,
	// plus max_tokens — a lower bound on input).
	Source       string       `json:"source"`
	DryRuns      int64        `json:"dry_runs"`
	InputTokens  int64        `json:"input_tokens"`
	OutputTokens int64        `json:"output_tokens"`
	Cost         agents.Money `json:"cost_usd"`
	Unpriced     bool         `json:"unpriced"`
}

type monthly struct {
	RunsPerMonth int64        `json:"runs_per_month"`
	Cost         agents.Money `json:"cost_usd"`
}

type dossierStep struct {
	Tools       []string `json:"tools,omitempty"`
	ID          string   `json:"id"`
	Kind        string   `json:"kind"`
	Purpose     string   `json:"purpose"`
	Model       string   `json:"model,omitempty"`
	Action      string   `json:"action,omitempty"`
	Class       string   `json:"class,omitempty"`
	Destination string   `json:"destination,omitempty"`
}

type dossierAction struct {
	Action       string   `json:"action"`
	Class        string   `json:"class"`
	Description  string   `json:"description,omitempty"`
	Destinations []string `json:"destinations"`
}

var refPattern = regexp.MustCompile(`\$\{\{[^}]*\}\}`)

// getDossier builds the review dossier of a version.
func (s *Server) getDossier(c echo.Context) error {
	ctx := c.Request().Context()
	st, err := s.visibleAgent(c)
	if err != nil {
		return err
	}
	version, err := strconv.Atoi(c.Param("version"))
	if err != nil || version < 1 {
		return fieldError(http.StatusBadRequest, "version", "must be a positive integer")
	}
	v, err := s.Store.AgentVersion(ctx, st.Team, st.Name, version)
	if err != nil {
		return err
	}
	var a agents.Agent
	if err := json.Unmarshal(v.Spec, &a); err != nil {
		return err
	}
	d := dossier{Name: st.Name, Team: st.Team, Owner: st.Owner, Version: version, Status: st.Status, ApprovedVersion: st.ApprovedVersion,
		Description: a.Spec.Description, Purpose: a.Spec.Purpose, Budget: a.Spec.Budget, Allow: a.Spec.Allow, Steps: []dossierStep{}, Actions: []dossierAction{}}
	if d.VersionStatus, err = s.Store.VersionStatus(ctx, st.Team, st.Name, version); err != nil {
		return err
	}
	if d.Reviews, err = s.Store.Reviews(ctx, st.Team, st.Name); err != nil {
		return err
	}
	if d.Estimate, err = s.estimate(c, st, version, a.Spec); err != nil {
		return err
	}
	if st.ApprovedVersion == version {
		if d.MonthlyForecast, err = s.agentMonthlyForecast(c, st, d.Estimate); err != nil {
			return err
		}
	}

	byAction := map[string]*dossierAction{}
	addAction := func(act connectors.Action, dest string) {
		da := byAction[act.ID]
		if da == nil {
			da = &dossierAction{Action: act.ID, Class: string(act.Class), Description: act.Description, Destinations: []string{}}
			byAction[act.ID] = da
		}
		if dest != "" && !contains(da.Destinations, dest) {
			da.Destinations = append(da.Destinations, dest)
		}
	}
	d.Warnings = []string{}
	for _, step := range a.Spec.Steps {
		ds := dossierStep{ID: step.ID, Kind: step.Kind(), Purpose: step.Purpose, Action: step.Connector}
		switch {
		case step.LLM != nil:
			ds.Model = firstNonEmpty(step.LLM.Model, a.Spec.Model)
		case step.Agent != nil:
			// The model picks destinations at run time: what bounds them is
			// spec.allow, so that is what the reviewer is shown.
			ds.Model, ds.Tools = firstNonEmpty(step.Agent.Model, a.Spec.Model), step.Agent.Tools
			for _, t := range step.Agent.Tools {
				if act, ok := s.Actions.Lookup(t); ok {
					dest := "chosen by the model"
					if act.Class == connectors.Write {
						connector, _, _ := strings.Cut(act.ID, ".")
						dest = "chosen by the model, limited to spec.allow." + connector
						if connector == "inbox" {
							dest = "the agent's team inbox"
						}
					}
					addAction(act, dest)
				}
			}
		default:
			if act, ok := s.Actions.Lookup(step.Connector); ok {
				ds.Class = string(act.Class)
				ds.Destination = destination(act, step)
				addAction(act, ds.Destination)
				if act.Class == connectors.Write && !strings.Contains(ds.Destination, "${{") {
					connector, _, _ := strings.Cut(act.ID, ".")
					if ok, dest := agents.DestinationAllowed(a.Spec.Allow, connector, step.With[act.Destination]); !ok {
						d.Warnings = append(d.Warnings, fmt.Sprintf("step %s writes to %q, which spec.allow.%s does not declare: its runs will be refused", step.ID, dest, connector))
					}
				}
			}
		}
		d.Steps = append(d.Steps, ds)
	}
	ids := make([]string, 0, len(byAction))
	for id := range byAction {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		d.Actions = append(d.Actions, *byAction[id])
	}
	return c.JSON(http.StatusOK, d)
}

// estimate is the cost of one run of a version: the average of its dry runs,
// or a forecast from the spec when there are none.
func (s *Server) estimate(c echo.Context, st store.AgentState, version int, spec agents.Spec) (estimate, error) {
	stats, err := s.Store.DryRunStats(c.Request().Context(), st.Team, st.Name, version)
	if err != nil {
		return estimate{}, err
	}
	hasAgent := false
	for _, st := range spec.Steps {
		hasAgent = hasAgent || st.Agent != nil
	}
	// Dry runs use sim, which never calls tools, so they say nothing about
	// what an agent step's loop costs: its token budget bounds it.
	if stats.Runs == 0 || hasAgent {
		return s.forecast(spec), nil
	}
	return estimate{Source: "dry_runs", DryRuns: stats.Runs, InputTokens: stats.Usage.InputTokens / stats.Runs,
		OutputTokens: stats.Usage.OutputTokens / stats.Runs, Cost: stats.Cost / agents.Money(stats.Runs), Unpriced: stats.Unpriced > 0}, nil
}

// agentMonthlyForecast sums, over the agent's schedules, runs in the next 30
// days × the estimate per run; nil when nothing is scheduled.
func (s *Server) agentMonthlyForecast(c echo.Context, st store.AgentState, per estimate) (*monthly, error) {
	if s.Temporal == nil {
		return nil, nil
	}
	ids, err := s.agentSchedules(c, st)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	var runs int64
	now := s.Now()
	for _, id := range ids {
		times, err := s.matchingTimes(c, id, now, now.Add(forecastWindow))
		if err != nil {
			return nil, err
		}
		runs += int64(len(times))
	}
	return &monthly{RunsPerMonth: runs, Cost: per.Cost * agents.Money(runs)}, nil
}

// decodeAgent reads the agent document of a stored version.
func decodeAgent(v store.AgentVersion) (agents.Agent, error) {
	var a agents.Agent
	err := json.Unmarshal(v.Spec, &a)
	return a, err
}

// destination is where a connector step reads or writes, as declared: the
// value of the action's destination parameter, or the run's team for inbox.
func destination(act connectors.Action, step agents.Step) string {
	if act.Destination == "" {
		return ""
	}
	if v, ok := step.With[act.Destination]; ok {
		if s, ok := v.(string); ok {
			return s
		}
	}
	if act.Destination == "team" {
		return "the agent's team inbox"
	}
	return ""
}

// forecast estimates one run from the spec alone: each LLM step's prompt
// counted with referenced data left out, plus its max_tokens, priced.
func (s *Server) forecast(spec agents.Spec) estimate {
	e := estimate{Source: "forecast"}
	for _, step := range spec.Steps {
		if step.Agent != nil {
			// An agent step may use up to its token budget: the forecast is
			// that upper bound, with output at its per-turn cap × turns.
			turns, _, budget := step.Agent.Limits()
			perTurn := int64(step.Agent.MaxTokens)
			if perTurn == 0 {
				perTurn = 1024
			}
			u := agents.Usage{OutputTokens: min(perTurn*int64(turns), budget/4)}
			u.InputTokens = budget - u.OutputTokens
			e.InputTokens += u.InputTokens
			e.OutputTokens += u.OutputTokens
			model := firstNonEmpty(step.Agent.Model, spec.Model)
			if price, ok := s.Prices.Lookup(model); ok {
				if cost, err := price.Cost(u); err == nil {
					e.Cost += cost
				}
			} else {
				e.Unpriced = true
			}
			continue
		}
		if step.LLM == nil {
			continue
		}
		model := firstNonEmpty(step.LLM.Model, spec.Model)
		tok, err := llm.NewTokenizer(model)
		if err != nil {
			continue
		}
		out := int64(step.LLM.MaxTokens)
		if out == 0 {
			out = 1024
		}
		u := agents.Usage{InputTokens: int64(tok.CountChat(refPattern.ReplaceAllString(step.LLM.System, ""), refPattern.ReplaceAllString(step.LLM.Prompt, ""))), OutputTokens: out}
		e.InputTokens += u.InputTokens
		e.OutputTokens += u.OutputTokens
		price, ok := s.Prices.Lookup(model)
		if !ok {
			e.Unpriced = true
			continue
		}
		if cost, err := price.Cost(u); err == nil {
			e.Cost += cost
		}
	}
	return e
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
