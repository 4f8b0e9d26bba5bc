package jira

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestADFDocument(t *testing.T) {
	text := func(s string) any { return map[string]any{"type": "text", "text": s} }
	br := map[string]any{"type": "hardBreak"}
	para := func(content ...any) any { return map[string]any{"type": "paragraph", "content": content} }
	tests := []struct {
		name string
		in   string
		want []any
	}{
		{"empty", "", []any{}},
		{"blank lines only", " \n\n\t\n", []any{}},
		{"one line", "Deployed.", []any{para(text("Deployed."))}},
		{"line breaks stay", "a\nb", []any{para(text("a"), br, text("b"))}},
		{"blank lines separate paragraphs", "a\r\n\r\n\r\nb\n  \nc", []any{para(text("a")), para(text("b")), para(text("c"))}},
		{"indentation is kept", "  - item", []any{para(text("  - item"))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := map[string]any{"type": "doc", "version": 1, "content": tt.want}
			if got := adfDocument(tt.in); !reflect.DeepEqual(got, want) {
				t.Errorf("got %#v, want %#v", got, want)
			}
		})
	}
}

func TestPlainText(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"no description", `null`, ""},
		{"empty document", `{"type":"doc","version":1,"content":[]}`, ""},
		{"paragraphs and a break",
			`{"type":"doc","version":1,"content":[
				{"type":"paragraph","content":[{"type":"text","text":"one"},{"type":"hardBreak"},{"type":"text","text":"two","marks":[{"type":"em"}]}]},
				{"type":"paragraph","content":[{"type":"text","text":"three"}]}]}`,
			"one\ntwo\n\nthree"},
		{"ordered list starting at 3 with a nested list",
			`{"type":"doc","version":1,"content":[{"type":"orderedList","attrs":{"order":3},"content":[
				{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"a"}]},
					{"type":"bulletList","content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"b"}]}]}]}]},
				{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"c"}]}]}]}]}`,
			"3. a\n   - b\n4. c"},
		{"quote, rule and panel",
			`{"type":"doc","version":1,"content":[
				{"type":"blockquote","content":[{"type":"paragraph","content":[{"type":"text","text":"said"},{"type":"hardBreak"},{"type":"text","text":"so"}]}]},
				{"type":"rule"},
				{"type":"panel","attrs":{"panelType":"info"},"content":[{"type":"paragraph","content":[{"type":"text","text":"note"}]}]}]}`,
			"> said\n> so\n\n---\n\nnote"},
		{"table",
			`{"type":"doc","version":1,"content":[{"type":"table","content":[
				{"type":"tableRow","content":[{"type":"tableHeader","content":[{"type":"paragraph","content":[{"type":"text","text":"Host"}]}]},
					{"type":"tableHeader","content":[{"type":"paragraph","content":[{"type":"text","text":"State"}]}]}]},
				{"type":"tableRow","content":[{"type":"tableCell","content":[{"type":"paragraph","content":[{"type":"text","text":"db1"}]}]},
					{"type":"tableCell","content":[{"type":"paragraph","content":[{"type":"text","text":"down"}]}]}]}]}]}`,
			"Host | State\ndb1 | down"},
		{"inline nodes",
			`{"type":"doc","version":1,"content":[{"type":"paragraph","content":[
				{"type":"mention","attrs":{"id":"1","text":"@Ada"}},{"type":"text","text":" "},
				{"type":"status","attrs":{"text":"BLOCKED","color":"red"}},{"type":"text","text":" "},
				{"type":"emoji","attrs":{"shortName":":smile:"}},{"type":"text","text":" "},
				{"type":"inlineCard","attrs":{"url":"https://acme.test/x"}},{"type":"text","text":" due "},
				{"type":"date","attrs":{"timestamp":"1767225600000"}}]}]}`,
			"@Ada BLOCKED :smile: https://acme.test/x due 2026-01-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc *adfNode
			if err := json.Unmarshal([]byte(tt.doc), &doc); err != nil {
				t.Fatal(err)
			}
			if got := plainText(doc); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
