package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
	_ "time/tzdata" // budget windows and schedules work without system zoneinfo

	"github.com/spf13/cobra"

	"github.com/telos-dev/telos/stack"
)

// config reads the typed Config from flags and TELOS_* environment variables.
func config(cmd *cobra.Command, getenv func(string) string) (stack.Config, error) {
	f := cmd.Flags()
	addr, _ := f.GetString("addr")
	dataDir, _ := f.GetString("data-dir")
	temporalAddr, _ := f.GetString("temporal-address")
	redisURL, _ := f.GetString("redis-url")
	cfg := stack.Config{
		Addr:            addr,
		DataDir:         dataDir,
		TemporalAddress: firstNonEmpty(temporalAddr, getenv("TELOS_TEMPORAL_ADDRESS")),
		Namespace:       firstNonEmpty(getenv("TELOS_TEMPORAL_NAMESPACE"), "default"),
		DatabaseURL:     getenv("TELOS_DATABASE_URL"),
		DatabasePath:    getenv("TELOS_DATABASE_PATH"),
		RedisURL:        firstNonEmpty(redisURL, getenv("TELOS_REDIS_URL")),
		OpenAIBaseURL:   getenv("TELOS_OPENAI_BASE_URL"),
		OpenAIAPIKey:    firstNonEmpty(getenv("TELOS_OPENAI_API_KEY"), getenv("OPENAI_API_KEY")),
		OpenAIStream:    getenv("TELOS_OPENAI_STREAM") == "true" || getenv("TELOS_OPENAI_STREAM") == "1",
		PricesFile:      getenv("TELOS_PRICES_FILE"),
		FilesRoot:       firstNonEmpty(getenv("TELOS_FILES_ROOT"), "examples/data"),
		AdminKey:        getenv("TELOS_ADMIN_KEY"),
	}
	if hosts := getenv("TELOS_HTTP_ALLOW_HOSTS"); hosts != "" {
		for _, h := range strings.Split(hosts, ",") {
			if h = strings.TrimSpace(h); h != "" {
				cfg.HTTPAllowHosts = append(cfg.HTTPAllowHosts, h)
			}
		}
	}
	zone := firstNonEmpty(getenv("TELOS_BUDGET_TZ"), "UTC")
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return cfg, fmt.Errorf("TELOS_BUDGET_TZ %q: unknown time zone", zone)
	}
	cfg.BudgetZone = loc
	level := slog.LevelWarn
	if err := level.UnmarshalText([]byte(firstNonEmpty(getenv("TELOS_LOG_LEVEL"), "warn"))); err != nil {
		return cfg, fmt.Errorf("TELOS_LOG_LEVEL: %w", err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	return cfg, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// serveCommands are the commands that run Telos itself.
func serveCommands(getenv func(string) string, stdout, stderr io.Writer) []*cobra.Command {
	mk := func(use, short string, worker, api bool) *cobra.Command {
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				cfg, err := config(cmd, getenv)
				if err != nil {
					return err
				}
				cfg.RunWorker, cfg.RunAPI = worker, api
				return serve(cmd, cfg, stdout)
			},
		}
		c.Flags().String("addr", "127.0.0.1:8080", "API listen address")
		c.Flags().String("data-dir", "./.telos", "directory for embedded state (SQLite files, admin key)")
		c.Flags().String("temporal-address", "", "Temporal frontend host:port (default: start the embedded server)")
		c.Flags().String("redis-url", "", "redis:// URL (default: start the embedded Redis-protocol server)")
		return c
	}
	return []*cobra.Command{
		mk("dev", "Run Telos in one process on embedded defaults: Temporal, SQLite, Redis, worker and API", true, true),
		mk("server", "Run the API (set --temporal-address and --redis-url for production)", false, true),
		mk("worker", "Run the Temporal worker that executes agent runs", true, false),
	}
}

// serve starts the stack, prints where it listens and waits for a signal.
func serve(cmd *cobra.Command, cfg stack.Config, stdout io.Writer) error {
	ctx := cmd.Context()
	s, err := stack.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	if cfg.RunAPI {
		fmt.Fprintf(stdout, "Telos is running.\n  API:        %s\n  Admin key:  %s\n  Temporal:   %s\n  Store:      %s\n  LLM steps:  %s\n  Data dir:   %s\n\n",
			s.URL, s.AdminKey, s.TemporalAddress, s.Store.Dialect(), s.Provider, cfg.DataDir)
		fmt.Fprintf(stdout, "In another terminal:\n  export TELOS_URL=%s TELOS_API_KEY=%s\n  ./bin/telos agents apply -f examples/agents/echo-release-digest.yaml\n\nPress Ctrl-C to stop.\n", s.URL, s.AdminKey)
	} else {
		fmt.Fprintf(stdout, "Telos worker is running against Temporal at %s. Press Ctrl-C to stop.\n", s.TemporalAddress)
	}
	select {
	case <-ctx.Done():
		fmt.Fprintln(stdout, "Shutting down…")
		return nil
	case err := <-s.Err():
		return err
	}
}
