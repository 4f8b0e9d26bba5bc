package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/telos-dev/telos/agents"
)

// reviewCommands move an agent version through review: its team submits it,
// reviewers of the team and admins decide on it.
func (c *apiClient) reviewCommands() []*cobra.Command {
	specs := []struct {
		action, use, short string
		decision           bool // needs --version: a decision names what it decides on
		commentRequired    bool
	}{
		{"submit", "submit NAME [--version N]", "Submit a draft version for review (default the latest version)", false, false},
		{"approve", "approve NAME --version N [--comment C]", "Approve a version in review; it becomes the version that runs", true, false},
		{"request-changes", "request-changes NAME --version N --comment C", "Send a version in review back to its team, saying what must change", true, true},
		{"reject", "reject NAME --version N --comment C", "Reject a version in review, saying why", true, true},
	}
	cmds := make([]*cobra.Command, 0, len(specs))
	for _, s := range specs {
		var team, comment string
		var version int
		cmd := &cobra.Command{
			Use:   s.use,
			Short: s.short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				ctx := cmd.Context()
				v, err := c.versionOrLatest(ctx, args[0], team, version)
				if err != nil {
					return err
				}
				var body any
				if comment != "" {
					body = map[string]string{"comment": comment}
				}
				var out struct {
					Name          string `json:"name"`
					Version       int    `json:"version"`
					VersionStatus string `json:"version_status"`
				}
				raw, err := c.call(ctx, http.MethodPost, agentPath(args[0], team, "versions", strconv.Itoa(v), s.action), body, nil, &out)
				if err != nil {
					return err
				}
				return c.show(raw, func(w io.Writer) error {
					_, err := fmt.Fprintf(w, "%s@%d is now %s\n", out.Name, out.Version, out.VersionStatus)
					return err
				})
			},
		}
		f := cmd.Flags()
		if s.decision {
			f.IntVar(&version, "version", 0, "version to decide on")
			_ = cmd.MarkFlagRequired("version")
		} else {
			f.IntVar(&version, "version", 0, "version to submit (default the latest)")
		}
		if s.commentRequired {
			f.StringVar(&comment, "comment", "", "what must change, or why (required)")
			_ = cmd.MarkFlagRequired("comment")
		} else {
			f.StringVar(&comment, "comment", "", "a note kept in the review history")
		}
		teamFlag(cmd, &team)
		cmds = append(cmds, cmd)
	}
	return cmds
}

// statusCommands suspend an agent, so that no version runs, and resume it.
func (c *apiClient) statusCommands() []*cobra.Command {
	specs := []struct{ action, short string }{
		{"suspend", "Stop an agent from running until a reviewer or admin resumes it"},
		{"resume", "Let a suspended agent run again (the team's reviewers and admins)"},
	}
	cmds := make([]*cobra.Command, 0, len(specs))
	for _, s := range specs {
		var team, comment string
		cmd := &cobra.Command{
			Use:   s.action + " NAME [--comment C]",
			Short: s.short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				var body any
				if comment != "" {
					body = map[string]string{"comment": comment}
				}
				var out struct{ Name, Status string }
				raw, err := c.call(cmd.Context(), http.MethodPost, agentPath(args[0], team, s.action), body, nil, &out)
				if err != nil {
					return err
				}
				return c.show(raw, func(w io.Writer) error {
					_, err := fmt.Fprintf(w, "%s is now %s\n", out.Name, out.Status)
					return err
				})
			},
		}
		cmd.Flags().StringVar(&comment, "comment", "", "why, kept in the audit log")
		teamFlag(cmd, &team)
		cmds = append(cmds, cmd)
	}
	return cmds
}

// versionOrLatest is version if it is given, and the agent's latest version
// otherwise.
func (c *apiClient) versionOrLatest(ctx context.Context, name, team string, version int) (int, error) {
	if version != 0 {
		return version, nil
	}
	var v agentView
	if _, err := c.call(ctx, http.MethodGet, agentPath(name, team), nil, nil, &v); err != nil {
		return 0, err
	}
	return v.LatestVersion, nil
}

// reviewState says where a version stands in review and what the agent runs;
// latest is left out when it is 0.
func reviewState(versionStatus, status string, latest, approved int) string {
	parts := []string{"agent " + status}
	if latest > 0 {
		parts = append(parts, fmt.Sprintf("latest version %d", latest))
	}
	if approved > 0 {
		parts = append(parts, fmt.Sprintf("approved version %d", approved))
	} else {
		parts = append(parts, "no approved version")
	}
	return versionStatus + "; " + strings.Join(parts, ", ")
}

func (c *apiClient) dossierCommand() *cobra.Command {
	var team string
	var version int
	cmd := &cobra.Command{
		Use:   "dossier NAME [--version N]",
		Short: "Show what a reviewer reads before deciding: purpose, cost, steps, actions and review history",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			v, err := c.versionOrLatest(ctx, args[0], team, version)
			if err != nil {
				return err
			}
			var d dossierView
			raw, err := c.call(ctx, http.MethodGet, agentPath(args[0], team, "versions", strconv.Itoa(v), "dossier"), nil, nil, &d)
			if err != nil {
				return err
			}
			return c.show(raw, func(w io.Writer) error { return writeDossier(w, d) })
		},
	}
	cmd.Flags().IntVar(&version, "version", 0, "version to show (default the latest)")
	teamFlag(cmd, &team)
	return cmd
}

// dossierView is a version's review dossier as the API answers it.
type dossierView struct {
	Name            string         `json:"name"`
	Team            string         `json:"team"`
	Owner           string         `json:"owner"`
	Version         int            `json:"version"`
	VersionStatus   string         `json:"version_status"`
	Status          string         `json:"status"`
	ApprovedVersion int            `json:"approved_version"`
	Description     string         `json:"description"`
	Purpose         agents.Purpose `json:"purpose"`
	Estimate        struct {
		Source       string       `json:"source"` // dry_runs or forecast
		DryRuns      int64        `json:"dry_runs"`
		InputTokens  int64        `json:"input_tokens"`
		OutputTokens int64        `json:"output_tokens"`
		Cost         agents.Money `json:"cost_usd"`
		Unpriced     bool         `json:"unpriced"`
	} `json:"estimate_per_run"`
	MonthlyForecast *struct {
		RunsPerMonth int64        `json:"runs_per_month"`
		Cost         agents.Money `json:"cost_usd"`
	} `json:"monthly_forecast"`
	Steps []struct {
		ID          string   `json:"id"`
		Kind        string   `json:"kind"`
		Purpose     string   `json:"purpose"`
		Model       string   `json:"model"`
		Action      string   `json:"action"`
		Class       string   `json:"class"`
		Destination string   `json:"destination"`
		Tools       []string `json:"tools"`
	} `json:"steps"`
	Actions []struct {
		Action       string   `json:"action"`
		Class        string   `json:"class"`
		Destinations []string `json:"destinations"`
	} `json:"actions"`
	Budget   *agents.Budget      `json:"budget"`
	Allow    map[string][]string `json:"declared_destinations"`
	Warnings []string            `json:"warnings"`
	Reviews  []struct {
		Version   int       `json:"version"`
		Action    string    `json:"action"`
		ToStatus  string    `json:"to_status"`
		Actor     string    `json:"actor"`
		Comment   string    `json:"comment"`
		CreatedAt time.Time `json:"created_at"`
	} `json:"reviews"`
}

// writeDossier prints a dossier as a reviewer reads it: what the agent is
// for and what a run costs, then what each step does and where it writes,
// then the review history.
func writeDossier(w io.Writer, d dossierView) error {
	p := d.Purpose
	rows := [][]string{
		{"agent:", fmt.Sprintf("%s@%d (team %s, owner %s)", d.Name, d.Version, d.Team, d.Owner)},
		{"status:", reviewState(d.VersionStatus, d.Status, 0, d.ApprovedVersion)},
	}
	if d.Description != "" {
		rows = append(rows, []string{"description:", d.Description})
	}
	rows = append(rows,
		[]string{"purpose:", p.Category + ": " + p.Statement},
		[]string{"outcome:", firstNonEmpty(p.Outcome, "not declared")},
	)
	value := "not declared"
	if p.Value != nil && p.Value.MinutesSavedPerRun != nil {
		value = strconv.FormatFloat(*p.Value.MinutesSavedPerRun, 'f', -1, 64) + " minutes saved per run"
	}
	rows = append(rows, []string{"value:", value})

	e := d.Estimate
	cost := "$" + e.Cost.String()
	if e.Unpriced {
		cost += " + unpriced"
	}
	source := "forecast from the spec; input excludes referenced data"
	if e.Source == "dry_runs" {
		source = fmt.Sprintf("average of %d dry runs", e.DryRuns)
		if e.DryRuns == 1 {
			source = "from 1 dry run"
		}
	}
	rows = append(rows, []string{"per run:", fmt.Sprintf("%s, %d input + %d output tokens (%s)", cost, e.InputTokens, e.OutputTokens, source)})
	monthly := "no schedule declared"
	if m := d.MonthlyForecast; m != nil {
		monthly = fmt.Sprintf("$%s for %d runs", m.Cost, m.RunsPerMonth)
	}
	rows = append(rows, []string{"per month:", monthly})
	if budget := budgetRows(d.Budget); len(budget) > 0 {
		rows = append(rows, budget...)
	} else {
		rows = append(rows, []string{"budget:", "none declared"})
	}
	var allow []string
	for _, k := range sortedKeys(d.Allow) {
		allow = append(allow, k+": "+strings.Join(d.Allow[k], ", "))
	}
	rows = append(rows, []string{"writes to:", firstNonEmpty(strings.Join(allow, "; "), "nothing declared (only the team inbox)")})
	for _, warn := range d.Warnings {
		rows = append(rows, []string{"WARNING:", warn})
	}
	if err := writeTable(w, rows); err != nil {
		return err
	}

	steps := [][]string{{"ID", "KIND", "PURPOSE", "MODEL/ACTION", "CLASS", "DESTINATION"}}
	for _, s := range d.Steps {
		dest := s.Destination
		if len(s.Tools) > 0 {
			dest = "tools: " + strings.Join(s.Tools, ", ")
		}
		steps = append(steps, []string{s.ID, s.Kind, s.Purpose, firstNonEmpty(s.Model, s.Action, "-"), firstNonEmpty(s.Class, "-"), firstNonEmpty(dest, "-")})
	}
	fmt.Fprintln(w)
	if err := writeTable(w, steps); err != nil {
		return err
	}
	if len(d.Actions) > 0 {
		actions := [][]string{{"ACTION", "CLASS", "DESTINATIONS"}}
		for _, a := range d.Actions {
			actions = append(actions, []string{a.Action, a.Class, firstNonEmpty(strings.Join(a.Destinations, ", "), "-")})
		}
		fmt.Fprintln(w)
		if err := writeTable(w, actions); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	if len(d.Reviews) == 0 {
		_, err := fmt.Fprintln(w, "no reviews yet")
		return err
	}
	reviews := [][]string{{"TIME", "VERSION", "ACTION", "STATUS", "ACTOR", "COMMENT"}}
	for _, r := range d.Reviews {
		reviews = append(reviews, []string{r.CreatedAt.UTC().Format(timeLayout), strconv.Itoa(r.Version), r.Action, r.ToStatus, r.Actor, r.Comment})
	}
	return writeTable(w, reviews)
}

// purposeCategory is a category of the purpose taxonomy. Money reads YAML's
// 250.00 as the amount it writes, so a YAML file needs no quotes.
type purposeCategory struct {
	Name          string        `json:"name" yaml:"name"`
	Description   string        `json:"description" yaml:"description"`
	MonthlyUSD    *agents.Money `json:"monthly_usd,omitempty" yaml:"monthly_usd"`
	MonthlyTokens *int64        `json:"monthly_tokens,omitempty" yaml:"monthly_tokens"`
}

type categoryList struct {
	Items []purposeCategory `json:"items" yaml:"items"`
}

func (c *apiClient) categoriesCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "categories", Short: "Show and set the purpose categories agents declare"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the purpose categories and their monthly budgets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.categories(cmd.Context(), http.MethodGet, nil)
		},
	}
	var file string
	set := &cobra.Command{
		Use:   "set -f FILE",
		Short: "Replace the purpose categories with those in a YAML or JSON file (admins only)",
		Long: "Replace the purpose categories with those in a YAML or JSON file (admins only).\n\n" +
			"The file holds {\"items\": [{\"name\", \"description\", \"monthly_usd\", \"monthly_tokens\"}]}.\n" +
			"Removing a category blocks approval of agents that use it, not their history.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			doc, isYAML, err := readDocument("categories", file)
			if err != nil {
				return err
			}
			if isYAML {
				var cats categoryList
				dec := yaml.NewDecoder(bytes.NewReader(doc))
				dec.KnownFields(true)
				if err := dec.Decode(&cats); err != nil {
					return fmt.Errorf("categories file %q: %w", file, err)
				}
				if doc, err = json.Marshal(cats); err != nil {
					return err
				}
			}
			return c.categories(cmd.Context(), http.MethodPut, doc)
		},
	}
	set.Flags().StringVarP(&file, "file", "f", "", "categories file (.yaml, .yml or .json)")
	_ = set.MarkFlagRequired("file")
	cmd.AddCommand(list, set)
	return cmd
}

// categories sends doc, a JSON body or nil, to the taxonomy and prints the
// categories the server answers with.
func (c *apiClient) categories(ctx context.Context, method string, doc []byte) error {
	var in any
	var header http.Header
	if doc != nil {
		in, header = doc, http.Header{"Content-Type": {"application/json"}}
	}
	var out categoryList
	raw, err := c.call(ctx, method, "/v1/purpose-categories", in, header, &out)
	if err != nil {
		return err
	}
	return c.show(raw, func(w io.Writer) error {
		rows := [][]string{{"NAME", "MONTHLY_USD", "MONTHLY_TOKENS", "DESCRIPTION"}}
		for _, cat := range out.Items {
			rows = append(rows, []string{cat.Name, moneyCell(cat.MonthlyUSD, ""), tokensCell(cat.MonthlyTokens, ""), cat.Description})
		}
		return writeTable(w, rows)
	})
}

// moneyCell formats an optional amount after prefix, "-" when it is not set.
func moneyCell(m *agents.Money, prefix string) string {
	if m == nil {
		return "-"
	}
	return prefix + m.String()
}

// tokensCell formats an optional token count before suffix, "-" when it is
// not set.
func tokensCell(n *int64, suffix string) string {
	if n == nil {
		return "-"
	}
	return itoa(*n) + suffix
}

// budgetItem is one budget window as the API answers it; nil limits are not
// limited.
type budgetItem struct {
	Scope           string        `json:"scope"`
	Window          string        `json:"window"`
	WindowStart     string        `json:"window_start"`
	LimitUSD        *agents.Money `json:"limit_usd"`
	LimitTokens     *int64        `json:"limit_tokens"`
	SpentUSD        agents.Money  `json:"spent_usd"`
	SpentTokens     int64         `json:"spent_tokens"`
	ReservedUSD     agents.Money  `json:"reserved_usd"`
	ReservedTokens  int64         `json:"reserved_tokens"`
	RemainingUSD    *agents.Money `json:"remaining_usd"`
	RemainingTokens *int64        `json:"remaining_tokens"`
}

func (c *apiClient) budgetsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "budgets",
		Short: "Show the budgets you can see: limit, spent, reserved by running steps, and remaining",
		Long: "Show the budgets you can see: limit, spent, reserved by running steps, and remaining.\n\n" +
			"Amounts are in USD; a budget that limits tokens too has a second line in tokens.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out struct {
				Items []budgetItem `json:"items"`
			}
			raw, err := c.call(cmd.Context(), http.MethodGet, "/v1/budgets", nil, nil, &out)
			if err != nil {
				return err
			}
			return c.show(raw, func(w io.Writer) error {
				rows := [][]string{{"SCOPE", "WINDOW", "START", "LIMIT", "SPENT", "RESERVED", "REMAINING"}}
				for _, b := range out.Items {
					rows = append(rows, []string{b.Scope, b.Window, b.WindowStart,
						moneyCell(b.LimitUSD, "$"), moneyCell(&b.SpentUSD, "$"), moneyCell(&b.ReservedUSD, "$"), moneyCell(b.RemainingUSD, "$")})
					if b.LimitTokens != nil {
						rows = append(rows, []string{"", "", "",
							tokensCell(b.LimitTokens, " tokens"), tokensCell(&b.SpentTokens, " tokens"), tokensCell(&b.ReservedTokens, " tokens"), tokensCell(b.RemainingTokens, " tokens")})
					}
				}
				return writeTable(w, rows)
			})
		},
	}

	var usd string
	var tokens int64
	setTeam := &cobra.Command{
		Use:   "set-team TEAM [--usd AMOUNT] [--tokens N]",
		Short: "Set a team's monthly budget (admins only)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var req struct {
				MonthlyUSD    *string `json:"monthly_usd,omitempty"`
				MonthlyTokens *int64  `json:"monthly_tokens,omitempty"`
			}
			if cmd.Flags().Changed("usd") {
				req.MonthlyUSD = &usd
			}
			if cmd.Flags().Changed("tokens") {
				req.MonthlyTokens = &tokens
			}
			var out struct {
				Team          string        `json:"team"`
				MonthlyUSD    *agents.Money `json:"monthly_usd"`
				MonthlyTokens *int64        `json:"monthly_tokens"`
			}
			raw, err := c.call(cmd.Context(), http.MethodPut, "/v1/teams/"+url.PathEscape(args[0])+"/budget", req, nil, &out)
			if err != nil {
				return err
			}
			return c.show(raw, func(w io.Writer) error {
				var limits []string
				if out.MonthlyUSD != nil {
					limits = append(limits, moneyCell(out.MonthlyUSD, "$"))
				}
				if out.MonthlyTokens != nil {
					limits = append(limits, tokensCell(out.MonthlyTokens, " tokens"))
				}
				_, err := fmt.Fprintf(w, "team %s monthly budget: %s\n", out.Team, firstNonEmpty(strings.Join(limits, ", "), "no limit"))
				return err
			})
		},
	}
	f := setTeam.Flags()
	f.StringVar(&usd, "usd", "", "monthly limit in USD, such as 500.00")
	f.Int64Var(&tokens, "tokens", 0, "monthly limit in tokens")
	setTeam.MarkFlagsOneRequired("usd", "tokens")
	cmd.AddCommand(setTeam)
	return cmd
}

func (c *apiClient) catalogCommand() *cobra.Command {
	var status, team, owner, cat, sort string
	var csv bool
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "List agents with their review state, runs, tokens, cost and budget state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			params := map[string]string{"status": status, "team": team, "owner": owner, "category": cat, "sort": sort}
			if csv {
				params["format"] = "csv"
			}
			path := withQuery("/v1/catalog", query(params))
			if csv {
				// The server's CSV is the export; it is printed as is, whatever -o says.
				raw, err := c.call(cmd.Context(), http.MethodGet, path, nil, nil, nil)
				if err != nil {
					return err
				}
				_, err = c.stdout.Write(raw)
				return err
			}
			var out struct {
				Items []struct {
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
					Tokens30d       int64        `json:"tokens_30d"`
					Cost30d         agents.Money `json:"cost_30d_usd"`
					Unpriced30d     int64        `json:"unpriced_entries_30d"`
					BudgetState     string       `json:"budget_state"`
				} `json:"items"`
			}
			raw, err := c.call(cmd.Context(), http.MethodGet, path, nil, nil, &out)
			if err != nil {
				return err
			}
			return c.show(raw, func(w io.Writer) error {
				rows := [][]string{{"AGENT", "TEAM", "OWNER", "CATEGORY", "STATUS", "REVIEW", "LATEST/APPROVED", "RUNS(7D/30D)", "TOKENS(30D)", "COST(30D,USD)", "BUDGET"}}
				for _, a := range out.Items {
					approved := "-"
					if a.ApprovedVersion > 0 {
						approved = strconv.Itoa(a.ApprovedVersion)
					}
					cost := a.Cost30d.String()
					if a.Unpriced30d > 0 {
						cost += fmt.Sprintf(" + %d unpriced", a.Unpriced30d)
					}
					rows = append(rows, []string{a.Name, a.Team, a.Owner, a.Category, a.Status, a.VersionStatus,
						strconv.Itoa(a.LatestVersion) + "/" + approved, itoa(a.Runs7d) + "/" + itoa(a.Runs30d), itoa(a.Tokens30d), cost, firstNonEmpty(a.BudgetState, "-")})
				}
				return writeTable(w, rows)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&status, "status", "", "only agents in this status (active, suspended, archived) or whose latest version is (draft, in_review, …)")
	f.StringVar(&team, "team", "", "only agents of this team")
	f.StringVar(&owner, "owner", "", "only agents of this owner")
	f.StringVar(&cat, "category", "", "only agents of this purpose category")
	f.StringVar(&sort, "sort", "", "sort by name, team, owner, category, status, runs_7d, runs_30d, tokens_7d, tokens_30d, cost_7d or cost_30d; prefix - for descending")
	f.BoolVar(&csv, "csv", false, "print the catalog as CSV")
	return cmd
}

func (c *apiClient) auditCommand() *cobra.Command {
	var after int64
	var team, action string
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show the audit log, oldest first (admins only)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out struct {
				Items []struct {
					ID         int64     `json:"id"`
					At         time.Time `json:"at"`
					Actor      string    `json:"actor"`
					ActorRole  string    `json:"actor_role"`
					Action     string    `json:"action"`
					ObjectKind string    `json:"object_kind"`
					ObjectID   string    `json:"object_id"`
					Team       string    `json:"team"`
					Detail     string    `json:"detail"`
				} `json:"items"`
				NextAfter int64 `json:"next_after"`
			}
			q := query(map[string]string{"team": team, "action": action})
			if after > 0 {
				q.Set("after", itoa(after))
			}
			path := withQuery("/v1/audit", q)
			raw, err := c.call(cmd.Context(), http.MethodGet, path, nil, nil, &out)
			if err != nil {
				return err
			}
			return c.show(raw, func(w io.Writer) error {
				rows := [][]string{{"ID", "TIME", "ACTOR", "ROLE", "ACTION", "OBJECT", "TEAM", "DETAIL"}}
				for _, e := range out.Items {
					object := e.ObjectKind
					if e.ObjectID != "" {
						object += ":" + e.ObjectID
					}
					rows = append(rows, []string{itoa(e.ID), e.At.UTC().Format(timeLayout), e.Actor, e.ActorRole, e.Action, object, firstNonEmpty(e.Team, "-"), e.Detail})
				}
				if err := writeTable(w, rows); err != nil {
					return err
				}
				if out.NextAfter != 0 {
					_, err = fmt.Fprintf(w, "more: --after %d\n", out.NextAfter)
				}
				return err
			})
		},
	}
	f := cmd.Flags()
	f.Int64Var(&after, "after", 0, "continue after this record id")
	f.StringVar(&team, "team", "", "only records of this team")
	f.StringVar(&action, "action", "", "only records of this action, such as agent.approve")
	return cmd
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
