package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
)

// scheduleView is a schedule as the API answers it.
type scheduleView struct {
	ID            string   `json:"id"`
	Agent         string   `json:"agent"`
	Cron          string   `json:"cron"`
	Every         string   `json:"every"`
	Timezone      string   `json:"timezone"`
	Overlap       string   `json:"overlap"`
	CatchupWindow string   `json:"catchup_window"`
	Paused        bool     `json:"paused"`
	Note          string   `json:"note"`
	NextRuns      []string `json:"next_runs"`
	Forecast      *struct {
		RunsPerMonth int64  `json:"runs_per_month"`
		PerRun       string `json:"cost_per_run_usd"`
		Cost         string `json:"cost_usd"`
		Source       string `json:"estimate_source"`
	} `json:"monthly_forecast"`
}

func writeSchedule(w io.Writer, s scheduleView) error {
	when := "cron " + s.Cron
	if s.Every != "" {
		when = "every " + s.Every
	}
	state := "active"
	if s.Paused {
		state = "paused: " + s.Note
	}
	rows := [][]string{{"schedule:", s.ID}, {"agent:", s.Agent}, {"when:", when + " (" + s.Timezone + ")"},
		{"overlap:", s.Overlap + ", catch-up window " + s.CatchupWindow}, {"state:", state}}
	if len(s.NextRuns) > 0 {
		rows = append(rows, []string{"next runs:", strings.Join(s.NextRuns[:min(3, len(s.NextRuns))], ", ")})
	}
	if f := s.Forecast; f != nil {
		rows = append(rows, []string{"forecast:", fmt.Sprintf("%d runs/month × $%s = $%s per month (estimate from %s)", f.RunsPerMonth, f.PerRun, f.Cost, strings.ReplaceAll(f.Source, "_", " "))})
	}
	return writeTable(w, rows)
}

// schedulesCommand manages an agent's Temporal schedules.
func (c *apiClient) schedulesCommand() *cobra.Command {
	root := &cobra.Command{Use: "schedules", Short: "Run approved agents on a schedule (cron or interval, in a time zone)"}
	var team string
	var cron, every, tz, overlap, catchup string
	var paused bool
	var inputs []string
	body := func(cmd *cobra.Command) (map[string]any, error) {
		b := map[string]any{}
		for flag, key := range map[string]string{"cron": "cron", "every": "every", "timezone": "timezone", "overlap": "overlap", "catchup-window": "catchup_window"} {
			if cmd.Flags().Changed(flag) {
				v, _ := cmd.Flags().GetString(flag)
				b[key] = v
			}
		}
		if cmd.Flags().Changed("paused") {
			b["paused"] = paused
		}
		if len(inputs) > 0 {
			in := map[string]any{}
			for _, kv := range inputs {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return nil, fmt.Errorf("--input %q: want key=value", kv)
				}
				in[k] = v
			}
			b["inputs"] = in
		}
		return b, nil
	}
	show := func(cmd *cobra.Command, method, path string, in any) error {
		var out scheduleView
		raw, err := c.call(cmd.Context(), method, path, in, nil, &out)
		if err != nil {
			return err
		}
		return c.show(raw, func(w io.Writer) error { return writeSchedule(w, out) })
	}
	timing := func(cmd *cobra.Command) {
		cmd.Flags().StringVar(&cron, "cron", "", `5-field cron or a descriptor, e.g. "0 9 * * MON" or "@daily"`)
		cmd.Flags().StringVar(&every, "every", "", `an interval such as "6h"`)
		cmd.Flags().StringVar(&tz, "timezone", "", "IANA time zone, e.g. Europe/Berlin (default UTC)")
		cmd.Flags().StringVar(&overlap, "overlap", "", "skip (default), buffer_one, buffer_all, cancel_other, allow_all")
		cmd.Flags().StringVar(&catchup, "catchup-window", "", "how late a missed run may still start (default 10m)")
		cmd.Flags().StringArrayVar(&inputs, "input", nil, "run input key=value (repeatable)")
		teamFlag(cmd, &team)
	}
	create := &cobra.Command{Use: "create NAME (--cron C | --every D)", Short: "Schedule an agent's approved version and show the monthly forecast", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := body(cmd)
			if err != nil {
				return err
			}
			return show(cmd, http.MethodPost, agentPath(args[0], team, "schedules"), b)
		}}
	timing(create)
	create.Flags().BoolVar(&paused, "paused", false, "create it paused")
	edit := &cobra.Command{Use: "edit NAME ID", Short: "Change a schedule's timing, policies or inputs", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := body(cmd)
			if err != nil {
				return err
			}
			return show(cmd, http.MethodPatch, agentPath(args[0], team, "schedules", args[1]), b)
		}}
	timing(edit)
	get := &cobra.Command{Use: "get NAME ID", Short: "Show a schedule", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(cmd, http.MethodGet, agentPath(args[0], team, "schedules", args[1]), nil)
		}}
	teamFlag(get, &team)
	list := &cobra.Command{Use: "list NAME", Short: "List an agent's schedules", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct{ Items []scheduleView }
			raw, err := c.call(cmd.Context(), http.MethodGet, agentPath(args[0], team, "schedules"), nil, nil, &out)
			if err != nil {
				return err
			}
			return c.show(raw, func(w io.Writer) error {
				rows := [][]string{{"ID", "WHEN", "TIMEZONE", "STATE", "RUNS/MONTH", "COST/MONTH"}}
				for _, s := range out.Items {
					when, state, runs, cost := "cron "+s.Cron, "active", "-", "-"
					if s.Every != "" {
						when = "every " + s.Every
					}
					if s.Paused {
						state = "paused"
					}
					if s.Forecast != nil {
						runs, cost = fmt.Sprint(s.Forecast.RunsPerMonth), "$"+s.Forecast.Cost
					}
					rows = append(rows, []string{s.ID, when, s.Timezone, state, runs, cost})
				}
				return writeTable(w, rows)
			})
		}}
	teamFlag(list, &team)
	root.AddCommand(create, edit, get, list)
	for _, action := range []string{"pause", "resume", "trigger", "delete"} {
		cmd := &cobra.Command{Use: action + " NAME ID", Short: strings.ToUpper(action[:1]) + action[1:] + " a schedule", Args: cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				method, path := http.MethodPost, agentPath(args[0], team, "schedules", args[1], action)
				if action == "delete" {
					method, path = http.MethodDelete, agentPath(args[0], team, "schedules", args[1])
				}
				if action == "pause" || action == "resume" {
					return show(cmd, method, path, nil)
				}
				raw, err := c.call(cmd.Context(), method, path, nil, nil, nil)
				if err != nil {
					return err
				}
				return c.show(raw, func(w io.Writer) error {
					_, err := fmt.Fprintf(w, "schedule %s: %s\n", args[1], map[string]string{"trigger": "triggered", "delete": "deleted"}[action])
					return err
				})
			}}
		teamFlag(cmd, &team)
		root.AddCommand(cmd)
	}
	return root
}
