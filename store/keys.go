package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Roles an API key can carry.
const (
	RoleMember   = "member"
	RoleReviewer = "reviewer"
	RoleAdmin    = "admin"
)

// APIKey is a stored key: only its SHA-256 hash is kept.
type APIKey struct {
	Hash      string
	Prefix    string // the first characters, to tell keys apart in listings
	User      string
	Team      string
	Role      string
	CreatedBy string
	CreatedAt time.Time
	RevokedAt time.Time
}

// CreateKey stores k. A key whose hash exists already is a conflict.
func (s *Store) CreateKey(ctx context.Context, k APIKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = s.now()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO api_keys (hash, prefix, user_name, team, role, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.Hash, k.Prefix, k.User, k.Team, k.Role, k.CreatedBy, formatTime(k.CreatedAt))
	if isUniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	return nil
}

// KeyByHash finds a key by the hash of its secret.
func (s *Store) KeyByHash(ctx context.Context, hash string) (APIKey, error) {
	var k APIKey
	var created string
	var revoked sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT hash, prefix, user_name, team, role, created_by, created_at, revoked_at FROM api_keys WHERE hash = ?`, hash).
		Scan(&k.Hash, &k.Prefix, &k.User, &k.Team, &k.Role, &k.CreatedBy, &created, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, ErrNotFound
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("find key: %w", err)
	}
	k.CreatedAt, k.RevokedAt = parseTime(created), nullTime(revoked)
	return k, nil
}
