// Package secrets keeps connector credentials: values named per team
// ("slack-token"), sealed with AES-256-GCM before they reach the store, and
// opened again only for the connector that uses them. The API writes them
// and lists their names; nothing returns a value to a client.
//
// The 32-byte key comes from the operator (TELOS_SECRET_KEY or a key file)
// and never reaches the database, so a copy of the database alone reveals no
// credential.
package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/telos-dev/telos/store"
)

// KeySize is the length of the key in bytes: AES-256.
const KeySize = 32

// ParseKey decodes a key written as 64 hex digits or as base64 (standard or
// URL alphabet, padded or not) of 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("a secret key must be %d bytes written as %d hex digits or in base64; generate one with: openssl rand -hex %d", KeySize, 2*KeySize, KeySize)
}

// ReadKeyFile reads a key file holding a key as ParseKey accepts it.
func ReadKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read secret key file: %w", err)
	}
	key, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	return key, nil
}

// EnsureKeyFile reads the key file at path, first creating it with a fresh
// random key, readable by its owner only, if it does not exist. It is for
// `telos dev`; production supplies its key.
func EnsureKeyFile(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create secret key file: %w", err)
	}
	key := make([]byte, KeySize)
	rand.Read(key) // never fails on supported platforms
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return ReadKeyFile(path) // kept from an earlier start, or another process won the race
	}
	if err != nil {
		return nil, fmt.Errorf("create secret key file: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write secret key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write secret key file: %w", err)
	}
	return key, nil
}

// Store keeps sealed secrets. *store.Store implements it.
type Store interface {
	PutSecret(ctx context.Context, s store.Secret, audit store.AuditEntry) (store.Secret, error)
	Secret(ctx context.Context, team, name string) (store.Secret, error)
	SecretNames(ctx context.Context, team string) ([]store.Secret, error)
	DeleteSecret(ctx context.Context, team, name string, audit store.AuditEntry) error
}

var _ Store = (*store.Store)(nil)

// Info describes a stored secret without its value.
type Info struct {
	Team      string
	Name      string
	Version   int // 1 after the first write, counting up with each replacement
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ErrUndecryptable says a stored secret cannot be opened with the configured
// key: the key changed, or the row was tampered with.
var ErrUndecryptable = errors.New("cannot be decrypted with the configured secret key")

// Vault seals secrets on the way into the store and opens them on the way out.
type Vault struct {
	store Store
	aead  cipher.AEAD
}

// NewVault returns a vault over st that seals with key.
func NewVault(key []byte, st Store) (*Vault, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key: got %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &Vault{store: st, aead: aead}, nil
}

// additionalData binds a ciphertext to its team and name, so a sealed value
// copied to another row does not open there.
func additionalData(team, name string) []byte {
	return []byte("telos secret v1\x00" + team + "\x00" + name)
}

// Put seals value and stores it under team and name, replacing any earlier
// value, and appends audit (which records that the secret changed, never
// what it holds).
func (v *Vault) Put(ctx context.Context, team, name, value string, audit store.AuditEntry) (Info, error) {
	nonce := make([]byte, v.aead.NonceSize())
	rand.Read(nonce)
	sealed := v.aead.Seal(nil, nonce, []byte(value), additionalData(team, name))
	s, err := v.store.PutSecret(ctx, store.Secret{Team: team, Name: name, Ciphertext: sealed, Nonce: nonce, CreatedBy: audit.Actor}, audit)
	if err != nil {
		return Info{}, err
	}
	return info(s), nil
}

// Get opens the secret name of team. A missing secret is store.ErrNotFound.
// Only connectors call it, in the worker, just before they use the value.
func (v *Vault) Get(ctx context.Context, team, name string) (string, error) {
	s, err := v.store.Secret(ctx, team, name)
	if err != nil {
		return "", fmt.Errorf("secret %q of team %q: %w", name, team, err)
	}
	if len(s.Nonce) != v.aead.NonceSize() {
		return "", fmt.Errorf("secret %q of team %q: %w", name, team, ErrUndecryptable)
	}
	plain, err := v.aead.Open(nil, s.Nonce, s.Ciphertext, additionalData(team, name))
	if err != nil {
		return "", fmt.Errorf("secret %q of team %q: %w", name, team, ErrUndecryptable)
	}
	return string(plain), nil
}

// Names lists a team's secrets, sorted by name.
func (v *Vault) Names(ctx context.Context, team string) ([]Info, error) {
	list, err := v.store.SecretNames(ctx, team)
	if err != nil {
		return nil, err
	}
	out := make([]Info, len(list))
	for i, s := range list {
		out[i] = info(s)
	}
	return out, nil
}

// Delete removes a secret and appends audit; a missing one is store.ErrNotFound.
func (v *Vault) Delete(ctx context.Context, team, name string, audit store.AuditEntry) error {
	return v.store.DeleteSecret(ctx, team, name, audit)
}

func info(s store.Secret) Info {
	return Info{Team: s.Team, Name: s.Name, Version: s.Version, CreatedBy: s.CreatedBy, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}
