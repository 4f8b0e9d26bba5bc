package connectors

import "testing"

func TestRedact(t *testing.T) {
	const secret = `t0k/en+"x`
	tests := []struct{ in, want string }{
		{"auth " + secret + " failed", "auth [redacted] failed"},
		{"?token=t0k%2Fen%2B%22x", "?token=[redacted]"},
		{"/t0k%2Fen+%22x/", "/[redacted]/"},
		{`{"token":"t0k/en+\"x"}`, `{"token":"[redacted]"}`},
		{"nothing secret", "nothing secret"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in, secret, ""); got != tt.want {
			t.Errorf("Redact(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}
