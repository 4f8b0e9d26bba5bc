package llm

import "testing"

func TestNewTokenizerEncoding(t *testing.T) {
	tests := []struct {
		model, want string
	}{
		{"gpt-4o", "o200k_base"},
		{"gpt-4o-mini-2024-07-18", "o200k_base"},
		{"gpt-4.1-nano", "o200k_base"},
		{"gpt-5-mini", "o200k_base"},
		{"o1-preview", "o200k_base"},
		{"o3-mini", "o200k_base"},
		{"o4-mini", "o200k_base"},
		{"openai/gpt-4o", "o200k_base"},
		{"GPT-4o", "o200k_base"},
		{"gpt-4", "cl100k_base"},
		{"gpt-4-turbo", "cl100k_base"},
		{"gpt-3.5-turbo", "cl100k_base"},
		{"llama3.1:8b", "cl100k_base"},
		{"", "cl100k_base"},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			tok, err := NewTokenizer(tt.model)
			if err != nil {
				t.Fatalf("NewTokenizer(%q): %v", tt.model, err)
			}
			if got := tok.Encoding(); got != tt.want {
				t.Errorf("got encoding %s, want %s", got, tt.want)
			}
		})
	}
}

func TestTokenizerCount(t *testing.T) {
	tests := []struct {
		model, text string
		want        int
	}{
		{"gpt-4o", "", 0},
		{"gpt-4o", "hello world", 2},
		{"gpt-4", "hello world", 2},
		{"gpt-4o", "Hello, world!", 4},
		{"gpt-4", "Hello, world!", 4},
		{"gpt-4o", "Telos records every token it spends.", 8},
		// The encodings differ on non-ASCII text.
		{"gpt-4o", "naïve café 🚀", 6},
		{"gpt-4", "naïve café 🚀", 7},
		// A special-token marker in user text is plain text.
		{"gpt-4o", "<|endoftext|>", 7},
		{"gpt-4", "<|endoftext|>", 7},
	}
	for _, tt := range tests {
		t.Run(tt.model+"/"+tt.text, func(t *testing.T) {
			tok, err := NewTokenizer(tt.model)
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.Count(tt.text); got != tt.want {
				t.Errorf("Count(%q) = %d, want %d", tt.text, got, tt.want)
			}
		})
	}
}

func TestTokenizerCountChat(t *testing.T) {
	tests := []struct {
		name, model, system, prompt string
		want                        int
	}{
		// 3 + 1 ("system") + 4 + 3 + 1 ("user") + 3 + 3 for the reply.
		{"system and prompt", "gpt-4o-mini", "You are terse.", "Say hello.", 18},
		{"system and prompt cl100k", "gpt-4", "You are terse.", "Say hello.", 18},
		// 3 + 1 ("user") + 3 + 3 for the reply.
		{"prompt only", "gpt-4o-mini", "", "Say hello.", 10},
		{"nothing", "gpt-4o-mini", "", "", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := NewTokenizer(tt.model)
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.CountChat(tt.system, tt.prompt); got != tt.want {
				t.Errorf("CountChat(%q, %q) = %d, want %d", tt.system, tt.prompt, got, tt.want)
			}
		})
	}
}

func TestTokenizerTruncate(t *testing.T) {
	tok, err := NewTokenizer("gpt-4o")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text string
		n    int
		want string
	}{
		{"Hello, world!", 10, "Hello, world!"},
		{"Hello, world!", 2, "Hello,"},
		{"Hello, world!", 0, ""},
	}
	for _, tt := range tests {
		if got := tok.truncate(tt.text, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.text, tt.n, got, tt.want)
		}
	}
}
