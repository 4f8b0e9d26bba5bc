package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/telos-dev/telos/agents"
	"github.com/telos-dev/telos/store"
)

type commentRequest struct {
	Comment string `json:"comment"`
}

// readComment reads an optional {"comment": "..."} body.
func readComment(c echo.Context, required bool) (string, error) {
	var req commentRequest
	if err := decodeOptionalJSON(c, &req); err != nil {
		return "", err
	}
	if required && strings.TrimSpace(req.Comment) == "" {
		return "", fieldError(http.StatusUnprocessableEntity, "comment", "required: say what must change or why")
	}
	if len(req.Comment) > 4000 {
		return "", fieldError(http.StatusUnprocessableEntity, "comment", "must be at most 4000 characters")
	}
	return req.Comment, nil
}

// visibleAgent loads the state of the agent named in the path, in the team the
// request acts in; agents the caller may not read are not found.
func (s *Server) visibleAgent(c echo.Context) (store.AgentState, error) {
	st, err := s.Store.AgentState(c.Request().Context(), teamScope(c, false), c.Param("name"))
	if err != nil {
		return st, err
	}
	if !canSee(c, st.Team) {
		return st, store.ErrNotFound
	}
	return st, nil
}

// review applies a review action (submit, approve, request-changes, reject)
// to one version. Submitting is for the agent's team; deciding is for
// reviewers of the team and admins, and never for the agent's owner or the
// version's author.
func (s *Server) review(action string) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		p := principal(c)
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
		comment, err := readComment(c, action == "reject" || action == "request-changes")
		if err != nil {
			return err
		}
		if st.Status == store.AgentArchived {
			return newError(http.StatusConflict, "the agent is archived")
		}
		if action == "submit" {
			if !p.CanWrite(st.Team) {
				return newError(http.StatusForbidden, "only the agent's team submits it for review")
			}
		} else {
			if !p.Reviews(st.Team) {
				return newError(http.StatusForbidden, "only reviewers of team "+strconv.Quote(st.Team)+" and admins decide reviews")
			}
			if p.User == st.Owner || p.User == v.CreatedBy {
				return newError(http.StatusForbidden, "nobody approves or decides on their own agent")
			}
		}
		if action == "approve" && version < st.ApprovedVersion {
			return newError(http.StatusConflict, fmt.Sprintf("version %d is already approved; approving the older version %d would roll it back — reject it or submit a new version", st.ApprovedVersion, version))
		}
		if action == "approve" {
			var a agents.Agent
			if err := json.Unmarshal(v.Spec, &a); err != nil {
				return err
			}
			if err := s.checkCategory(c, &a, nil); err != nil {
				return newError(http.StatusConflict, "cannot approve: purpose category "+strconv.Quote(a.Spec.Purpose.Category)+" is no longer in the taxonomy; submit a version with a current category")
			}
			// Pin the tools of every MCP server the version may call, as the
			// reviewer approves them: if a server changes its tools later,
			// runs of this version stop until it is reviewed again.
			if servers := a.Spec.MCPServers(); len(servers) > 0 {
				if s.MCPFingerprint == nil {
					return newError(http.StatusConflict, "cannot approve: the agent calls MCP servers and none are configured (TELOS_MCP_SERVERS)")
				}
				pins := map[string]string{}
				for _, srv := range servers {
					fp, err := s.MCPFingerprint(ctx, st.Team, srv)
					if err != nil {
						return newError(http.StatusConflict, fmt.Sprintf("cannot approve: MCP server %q could not be listed to pin its tools: %v", srv, err))
					}
					pins[srv] = fp
				}
				if err := s.Store.SetVersionPins(ctx, st.Team, st.Name, version, pins); err != nil {
					return err
				}
			}
		}
		au := s.audit(c, "agent."+action, "agent_version", fmt.Sprintf("%s/%s@%d", st.Team, st.Name, version), st.Team, comment)
		to, err := s.Store.Transition(ctx, st.Team, st.Name, version, action, p.User, comment, au)
		if errors.Is(err, store.ErrInvalidTransition) {
			return newError(http.StatusConflict, err.Error())
		}
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]any{"name": st.Name, "team": st.Team, "version": version, "version_status": to})
	}
}

// setStatus suspends or resumes an agent. Suspending is open to the agent's
// owner, its team's reviewers and admins; resuming to reviewers and admins.
func (s *Server) setStatus(status string) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := principal(c)
		st, err := s.visibleAgent(c)
		if err != nil {
			return err
		}
		comment, err := readComment(c, false)
		if err != nil {
			return err
		}
		allowed := p.Reviews(st.Team) || (status == store.AgentSuspended && p.User == st.Owner)
		if !allowed {
			return newError(http.StatusForbidden, "only the team's reviewers and admins may do this")
		}
		action := map[string]string{store.AgentSuspended: "agent.suspended", store.AgentActive: "agent.resumed"}[status]
		// Suspending stops the schedules first, so nothing starts meanwhile.
		if status == store.AgentSuspended {
			if err := s.pauseAgentSchedules(c, st, true); err != nil {
				return err
			}
		}
		err = s.Store.SetAgentStatus(c.Request().Context(), st.Team, st.Name, status, s.audit(c, action, "agent", st.Team+"/"+st.Name, st.Team, comment))
		if errors.Is(err, store.ErrInvalidTransition) {
			return newError(http.StatusConflict, err.Error())
		}
		if err != nil {
			return err
		}
		if status == store.AgentActive {
			if err := s.pauseAgentSchedules(c, st, false); err != nil {
				return err
			}
		}
		return c.JSON(http.StatusOK, map[string]any{"name": st.Name, "team": st.Team, "status": status})
	}
}

var plainAmount = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

type categoryInput struct {
	Name          string  `json:"name"`
	Description   string  `json:"description"`
	MonthlyUSD    *string `json:"monthly_usd"`
	MonthlyTokens *int64  `json:"monthly_tokens"`
}

func (s *Server) listCategories(c echo.Context) error {
	cats, err := s.Store.Categories(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": cats})
}

// putCategories replaces the purpose taxonomy (admins only). Removing a
// category blocks approval of agents that use it, not their running history.
func (s *Server) putCategories(c echo.Context) error {
	if !principal(c).Admin() {
		return newError(http.StatusForbidden, "only admins manage purpose categories")
	}
	var req struct {
		Items []categoryInput `json:"items"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var errs fieldErrors
	seen := map[string]bool{}
	cats := make([]store.Category, 0, len(req.Items))
	for i, in := range req.Items {
		path := fmt.Sprintf("items[%d]", i)
		if !namePattern.MatchString(in.Name) {
			errs.add(path+".name", "must be a lowercase name of letters, digits and '-' (1-63 characters)")
		} else if seen[in.Name] {
			errs.add(path+".name", "duplicate category "+strconv.Quote(in.Name))
		}
		seen[in.Name] = true
		if len(in.Description) < 10 {
			errs.add(path+".description", "required: say what work belongs here (at least 10 characters)")
		}
		cat := store.Category{Name: in.Name, Description: in.Description, MonthlyTokens: in.MonthlyTokens}
		if in.MonthlyUSD != nil {
			m, err := agents.ParseUSD(*in.MonthlyUSD)
			if err != nil || m <= 0 || !plainAmount.MatchString(*in.MonthlyUSD) {
				errs.add(path+".monthly_usd", "must be a positive decimal amount such as \"250.00\"")
			}
			cat.MonthlyUSD = &m
		}
		if in.MonthlyTokens != nil && *in.MonthlyTokens <= 0 {
			errs.add(path+".monthly_tokens", "must be positive")
		}
		cats = append(cats, cat)
	}
	if len(req.Items) == 0 {
		errs.add("items", "required: at least one category")
	}
	if err := errs.err(); err != nil {
		return err
	}
	if err := s.Store.ReplaceCategories(c.Request().Context(), cats, s.audit(c, "categories.updated", "purpose_categories", "taxonomy", "", "")); err != nil {
		return err
	}
	return s.listCategories(c)
}

// putTeamBudget sets a team's monthly budget (admins only).
func (s *Server) putTeamBudget(c echo.Context) error {
	if !principal(c).Admin() {
		return newError(http.StatusForbidden, "only admins set team budgets")
	}
	team := c.Param("team")
	if !namePattern.MatchString(team) {
		return fieldError(http.StatusBadRequest, "team", "must be a team name")
	}
	var req struct {
		MonthlyUSD    *string `json:"monthly_usd"`
		MonthlyTokens *int64  `json:"monthly_tokens"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	b := store.TeamBudget{Team: team, MonthlyTokens: req.MonthlyTokens}
	var errs fieldErrors
	if req.MonthlyUSD != nil {
		m, err := agents.ParseUSD(*req.MonthlyUSD)
		if err != nil || m <= 0 || !plainAmount.MatchString(*req.MonthlyUSD) {
			errs.add("monthly_usd", "must be a positive decimal amount such as \"500.00\"")
		}
		b.MonthlyUSD = &m
	}
	if req.MonthlyTokens != nil && *req.MonthlyTokens <= 0 {
		errs.add("monthly_tokens", "must be positive")
	}
	if err := errs.err(); err != nil {
		return err
	}
	detail := ""
	if b.MonthlyUSD != nil {
		detail += "monthly_usd=" + b.MonthlyUSD.String() + " "
	}
	if b.MonthlyTokens != nil {
		detail += fmt.Sprintf("monthly_tokens=%d", *b.MonthlyTokens)
	}
	if err := s.Store.SetTeamBudget(c.Request().Context(), b, s.audit(c, "team_budget.updated", "team_budget", team, team, strings.TrimSpace(detail))); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, b)
}

// listAudit shows the audit log (admins only), oldest first, paged by id.
func (s *Server) listAudit(c echo.Context) error {
	if !principal(c).Admin() {
		return newError(http.StatusForbidden, "only admins read the audit log")
	}
	var after int64
	if v := c.QueryParam("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return fieldError(http.StatusBadRequest, "after", "must be a record id")
		}
		after = n
	}
	items, err := s.Store.Audit(c.Request().Context(), store.AuditFilter{Team: c.QueryParam("team"), Action: c.QueryParam("action"), After: after, Limit: 200})
	if err != nil {
		return err
	}
	out := map[string]any{"items": items}
	if len(items) == 200 {
		out["next_after"] = items[len(items)-1].ID
	}
	return c.JSON(http.StatusOK, out)
}
