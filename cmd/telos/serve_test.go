package main

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretKey(t *testing.T) {
	envKey := bytes.Repeat([]byte{0xaa}, 32)
	fileKey := bytes.Repeat([]byte{0xbb}, 32)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(fileKey)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		dev     bool
		want    []byte // nil: secrets off
		wantErr string
		created bool // a key file appeared in the data dir
	}{
		{"environment", map[string]string{"TELOS_SECRET_KEY": hex.EncodeToString(envKey)}, false, envKey, "", false},
		{"environment before file", map[string]string{"TELOS_SECRET_KEY": hex.EncodeToString(envKey), "TELOS_SECRET_KEY_FILE": keyFile}, true, envKey, "", false},
		{"file", map[string]string{"TELOS_SECRET_KEY_FILE": keyFile}, false, fileKey, "", false},
		{"bad environment", map[string]string{"TELOS_SECRET_KEY": "hunter2"}, true, nil, "TELOS_SECRET_KEY: a secret key must be 32 bytes", false},
		{"missing file", map[string]string{"TELOS_SECRET_KEY_FILE": filepath.Join(dir, "nope")}, true, nil, "read secret key file: open ", false},
		{"server without a key", nil, false, nil, "", false},
		{"dev without a key generates one", nil, true, nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			got, err := secretKey(func(k string) string { return tt.env[k] }, dataDir, tt.dev)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error starting %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			_, statErr := os.Stat(filepath.Join(dataDir, "secret.key"))
			if created := statErr == nil; created != tt.created {
				t.Errorf("got key file created %v, want %v", created, tt.created)
			}
			if tt.created {
				again, err := secretKey(func(string) string { return "" }, dataDir, true)
				if len(got) != 32 || err != nil || !bytes.Equal(again, got) {
					t.Errorf("got %x then %x (%v), want the same 32-byte key on the next start", got, again, err)
				}
				return
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("got key %x, want %x", got, tt.want)
			}
		})
	}
}
