package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/telos-dev/telos/store"
)

// Principal is the authenticated caller.
type Principal struct {
	User string
	Team string
	Role string
}

// Admin reports whether p sees every team.
func (p Principal) Admin() bool { return p.Role == store.RoleAdmin }

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
		if errors.Is(err, store.ErrNotFound) || (err == nil && !k.RevokedAt.IsZero()) {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="telos", error="invalid_token"`)
			return newError(http.StatusUnauthorized, "invalid API key")
		}
		if err != nil {
			return err
		}
		c.Set(principalKey, Principal{User: k.User, Team: k.Team, Role: k.Role})
		return next(c)
	}
}

func principal(c echo.Context) Principal {
	p, _ := c.Get(principalKey).(Principal)
	return p
}

// teamScope is the team a request acts in: the caller's, or for admins the
// ?team= they name. It returns "" for an admin listing every team.
func teamScope(c echo.Context, allowAll bool) string {
	p := principal(c)
	if !p.Admin() {
		return p.Team
	}
	if t := c.QueryParam("team"); t != "" {
		return t
	}
	if allowAll {
		return ""
	}
	return p.Team
}

// canSee reports whether the caller may see a resource of team; callers answer
// 404 otherwise, so other teams' resources are not revealed.
func canSee(c echo.Context, team string) bool {
	p := principal(c)
	return p.Admin() || p.Team == team
}

var namePattern = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)

type createKeyRequest struct {
	User string `json:"user"`
	Team string `json:"team"`
	Role string `json:"role"`
}

// createKey issues an API key; only admins may, and the key is shown once.
func (s *Server) createKey(c echo.Context) error {
	p := principal(c)
	if !p.Admin() {
		return newError(http.StatusForbidden, "only admins issue API keys")
	}
	var req createKeyRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var errs fieldErrors
	if !namePattern.MatchString(req.User) {
		errs.add("user", "must be a lowercase name of letters, digits and '-' (1-63 characters)")
	}
	if !namePattern.MatchString(req.Team) {
		errs.add("team", "must be a lowercase name of letters, digits and '-' (1-63 characters)")
	}
	switch req.Role {
	case store.RoleMember, store.RoleReviewer, store.RoleAdmin:
	default:
		errs.add("role", `must be one of "member", "reviewer", "admin"`)
	}
	if err := errs.err(); err != nil {
		return err
	}
	key := NewKey()
	if err := s.Store.CreateKey(c.Request().Context(), store.APIKey{
		Hash: store.Hash([]byte(key)), Prefix: key[:len(KeyPrefix)+6], User: req.User, Team: req.Team, Role: req.Role, CreatedBy: p.User,
	}); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]string{"key": key, "user": req.User, "team": req.Team, "role": req.Role})
}

func randomID() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
