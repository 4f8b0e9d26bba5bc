package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Roles an API key can carry, in increasing power.
const (
	RoleMember   = "member"
	RoleReviewer = "reviewer"
	RoleAdmin    = "admin"
)

// RoleRank orders roles by power; unknown roles rank below member.
func RoleRank(role string) int {
	switch role {
	case RoleMember:
		return 1
	case RoleReviewer:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// APIKey is a stored key: only its SHA-256 hash is kept.
type APIKey struct {
	Hash        string
	Prefix      string // the first characters, to tell keys apart in listings
	User        string
	Team        string
	Role        string
	ReviewTeams []string // teams a reviewer reviews
	CreatedBy   string
	CreatedAt   time.Time
	ExpiresAt   time.Time // zero: never
	RevokedAt   time.Time // zero: not revoked
}

// ID is the public identifier of a key: a prefix of its hash, which reveals
// nothing about the secret.
func (k APIKey) ID() string { return "key_" + k.Hash[:16] }

// CreateKey stores k. A key whose hash exists already is a conflict.
func (s *Store) CreateKey(ctx context.Context, k APIKey, audit AuditEntry) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = s.now()
	}
	var expires any
	if !k.ExpiresAt.IsZero() {
		expires = formatTime(k.ExpiresAt)
	}
	return s.inTx(ctx, func(tx *sqlTx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (hash, prefix, user_name, team, role, review_teams, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.Hash, k.Prefix, k.User, k.Team, k.Role, strings.Join(k.ReviewTeams, ","), k.CreatedBy, formatTime(k.CreatedAt), expires)
		if isUniqueViolation(err) {
			return ErrConflict
		}
		if err != nil {
			return fmt.Errorf("create key: %w", err)
		}
		// Never the lookup hash itself: a weak key could be guessed from it.
		audit.ObjectID, audit.AfterHash = k.ID(), hashJSON(map[string]any{"id": k.ID(), "user": k.User, "team": k.Team, "role": k.Role, "review_teams": k.ReviewTeams})
		return s.appendAudit(ctx, tx, audit)
	})
}

const keyColumns = `hash, prefix, user_name, team, role, review_teams, created_by, created_at, expires_at, revoked_at`

func scanKey(sc interface{ Scan(...any) error }) (APIKey, error) {
	var k APIKey
	var created, reviews string
	var expires, revoked sql.NullString
	if err := sc.Scan(&k.Hash, &k.Prefix, &k.User, &k.Team, &k.Role, &reviews, &k.CreatedBy, &created, &expires, &revoked); err != nil {
		return APIKey{}, err
	}
	if reviews != "" {
		k.ReviewTeams = strings.Split(reviews, ",")
	}
	k.CreatedAt, k.ExpiresAt, k.RevokedAt = parseTime(created), nullTime(expires), nullTime(revoked)
	return k, nil
}

// KeyByHash finds a key by the hash of its secret.
func (s *Store) KeyByHash(ctx context.Context, hash string) (APIKey, error) {
	k, err := scanKey(s.db.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, ErrNotFound
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("find key: %w", err)
	}
	return k, nil
}

// Keys lists keys, of one user when user is not "".
func (s *Store) Keys(ctx context.Context, user string) ([]APIKey, error) {
	q := `SELECT ` + keyColumns + ` FROM api_keys`
	var args []any
	if user != "" {
		q += ` WHERE user_name = ?`
		args = append(args, user)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY created_at, hash`, args...)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer rows.Close()
	out := []APIKey{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeKey revokes the key with the given ID at once; revoking twice is a no-op.
func (s *Store) RevokeKey(ctx context.Context, id string, audit AuditEntry) error {
	prefix := strings.TrimPrefix(id, "key_")
	if len(prefix) != 16 {
		return ErrNotFound
	}
	return s.inTx(ctx, func(tx *sqlTx) error {
		k, err := scanKey(tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE substr(hash, 1, 16) = ?`, prefix))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if !k.RevokedAt.IsZero() {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE hash = ?`, formatTime(s.now()), k.Hash); err != nil {
			return err
		}
		audit.ObjectID, audit.Team, audit.BeforeHash, audit.AfterHash = k.ID(), k.Team, Hash([]byte("active")), Hash([]byte("revoked"))
		return s.appendAudit(ctx, tx, audit)
	})
}
