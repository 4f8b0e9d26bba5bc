// Package files provides the files.read action: reading a text file beneath
// one directory the operator chose. It uses os.Root, so "..", absolute paths
// and symbolic links cannot reach anything outside that directory.
package files

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/telos-dev/telos/connectors"
)

// MaxBytes is the largest file files.read returns.
const MaxBytes = 4 << 20

// Config configures the files actions.
type Config struct {
	// Root is the directory agents may read beneath.
	Root string
}

// Actions returns files.read over cfg.Root.
func Actions(cfg Config) []connectors.Action {
	return []connectors.Action{{
		ID:          "files.read",
		Class:       connectors.Read,
		Description: "Read a UTF-8 text file beneath the configured directory.",
		InputSchema: json.RawMessage(`{
			"type": "object",
			"properties": {"path": {"type": "string", "minLength": 1, "description": "Path relative to the configured directory."}},
			"required": ["path"],
			"additionalProperties": false
		}`),
		OutputSchema: json.RawMessage(`{
			"type": "object",
			"properties": {"path": {"type": "string"}, "content": {"type": "string"}, "bytes": {"type": "integer"}},
			"required": ["path", "content", "bytes"]
		}`),
		Destination: "path",
		Do: func(ctx context.Context, req connectors.Request) (connectors.Result, error) {
			name, _ := req.Input["path"].(string)
			return read(cfg.Root, name)
		},
	}}
}

func read(rootDir, name string) (connectors.Result, error) {
	// os.Root refuses these too; checking first gives the caller a clearer message.
	if strings.ContainsRune(name, 0) {
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "path contains a NUL byte")
	}
	if !filepath.IsLocal(name) {
		return connectors.Result{}, connectors.Errorf(connectors.CodeForbiddenDestination, "path %q is not a relative path inside the root", name)
	}
	// Opening per call keeps no descriptor open between runs and picks up a
	// root that was replaced.
	root, err := os.OpenRoot(rootDir)
	if err != nil {
		return connectors.Result{}, fmt.Errorf("files: open root: %w", err)
	}
	defer root.Close()

	// Refuse anything but a regular file before opening it: opening a FIFO
	// for reading blocks until something writes to it.
	info, err := root.Stat(name)
	if err != nil {
		return connectors.Result{}, openError(name, err)
	}
	if !info.Mode().IsRegular() {
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "path %q is not a regular file", name)
	}
	if info.Size() > MaxBytes {
		return connectors.Result{}, tooLarge(name)
	}
	f, err := root.Open(name)
	if err != nil {
		return connectors.Result{}, openError(name, err)
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		// Swapped for something else between Stat and Open.
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "path %q is not a regular file", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxBytes+1))
	if err != nil {
		return connectors.Result{}, fmt.Errorf("files: read %q: %w", name, err)
	}
	if len(data) > MaxBytes {
		return connectors.Result{}, tooLarge(name)
	}
	// The content becomes a JSON string and prompt text; binary would be
	// mangled on the way, so refuse it plainly.
	if !utf8.Valid(data) {
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "path %q is not UTF-8 text", name)
	}
	return connectors.Result{Output: map[string]any{
		"path":    filepath.ToSlash(filepath.Clean(name)),
		"content": string(data),
		"bytes":   len(data),
	}}, nil
}

func tooLarge(name string) error {
	return connectors.Errorf(connectors.CodeTooLarge, "path %q is larger than %d bytes", name, MaxBytes)
}

// openError classifies an error from the root. os.Root reports a path that
// escapes it with an unexported error that is not a system error number, so
// any such error is taken to be an escape.
func openError(name string, err error) error {
	var errno syscall.Errno
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return connectors.Errorf(connectors.CodeNotFound, "path %q does not exist", name)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.ELOOP), !errors.As(err, &errno):
		return connectors.Errorf(connectors.CodeForbiddenDestination, "path %q escapes the root or may not be read", name)
	case errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.EINVAL), errors.Is(err, syscall.ENAMETOOLONG), errors.Is(err, syscall.EISDIR):
		return connectors.Errorf(connectors.CodeInvalidInput, "path %q does not name a file", name)
	}
	// Anything else is the machine's trouble, not the path's: worth a retry,
	// and the operating system's wording stays out of the message.
	return &connectors.Error{Code: connectors.CodeUpstream, Retryable: true, Message: fmt.Sprintf("path %q could not be read (%s)", name, errno.Error())}
}
