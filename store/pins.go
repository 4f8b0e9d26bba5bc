package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// SetVersionPins records the MCP tool-list fingerprints a version was
// reviewed with (server name → fingerprint).
func (s *Store) SetVersionPins(ctx context.Context, team, name string, version int, pins map[string]string) error {
	b, err := json.Marshal(pins)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE agent_versions SET pins = ? WHERE team = ? AND name = ? AND version = ?`, string(b), team, name, version)
	if err != nil {
		return fmt.Errorf("set pins: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrNotFound
	}
	return nil
}

// VersionPins returns the fingerprints pinned into a version.
func (s *Store) VersionPins(ctx context.Context, team, name string, version int) (map[string]string, error) {
	var raw string
	err := s.db.QueryRowContext(ctx, `SELECT pins FROM agent_versions WHERE team = ? AND name = ? AND version = ?`, team, name, version).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("version pins: %w", err)
	}
	pins := map[string]string{}
	if err := json.Unmarshal([]byte(raw), &pins); err != nil {
		return nil, fmt.Errorf("version pins: %w", err)
	}
	return pins, nil
}
