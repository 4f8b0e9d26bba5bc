package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Secret is a connector credential as the store keeps it: sealed. Only
// secrets.Vault, which holds the key, can open it; listings carry no
// ciphertext at all.
type Secret struct {
	Team       string
	Name       string
	Ciphertext []byte
	Nonce      []byte
	// Version counts the writes of this name, from 1.
	Version   int
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// secretHash stands for one version of a secret in the audit log: it shows
// that the secret changed without saying anything about its value.
func secretHash(team, name string, version int) string {
	return Hash([]byte(team + "/" + name + "#" + strconv.Itoa(version)))
}

// PutSecret creates or replaces a sealed secret and appends audit, in one
// transaction. It returns the stored secret's version and times; version 1
// means it was created.
func (s *Store) PutSecret(ctx context.Context, sec Secret, audit AuditEntry) (Secret, error) {
	now := s.now()
	err := s.inTx(ctx, func(tx *sqlTx) error {
		var created string
		// The conflict update is the serialization point: two writers of one
		// name get consecutive versions.
		err := tx.QueryRowContext(ctx, `INSERT INTO secrets (team, name, ciphertext, nonce, version, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?)
			ON CONFLICT (team, name) DO UPDATE SET ciphertext = excluded.ciphertext, nonce = excluded.nonce, version = secrets.version + 1, updated_at = excluded.updated_at
			RETURNING version, created_by, created_at`,
			sec.Team, sec.Name, sec.Ciphertext, sec.Nonce, sec.CreatedBy, formatTime(now), formatTime(now)).Scan(&sec.Version, &sec.CreatedBy, &created)
		if err != nil {
			return fmt.Errorf("put secret: %w", err)
		}
		sec.CreatedAt, sec.UpdatedAt = parseTime(created), now
		audit.ObjectKind, audit.ObjectID, audit.Team = "secret", sec.Name, sec.Team
		audit.AfterHash = secretHash(sec.Team, sec.Name, sec.Version)
		audit.Detail = "created"
		if sec.Version > 1 {
			audit.BeforeHash = secretHash(sec.Team, sec.Name, sec.Version-1)
			audit.Detail = fmt.Sprintf("replaced (version %d)", sec.Version)
		}
		return s.appendAudit(ctx, tx, audit)
	})
	if err != nil {
		return Secret{}, err
	}
	return sec, nil
}

// Secret returns one sealed secret, for the vault to open.
func (s *Store) Secret(ctx context.Context, team, name string) (Secret, error) {
	sec := Secret{Team: team, Name: name}
	var created, updated string
	err := s.db.QueryRowContext(ctx, `SELECT ciphertext, nonce, version, created_by, created_at, updated_at FROM secrets WHERE team = ? AND name = ?`, team, name).
		Scan(&sec.Ciphertext, &sec.Nonce, &sec.Version, &sec.CreatedBy, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Secret{}, ErrNotFound
	}
	if err != nil {
		return Secret{}, fmt.Errorf("read secret: %w", err)
	}
	sec.CreatedAt, sec.UpdatedAt = parseTime(created), parseTime(updated)
	return sec, nil
}

// SecretNames lists a team's secrets by name, without their ciphertext.
func (s *Store) SecretNames(ctx context.Context, team string) ([]Secret, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, version, created_by, created_at, updated_at FROM secrets WHERE team = ? ORDER BY name`, team)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	defer rows.Close()
	out := []Secret{}
	for rows.Next() {
		sec := Secret{Team: team}
		var created, updated string
		if err := rows.Scan(&sec.Name, &sec.Version, &sec.CreatedBy, &created, &updated); err != nil {
			return nil, fmt.Errorf("list secrets: %w", err)
		}
		sec.CreatedAt, sec.UpdatedAt = parseTime(created), parseTime(updated)
		out = append(out, sec)
	}
	return out, rows.Err()
}

// DeleteSecret deletes a secret and appends audit; an unknown name is ErrNotFound.
func (s *Store) DeleteSecret(ctx context.Context, team, name string, audit AuditEntry) error {
	return s.inTx(ctx, func(tx *sqlTx) error {
		var version int
		err := tx.QueryRowContext(ctx, `DELETE FROM secrets WHERE team = ? AND name = ? RETURNING version`, team, name).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("delete secret: %w", err)
		}
		audit.ObjectKind, audit.ObjectID, audit.Team = "secret", name, team
		audit.BeforeHash, audit.Detail = secretHash(team, name, version), "deleted"
		return s.appendAudit(ctx, tx, audit)
	})
}
