package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AgentVersion is one immutable version of an agent's spec (stored as JSON).
type AgentVersion struct {
	Team      string
	Name      string
	Version   int
	Spec      []byte
	SpecHash  string
	Owner     string // who created the agent
	CreatedBy string // who created this version
	CreatedAt time.Time
}

// AgentSummary is an agent with its latest version number.
type AgentSummary struct {
	Team          string
	Name          string
	Owner         string
	LatestVersion int
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// CreateAgent stores the first version of a new agent. An agent of that name in
// the team already is a conflict.
func (s *Store) CreateAgent(ctx context.Context, v AgentVersion) (AgentVersion, error) {
	return s.putVersion(ctx, v, true)
}

// AddVersion stores a new version of an existing agent, numbered one past the
// latest. An unknown agent is ErrNotFound.
func (s *Store) AddVersion(ctx context.Context, v AgentVersion) (AgentVersion, error) {
	return s.putVersion(ctx, v, false)
}

func (s *Store) putVersion(ctx context.Context, v AgentVersion, create bool) (AgentVersion, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return AgentVersion{}, fmt.Errorf("put agent: %w", err)
	}
	defer tx.Rollback()
	now := s.now()
	v.CreatedAt = now
	if create {
		v.Version = 1
		if v.Owner == "" {
			v.Owner = v.CreatedBy
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO agents (team, name, owner, latest_version, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?)
			ON CONFLICT (team, name) DO NOTHING`, v.Team, v.Name, v.Owner, formatTime(now), formatTime(now))
		if err != nil {
			return AgentVersion{}, fmt.Errorf("put agent: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return AgentVersion{}, fmt.Errorf("put agent: %w", err)
		}
		if n == 0 {
			return AgentVersion{}, ErrConflict
		}
	} else {
		// One statement reads and bumps the version, so that concurrent
		// writers queue on the agent's row (PostgreSQL) or the write lock
		// (SQLite) and number their versions one after another.
		err := tx.QueryRowContext(ctx, `UPDATE agents SET latest_version = latest_version + 1, updated_at = ? WHERE team = ? AND name = ?
			RETURNING latest_version, owner`, formatTime(now), v.Team, v.Name).Scan(&v.Version, &v.Owner)
		if errors.Is(err, sql.ErrNoRows) {
			return AgentVersion{}, ErrNotFound
		}
		if err != nil {
			return AgentVersion{}, fmt.Errorf("put agent: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO agent_versions (team, name, version, spec, spec_hash, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		v.Team, v.Name, v.Version, string(v.Spec), v.SpecHash, v.CreatedBy, formatTime(now)); err != nil {
		return AgentVersion{}, fmt.Errorf("put agent version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return AgentVersion{}, fmt.Errorf("put agent: %w", err)
	}
	return v, nil
}

// AgentVersion returns one version; version 0 means the latest.
func (s *Store) AgentVersion(ctx context.Context, team, name string, version int) (AgentVersion, error) {
	q := `SELECT v.team, v.name, v.version, v.spec, v.spec_hash, a.owner, v.created_by, v.created_at
		FROM agent_versions v JOIN agents a ON a.team = v.team AND a.name = v.name
		WHERE v.team = ? AND v.name = ? AND v.version = `
	args := []any{team, name}
	if version == 0 {
		q += `a.latest_version`
	} else {
		q += `?`
		args = append(args, version)
	}
	var v AgentVersion
	var spec, created string
	err := s.db.QueryRowContext(ctx, q, args...).Scan(&v.Team, &v.Name, &v.Version, &spec, &v.SpecHash, &v.Owner, &v.CreatedBy, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return AgentVersion{}, ErrNotFound
	}
	if err != nil {
		return AgentVersion{}, fmt.Errorf("get agent %s/%s: %w", team, name, err)
	}
	v.Spec, v.CreatedAt = []byte(spec), parseTime(created)
	return v, nil
}

// ListAgents lists the agents of team, or of every team when team is "".
func (s *Store) ListAgents(ctx context.Context, team string) ([]AgentSummary, error) {
	q := `SELECT team, name, owner, latest_version, created_at, updated_at FROM agents`
	var args []any
	if team != "" {
		q += ` WHERE team = ?`
		args = append(args, team)
	}
	q += ` ORDER BY team, name`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	defer rows.Close()
	out := []AgentSummary{}
	for rows.Next() {
		var a AgentSummary
		var c, u string
		if err := rows.Scan(&a.Team, &a.Name, &a.Owner, &a.LatestVersion, &c, &u); err != nil {
			return nil, fmt.Errorf("list agents: %w", err)
		}
		a.CreatedAt, a.UpdatedAt = parseTime(c), parseTime(u)
		out = append(out, a)
	}
	return out, rows.Err()
}
