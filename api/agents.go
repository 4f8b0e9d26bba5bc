package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/telos-dev/telos/agents"
	"github.com/telos-dev/telos/store"
)

// agentView is an agent version as the API shows it. The governance fields
// are set by the server only; a request body can never set them.
type agentView struct {
	Name            string         `json:"name"`
	Team            string         `json:"team"`
	Owner           string         `json:"owner"`
	Version         int            `json:"version"`
	VersionStatus   string         `json:"version_status"`
	Status          string         `json:"status"`
	LatestVersion   int            `json:"latest_version"`
	ApprovedVersion int            `json:"approved_version,omitempty"`
	SpecHash        string         `json:"spec_hash"`
	CreatedBy       string         `json:"created_by"`
	CreatedAt       time.Time      `json:"created_at"`
	Reviews         []store.Review `json:"reviews"`
	Agent           agents.Agent   `json:"agent"`
}

// fullView adds an agent's governance state and review history to a version.
func (s *Server) fullView(c echo.Context, v store.AgentVersion) (agentView, error) {
	ctx := c.Request().Context()
	view, err := viewAgent(v)
	if err != nil {
		return view, err
	}
	st, err := s.Store.AgentState(ctx, v.Team, v.Name)
	if err != nil {
		return view, err
	}
	if view.VersionStatus, err = s.Store.VersionStatus(ctx, v.Team, v.Name, v.Version); err != nil {
		return view, err
	}
	view.Status, view.LatestVersion, view.ApprovedVersion = st.Status, st.LatestVersion, st.ApprovedVersion
	if view.Reviews, err = s.Store.Reviews(ctx, v.Team, v.Name); err != nil {
		return view, err
	}
	return view, nil
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
	switch ct, _, _ := strings.Cut(c.Request().Header.Get(echo.HeaderContentType), ";"); strings.TrimSpace(strings.ToLower(ct)) {
	case "", "application/json", "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml":
	default:
		return nil, newError(http.StatusUnsupportedMediaType, "send the agent spec as application/json or application/yaml")
	}
	b, err := readBody(c)
	if err != nil {
		return nil, err
	}
	a, err := agents.Load(b, s.Actions)
	if err = s.checkCategory(c, a, err); err != nil {
		return nil, err
	}
	p := principal(c)
	if a.Metadata.Team == "" {
		a.Metadata.Team = p.Team
	}
	if !p.CanRead(a.Metadata.Team) {
		return nil, store.ErrNotFound
	}
	if !p.CanWrite(a.Metadata.Team) {
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
	ctx := c.Request().Context()
	action := "agent.created"
	if create {
		v, err = s.Store.CreateAgent(ctx, v)
	} else {
		if st, err := s.Store.AgentState(ctx, v.Team, v.Name); err == nil && st.Status == store.AgentArchived {
			return newError(http.StatusConflict, "the agent is archived")
		}
		if latest, err := s.Store.AgentVersion(ctx, v.Team, v.Name, 0); err == nil && latest.SpecHash == v.SpecHash {
			// Re-applying the same spec is not a new version.
			view, err := s.fullView(c, latest)
			if err != nil {
				return err
			}
			c.Response().Header().Set("Telos-Unchanged", "true")
			return c.JSON(http.StatusOK, view)
		}
		v, err = s.Store.AddVersion(ctx, v)
		action = "agent.versioned"
	}
	if err != nil {
		return err
	}
	if err := s.Store.SetVersionCategory(ctx, v.Team, v.Name, v.Version, a.Spec.Purpose.Category); err != nil {
		return err
	}
	au := s.audit(c, action, "agent_version", fmt.Sprintf("%s/%s@%d", v.Team, v.Name, v.Version), v.Team, "")
	au.AfterHash = v.SpecHash
	if err := s.Store.AppendAudit(ctx, au); err != nil {
		return err
	}
	view, err := s.fullView(c, v)
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
	p := principal(c)
	scope := teamScope(c, true)
	if p.Role == store.RoleReviewer && c.QueryParam("team") == "" {
		scope = "" // the reviewer's own and reviewed teams, filtered below
	}
	list, err := s.Store.ListAgents(c.Request().Context(), scope)
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
		if p.CanRead(a.Team) {
			items = append(items, item{a.Name, a.Team, a.Owner, a.LatestVersion, a.UpdatedAt})
		}
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
	view, err := s.fullView(c, v)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view)
}

// checkCategory adds an error when the purpose category is not in the
// admin-managed taxonomy to the errors Load found.
func (s *Server) checkCategory(c echo.Context, a *agents.Agent, err error) error {
	if a == nil {
		return err
	}
	cat := a.Spec.Purpose.Category
	if cat == "" {
		return err
	}
	known, cerr := s.categoryNames(c)
	if cerr != nil {
		return cerr
	}
	for _, k := range known {
		if k == cat {
			return err
		}
	}
	fe := agents.FieldError{Path: "spec.purpose.category", Message: fmt.Sprintf("unknown purpose category %q (known: %s)", cat, strings.Join(known, ", "))}
	var ve *agents.ValidationError
	if errors.As(err, &ve) {
		ve.Errors = append(ve.Errors, fe)
		return ve
	}
	if err != nil {
		return err
	}
	return &agents.ValidationError{Errors: []agents.FieldError{fe}}
}

func (s *Server) categoryNames(c echo.Context) ([]string, error) {
	cats, err := s.Store.Categories(c.Request().Context())
	if err != nil {
		return nil, err
	}
	names := make([]string, len(cats))
	for i, cat := range cats {
		names[i] = cat.Name
	}
	return names, nil
}
