package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/telos-dev/telos/connectors/inbox"
)

// PutBlob stores data under its SHA-256 and returns the hash. Storing the same
// bytes twice is a no-op, so retried activities can call it freely.
func (s *Store) PutBlob(ctx context.Context, data []byte) (string, error) {
	h := Hash(data)
	if _, err := s.db.ExecContext(ctx, `INSERT INTO blobs (hash, data, created_at) VALUES (?, ?, ?) ON CONFLICT (hash) DO NOTHING`,
		h, data, formatTime(s.now())); err != nil {
		return "", fmt.Errorf("put blob: %w", err)
	}
	return h, nil
}

// Blob returns the bytes stored under hash.
func (s *Store) Blob(ctx context.Context, hash string) ([]byte, error) {
	var b []byte
	err := s.db.QueryRowContext(ctx, `SELECT data FROM blobs WHERE hash = ?`, hash).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get blob: %w", err)
	}
	return b, nil
}

// InboxMessage is a delivered message.
type InboxMessage struct {
	ID string
	inbox.Message
	CreatedAt time.Time
}

// DeliverMessage stores a message for a team. A second delivery from the same
// run and step returns the first message's id, so a retried step posts once.
func (s *Store) DeliverMessage(ctx context.Context, m inbox.Message) (string, error) {
	id := "msg_" + Hash([]byte(m.RunID + "\x00" + m.StepID))[:20]
	if _, err := s.db.ExecContext(ctx, `INSERT INTO inbox (id, team, agent, run_id, step_id, title, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (run_id, step_id) DO NOTHING`, id, m.Team, m.Agent, m.RunID, m.StepID, m.Title, m.Text, formatTime(s.now())); err != nil {
		return "", fmt.Errorf("deliver message: %w", err)
	}
	return id, nil
}

// Inbox lists a team's messages, newest first.
func (s *Store) Inbox(ctx context.Context, team string, limit int) ([]InboxMessage, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, team, agent, run_id, step_id, title, body, created_at FROM inbox WHERE team = ? ORDER BY created_at DESC, id DESC LIMIT ?`, team, limit)
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	defer rows.Close()
	out := []InboxMessage{}
	for rows.Next() {
		var m InboxMessage
		var c string
		if err := rows.Scan(&m.ID, &m.Team, &m.Agent, &m.RunID, &m.StepID, &m.Title, &m.Text, &c); err != nil {
			return nil, fmt.Errorf("inbox: %w", err)
		}
		m.CreatedAt = parseTime(c)
		out = append(out, m)
	}
	return out, rows.Err()
}
