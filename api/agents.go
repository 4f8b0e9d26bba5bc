package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/telos-dev/telos/agents"
	"github.com/telos-dev/telos/store"
)

// agentView is an agent version as the API shows it.
type agentView struct {
	Name      string       `json:"name"`
	Team      string       `json:"team"`
	Owner     string       `json:"owner"`
	Version   int          `json:"version"`
	SpecHash  string       `json:"spec_hash"`
	CreatedBy string       `json:"created_by"`
	CreatedAt time.Time    `json:"created_at"`
	Agent     agents.Agent `json:"agent"`
}

func viewAgent(v store.AgentVersion) (agentView, error) {
	var a agents.Agent
	if err := json.Unmarshal(v.Spec, &a); err != nil {
		return agentView{}, err
	}
	return agentView{Name: v.Name, Team: v.Team, Owner: v.Owner, Version: v.Version, SpecHash: v.SpecHash,
		CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt, Agent: a}, nil
}

// parseAgent reads, validates and normalises an agent document from the body.
// Ownership and team come from the caller, never from the body.
func (s *Server) parseAgent(c echo.Context, pathName string) (*agents.Agent, error) {
	b, err := readBody(c)
	if err != nil {
		return nil, err
	}
	a, err := agents.Load(b, s.Actions)
	if err != nil {
		return nil, err
	}
	p := principal(c)
	if a.Metadata.Team == "" {
		a.Metadata.Team = p.Team
	}
	if a.Metadata.Team != p.Team && !p.Admin() {
		return nil, fieldError(http.StatusForbidden, "metadata.team", "you may only create agents in your own team "+strconv.Quote(p.Team))
	}
	if pathName != "" && a.Metadata.Name != pathName {
		return nil, fieldError(http.StatusUnprocessableEntity, "metadata.name", "must match the agent named in the URL "+strconv.Quote(pathName))
	}
	return a, nil
}

func (s *Server) storeVersion(c echo.Context, a *agents.Agent, create bool) error {
	spec, err := json.Marshal(a)
	if err != nil {
		return err
	}
	v := store.AgentVersion{Team: a.Metadata.Team, Name: a.Metadata.Name, Spec: spec, SpecHash: store.Hash(spec), CreatedBy: principal(c).User}
	if create {
		v, err = s.Store.CreateAgent(c.Request().Context(), v)
	} else {
		v, err = s.Store.AddVersion(c.Request().Context(), v)
	}
	if err != nil {
		return err
	}
	view, err := viewAgent(v)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if !create {
		status = http.StatusOK
	}
	c.Response().Header().Set("Location", "/v1/agents/"+v.Name+"/versions/"+strconv.Itoa(v.Version))
	return c.JSON(status, view)
}

func (s *Server) createAgent(c echo.Context) error {
	a, err := s.parseAgent(c, "")
	if err != nil {
		return err
	}
	return s.storeVersion(c, a, true)
}

func (s *Server) updateAgent(c echo.Context) error {
	a, err := s.parseAgent(c, c.Param("name"))
	if err != nil {
		return err
	}
	return s.storeVersion(c, a, false)
}

func (s *Server) listAgents(c echo.Context) error {
	list, err := s.Store.ListAgents(c.Request().Context(), teamScope(c, true))
	if err != nil {
		return err
	}
	type item struct {
		Name          string    `json:"name"`
		Team          string    `json:"team"`
		Owner         string    `json:"owner"`
		LatestVersion int       `json:"latest_version"`
		UpdatedAt     time.Time `json:"updated_at"`
	}
	items := make([]item, 0, len(list))
	for _, a := range list {
		items = append(items, item{a.Name, a.Team, a.Owner, a.LatestVersion, a.UpdatedAt})
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

func (s *Server) getAgent(c echo.Context) error {
	return s.showVersion(c, 0)
}

func (s *Server) getAgentVersion(c echo.Context) error {
	v, err := strconv.Atoi(c.Param("version"))
	if err != nil || v < 1 {
		return fieldError(http.StatusBadRequest, "version", "must be a positive integer")
	}
	return s.showVersion(c, v)
}

func (s *Server) showVersion(c echo.Context, version int) error {
	v, err := s.Store.AgentVersion(c.Request().Context(), teamScope(c, false), c.Param("name"), version)
	if err != nil {
		return err
	}
	view, err := viewAgent(v)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view)
}
