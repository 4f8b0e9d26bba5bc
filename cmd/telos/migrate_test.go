package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

func TestMigrateChoosesTheDatabase(t *testing.T) {
	dir := t.TempDir()
	flag, url, path := filepath.Join(dir, "flag.db"), filepath.Join(dir, "url.db"), filepath.Join(dir, "path.db")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // the file that must exist afterwards
	}{
		{"flag first", []string{"--database-url", flag}, map[string]string{"TELOS_DATABASE_URL": url, "TELOS_DATABASE_PATH": path}, flag},
		{"then TELOS_DATABASE_URL", nil, map[string]string{"TELOS_DATABASE_URL": url, "TELOS_DATABASE_PATH": path}, url},
		{"then TELOS_DATABASE_PATH", nil, map[string]string{"TELOS_DATABASE_PATH": path}, path},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"migrate"}, tt.args...), func(k string) string { return tt.env[k] }, &stdout, &stderr)
			if err != nil {
				t.Fatalf("migrate: %v (stderr %q)", err, stderr.String())
			}
			if got := stdout.String(); !regexp.MustCompile(`^sqlite schema is at version [1-9][0-9]*\n$`).MatchString(got) {
				t.Errorf("got %q, want the sqlite schema version", got)
			}
			if _, err := os.Stat(tt.want); err != nil {
				t.Errorf("got no database at %s: %v", tt.want, err)
			}
		})
	}
}
