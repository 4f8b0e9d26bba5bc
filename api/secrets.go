package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/telos-dev/telos/store"
)

// MaxSecretBytes bounds a secret's value: tokens, passwords and PEM keys fit.
const MaxSecretBytes = 64 << 10

type putSecretRequest struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// secretView is everything the API ever says about a secret: never its value.
type secretView struct {
	Name      string     `json:"name"`
	Team      string     `json:"team"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// secretTeam is the team whose secrets a request manages: the caller's own,
// or for admins the one ?team= names. Secrets belong to the team that uses
// them, so a reviewer of another team has no more access than a stranger,
// and any other team answers 404.
func (s *Server) secretTeam(c echo.Context) (string, error) {
	if s.Secrets == nil {
		return "", newError(http.StatusServiceUnavailable, "secret storage is not configured: set TELOS_SECRET_KEY or TELOS_SECRET_KEY_FILE on the API server and the workers")
	}
	p := principal(c)
	team := c.QueryParam("team")
	if team == "" {
		return p.Team, nil
	}
	if !p.CanWrite(team) {
		return "", store.ErrNotFound
	}
	if !namePattern.MatchString(team) {
		return "", fieldError(http.StatusUnprocessableEntity, "team", "must be a team name")
	}
	return team, nil
}

// putSecret stores a secret for the caller's team: 201 when new, 200 when it
// replaced one. The answer names the secret and nothing more.
func (s *Server) putSecret(c echo.Context) error {
	team, err := s.secretTeam(c)
	if err != nil {
		return err
	}
	var req putSecretRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var errs fieldErrors
	if !namePattern.MatchString(req.Name) {
		errs.add("name", "must be a lowercase name of letters, digits and '-' (1-63 characters)")
	}
	switch {
	case req.Value == "":
		errs.add("value", "required")
	case len(req.Value) > MaxSecretBytes:
		errs.add("value", "must be at most 64 KiB")
	}
	if err := errs.err(); err != nil {
		return err
	}
	info, err := s.Secrets.Put(c.Request().Context(), team, req.Name, req.Value, s.audit(c, "secret.put", "secret", req.Name, team, ""))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if info.Version == 1 {
		status = http.StatusCreated
	}
	return c.JSON(status, secretView{Name: info.Name, Team: info.Team, UpdatedAt: info.UpdatedAt})
}

// listSecrets lists the names of a team's secrets and when they were written.
func (s *Server) listSecrets(c echo.Context) error {
	team, err := s.secretTeam(c)
	if err != nil {
		return err
	}
	list, err := s.Secrets.Names(c.Request().Context(), team)
	if err != nil {
		return err
	}
	items := make([]secretView, len(list))
	for i, info := range list {
		created := info.CreatedAt
		items[i] = secretView{Name: info.Name, Team: info.Team, CreatedAt: &created, UpdatedAt: info.UpdatedAt}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// deleteSecret deletes a secret; steps that use it fail from then on.
func (s *Server) deleteSecret(c echo.Context) error {
	team, err := s.secretTeam(c)
	if err != nil {
		return err
	}
	if err := s.Secrets.Delete(c.Request().Context(), team, c.Param("name"), s.audit(c, "secret.deleted", "secret", c.Param("name"), team, "")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
