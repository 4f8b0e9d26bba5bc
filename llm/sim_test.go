package llm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/telos-dev/telos/agents"
)

// readData reads a file of /work/shared/data, which lies beside the module,
// and skips the test where it is missing.
func readData(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "data", name))
	if errors.Is(err, os.ErrNotExist) {
		tb.Skipf("%s not found: %v", name, err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

const simChangelog = `List breaking changes and security fixes:
# Changelog

## v1.2.0 - 2026-05-01

**Security**

* Bump golang.org/x/net to v0.23.0

**Enhancements**

* Add dark mode to the admin pages

## v1.1.0 - 2026-04-01

* Remove the deprecated Foo API; this is a breaking change
* Faster routing for static paths

` + "```go\nfix := breaking()\n```\n"

func TestSimComplete(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want Response
	}{
		{
			name: "lines under their headings",
			req:  Request{Model: "gpt-4o-mini", Prompt: simChangelog},
			want: Response{
				Text: "Simulated answer (sim provider, extractive):\n" +
					"# Changelog\n" +
					"## v1.2.0 - 2026-05-01\n" +
					"**Security**\n" +
					"- Bump golang.org/x/net to v0.23.0\n" +
					"## v1.1.0 - 2026-04-01\n" +
					"- Remove the deprecated Foo API; this is a breaking change",
				Usage:         agents.Usage{InputTokens: 111, OutputTokens: 77},
				Simulated:     true,
				Provider:      "sim",
				ResponseModel: "gpt-4o-mini",
			},
		},
		{
			name: "best line first when the budget is tight",
			req:  Request{Model: "gpt-4o-mini", Prompt: simChangelog, MaxTokens: 45},
			want: Response{
				Text: "Simulated answer (sim provider, extractive):\n" +
					"# Changelog\n" +
					"## v1.1.0 - 2026-04-01\n" +
					"- Remove the deprecated Foo API; this is a breaking change",
				Usage:         agents.Usage{InputTokens: 111, OutputTokens: 42},
				Simulated:     true,
				Provider:      "sim",
				ResponseModel: "gpt-4o-mini",
			},
		},
		{
			name: "header cut to a tiny budget",
			req:  Request{Model: "gpt-4o-mini", Prompt: simChangelog, MaxTokens: 3},
			want: Response{
				Text:          "Simulated answer",
				Usage:         agents.Usage{InputTokens: 111, OutputTokens: 3},
				Simulated:     true,
				Provider:      "sim",
				ResponseModel: "gpt-4o-mini",
			},
		},
		{
			name: "opening of the document when nothing matches",
			req:  Request{Model: "gpt-4", System: "Be brief.", Prompt: "Summarize:\n# Notes\nThe cache is faster.\nThe docs moved.\n"},
			want: Response{
				Text: "Simulated answer (sim provider, extractive):\n" +
					"# Notes\n" +
					"- The cache is faster.\n" +
					"- The docs moved.",
				Usage:         agents.Usage{InputTokens: 30, OutputTokens: 24},
				Simulated:     true,
				Provider:      "sim",
				ResponseModel: "gpt-4",
			},
		},
		{
			name: "empty prompt",
			req:  Request{Model: "gpt-4o"},
			want: Response{
				Text:          "Simulated answer (sim provider, extractive):\n- the prompt has no text to extract from",
				Usage:         agents.Usage{InputTokens: 7, OutputTokens: 19},
				Simulated:     true,
				Provider:      "sim",
				ResponseModel: "gpt-4o",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewSim().Complete(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestSimDeterministic(t *testing.T) {
	req := Request{
		Model:     "gpt-4o-mini",
		System:    "You review dependency release notes for a platform team.",
		Prompt:    "List releases with breaking changes or security fixes:\n" + readData(t, "echo-CHANGELOG.md"),
		MaxTokens: 800,
	}
	first, err := NewSim().Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		again, err := NewSim().Complete(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(again, first) {
			t.Fatalf("got %+v, want the first answer %+v", again, first)
		}
	}
}

func TestSimReleaseNotes(t *testing.T) {
	changelog := readData(t, "echo-CHANGELOG.md")
	const system = "You review dependency release notes for a platform team."
	prompt := "List releases with breaking changes or security fixes:\n" + changelog
	tests := []struct {
		name      string
		maxTokens int
		wantMax   int
	}{
		{"default budget", 0, 512},
		{"step budget", 800, 800},
		{"small budget", 120, 120},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := Request{Model: "gpt-4o-mini", System: system, Prompt: prompt, MaxTokens: tt.maxTokens}
			got, err := NewSim().Complete(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := NewTokenizer("gpt-4o-mini")
			if err != nil {
				t.Fatal(err)
			}
			if want := int64(tok.CountChat(system, prompt)); got.Usage.InputTokens != want {
				t.Errorf("got %d input tokens, want %d", got.Usage.InputTokens, want)
			}
			if want := int64(tok.Count(got.Text)); got.Usage.OutputTokens != want {
				t.Errorf("got %d output tokens, want Count(text) = %d", got.Usage.OutputTokens, want)
			}
			if got.Usage.OutputTokens > int64(tt.wantMax) {
				t.Errorf("got %d output tokens, want at most %d", got.Usage.OutputTokens, tt.wantMax)
			}
			lines := strings.Split(got.Text, "\n")
			if lines[0] != simHeader {
				t.Errorf("got first line %q, want %q", lines[0], simHeader)
			}
			relevant := 0
			for _, line := range lines[1:] {
				text, bullet := strings.CutPrefix(line, "- ")
				// Extractive: every line comes from the changelog.
				if !strings.Contains(changelog, strings.TrimSuffix(text, " …")) {
					t.Errorf("line %q is not in the changelog", line)
				}
				lower := strings.ToLower(text)
				if bullet && (strings.Contains(lower, "security") || strings.Contains(lower, "breaking") || strings.Contains(lower, "vulnerab")) {
					relevant++
				}
			}
			if relevant == 0 {
				t.Errorf("no line of the answer mentions security or breaking changes:\n%s", got.Text)
			}
		})
	}
}

func TestSimCompleteErrors(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		req  Request
		want string
	}{
		{"canceled", canceled, Request{Model: "gpt-4o", Prompt: "hi"}, "sim: context canceled"},
		{"negative max tokens", context.Background(), Request{Model: "gpt-4o", Prompt: "hi", MaxTokens: -5}, "sim: max tokens -5 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSim().Complete(tt.ctx, tt.req)
			var got *Error
			if !errors.As(err, &got) || got.Error() != tt.want {
				t.Errorf("got error %v, want *Error %q", err, tt.want)
			}
		})
	}
}

func TestSplitInstruction(t *testing.T) {
	tests := []struct {
		name, prompt, instruction, document string
	}{
		{"colon", "List fixes:\n# Changelog\n", "List fixes:\n", "# Changelog\n"},
		{"heading", "List fixes\n## v1\n- a\n", "List fixes\n", "## v1\n- a\n"},
		{"blank line", "List fixes\nin these notes\n\nbody\n", "List fixes\nin these notes\n", "\nbody\n"},
		{"first line only", "a\nb\nc\nd\ne\nf\n", "a\n", "b\nc\nd\ne\nf\n"},
		{"no instruction", "# Changelog\n- a\n", "", "# Changelog\n- a\n"},
		{"all instruction", "What is new?", "What is new?", "What is new?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			instruction, document := splitInstruction(tt.prompt)
			if instruction != tt.instruction || document != tt.document {
				t.Errorf("got (%q, %q), want (%q, %q)", instruction, document, tt.instruction, tt.document)
			}
		})
	}
}

func TestHeadingLevel(t *testing.T) {
	tests := []struct {
		line string
		want int
	}{
		{"# Changelog", 1},
		{"## [v4.12.0] - 2024-04-15", 2},
		{"### Fixed", 3},
		{"#2699 is fixed", 0},
		{"v4.12.0", 2},
		{"[9.7.0] - 2025-01-01", 2},
		{"**Security**", 7},
		{"**Breaking changes**:", 7},
		{"**BREAKING CHANGE** JWT middleware removed", 0},
		{"1.5 times faster", 0},
		{"plain text", 0},
	}
	for _, tt := range tests {
		if got := headingLevel(tt.line); got != tt.want {
			t.Errorf("headingLevel(%q) = %d, want %d", tt.line, got, tt.want)
		}
	}
}

func BenchmarkSimRelease(b *testing.B) {
	req := Request{
		Model:     "gpt-4o-mini",
		System:    "You review dependency release notes for a platform team.",
		Prompt:    "List releases with breaking changes or security fixes:\n" + readData(b, "go-redis-RELEASE-NOTES.md"),
		MaxTokens: 800,
	}
	sim := NewSim()
	ctx := context.Background()
	if _, err := sim.Complete(ctx, req); err != nil { // loads the tokenizer
		b.Fatal(err)
	}
	b.SetBytes(int64(len(req.Prompt)))
	for b.Loop() {
		if _, err := sim.Complete(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
