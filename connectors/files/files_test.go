package files_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/telos-dev/telos/connectors"
	"github.com/telos-dev/telos/connectors/files"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
}

func TestRead(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	write(t, filepath.Join(root, "notes.txt"), "hello")
	write(t, filepath.Join(root, "docs", "guide.md"), "# guide")
	write(t, filepath.Join(root, "empty.txt"), "")
	write(t, filepath.Join(root, "big.txt"), strings.Repeat("x", files.MaxBytes+1))
	write(t, filepath.Join(root, "max.txt"), strings.Repeat("x", files.MaxBytes))
	write(t, filepath.Join(root, "binary.bin"), "\xff\xfe\x00")
	write(t, filepath.Join(outside, "secret"), "s3cret")
	symlink(t, filepath.Join(outside, "secret"), filepath.Join(root, "escape"))
	symlink(t, filepath.Join("..", filepath.Base(outside), "secret"), filepath.Join(root, "relative-escape"))
	symlink(t, outside, filepath.Join(root, "outdir"))
	symlink(t, filepath.Join(outside, "missing"), filepath.Join(root, "dangling-escape"))
	symlink(t, "notes.txt", filepath.Join(root, "inside-link"))
	symlink(t, "loop", filepath.Join(root, "loop"))
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}

	reg := connectors.NewRegistry()
	for _, a := range files.Actions(files.Config{Root: root}) {
		reg.Register(a)
	}

	tests := []struct {
		path    string
		code    string // empty: the read succeeds
		content string
		rel     string
	}{
		{path: "notes.txt", content: "hello", rel: "notes.txt"},
		{path: "docs/guide.md", content: "# guide", rel: "docs/guide.md"},
		{path: "docs/../notes.txt", content: "hello", rel: "notes.txt"},
		{path: "./docs//guide.md", content: "# guide", rel: "docs/guide.md"},
		{path: "empty.txt", content: "", rel: "empty.txt"},
		{path: "inside-link", content: "hello", rel: "inside-link"},
		{path: "max.txt", content: strings.Repeat("x", files.MaxBytes), rel: "max.txt"},
		{path: "missing.txt", code: connectors.CodeNotFound},
		{path: "docs/missing.md", code: connectors.CodeNotFound},
		{path: "../" + filepath.Base(outside) + "/secret", code: connectors.CodeForbiddenDestination},
		{path: "docs/../../secret", code: connectors.CodeForbiddenDestination},
		{path: filepath.Join(outside, "secret"), code: connectors.CodeForbiddenDestination},
		{path: filepath.Join(root, "notes.txt"), code: connectors.CodeForbiddenDestination},
		{path: "escape", code: connectors.CodeForbiddenDestination},
		{path: "relative-escape", code: connectors.CodeForbiddenDestination},
		{path: "outdir/secret", code: connectors.CodeForbiddenDestination},
		{path: "dangling-escape", code: connectors.CodeForbiddenDestination},
		{path: "loop", code: connectors.CodeForbiddenDestination},
		{path: "big.txt", code: connectors.CodeTooLarge},
		{path: "docs", code: connectors.CodeInvalidInput},
		{path: "fifo", code: connectors.CodeInvalidInput},
		{path: "binary.bin", code: connectors.CodeInvalidInput},
		{path: "", code: connectors.CodeInvalidInput}, // required parameter is empty
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, err := reg.Call(context.Background(), "files.read", connectors.Request{Input: map[string]any{"path": tt.path}})
			if tt.code != "" {
				var cerr *connectors.Error
				if !errors.As(err, &cerr) {
					t.Fatalf("got %v, want a *connectors.Error with code %q", err, tt.code)
				}
				if cerr.Code != tt.code || cerr.Retryable {
					t.Errorf("got code %q retryable %v (%s), want %q not retryable", cerr.Code, cerr.Retryable, cerr.Message, tt.code)
				}
				if strings.Contains(cerr.Message, "s3cret") {
					t.Errorf("got message %q, want no file content in it", cerr.Message)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got := res.Output["content"]; got != tt.content {
				t.Errorf("got content of %d bytes, want %d", len(got.(string)), len(tt.content))
			}
			if got := res.Output["bytes"]; got != len(tt.content) {
				t.Errorf("got bytes %v, want %d", got, len(tt.content))
			}
			if got := res.Output["path"]; got != tt.rel {
				t.Errorf("got path %q, want %q", got, tt.rel)
			}
			if err := reg.CheckOutput("files.read", res.Output); err != nil {
				t.Errorf("output does not match the declared schema: %v", err)
			}
		})
	}
}

func TestReadMissingRoot(t *testing.T) {
	reg := connectors.NewRegistry()
	for _, a := range files.Actions(files.Config{Root: filepath.Join(t.TempDir(), "gone")}) {
		reg.Register(a)
	}
	_, err := reg.Call(context.Background(), "files.read", connectors.Request{Input: map[string]any{"path": "a.txt"}})
	var cerr *connectors.Error
	if err == nil || errors.As(err, &cerr) {
		t.Errorf("got %v, want a plain configuration error", err)
	}
}
