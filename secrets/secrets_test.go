package secrets_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/telos-dev/telos/secrets"
	"github.com/telos-dev/telos/store"
)

// testKey is 0x00, 0x01, …, 0x1f.
var testKey = func() []byte {
	k := make([]byte, secrets.KeySize)
	for i := range k {
		k[i] = byte(i)
	}
	return k
}()

func TestParseKey(t *testing.T) {
	const wantErr = "a secret key must be 32 bytes written as 64 hex digits or in base64; generate one with: openssl rand -hex 32"
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"hex", hex.EncodeToString(testKey), true},
		{"upper-case hex with newline", strings.ToUpper(hex.EncodeToString(testKey)) + "\n", true},
		{"base64", base64.StdEncoding.EncodeToString(testKey), true},
		{"base64 without padding", base64.RawStdEncoding.EncodeToString(testKey), true},
		{"base64 url alphabet", base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)), true},
		{"empty", "", false},
		{"short hex", hex.EncodeToString(testKey[:16]), false},
		{"long base64", base64.StdEncoding.EncodeToString(append(testKey, 1)), false},
		{"a passphrase", "correct horse battery staple", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secrets.ParseKey(tt.in)
			if !tt.ok {
				if err == nil || err.Error() != wantErr {
					t.Fatalf("got %v, want %q", err, wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			want := testKey
			if tt.name == "base64 url alphabet" {
				want = bytes.Repeat([]byte{0xfb}, 32)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got %x, want %x", got, want)
			}
		})
	}
}

func TestEnsureKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "secret.key")
	first, err := secrets.EnsureKeyFile(path)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("got mode %v, want 0600", info.Mode().Perm())
	}
	if len(first) != secrets.KeySize {
		t.Errorf("got a %d-byte key, want %d", len(first), secrets.KeySize)
	}
	again, err := secrets.EnsureKeyFile(path)
	if err != nil || !bytes.Equal(again, first) {
		t.Errorf("second start: got %x, %v; want the same key %x", again, err, first)
	}
	read, err := secrets.ReadKeyFile(path)
	if err != nil || !bytes.Equal(read, first) {
		t.Errorf("read: got %x, %v; want %x", read, err, first)
	}

	bad := filepath.Join(t.TempDir(), "bad.key")
	if err := os.WriteFile(bad, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.EnsureKeyFile(bad); err == nil || !strings.HasPrefix(err.Error(), "secret key file "+bad+": a secret key must be 32 bytes") {
		t.Errorf("bad file: got %v, want a key error naming the file", err)
	}
	if _, err := secrets.ReadKeyFile(filepath.Join(t.TempDir(), "missing.key")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want not exist", err)
	}
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "telos.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestVault(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	v, err := secrets.NewVault(testKey, st)
	if err != nil {
		t.Fatal(err)
	}
	const canary = "xoxb-CANARY-vault-0001"
	audit := store.AuditEntry{Actor: "ana", ActorRole: store.RoleMember, Action: "secret.put"}

	info, err := v.Put(ctx, "platform", "slack-token", canary, audit)
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	if info.Team != "platform" || info.Name != "slack-token" || info.Version != 1 || info.CreatedBy != "ana" || info.UpdatedAt.IsZero() {
		t.Errorf("put: got %+v, want platform/slack-token version 1 by ana", info)
	}
	if got, err := v.Get(ctx, "platform", "slack-token"); err != nil || got != canary {
		t.Errorf("get: got %q, %v; want the value", got, err)
	}
	sealed, err := st.Secret(ctx, "platform", "slack-token")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed.Ciphertext, []byte("CANARY")) || len(sealed.Nonce) != 12 || len(sealed.Ciphertext) != len(canary)+16 {
		t.Errorf("stored: got ciphertext %q nonce %d bytes, want sealed bytes (value + 16-byte tag) and a 12-byte nonce", sealed.Ciphertext, len(sealed.Nonce))
	}

	// The same value sealed again gets a fresh nonce.
	if info, err = v.Put(ctx, "platform", "slack-token", canary, audit); err != nil || info.Version != 2 {
		t.Fatalf("replace: got %+v, %v; want version 2", info, err)
	}
	resealed, _ := st.Secret(ctx, "platform", "slack-token")
	if bytes.Equal(resealed.Nonce, sealed.Nonce) || bytes.Equal(resealed.Ciphertext, sealed.Ciphertext) {
		t.Errorf("replace reused the nonce or ciphertext")
	}

	if _, err := v.Get(ctx, "platform", "jira-token"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing: got %v, want store.ErrNotFound", err)
	}
	if _, err := v.Get(ctx, "payments", "slack-token"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("other team: got %v, want store.ErrNotFound", err)
	}

	// A sealed value copied into another team's row does not open there.
	if _, err := st.PutSecret(ctx, store.Secret{Team: "payments", Name: "slack-token", Ciphertext: resealed.Ciphertext, Nonce: resealed.Nonce, CreatedBy: "mallory"}, audit); err != nil {
		t.Fatal(err)
	}
	if got, err := v.Get(ctx, "payments", "slack-token"); !errors.Is(err, secrets.ErrUndecryptable) || got != "" {
		t.Errorf("copied row: got %q, %v; want ErrUndecryptable", got, err)
	}

	other, err := secrets.NewVault(bytes.Repeat([]byte{7}, 32), st)
	if err != nil {
		t.Fatal(err)
	}
	_, err = other.Get(ctx, "platform", "slack-token")
	if want := `secret "slack-token" of team "platform": cannot be decrypted with the configured secret key`; err == nil || err.Error() != want {
		t.Errorf("wrong key: got %v, want %q", err, want)
	}

	names, err := v.Names(ctx, "platform")
	if err != nil || len(names) != 1 || names[0].Name != "slack-token" || names[0].Version != 2 {
		t.Errorf("names: got %+v, %v; want slack-token version 2", names, err)
	}
	if err := v.Delete(ctx, "platform", "slack-token", audit); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Get(ctx, "platform", "slack-token"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after delete: got %v, want store.ErrNotFound", err)
	}

	entries, err := st.Audit(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.BeforeHash+e.AfterHash+e.Detail+e.ObjectID, "CANARY") {
			t.Errorf("audit record holds the value: %+v", e)
		}
	}

	if _, err := secrets.NewVault(testKey[:16], st); err == nil || err.Error() != "secret key: got 16 bytes, want 32" {
		t.Errorf("short key: got %v", err)
	}
}
