// Package api is Telos's REST API: an Echo server under /v1 with bearer API
// keys, one error mapping to RFC 9457 problem+json, and the OpenAPI document
// that describes it.
package api

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"

	"github.com/telos-dev/telos/agents"
	"github.com/telos-dev/telos/budget"
	"github.com/telos-dev/telos/connectors"
	"github.com/telos-dev/telos/secrets"
	"github.com/telos-dev/telos/store"
)

//go:embed openapi.json
var openAPIDoc []byte

// MaxBody is the largest request body accepted.
const MaxBody = 1 << 20

// Server serves the REST API.
type Server struct {
	Store    *store.Store
	Temporal client.Client
	Redis    *redis.Client
	Actions  *connectors.Registry
	Prices   agents.PriceTable
	Budgets  *budget.Engine
	// Secrets stores connector credentials; nil when no secret key is
	// configured, and the secrets routes answer 503.
	Secrets *secrets.Vault
	// RedisPrefix starts the Redis keys the API writes (idempotency keys).
	RedisPrefix string
	// Namespace is the Temporal namespace runs and schedules live in.
	Namespace string
	// MCPFingerprint lists an MCP server's tools for a team now and returns
	// their fingerprint; approval pins it into the version.
	MCPFingerprint func(ctx context.Context, team, server string) (string, error)
	Logger         *slog.Logger
	// Now and NewID are injected so tests control time and identifiers.
	Now   func() time.Time
	NewID func() string
}

// Handler builds the Echo router with every route.
func (s *Server) Handler() *echo.Echo {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Now == nil {
		s.Now = func() time.Time { return time.Now().UTC() }
	}
	if s.NewID == nil {
		s.NewID = randomID
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(middleware.Recover())
	e.Use(middleware.BodyLimit("1MiB")) // MaxBody: 1,048,576 bytes

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/v1/openapi.json", func(c echo.Context) error { return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDoc) })

	v1 := e.Group("/v1", s.authenticate)
	v1.POST("/agents", s.createAgent)
	v1.GET("/agents", s.listAgents)
	v1.GET("/agents/:name", s.getAgent)
	v1.PUT("/agents/:name", s.updateAgent)
	v1.GET("/agents/:name/versions/:version", s.getAgentVersion)
	v1.POST("/agents/:name/runs", s.startRun)
	v1.GET("/runs", s.listRuns)
	v1.GET("/runs/:id", s.getRun)
	v1.POST("/runs/:id/cancel", s.cancelRun)
	v1.GET("/runs/:id/ledger", s.runLedger)
	v1.GET("/usage", s.usage)
	v1.POST("/keys", s.createKey)
	v1.GET("/keys", s.listKeys)
	v1.DELETE("/keys/:id", s.revokeKey)
	v1.GET("/inbox", s.inbox)
	v1.POST("/secrets", s.putSecret)
	v1.GET("/secrets", s.listSecrets)
	v1.DELETE("/secrets/:name", s.deleteSecret)

	for _, action := range store.ReviewActions() {
		v1.POST("/agents/:name/versions/:version/"+action, s.review(action))
	}
	v1.GET("/agents/:name/versions/:version/dossier", s.getDossier)
	v1.POST("/agents/:name/suspend", s.setStatus(store.AgentSuspended))
	v1.POST("/agents/:name/resume", s.setStatus(store.AgentActive))
	v1.GET("/purpose-categories", s.listCategories)
	v1.PUT("/purpose-categories", s.putCategories)
	v1.PUT("/teams/:team/budget", s.putTeamBudget)
	v1.GET("/audit", s.listAudit)
	v1.GET("/budgets", s.listBudgets)
	v1.POST("/agents/:name/schedules", s.createSchedule)
	v1.GET("/agents/:name/schedules", s.listSchedules)
	v1.GET("/agents/:name/schedules/:id", s.getSchedule)
	v1.PATCH("/agents/:name/schedules/:id", s.patchSchedule)
	v1.DELETE("/agents/:name/schedules/:id", s.deleteSchedule)
	for _, action := range []string{"pause", "resume", "trigger"} {
		v1.POST("/agents/:name/schedules/:id/"+action, s.scheduleAction(action))
	}
	v1.GET("/catalog", s.catalog)
	return e
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz checks every dependency a request needs.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{"store": "ok", "temporal": "ok", "redis": "ok"}
	ready := true
	if err := s.Store.Ping(ctx); err != nil {
		checks["store"], ready = "unavailable", false
	}
	if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"], ready = "unavailable", false
	}
	if err := s.Redis.Ping(ctx).Err(); err != nil {
		checks["redis"], ready = "unavailable", false
	}
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	return c.JSON(status, map[string]any{"ready": ready, "checks": checks})
}
