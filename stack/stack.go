// Package stack assembles a running Telos from a Config: the store, Redis, the
// Temporal client, the worker and the API. Each part is either embedded (for
// `telos dev` and tests) or an existing service (production); the same code
// paths run either way.
package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/telos-dev/telos/agents"
	"github.com/telos-dev/telos/api"
	"github.com/telos-dev/telos/budget"
	"github.com/telos-dev/telos/connectors"
	"github.com/telos-dev/telos/connectors/email"
	"github.com/telos-dev/telos/connectors/files"
	"github.com/telos-dev/telos/connectors/github"
	"github.com/telos-dev/telos/connectors/httpconn"
	"github.com/telos-dev/telos/connectors/inbox"
	"github.com/telos-dev/telos/connectors/jira"
	"github.com/telos-dev/telos/connectors/mcp"
	"github.com/telos-dev/telos/connectors/slack"
	"github.com/telos-dev/telos/devstack"
	"github.com/telos-dev/telos/llm"
	"github.com/telos-dev/telos/secrets"
	"github.com/telos-dev/telos/store"
	"github.com/telos-dev/telos/workflows"
)

// Config is everything a Telos process needs to know. Empty service addresses
// mean "embedded".
type Config struct {
	Addr    string // API listen address; "" runs no API
	DataDir string // where embedded state lives

	TemporalAddress string // "" starts the embedded Temporal server
	Namespace       string
	DatabaseURL     string // postgres:// URL; when set, used instead of DatabasePath
	DatabasePath    string // SQLite file; default <DataDir>/telos.db
	RedisURL        string // "" starts the embedded Redis-protocol server
	// RedisPrefix starts every Redis key Telos writes (default "telos"), so
	// several installations, or tests, can share one Redis.
	RedisPrefix string

	RunWorker bool
	RunAPI    bool

	OpenAIBaseURL string // "" runs LLM steps on sim
	OpenAIAPIKey  string
	OpenAIStream  bool
	PricesFile    string

	FilesRoot      string
	HTTPAllowHosts []string
	// SlackAPIURL is the Slack Web API base URL; "" is https://slack.com/api/.
	SlackAPIURL string
	// GitHubAPIURL is the GitHub REST API base URL; "" is https://api.github.com/.
	GitHubAPIURL string
	// JiraURL is the Jira Cloud site (https://acme.atlassian.net) and
	// JiraEmail the account its API token belongs to; no URL, no jira actions.
	JiraURL   string
	JiraEmail string
	// MCPServers maps the MCP server names agents may use to their
	// streamable HTTP endpoints; none, no mcp actions.
	MCPServers map[string]string
	// SMTP is the operator's mail server for email.send; no Host, no email.
	SMTP email.Config

	// SecretKey is the AES-256 key that seals connector secrets. nil turns
	// secrets off: the secrets routes answer 503 and connectors that need a
	// credential fail with a clear error.
	SecretKey []byte

	// BudgetZone is the time zone of daily and monthly budget windows.
	BudgetZone *time.Location

	AdminKey string // the bootstrap admin key; "" keeps or generates one
	Logger   *slog.Logger

	// AfterLLM is a test hook passed to the activities.
	AfterLLM func(ctx context.Context, stepID string, attempt int32) error
}

// Stack is a running Telos.
type Stack struct {
	Config   Config
	Store    *store.Store
	Redis    *redis.Client
	Temporal client.Client
	Prices   agents.PriceTable
	Budgets  *budget.Engine
	// Secrets is nil without Config.SecretKey.
	Secrets  *secrets.Vault
	Provider string // the live LLM provider: "openai" or "sim"
	// URL is the API's base URL and AdminKey its bootstrap key (when the API runs).
	URL      string
	AdminKey string
	// TemporalAddress is where the Temporal frontend listens.
	TemporalAddress string

	closers []func()
	errc    chan error
}

// Start brings every configured part up and returns once the API serves.
func Start(ctx context.Context, cfg Config) (s *Stack, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = ".telos"
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	s = &Stack{Config: cfg, errc: make(chan error, 2)}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	s.Prices = agents.DefaultPrices()
	if cfg.PricesFile != "" {
		b, err := os.ReadFile(cfg.PricesFile)
		if err != nil {
			return nil, fmt.Errorf("read prices file: %w", err)
		}
		if s.Prices, err = s.Prices.WithOverrides(b, filepath.Base(cfg.PricesFile)); err != nil {
			return nil, err
		}
	}

	dbTarget := cfg.DatabaseURL
	if dbTarget == "" {
		dbTarget = cfg.DatabasePath
	}
	if dbTarget == "" {
		dbTarget = filepath.Join(cfg.DataDir, "telos.db")
	}
	if s.Store, err = store.Open(ctx, dbTarget); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { s.Store.Close() })
	if cfg.SecretKey != nil {
		if s.Secrets, err = secrets.NewVault(cfg.SecretKey, s.Store); err != nil {
			return nil, err
		}
	}

	redisURL := cfg.RedisURL
	if redisURL == "" {
		r, err := devstack.StartRedis("127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, r.Stop)
		redisURL = r.URL()
	}
	ropts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	s.Redis = redis.NewClient(ropts)
	s.closers = append(s.closers, func() { s.Redis.Close() })
	if cfg.RedisPrefix == "" {
		cfg.RedisPrefix = "telos"
		s.Config.RedisPrefix = "telos"
	}
	s.Budgets = budget.New(s.Redis, cfg.BudgetZone, s.Store, budget.WithPrefix(cfg.RedisPrefix+":budget"))

	s.TemporalAddress = cfg.TemporalAddress
	if s.TemporalAddress == "" {
		t, err := devstack.StartTemporal(devstack.TemporalConfig{DatabaseFile: filepath.Join(cfg.DataDir, "temporal.db"), Namespace: cfg.Namespace})
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, func() { t.Stop() })
		s.TemporalAddress = t.Address()
	}
	s.Temporal, err = client.Dial(client.Options{
		HostPort:  s.TemporalAddress,
		Namespace: cfg.Namespace,
		Logger:    sdklog.NewStructuredLogger(slog.New(quietExpected{cfg.Logger.Handler()})),
	})
	if err != nil {
		return nil, fmt.Errorf("connect to temporal at %s: %w", s.TemporalAddress, err)
	}
	s.closers = append(s.closers, s.Temporal.Close)

	registry := Registry(cfg, s.Store, s.Secrets)
	if cfg.RunWorker {
		if err := s.startWorker(registry); err != nil {
			return nil, err
		}
	}
	if cfg.RunAPI {
		if err := s.startAPI(registry); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// SlackTokenSecret is the name of the team secret that holds the team's
// Slack token (xoxb-…), which the slack actions use.
const SlackTokenSecret = "slack-token"

// GitHubTokenSecret and SMTPPasswordSecret name the team secrets that hold a
// team's GitHub token and SMTP password.
const (
	GitHubTokenSecret  = "github-token"
	JiraTokenSecret    = "jira-token"
	SMTPPasswordSecret = "smtp-password"
)

// Registry builds the connector registry: the one place connectors are
// listed. Connectors that need a credential read the run's team's secret
// from vault, which may be nil when secrets are off.
func Registry(cfg Config, st *store.Store, vault *secrets.Vault) *connectors.Registry {
	r := connectors.NewRegistry()
	for _, a := range httpconn.Actions(httpconn.Config{AllowHosts: cfg.HTTPAllowHosts}) {
		r.Register(a)
	}
	for _, a := range files.Actions(files.Config{Root: cfg.FilesRoot}) {
		r.Register(a)
	}
	for _, a := range inbox.Actions(st) {
		r.Register(a)
	}
	for _, a := range slack.Actions(slack.Config{APIURL: cfg.SlackAPIURL, Token: secretToken(vault, SlackTokenSecret)}) {
		r.Register(a)
	}
	for _, a := range github.Actions(github.Config{BaseURL: cfg.GitHubAPIURL, Token: secretToken(vault, GitHubTokenSecret)}) {
		r.Register(a)
	}
	// Jira and email need an operator's site or server; without one their
	// actions do not exist.
	if cfg.JiraURL != "" {
		for _, a := range jira.Actions(jira.Config{BaseURL: cfg.JiraURL, Email: cfg.JiraEmail, Token: secretToken(vault, JiraTokenSecret)}) {
			r.Register(a)
		}
	}
	if cfg.SMTP.Host != "" {
		smtp := cfg.SMTP
		if smtp.Username != "" {
			smtp.Password = secretToken(vault, SMTPPasswordSecret)
		}
		for _, a := range email.Actions(smtp) {
			r.Register(a)
		}
	}
	if mc := mcpConfig(cfg, st, vault); mc != nil {
		for _, a := range mcp.Actions(*mc) {
			r.Register(a)
		}
	}
	return r
}

// MCPTokenSecret names the optional team secret sent as a bearer token to
// MCP servers.
const MCPTokenSecret = "mcp-token"

// mcpConfig builds the MCP connector's config: operator-named servers, the
// team's optional token, and pins read from the run's approved version.
func mcpConfig(cfg Config, st *store.Store, vault *secrets.Vault) *mcp.Config {
	if len(cfg.MCPServers) == 0 {
		return nil
	}
	token := secretToken(vault, MCPTokenSecret)
	return &mcp.Config{
		Servers: cfg.MCPServers,
		Token: func(ctx context.Context, team, _ string) (string, error) {
			if vault == nil {
				return "", nil
			}
			t, err := token(ctx, team)
			var ce *connectors.Error
			if errors.As(err, &ce) && ce.Code == connectors.CodeAuth {
				return "", nil // the token is optional: servers without auth need none
			}
			return t, err
		},
		Pins: func(ctx context.Context, req connectors.Request, server string) (string, bool, error) {
			run, err := st.Run(ctx, req.RunID)
			if err != nil {
				return "", false, err
			}
			if run.Trigger == "dry-run" {
				return "", false, nil // drafts are not pinned yet
			}
			pins, err := st.VersionPins(ctx, run.Team, run.Agent, run.Version)
			if err != nil {
				return "", false, err
			}
			pin, ok := pins[server]
			if !ok {
				return "", false, connectors.Errorf(mcp.CodeToolsChanged, "mcp server %q was not pinned when this version was approved; declare it in spec.allow.mcp and have the agent re-reviewed", server)
			}
			return pin, true, nil
		},
	}
}

// secretToken reads the secret name of a run's team, for a connector's
// Token. A missing or unreadable secret is a non-retryable auth failure that
// says what to do; the value itself never appears in an error.
func secretToken(vault *secrets.Vault, name string) func(ctx context.Context, team string) (string, error) {
	return func(ctx context.Context, team string) (string, error) {
		if vault == nil {
			return "", connectors.Errorf(connectors.CodeAuth, "secrets are off, so secret %q cannot be read: set TELOS_SECRET_KEY or TELOS_SECRET_KEY_FILE", name)
		}
		v, err := vault.Get(ctx, team, name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return "", connectors.Errorf(connectors.CodeAuth, "team %q has no secret %q; add it with POST /v1/secrets", team, name)
		case errors.Is(err, secrets.ErrUndecryptable):
			return "", connectors.Errorf(connectors.CodeAuth, "secret %q of team %q cannot be decrypted with the configured secret key; store it again", name, team)
		}
		return v, err
	}
}

func (s *Stack) startWorker(registry *connectors.Registry) error {
	acts := &workflows.Activities{
		Store:      s.Store,
		Connectors: registry,
		Sim:        llm.NewSim(),
		Prices:     s.Prices,
		Budgets:    s.Budgets,
		AfterLLM:   s.Config.AfterLLM,
	}
	s.Provider = "sim"
	if s.Config.OpenAIBaseURL != "" {
		acts.Provider = llm.NewOpenAI(llm.OpenAIConfig{BaseURL: s.Config.OpenAIBaseURL, APIKey: s.Config.OpenAIAPIKey, Stream: s.Config.OpenAIStream})
		acts.ProviderName, s.Provider = "openai", "openai"
	}
	w := worker.New(s.Temporal, workflows.TaskQueue, worker.Options{})
	w.RegisterWorkflow(workflows.AgentRun)
	w.RegisterWorkflow(workflows.ScheduledRun)
	w.RegisterActivity(acts)
	w.RegisterActivity(&workflows.ScheduleActivities{Store: s.Store, Schedules: scheduleControl{s.Temporal}})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	s.closers = append(s.closers, w.Stop)
	return nil
}

func (s *Stack) startAPI(registry *connectors.Registry) error {
	ctx := context.Background()
	key, err := s.bootstrapAdmin(ctx)
	if err != nil {
		return err
	}
	s.AdminKey = key
	if err := s.Store.SeedCategories(ctx); err != nil {
		return err
	}
	srv := &api.Server{Store: s.Store, Temporal: s.Temporal, Redis: s.Redis, Actions: registry, Prices: s.Prices, Budgets: s.Budgets, Secrets: s.Secrets,
		RedisPrefix: s.Config.RedisPrefix, Namespace: s.Config.Namespace, Logger: s.Config.Logger}
	if mc := mcpConfig(s.Config, s.Store, s.Secrets); mc != nil {
		srv.MCPFingerprint = func(ctx context.Context, team, server string) (string, error) {
			fp, _, err := mc.ToolsFingerprint(ctx, team, server)
			return fp, err
		}
	}
	addr := s.Config.Addr
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.URL = "http://" + ln.Addr().String()
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errc <- fmt.Errorf("api: %w", err)
		}
	}()
	// Closers run in reverse: the API stops first, draining requests.
	s.closers = append(s.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
	})
	return nil
}

// bootstrapAdmin makes sure an admin can log in: TELOS_ADMIN_KEY when given
// (created if new), otherwise the key kept in the data dir. A new key is
// generated only when the store has no active admin key at all, so replicas
// sharing a database do not each mint one.
func (s *Stack) bootstrapAdmin(ctx context.Context) (string, error) {
	key := s.Config.AdminKey
	if key != "" && len(key) < 24 {
		return "", fmt.Errorf("TELOS_ADMIN_KEY must be at least 24 characters; generate one with: openssl rand -hex 24")
	}
	keyFile := filepath.Join(s.Config.DataDir, "admin.key")
	if key == "" {
		if b, err := os.ReadFile(keyFile); err == nil {
			key = strings.TrimSpace(string(b))
		}
	}
	if key == "" {
		keys, err := s.Store.Keys(ctx, "")
		if err != nil {
			return "", err
		}
		for _, k := range keys {
			if k.Role == store.RoleAdmin && k.RevokedAt.IsZero() && (k.ExpiresAt.IsZero() || k.ExpiresAt.After(time.Now())) {
				return "(an admin key exists already; set TELOS_ADMIN_KEY to use a known one)", nil
			}
		}
		key = api.NewKey()
		if err := os.WriteFile(keyFile, []byte(key), 0o600); err != nil {
			return "", fmt.Errorf("save admin key: %w", err)
		}
	}
	err := s.Store.CreateKey(ctx, store.APIKey{Hash: store.Hash([]byte(key)), Prefix: key[:min(len(key), 10)], User: "admin", Team: "default", Role: store.RoleAdmin, CreatedBy: "telos"},
		store.AuditEntry{Actor: "telos", ActorRole: "system", Action: "key.issued", ObjectKind: "api_key", Team: "default", Detail: "bootstrap admin key"})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return "", err
	}
	return key, nil
}

// scheduleControl pauses Temporal schedules for the workflows package.
type scheduleControl struct{ c client.Client }

func (sc scheduleControl) Pause(ctx context.Context, id, note string) error {
	return sc.c.ScheduleClient().GetHandle(ctx, id).Pause(ctx, client.SchedulePauseOptions{Note: note})
}

// Err reports a part that failed while running.
func (s *Stack) Err() <-chan error { return s.errc }

// Close stops every part in reverse order of starting.
func (s *Stack) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}
