package api

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/telos-dev/telos/secrets"
	"github.com/telos-dev/telos/store"
)

// TestSecretsRoutes drives the secrets handlers over HTTP against a real
// SQLite store: what they answer, to whom, and that no answer holds a value.
func TestSecretsRoutes(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "telos.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, k := range []store.APIKey{
		{Hash: store.Hash([]byte("key-ana")), Prefix: "tls_ana", User: "ana", Team: "platform", Role: store.RoleMember, CreatedBy: "test"},
		{Hash: store.Hash([]byte("key-root")), Prefix: "tls_root", User: "root", Team: "ops", Role: store.RoleAdmin, CreatedBy: "test"},
	} {
		if err := st.CreateKey(ctx, k, store.AuditEntry{Actor: "test", Action: "key.issued"}); err != nil {
			t.Fatal(err)
		}
	}
	vault, err := secrets.NewVault(bytes.Repeat([]byte{1}, 32), st)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)
	on := httptest.NewServer((&Server{Store: st, Secrets: vault, Now: func() time.Time { return now }}).Handler())
	t.Cleanup(on.Close)
	off := httptest.NewServer((&Server{Store: st, Now: func() time.Time { return now }}).Handler())
	t.Cleanup(off.Close)

	const value = "xoxb-api-test-VALUE"
	tests := []struct {
		name   string
		srv    *httptest.Server
		key    string
		method string
		path   string
		body   string
		status int
		// want is a fragment the body must hold; every body is also checked
		// for the value.
		want string
	}{
		{"store", on, "key-ana", "POST", "/v1/secrets", `{"name":"slack-token","value":"` + value + `"}`, 201, `{"name":"slack-token","team":"platform","updated_at":"`},
		{"replace", on, "key-ana", "POST", "/v1/secrets", `{"name":"slack-token","value":"` + value + `-2"}`, 200, `{"name":"slack-token","team":"platform","updated_at":"`},
		{"list", on, "key-ana", "GET", "/v1/secrets", "", 200, `{"items":[{"name":"slack-token","team":"platform","created_at":"`},
		{"admin lists another team", on, "key-root", "GET", "/v1/secrets?team=platform", "", 200, `"name":"slack-token","team":"platform"`},
		{"admin's own team is empty", on, "key-root", "GET", "/v1/secrets", "", 200, `{"items":[]}`},
		{"member names another team", on, "key-ana", "GET", "/v1/secrets?team=ops", "", 404, `"detail":"not found"`},
		{"bad name", on, "key-ana", "POST", "/v1/secrets", `{"name":"../etc","value":"x"}`, 422,
			`"errors":[{"path":"name","message":"must be a lowercase name of letters, digits and '-' (1-63 characters)"}]`},
		{"no value", on, "key-ana", "POST", "/v1/secrets", `{"name":"a"}`, 422, `"errors":[{"path":"value","message":"required"}]`},
		{"value not a string", on, "key-ana", "POST", "/v1/secrets", `{"name":"a","value":42}`, 422, `"errors":[{"path":"value","message":"must be a string"}]`},
		{"value too large", on, "key-ana", "POST", "/v1/secrets", `{"name":"a","value":"` + strings.Repeat("x", MaxSecretBytes+1) + `"}`, 422,
			`"errors":[{"path":"value","message":"must be at most 64 KiB"}]`},
		{"empty body", on, "key-ana", "POST", "/v1/secrets", ``, 400, `"detail":"the request body is empty"`},
		{"delete unknown", on, "key-ana", "DELETE", "/v1/secrets/jira-token", "", 404, `"detail":"not found"`},
		{"delete", on, "key-ana", "DELETE", "/v1/secrets/slack-token", "", 204, ""},
		{"off: store", off, "key-ana", "POST", "/v1/secrets", `{"name":"slack-token","value":"` + value + `"}`, 503,
			`"detail":"secret storage is not configured: set TELOS_SECRET_KEY or TELOS_SECRET_KEY_FILE on the API server and the workers"`},
		{"off: list", off, "key-ana", "GET", "/v1/secrets", "", 503, `"status":503`},
		{"off: delete", off, "key-ana", "DELETE", "/v1/secrets/slack-token", "", 503, `"status":503`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, tt.srv.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tt.key)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var buf bytes.Buffer
			buf.ReadFrom(resp.Body)
			body := buf.String()
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("got %d %.300s, want %d with %s", resp.StatusCode, body, tt.status, tt.want)
			}
			if strings.Contains(body, "VALUE") {
				t.Errorf("the response holds the value: %.300s", body)
			}
		})
	}

	entries, err := st.Audit(ctx, store.AuditFilter{Action: "secret.put"})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Detail != "created" || entries[1].Detail != "replaced (version 2)" || entries[1].Actor != "ana" || entries[1].ActorRole != "member" {
		t.Errorf("audit: got %+v, want created then replaced, by ana", entries)
	}
}
