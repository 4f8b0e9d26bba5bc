package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/telos-dev/telos/agents"
)

const (
	defaultURL   = "http://127.0.0.1:8080"
	pollInterval = 500 * time.Millisecond
	timeLayout   = "2006-01-02 15:04:05Z07:00"
	purposeWidth = 48
)

// apiClient is what every client command shares: the global flags, the
// environment they default to, and one HTTP client.
type apiClient struct {
	getenv         func(string) string
	stdout, stderr io.Writer
	http           *http.Client
	url, apiKey    string // --url and --api-key; empty means the environment
	output         string // --output: text or json
}

// clientCommands returns the client subcommands of the telos binary; getenv
// reads TELOS_URL (default http://127.0.0.1:8080) and TELOS_API_KEY.
func clientCommands(getenv func(string) string, stdout, stderr io.Writer) []*cobra.Command {
	c := &apiClient{getenv: getenv, stdout: stdout, stderr: stderr, http: &http.Client{Timeout: 30 * time.Second}}
	cmds := []*cobra.Command{c.agentsCommand(), c.runsCommand(), c.usageCommand(), c.keysCommand(), c.inboxCommand(),
		c.categoriesCommand(), c.budgetsCommand(), c.catalogCommand(), c.auditCommand(), c.schedulesCommand()}
	for _, cmd := range cmds {
		f := cmd.PersistentFlags()
		f.StringVarP(&c.output, "output", "o", "text", "output format: text or json (the server's answer as is)")
		f.StringVar(&c.url, "url", "", "API base URL (default $TELOS_URL or "+defaultURL+")")
		// The default is not shown in help, so the key never reaches a terminal.
		f.StringVar(&c.apiKey, "api-key", "", "API key (default $TELOS_API_KEY)")
		cmd.PersistentPreRunE = func(*cobra.Command, []string) error {
			if c.output != "text" && c.output != "json" {
				return fmt.Errorf("--output must be text or json, not %q", c.output)
			}
			return nil
		}
	}
	return cmds
}

func (c *apiClient) agentsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "agents", Short: "Create, version, review and inspect agents"}
	var file string
	apply := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Create an agent from a YAML or JSON file, or add a new version if it exists",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return c.applyAgent(cmd.Context(), file) },
	}
	apply.Flags().StringVarP(&file, "file", "f", "", "agent spec file (.yaml, .yml or .json)")
	_ = apply.MarkFlagRequired("file")

	var listTeam string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the agents you can see",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out struct {
				Items []struct {
					Name          string    `json:"name"`
					Team          string    `json:"team"`
					Owner         string    `json:"owner"`
					LatestVersion int       `json:"latest_version"`
					UpdatedAt     time.Time `json:"updated_at"`
				} `json:"items"`
			}
			raw, err := c.call(cmd.Context(), http.MethodGet, withQuery("/v1/agents", teamQuery(listTeam)), nil, nil, &out)
			if err != nil {
				return err
			}
			return c.show(raw, func(w io.Writer) error {
				rows := [][]string{{"NAME", "TEAM", "OWNER", "VERSION", "UPDATED"}}
				for _, a := range out.Items {
					rows = append(rows, []string{a.Name, a.Team, a.Owner, strconv.Itoa(a.LatestVersion), a.UpdatedAt.UTC().Format(timeLayout)})
				}
				return writeTable(w, rows)
			})
		},
	}

	var version int
	var getTeam string
	get := &cobra.Command{
		Use:   "get NAME",
		Short: "Show an agent's latest version, or the one given by --version",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var parts []string
			if version > 0 {
				parts = []string{"versions", strconv.Itoa(version)}
			}
			var v agentView
			raw, err := c.call(cmd.Context(), http.MethodGet, agentPath(args[0], getTeam, parts...), nil, nil, &v)
			if err != nil {
				return err
			}
			return c.show(raw, func(w io.Writer) error { return writeAgent(w, v) })
		},
	}
	get.Flags().IntVar(&version, "version", 0, "version to show (default the latest)")
	teamFlag(list, &listTeam)
	teamFlag(get, &getTeam)

	cmd.AddCommand(apply, list, get)
	cmd.AddCommand(c.reviewCommands()...)
	cmd.AddCommand(c.statusCommands()...)
	cmd.AddCommand(c.dossierCommand())
	return cmd
}

// teamFlag adds --team, the team of the agent a command acts on; without it
// the server takes the caller's own team.
func teamFlag(cmd *cobra.Command, team *string) {
	cmd.Flags().StringVar(team, "team", "", "the agent's team (reviewers and admins act on other teams' agents)")
}

// teamQuery is the ?team= of a request, empty for the caller's own team.
func teamQuery(team string) url.Values {
	if team == "" {
		return nil
	}
	return url.Values{"team": {team}}
}

// agentPath is the API path of agent name, or of parts below it, in team.
func agentPath(name, team string, parts ...string) string {
	path := "/v1/agents/" + url.PathEscape(name)
	for _, p := range parts {
		path += "/" + url.PathEscape(p)
	}
	return withQuery(path, teamQuery(team))
}

// query holds the parameters that are set, leaving out empty values.
func query(params map[string]string) url.Values {
	q := url.Values{}
	for k, v := range params {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// withQuery appends q to path, if it holds anything.
func withQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// agentView is an agent version as the API answers it.
type agentView struct {
	Name            string       `json:"name"`
	Team            string       `json:"team"`
	Owner           string       `json:"owner"`
	Version         int          `json:"version"`
	VersionStatus   string       `json:"version_status"`
	Status          string       `json:"status"`
	LatestVersion   int          `json:"latest_version"`
	ApprovedVersion int          `json:"approved_version"`
	CreatedBy       string       `json:"created_by"`
	CreatedAt       time.Time    `json:"created_at"`
	Agent           agents.Agent `json:"agent"`
}

// applyAgent creates the agent in file; if it exists already, the same
// document becomes its next version.
func (c *apiClient) applyAgent(ctx context.Context, file string) error {
	doc, isYAML, err := readDocument("agent", file)
	if err != nil {
		return err
	}
	header := http.Header{"Content-Type": {"application/json"}}
	if isYAML {
		header.Set("Content-Type", "application/yaml")
	}
	var v agentView
	raw, err := c.call(ctx, http.MethodPost, "/v1/agents", doc, header, &v)
	verb := "created"
	var p *problem
	if errors.As(err, &p) && p.Status == http.StatusConflict {
		var spec struct {
			Metadata struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &spec); err != nil || spec.Metadata.Name == "" {
			return fmt.Errorf("agent file %q: no metadata.name to add a version to", file)
		}
		raw, err = c.call(ctx, http.MethodPut, "/v1/agents/"+url.PathEscape(spec.Metadata.Name), doc, header, &v)
		verb = "updated"
	}
	if err != nil {
		return err
	}
	return c.show(raw, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "agent %s version %d %s\n", v.Name, v.Version, verb)
		return err
	})
}

// readDocument reads a YAML or JSON file, which its name must say; what
// names the document in errors.
func readDocument(what, file string) (doc []byte, isYAML bool, err error) {
	switch strings.ToLower(filepath.Ext(file)) {
	case ".yaml", ".yml":
		isYAML = true
	case ".json":
	default:
		return nil, false, fmt.Errorf("%s file %q: the name must end in .yaml, .yml or .json", what, file)
	}
	doc, err = os.ReadFile(file)
	if err != nil {
		return nil, false, fmt.Errorf("read %s file: %w", what, err)
	}
	return doc, isYAML, nil
}

// writeAgent prints the parts of an agent a person checks before running it.
func writeAgent(w io.Writer, v agentView) error {
	s := v.Agent.Spec
	rows := [][]string{
		{"name:", v.Name},
		{"team:", v.Team},
		{"owner:", v.Owner},
		{"version:", fmt.Sprintf("%d (created %s by %s)", v.Version, v.CreatedAt.UTC().Format(timeLayout), v.CreatedBy)},
		{"status:", reviewState(v.VersionStatus, v.Status, v.LatestVersion, v.ApprovedVersion)},
		{"purpose:", s.Purpose.Category + ": " + s.Purpose.Statement},
	}
	if s.Purpose.Outcome != "" {
		rows = append(rows, []string{"outcome:", s.Purpose.Outcome})
	}
	if s.Model != "" {
		rows = append(rows, []string{"model:", s.Model})
	}
	rows = append(rows, budgetRows(s.Budget)...)
	for _, name := range slices.Sorted(maps.Keys(s.Inputs)) {
		in := s.Inputs[name]
		desc := in.Type
		if in.Required {
			desc += ", required"
		}
		rows = append(rows, []string{"input:", fmt.Sprintf("%s (%s) %s", name, desc, in.Description)})
	}
	if err := writeTable(w, rows); err != nil {
		return err
	}
	steps := [][]string{{"STEP", "KIND", "MODEL/ACTION", "PURPOSE"}}
	for _, st := range s.Steps {
		action := st.Connector
		if st.LLM != nil {
			action = firstNonEmpty(st.LLM.Model, s.Model)
		}
		steps = append(steps, []string{st.ID, st.Kind(), action, st.Purpose})
	}
	fmt.Fprintln(w)
	return writeTable(w, steps)
}

// budgetRows lists an agent's declared limits, one row per window.
func budgetRows(b *agents.Budget) [][]string {
	if b == nil {
		return nil
	}
	var rows [][]string
	for _, l := range []struct {
		name  string
		limit *agents.Limit
	}{{"per run", b.PerRun}, {"per day", b.PerDay}, {"per month", b.PerMonth}} {
		if l.limit == nil {
			continue
		}
		var parts []string
		if l.limit.Tokens != nil {
			parts = append(parts, fmt.Sprintf("%d tokens", *l.limit.Tokens))
		}
		if l.limit.USD != nil {
			parts = append(parts, "$"+*l.limit.USD)
		}
		rows = append(rows, []string{"budget:", l.name + " " + strings.Join(parts, ", ")})
	}
	return rows
}

func (c *apiClient) runsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "runs", Short: "Start, follow and account for agent runs"}

	var strs, files, jsons []string
	var wait bool
	var key, team string
	var req runRequest
	start := &cobra.Command{
		Use:   "start NAME",
		Short: "Start a run of an agent and print its id",
		Long: "Start a run of an agent and print its id.\n\n" +
			"A real run runs the agent's approved version. --dry-run runs any version, the\n" +
			"latest by default, on the offline sim provider with write actions recorded but\n" +
			"not performed; reviewers may dry-run the agents they review.\n\n" +
			"--input values are sent as strings; give numbers, booleans, objects and arrays\n" +
			"with --input-json NAME=JSON. The server checks them against the agent's inputs.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if req.Inputs, err = runInputs(strs, files, jsons); err != nil {
				return err
			}
			return c.startRun(cmd.Context(), agentPath(args[0], team, "runs"), req, key, wait)
		},
	}
	f := start.Flags()
	f.BoolVar(&req.DryRun, "dry-run", false, "run on the sim provider without performing write actions")
	f.IntVar(&req.Version, "version", 0, "version to run (default the approved one, or the latest with --dry-run)")
	teamFlag(start, &team)
	f.StringArrayVar(&strs, "input", nil, "input NAME=VALUE, sent as a string (repeatable)")
	f.StringArrayVar(&files, "input-file", nil, "input NAME=PATH, the file's content as a string (repeatable)")
	f.StringArrayVar(&jsons, "input-json", nil, "input NAME=JSON, a JSON value such as 3, true or [\"a\"] (repeatable)")
	f.BoolVar(&wait, "wait", false, "wait for the run to finish, print it, and fail unless it completed")
	f.StringVar(&key, "idempotency-key", "", "a repeated start with the same key returns the first run")

	get := &cobra.Command{
		Use:   "get ID",
		Short: "Show a run: its steps, their tokens and cost",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r runView
			raw, err := c.call(cmd.Context(), http.MethodGet, "/v1/runs/"+url.PathEscape(args[0]), nil, nil, &r)
			if err != nil {
				return err
			}
			return c.show(raw, func(w io.Writer) error { return writeRun(w, r) })
		},
	}

	var agent, cursor string
	list := &cobra.Command{
		Use:   "list",
		Short: "List runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out struct {
				Items      []runView `json:"items"`
				NextCursor string    `json:"next_cursor"`
			}
			path := withQuery("/v1/runs", query(map[string]string{"agent": agent, "cursor": cursor}))
			raw, err := c.call(cmd.Context(), http.MethodGet, path, nil, nil, &out)
			if err != nil {
				return err
			}
			return c.show(raw, func(w io.Writer) error {
				rows := [][]string{{"ID", "AGENT", "STATUS", "TRIGGER", "OWNER", "CREATED"}}
				for _, r := range out.Items {
					rows = append(rows, []string{r.ID, fmt.Sprintf("%s@%d", r.Agent, r.Version), r.Status, r.Trigger, r.Owner, r.CreatedAt.UTC().Format(timeLayout)})
				}
				if err := writeTable(w, rows); err != nil {
					return err
				}
				if out.NextCursor != "" {
					_, err = fmt.Fprintf(w, "more: --cursor %s\n", out.NextCursor)
				}
				return err
			})
		},
	}
	list.Flags().StringVar(&agent, "agent", "", "only runs of this agent")
	list.Flags().StringVar(&cursor, "cursor", "", "continue a listing after this run id")

	cancel := &cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a running run",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct{ ID, Status string }
			raw, err := c.call(cmd.Context(), http.MethodPost, "/v1/runs/"+url.PathEscape(args[0])+"/cancel", nil, nil, &out)
			if err != nil {
				return err
			}
			return c.show(raw, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "run %s %s\n", out.ID, out.Status)
				return err
			})
		},
	}

	ledger := &cobra.Command{
		Use:   "ledger ID",
		Short: "Show every step attempt of a run as recorded in the ledger",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Items []ledgerItem `json:"items"`
			}
			raw, err := c.call(cmd.Context(), http.MethodGet, "/v1/runs/"+url.PathEscape(args[0])+"/ledger", nil, nil, &out)
			if err != nil {
				return err
			}
			return c.show(raw, func(w io.Writer) error { return writeLedger(w, out.Items) })
		},
	}

	cmd.AddCommand(start, get, list, cancel, ledger)
	return cmd
}

// runInputs builds a run's inputs from --input NAME=VALUE (a string),
// --input-file NAME=PATH (the file's text) and --input-json NAME=JSON.
func runInputs(strs, files, jsons []string) (map[string]any, error) {
	inputs := map[string]any{}
	sources := []struct {
		flag   string
		values []string
		value  func(string) (any, error)
	}{
		{"input", strs, func(v string) (any, error) { return v, nil }},
		{"input-file", files, func(path string) (any, error) {
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			if !utf8.Valid(b) {
				return nil, fmt.Errorf("%s is not UTF-8 text", path)
			}
			return string(b), nil
		}},
		{"input-json", jsons, func(v string) (any, error) {
			if !json.Valid([]byte(v)) {
				return nil, errors.New("not a valid JSON value")
			}
			return json.RawMessage(v), nil
		}},
	}
	for _, src := range sources {
		for _, kv := range src.values {
			name, v, ok := strings.Cut(kv, "=")
			if !ok || name == "" {
				return nil, fmt.Errorf("--%s %q: want NAME=VALUE", src.flag, kv)
			}
			if _, dup := inputs[name]; dup {
				return nil, fmt.Errorf("input %q is given more than once", name)
			}
			val, err := src.value(v)
			if err != nil {
				return nil, fmt.Errorf("--%s %s: %w", src.flag, name, err)
			}
			inputs[name] = val
		}
	}
	return inputs, nil
}

// runRequest is the body that starts a run.
type runRequest struct {
	Inputs  map[string]any `json:"inputs"`
	DryRun  bool           `json:"dry_run,omitempty"`
	Version int            `json:"version,omitempty"`
}

// startRun posts req to path, an agent's runs; with wait it follows the run
// to its end and reports an error unless it completed.
func (c *apiClient) startRun(ctx context.Context, path string, req runRequest, key string, wait bool) error {
	var header http.Header
	if key != "" {
		header = http.Header{"Idempotency-Key": {key}}
	}
	var started struct{ ID, Status string }
	raw, err := c.call(ctx, http.MethodPost, path, req, header, &started)
	if err != nil {
		return err
	}
	if !wait {
		return c.show(raw, func(w io.Writer) error {
			_, err := fmt.Fprintln(w, started.ID)
			return err
		})
	}
	fmt.Fprintf(c.stderr, "run %s started; waiting for it to finish\n", started.ID)
	var r runView
	for {
		r = runView{} // each answer stands alone
		raw, err = c.call(ctx, http.MethodGet, "/v1/runs/"+url.PathEscape(started.ID), nil, nil, &r)
		if err != nil {
			return err
		}
		if r.Status != "running" {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollInterval):
		}
	}
	if err := c.show(raw, func(w io.Writer) error { return writeRun(w, r) }); err != nil {
		return err
	}
	if r.Status != "completed" {
		return fmt.Errorf("run %s finished as %s", r.ID, r.Status)
	}
	return nil
}

// runView is a run as the API answers it.
type runView struct {
	ID        string    `json:"id"`
	Agent     string    `json:"agent"`
	Version   int       `json:"version"`
	Owner     string    `json:"owner"`
	Trigger   string    `json:"trigger"`
	Status    string    `json:"status"`
	Error     string    `json:"error"`
	CreatedAt time.Time `json:"created_at"`
	Steps     []struct {
		ID         string       `json:"id"`
		Kind       string       `json:"kind"`
		Purpose    string       `json:"purpose"`
		Action     string       `json:"action"`
		Model      string       `json:"model"`
		Status     string       `json:"status"`
		Attempts   int          `json:"attempts"`
		Usage      agents.Usage `json:"usage"`
		Cost       agents.Money `json:"cost_usd"`
		Unpriced   bool         `json:"unpriced"`
		Error      string       `json:"error"`
		OutcomeRef string       `json:"outcome_ref"`
	} `json:"steps"`
	Totals totals `json:"totals"`
}

// totals sums ledger entries; the API uses it for runs and usage groups.
type totals struct {
	InputTokens       int64        `json:"input_tokens"`
	CachedInputTokens int64        `json:"cached_input_tokens"`
	OutputTokens      int64        `json:"output_tokens"`
	ReasoningTokens   int64        `json:"reasoning_tokens"`
	Cost              agents.Money `json:"cost_usd"`
	UnpricedEntries   int64        `json:"unpriced_entries"`
	SimulatedEntries  int64        `json:"simulated_entries"`
}

// cells renders the token counts and the cost; unpriced entries are
// counted beside the cost, never passed off as $0.
func (t totals) cells() []string {
	cost := t.Cost.String()
	if t.UnpricedEntries > 0 {
		cost += fmt.Sprintf(" + %d unpriced", t.UnpricedEntries)
	}
	return []string{itoa(t.InputTokens), itoa(t.CachedInputTokens), itoa(t.OutputTokens), itoa(t.ReasoningTokens), cost}
}

// writeRun prints a run's header, one line per step and the run's totals,
// then the steps' errors and outcomes.
func writeRun(w io.Writer, r runView) error {
	head := [][]string{
		{"run:", r.ID},
		{"agent:", fmt.Sprintf("%s@%d", r.Agent, r.Version)},
		{"status:", r.Status},
		{"trigger:", r.Trigger},
	}
	if r.Error != "" {
		head = append(head, []string{"error:", r.Error})
	}
	if err := writeTable(w, head); err != nil {
		return err
	}
	rows := [][]string{{"STEP", "KIND", "PURPOSE", "MODEL/ACTION", "STATUS", "ATTEMPTS", "IN", "CACHED", "OUT", "REASONING", "COST(USD)"}}
	var notes []string
	attempts := 0
	for _, s := range r.Steps {
		cost := s.Cost.String()
		if s.Unpriced {
			cost += " + unpriced"
		}
		u := s.Usage
		rows = append(rows, []string{s.ID, s.Kind, truncate(s.Purpose, purposeWidth), firstNonEmpty(s.Model, s.Action), s.Status, strconv.Itoa(s.Attempts),
			itoa(u.InputTokens), itoa(u.CachedInputTokens), itoa(u.OutputTokens), itoa(u.ReasoningTokens), cost})
		attempts += s.Attempts
		if s.Error != "" {
			notes = append(notes, fmt.Sprintf("%s: error: %s\n", s.ID, s.Error))
		}
		if s.OutcomeRef != "" {
			notes = append(notes, fmt.Sprintf("%s: outcome: %s\n", s.ID, s.OutcomeRef))
		}
	}
	rows = append(rows, append([]string{"TOTAL", "", "", "", "", strconv.Itoa(attempts)}, r.Totals.cells()...))
	if r.Totals.SimulatedEntries > 0 {
		notes = append(notes, "note: LLM steps ran on the offline sim provider; tokens are counted with the model's tokenizer and the cost is a forecast at the declared model's price\n")
	}
	fmt.Fprintln(w)
	if err := writeTable(w, rows); err != nil {
		return err
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
	}
	for _, n := range notes {
		if _, err := io.WriteString(w, n); err != nil {
			return err
		}
	}
	return nil
}

// ledgerItem is one step attempt as the ledger records it.
type ledgerItem struct {
	StepID            string       `json:"step_id"`
	Attempt           int          `json:"attempt"`
	Kind              string       `json:"kind"`
	Action            string       `json:"action"`
	Provider          string       `json:"provider"`
	Model             string       `json:"model"`
	InputTokens       int64        `json:"input_tokens"`
	CachedInputTokens int64        `json:"cached_input_tokens"`
	OutputTokens      int64        `json:"output_tokens"`
	ReasoningTokens   int64        `json:"reasoning_tokens"`
	Cost              agents.Money `json:"cost_usd"`
	Unpriced          bool         `json:"unpriced"`
	Simulated         bool         `json:"simulated"`
	UsageEstimated    bool         `json:"usage_estimated"`
	Status            string       `json:"status"`
}

func writeLedger(w io.Writer, items []ledgerItem) error {
	rows := [][]string{{"STEP", "ATTEMPT", "KIND", "PROVIDER", "MODEL/ACTION", "IN", "CACHED", "OUT", "REASONING", "COST(USD)", "STATUS", "FLAGS"}}
	for _, e := range items {
		var flags []string
		for _, f := range []struct {
			set  bool
			name string
		}{{e.Simulated, "SIM"}, {e.Unpriced, "UNPRICED"}, {e.UsageEstimated, "EST"}} {
			if f.set {
				flags = append(flags, f.name)
			}
		}
		rows = append(rows, []string{e.StepID, strconv.Itoa(e.Attempt), e.Kind, firstNonEmpty(e.Provider, "-"), firstNonEmpty(e.Model, e.Action, "-"),
			itoa(e.InputTokens), itoa(e.CachedInputTokens), itoa(e.OutputTokens), itoa(e.ReasoningTokens), e.Cost.String(), e.Status, strings.Join(flags, ",")})
	}
	return writeTable(w, rows)
}

func (c *apiClient) usageCommand() *cobra.Command {
	var by, from, to string
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Sum tokens and cost from the ledger by agent, team, purpose, model or day",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := query(map[string]string{"group_by": by, "from": from, "to": to})
			type group struct {
				Key string `json:"key"`
				totals
				Entries int64 `json:"entries"`
			}
			var out struct {
				Items  []group `json:"items"`
				Totals totals  `json:"totals"`
			}
			raw, err := c.call(cmd.Context(), http.MethodGet, "/v1/usage?"+q.Encode(), nil, nil, &out)
			if err != nil {
				return err
			}
			return c.show(raw, func(w io.Writer) error {
				rows := [][]string{{strings.ToUpper(by), "IN", "CACHED", "OUT", "REASONING", "COST(USD)", "ENTRIES"}}
				var entries int64
				for _, g := range out.Items {
					rows = append(rows, append(append([]string{g.Key}, g.cells()...), itoa(g.Entries)))
					entries += g.Entries
				}
				rows = append(rows, append(append([]string{"TOTAL"}, out.Totals.cells()...), itoa(entries)))
				return writeTable(w, rows)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&by, "by", "agent", "group by agent, team, purpose, model or day")
	f.StringVar(&from, "from", "", "from this RFC 3339 time or YYYY-MM-DD date")
	f.StringVar(&to, "to", "", "up to this RFC 3339 time or YYYY-MM-DD date")
	return cmd
}

func (c *apiClient) keysCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Issue, list and revoke API keys"}
	var req struct {
		User        string     `json:"user"`
		Team        string     `json:"team"`
		Role        string     `json:"role"`
		ReviewTeams []string   `json:"review_teams,omitempty"`
		ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	}
	var expires string
	create := &cobra.Command{
		Use:   "create --user USER --team TEAM [--role member|reviewer|admin]",
		Short: "Issue an API key; it is shown once",
		Long: "Issue an API key; it is shown once.\n\n" +
			"Members issue keys for themselves; reviewers member or reviewer keys in their\n" +
			"team, reviewing teams they review; admins any key.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if expires != "" {
				t, err := time.Parse(time.RFC3339, expires)
				if err != nil {
					return fmt.Errorf("--expires %q: want an RFC 3339 time such as 2027-01-01T00:00:00Z", expires)
				}
				req.ExpiresAt = &t
			}
			var out keyView
			raw, err := c.call(cmd.Context(), http.MethodPost, "/v1/keys", req, nil, &out)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stderr, "warning: key %s for user %s (%s) is shown only once; store it now\n", out.ID, out.User, out.describe())
			return c.show(raw, func(w io.Writer) error {
				_, err := fmt.Fprintln(w, out.Key)
				return err
			})
		},
	}
	f := create.Flags()
	f.StringVar(&req.User, "user", "", "user the key identifies")
	f.StringVar(&req.Team, "team", "", "team of the user")
	f.StringVar(&req.Role, "role", "member", "member, reviewer or admin")
	f.StringArrayVar(&req.ReviewTeams, "review-team", nil, "team a reviewer key reviews (repeatable)")
	f.StringVar(&expires, "expires", "", "RFC 3339 time the key stops working, such as 2027-01-01T00:00:00Z (default never)")
	_ = create.MarkFlagRequired("user")
	_ = create.MarkFlagRequired("team")

	list := &cobra.Command{
		Use:   "list",
		Short: "List API keys without their secrets: yours, or every key for admins",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out struct {
				Items []keyView `json:"items"`
			}
			raw, err := c.call(cmd.Context(), http.MethodGet, "/v1/keys", nil, nil, &out)
			if err != nil {
				return err
			}
			return c.show(raw, func(w io.Writer) error {
				rows := [][]string{{"ID", "USER", "TEAM", "ROLE", "REVIEWS", "CREATED", "EXPIRES", "REVOKED"}}
				for _, k := range out.Items {
					rows = append(rows, []string{k.ID, k.User, k.Team, k.Role, firstNonEmpty(strings.Join(k.ReviewTeams, ","), "-"),
						k.CreatedAt.UTC().Format(timeLayout), formatTime(k.ExpiresAt), formatTime(k.RevokedAt)})
				}
				return writeTable(w, rows)
			})
		},
	}

	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API key at once: yours, or any key for admins",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := c.call(cmd.Context(), http.MethodDelete, "/v1/keys/"+url.PathEscape(args[0]), nil, nil, nil)
			if err != nil {
				return err
			}
			return c.show(raw, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "key %s revoked\n", args[0])
				return err
			})
		},
	}

	cmd.AddCommand(create, list, revoke)
	return cmd
}

// keyView is an API key as the API answers it; Key, the secret, is only in
// the answer that issues it.
type keyView struct {
	ID          string     `json:"id"`
	Key         string     `json:"key"`
	User        string     `json:"user"`
	Team        string     `json:"team"`
	Role        string     `json:"role"`
	ReviewTeams []string   `json:"review_teams"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at"`
	RevokedAt   *time.Time `json:"revoked_at"`
}

// describe says what a key may do and until when.
func (k keyView) describe() string {
	parts := []string{"team " + k.Team, "role " + k.Role}
	if len(k.ReviewTeams) > 0 {
		parts = append(parts, "reviews "+strings.Join(k.ReviewTeams, ", "))
	}
	if k.ExpiresAt != nil {
		parts = append(parts, "expires "+formatTime(k.ExpiresAt))
	}
	return strings.Join(parts, ", ")
}

// formatTime formats an optional time, "-" when it is not set.
func formatTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(timeLayout)
}

func (c *apiClient) inboxCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "inbox",
		Short: "Show the messages agents delivered to your team's inbox",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out struct {
				Items []struct {
					Agent     string    `json:"agent"`
					Title     string    `json:"title"`
					Text      string    `json:"text"`
					CreatedAt time.Time `json:"created_at"`
				} `json:"items"`
			}
			raw, err := c.call(cmd.Context(), http.MethodGet, "/v1/inbox", nil, nil, &out)
			if err != nil {
				return err
			}
			return c.show(raw, func(w io.Writer) error {
				var b strings.Builder
				for i, m := range out.Items {
					if i > 0 {
						b.WriteString("\n")
					}
					fmt.Fprintf(&b, "%s  %s  %s\n", m.CreatedAt.UTC().Format(timeLayout), m.Agent, m.Title)
					for _, line := range strings.Split(strings.TrimRight(m.Text, "\n"), "\n") {
						b.WriteString(strings.TrimRight("    "+line, " ") + "\n")
					}
				}
				_, err := io.WriteString(w, b.String())
				return err
			})
		},
	}
}

// problem is an RFC 9457 problem document, the API's answer to a failed
// request. As an error it reads as the detail and one line per field error.
type problem struct {
	Status int                 `json:"status"`
	Detail string              `json:"detail"`
	Errors []agents.FieldError `json:"errors"`
}

func (p *problem) Error() string {
	var b strings.Builder
	b.WriteString(p.Detail)
	// A single field error is usually the detail itself; say it once.
	if len(p.Errors) == 1 && (p.Detail == p.Errors[0].Path+": "+p.Errors[0].Message || p.Detail == p.Errors[0].Message) {
		return b.String()
	}
	for _, fe := range p.Errors {
		b.WriteString("\n  ")
		if fe.Path != "" {
			b.WriteString(fe.Path + ": ")
		}
		b.WriteString(fe.Message)
	}
	return b.String()
}

// call sends one request to the API and decodes a successful JSON answer
// into out, if given. in is sent as is if it is []byte (header then names its
// Content-Type), as JSON otherwise. It returns the answer's body for -o json;
// an error answer is a *problem.
func (c *apiClient) call(ctx context.Context, method, path string, in any, header http.Header, out any) ([]byte, error) {
	key := firstNonEmpty(c.apiKey, c.getenv("TELOS_API_KEY"))
	if key == "" {
		return nil, errors.New("no API key: set TELOS_API_KEY or pass --api-key")
	}
	var body io.Reader
	contentType := ""
	switch v := in.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		body, contentType = bytes.NewReader(b), "application/json"
	}
	base := strings.TrimRight(firstNonEmpty(c.url, c.getenv("TELOS_URL"), defaultURL), "/")
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read the answer to %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		p := &problem{}
		_ = json.Unmarshal(raw, p) // a body that is no problem document leaves the detail empty
		p.Status = resp.StatusCode
		if p.Detail == "" {
			p.Detail = strings.TrimSpace(fmt.Sprintf("the server answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode)))
		}
		return raw, p
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return raw, fmt.Errorf("decode the answer to %s %s: %w", method, path, err)
		}
	}
	return raw, nil
}

// show prints the server's answer pretty-printed with -o json, and calls
// text otherwise. An empty answer, such as 204 No Content, prints nothing
// with -o json.
func (c *apiClient) show(raw []byte, text func(io.Writer) error) error {
	if c.output != "json" {
		return text(c.stdout)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return fmt.Errorf("the server's answer is not JSON: %w", err)
	}
	b.WriteByte('\n')
	_, err := c.stdout.Write(b.Bytes())
	return err
}

// writeTable prints rows in aligned columns, without the padding tabwriter
// leaves after an empty last cell.
func writeTable(w io.Writer, rows [][]string) error {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var out strings.Builder
	for line := range strings.Lines(b.String()) {
		out.WriteString(strings.TrimRight(line, " \n") + "\n")
	}
	_, err := io.WriteString(w, out.String())
	return err
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
