package jira

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// adfNode is one node of an Atlassian Document Format document, the rich
// text Jira Cloud REST v3 uses for descriptions and comments. Only what
// plain-text rendering needs is decoded; marks (bold, links…) are dropped.
type adfNode struct {
	Type    string         `json:"type"`
	Text    string         `json:"text,omitempty"`
	Attrs   map[string]any `json:"attrs,omitempty"`
	Content []adfNode      `json:"content,omitempty"`
}

// adfDocument turns plain text into an ADF document: lines separated by a
// blank line become paragraphs, and single line breaks stay line breaks.
// Jira refuses empty text nodes, so blank lines never become nodes.
func adfDocument(text string) map[string]any {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var paragraphs []any
	var inline []any
	flush := func() {
		if len(inline) > 0 {
			paragraphs = append(paragraphs, map[string]any{"type": "paragraph", "content": inline})
			inline = nil
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if len(inline) > 0 {
			inline = append(inline, map[string]any{"type": "hardBreak"})
		}
		inline = append(inline, map[string]any{"type": "text", "text": line})
	}
	flush()
	if paragraphs == nil {
		paragraphs = []any{}
	}
	return map[string]any{"type": "doc", "version": 1, "content": paragraphs}
}

// plainText renders an ADF document as plain text for an agent to read:
// blocks separated by blank lines, lists with "- " or "1. ", quotes with
// "> ", tables as rows of cells separated by " | ". Media have no text and
// are left out.
func plainText(doc *adfNode) string {
	if doc == nil {
		return ""
	}
	return strings.TrimSpace(blocks(doc.Content, "\n\n"))
}

func blocks(nodes []adfNode, sep string) string {
	var parts []string
	for _, n := range nodes {
		if s := block(n); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, sep)
}

func block(n adfNode) string {
	switch n.Type {
	case "paragraph", "heading", "codeBlock":
		return inline(n.Content)
	case "bulletList", "orderedList":
		first := 1
		if o, ok := n.Attrs["order"].(float64); ok && o >= 0 {
			first = int(o)
		}
		var items []string
		for i, item := range n.Content {
			marker := "- "
			if n.Type == "orderedList" {
				marker = strconv.Itoa(first+i) + ". "
			}
			// Continuation lines line up under the item's text, so nested
			// lists read as nested.
			body := blocks(item.Content, "\n")
			items = append(items, marker+strings.ReplaceAll(body, "\n", "\n"+strings.Repeat(" ", len(marker))))
		}
		return strings.Join(items, "\n")
	case "blockquote":
		return "> " + strings.ReplaceAll(blocks(n.Content, "\n\n"), "\n", "\n> ")
	case "rule":
		return "---"
	case "table":
		return blocks(n.Content, "\n")
	case "tableRow":
		cells := make([]string, len(n.Content))
		for i, c := range n.Content {
			cells[i] = strings.ReplaceAll(blocks(c.Content, " "), "\n", " ")
		}
		return strings.Join(cells, " | ")
	case "mediaSingle", "mediaGroup", "media":
		return ""
	}
	// Panels, expands, layouts and nodes added after this was written: their
	// text is what matters.
	if n.Text != "" {
		return n.Text
	}
	return blocks(n.Content, "\n\n")
}

func inline(nodes []adfNode) string {
	var b strings.Builder
	for _, n := range nodes {
		switch n.Type {
		case "text":
			b.WriteString(n.Text)
		case "hardBreak":
			b.WriteString("\n")
		case "mention", "status":
			b.WriteString(attr(n, "text"))
		case "emoji":
			if s := attr(n, "text"); s != "" {
				b.WriteString(s)
			} else {
				b.WriteString(attr(n, "shortName"))
			}
		case "inlineCard", "blockCard", "embedCard":
			b.WriteString(attr(n, "url"))
		case "date":
			// Jira stores dates as milliseconds since the epoch, in a string.
			if ms, err := strconv.ParseInt(attr(n, "timestamp"), 10, 64); err == nil {
				b.WriteString(time.UnixMilli(ms).UTC().Format(time.DateOnly))
			}
		default:
			b.WriteString(n.Text)
			b.WriteString(inline(n.Content))
		}
	}
	return b.String()
}

func attr(n adfNode, name string) string {
	switch v := n.Attrs[name].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}
