package agents

import "testing"

func TestDestinationAllowed(t *testing.T) {
	allow := map[string][]string{
		"slack":  {"#platform-deps"},
		"github": {"acme/api", "tools/*"},
		"jira":   {"ENG"},
		"email":  {"acme.com"},
		"http":   {"hooks.example.com", "127.0.0.1:8443"},
	}
	tests := []struct {
		connector string
		dest      any
		want      bool
	}{
		{"slack", "#platform-deps", true},
		{"slack", "platform-deps", true},
		{"slack", "#PLATFORM-DEPS", true},
		{"slack", "#general", false},
		{"slack", "", false},
		{"github", "acme/api", true},
		{"github", "acme/web", false},
		{"github", "tools/anything", true},
		{"jira", "ENG", true},
		{"jira", "ENG-42", true},
		{"jira", "OPS-1", false},
		{"email", "ana@acme.com", true},
		{"email", []any{"ana@acme.com", "Bo <bo@acme.com>"}, true},
		{"email", "ana@acme.com, eve@evil.example", false},
		{"email", "ana@sub.acme.com", false},
		{"http", "https://hooks.example.com/x", true},
		{"http", "https://127.0.0.1:8443/x", true},
		{"http", "https://evil.example/x", false},
		{"inbox", nil, true},
		{"slack", 42, false},
	}
	for _, tt := range tests {
		got, _ := DestinationAllowed(allow, tt.connector, tt.dest)
		if got != tt.want {
			t.Errorf("%s %v: got %v, want %v", tt.connector, tt.dest, got, tt.want)
		}
	}
	if ok, _ := DestinationAllowed(nil, "slack", "#platform-deps"); ok {
		t.Error("nothing declared: got allowed, want refused")
	}
}
