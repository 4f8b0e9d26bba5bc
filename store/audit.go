package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// AuditEntry is one append-only record of a mutation: who did what to which
// object, when, and the hash of the object before and after.
type AuditEntry struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	ActorRole  string    `json:"actor_role"`
	Action     string    `json:"action"`
	ObjectKind string    `json:"object_kind"`
	ObjectID   string    `json:"object_id"`
	Team       string    `json:"team,omitempty"`
	BeforeHash string    `json:"before_hash,omitempty"`
	AfterHash  string    `json:"after_hash,omitempty"`
	Detail     string    `json:"detail,omitempty"`
}

// AppendAudit appends one record. Nothing in Telos updates or deletes audit
// records, and the database refuses it too.
func (s *Store) AppendAudit(ctx context.Context, e AuditEntry) error {
	return s.inTx(ctx, func(tx *sqlTx) error { return s.appendAudit(ctx, tx, e) })
}

func (s *Store) appendAudit(ctx context.Context, tx *sqlTx, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit (at, actor, actor_role, action, object_kind, object_id, team, before_hash, after_hash, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		formatTime(e.At), e.Actor, e.ActorRole, e.Action, e.ObjectKind, e.ObjectID, e.Team, e.BeforeHash, e.AfterHash, e.Detail); err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

// AuditFilter selects audit records; After is a cursor (records with a larger id).
type AuditFilter struct {
	Team   string
	Action string
	After  int64
	Limit  int
}

// Audit lists audit records, oldest first.
func (s *Store) Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	q := `SELECT id, at, actor, actor_role, action, object_kind, object_id, team, before_hash, after_hash, detail FROM audit WHERE id > ?`
	args := []any{f.After}
	if f.Team != "" {
		q += ` AND team = ?`
		args = append(args, f.Team)
	}
	if f.Action != "" {
		q += ` AND action = ?`
		args = append(args, f.Action)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 200
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, f.Limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var at string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.ActorRole, &e.Action, &e.ObjectKind, &e.ObjectID, &e.Team, &e.BeforeHash, &e.AfterHash, &e.Detail); err != nil {
			return nil, err
		}
		e.At = parseTime(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// hashJSON hashes the JSON form of v, the "before" and "after" of audit.
func hashJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return Hash(b)
}
