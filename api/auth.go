package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/telos-dev/telos/store"
)

// Principal is the authenticated caller.
type Principal struct {
	User        string
	Team        string
	Role        string
	ReviewTeams []string
}

// Admin reports whether p sees every team.
func (p Principal) Admin() bool { return p.Role == store.RoleAdmin }

// CanRead reports whether p may see resources of team: its own team, the teams
// it reviews, or every team for admins.
func (p Principal) CanRead(team string) bool {
	return p.Admin() || p.Team == team || p.Reviews(team)
}

// CanWrite reports whether p may create and change resources of team.
func (p Principal) CanWrite(team string) bool { return p.Admin() || p.Team == team }

// Reviews reports whether p may make review decisions on team's agents.
func (p Principal) Reviews(team string) bool {
	if p.Admin() {
		return true
	}
	if p.Role != store.RoleReviewer {
		return false
	}
	for _, t := range p.ReviewTeams {
		if t == team {
			return true
		}
	}
	return false
}

const principalKey = "telos.principal"

// KeyPrefix starts every Telos API key, so leaked keys are easy to find.
const KeyPrefix = "tls_"

// NewKey returns a fresh random API key.
func NewKey() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return KeyPrefix + hex.EncodeToString(b)
}

// credentialParams are query parameters that look like credentials; keys in
// URLs end up in logs and browser history, so they are refused outright.
var credentialParams = []string{"api_key", "apikey", "key", "token", "access_token"}

// authenticate resolves the bearer key to a Principal.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		q := c.QueryParams()
		for _, name := range credentialParams {
			if q.Has(name) {
				return newError(http.StatusBadRequest, "API keys are not accepted in the query string; send Authorization: Bearer <key>")
			}
		}
		h := c.Request().Header.Get("Authorization")
		scheme, key, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="telos"`)
			return newError(http.StatusUnauthorized, "missing API key: send Authorization: Bearer <key>")
		}
		k, err := s.Store.KeyByHash(c.Request().Context(), store.Hash([]byte(strings.TrimSpace(key))))
		if errors.Is(err, store.ErrNotFound) || (err == nil && (!k.RevokedAt.IsZero() || (!k.ExpiresAt.IsZero() && !s.Now().Before(k.ExpiresAt)))) {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="telos", error="invalid_token"`)
			return newError(http.StatusUnauthorized, "invalid API key")
		}
		if err != nil {
			return err
		}
		c.Set(principalKey, Principal{User: k.User, Team: k.Team, Role: k.Role, ReviewTeams: k.ReviewTeams})
		return next(c)
	}
}

func principal(c echo.Context) Principal {
	p, _ := c.Get(principalKey).(Principal)
	return p
}

// teamScope is the team a request acts in: the caller's own, or the ?team=
// it names when it may read that team (admins and reviewers). A team the
// caller may not read is treated as its own, so nothing reveals that it
// exists. It returns "" for an admin listing every team.
func teamScope(c echo.Context, allowAll bool) string {
	p := principal(c)
	if t := c.QueryParam("team"); t != "" && p.CanRead(t) {
		return t
	}
	if allowAll && p.Admin() {
		return ""
	}
	return p.Team
}

// canSee reports whether the caller may see a resource of team; callers answer
// 404 otherwise, so other teams' resources are not revealed.
func canSee(c echo.Context, team string) bool { return principal(c).CanRead(team) }

var namePattern = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)

type createKeyRequest struct {
	User        string     `json:"user"`
	Team        string     `json:"team"`
	Role        string     `json:"role"`
	ReviewTeams []string   `json:"review_teams"`
	ExpiresAt   *time.Time `json:"expires_at"`
}

// createKey issues an API key, shown once. A key never creates a key with
// more power than its own: members and reviewers issue keys for themselves
// only (a second key for a script, say), with no higher role, in their team
// and reviewing no more teams than they do; admins issue anything.
func (s *Server) createKey(c echo.Context) error {
	p := principal(c)
	var req createKeyRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Role == "" {
		req.Role = store.RoleMember
	}
	if req.Team == "" {
		req.Team = p.Team
	}
	if req.User == "" && !p.Admin() {
		req.User = p.User
	}
	var errs fieldErrors
	if !namePattern.MatchString(req.User) {
		errs.add("user", "must be a lowercase name of letters, digits and '-' (1-63 characters)")
	}
	if !namePattern.MatchString(req.Team) {
		errs.add("team", "must be a lowercase name of letters, digits and '-' (1-63 characters)")
	}
	if store.RoleRank(req.Role) == 0 {
		errs.add("role", `must be one of "member", "reviewer", "admin"`)
	}
	for i, t := range req.ReviewTeams {
		if !namePattern.MatchString(t) {
			errs.add(fmt.Sprintf("review_teams[%d]", i), "must be a team name")
		}
	}
	if len(req.ReviewTeams) > 0 && req.Role != store.RoleReviewer {
		errs.add("review_teams", "only reviewer keys review teams")
	}
	if req.ExpiresAt != nil && !req.ExpiresAt.After(s.Now()) {
		errs.add("expires_at", "must be in the future")
	}
	if err := errs.err(); err != nil {
		return err
	}
	if !p.Admin() {
		switch {
		case store.RoleRank(req.Role) > store.RoleRank(p.Role):
			return fieldError(http.StatusForbidden, "role", "a key cannot create a key with more power than its own")
		case req.Team != p.Team:
			return fieldError(http.StatusForbidden, "team", "you may only issue keys in your own team")
		case req.User != p.User:
			// A key for someone else would let its maker act, and approve,
			// under another name; only admins issue keys for other people.
			return fieldError(http.StatusForbidden, "user", "you may only issue keys for yourself; admins issue keys for others")
		}
		for i, t := range req.ReviewTeams {
			if !p.Reviews(t) {
				return fieldError(http.StatusForbidden, fmt.Sprintf("review_teams[%d]", i), "you may only grant review of teams you review")
			}
		}
	}
	key := NewKey()
	k := store.APIKey{Hash: store.Hash([]byte(key)), Prefix: key[:len(KeyPrefix)+6], User: req.User, Team: req.Team, Role: req.Role,
		ReviewTeams: req.ReviewTeams, CreatedBy: p.User}
	if req.ExpiresAt != nil {
		k.ExpiresAt = req.ExpiresAt.UTC()
	}
	detail := fmt.Sprintf("user=%s role=%s", req.User, req.Role)
	if len(req.ReviewTeams) > 0 {
		detail += " review_teams=" + strings.Join(req.ReviewTeams, ",")
	}
	if req.ExpiresAt != nil {
		detail += " expires_at=" + req.ExpiresAt.UTC().Format(time.RFC3339)
	}
	if err := s.Store.CreateKey(c.Request().Context(), k, s.audit(c, "key.issued", "api_key", "", req.Team, detail)); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"key": key, "id": k.ID(), "user": req.User, "team": req.Team, "role": req.Role,
		"review_teams": req.ReviewTeams, "expires_at": req.ExpiresAt})
}

type keyView struct {
	ID          string     `json:"id"`
	Prefix      string     `json:"prefix"`
	User        string     `json:"user"`
	Team        string     `json:"team"`
	Role        string     `json:"role"`
	ReviewTeams []string   `json:"review_teams,omitempty"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

// listKeys lists keys without their secrets: admins see all, others their own.
func (s *Server) listKeys(c echo.Context) error {
	p := principal(c)
	user := p.User
	if p.Admin() {
		user = ""
	}
	keys, err := s.Store.Keys(c.Request().Context(), user)
	if err != nil {
		return err
	}
	items := make([]keyView, 0, len(keys))
	for _, k := range keys {
		v := keyView{ID: k.ID(), Prefix: k.Prefix, User: k.User, Team: k.Team, Role: k.Role, ReviewTeams: k.ReviewTeams, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt}
		if !k.ExpiresAt.IsZero() {
			v.ExpiresAt = &k.ExpiresAt
		}
		if !k.RevokedAt.IsZero() {
			v.RevokedAt = &k.RevokedAt
		}
		items = append(items, v)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// revokeKey revokes a key at once: admins any key, others their own.
func (s *Server) revokeKey(c echo.Context) error {
	p := principal(c)
	ctx := c.Request().Context()
	if !p.Admin() {
		keys, err := s.Store.Keys(ctx, p.User)
		if err != nil {
			return err
		}
		own := false
		for _, k := range keys {
			own = own || k.ID() == c.Param("id")
		}
		if !own {
			return store.ErrNotFound
		}
	}
	if err := s.Store.RevokeKey(ctx, c.Param("id"), s.audit(c, "key.revoked", "api_key", c.Param("id"), "", "")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// audit starts an audit record of the caller's action.
func (s *Server) audit(c echo.Context, action, kind, id, team, detail string) store.AuditEntry {
	p := principal(c)
	return store.AuditEntry{Actor: p.User, ActorRole: p.Role, Action: action, ObjectKind: kind, ObjectID: id, Team: team, Detail: detail}
}

func randomID() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
