package llm

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/telos-dev/telos/agents"
)

// Sim is an offline, deterministic Provider for dry runs and the embedded dev
// stack. Its answer is extractive: the lines of the prompt that mention what
// the instruction asks for, under the section headings they belong to. Usage
// is counted with the model's real tokenizer, so budgets and cost forecasts
// made with Sim hold for the prompt a real model would get.
type Sim struct{}

var _ Provider = (*Sim)(nil)

// NewSim returns the simulator.
func NewSim() *Sim { return &Sim{} }

const (
	// simDefaultMaxTokens bounds the answer when the request does not.
	simDefaultMaxTokens = 512
	// simHeader opens every simulated answer so nobody mistakes it for a model's.
	simHeader = "Simulated answer (sim provider, extractive):"
	// simMaxLine bounds one bullet, in bytes, so that one long paragraph
	// cannot fill the answer.
	simMaxLine = 300
	// simMaxMisses stops the search for lines that still fit the budget after
	// this many in a row did not: counting tokens is the costly part.
	simMaxMisses = 32
)

// Complete answers req from the text of req.Prompt, the same way every time
// for the same request. InputTokens is CountChat(System, Prompt) and
// OutputTokens is Count(Text), with the tokenizer of req.Model; Text is at
// most MaxTokens tokens (512 when MaxTokens is zero).
func (s *Sim) Complete(ctx context.Context, req Request) (Response, error) {
	if err := ctx.Err(); err != nil {
		return Response{}, &Error{Message: "sim: " + err.Error(), err: err}
	}
	if req.MaxTokens < 0 {
		return Response{}, &Error{Message: fmt.Sprintf("sim: max tokens %d is negative", req.MaxTokens)}
	}
	tok, err := NewTokenizer(req.Model)
	if err != nil {
		return Response{}, &Error{Message: "sim: " + err.Error()}
	}
	maxTokens := req.MaxTokens
	if maxTokens == 0 {
		maxTokens = simDefaultMaxTokens
	}
	// In a conversation sim answers the last user message; it calls no tools.
	system, prompt := req.Text()
	if n := len(req.Messages); n > 0 {
		for i := n - 1; i >= 0; i-- {
			if req.Messages[i].Role == "user" {
				prompt = req.Messages[i].Content
				break
			}
		}
	}
	text := extract(tok, system, prompt, maxTokens)
	allSystem, allPrompt := req.Text()
	return Response{
		Text: text,
		Usage: agents.Usage{
			InputTokens:  int64(tok.CountChat(allSystem, allPrompt)),
			OutputTokens: int64(tok.Count(text)),
		},
		Simulated:     true,
		Provider:      "sim",
		ResponseModel: req.Model,
	}, nil
}

// simTopics are the things people most often ask of release notes and
// similar documents. When the instruction mentions a topic (by one of its
// triggers) every line mentioning any of its stems scores.
var simTopics = []struct {
	triggers, stems []string
}{
	{[]string{"break", "incompatib"}, []string{"break", "incompatib", "remov", "migrat"}},
	{[]string{"secur", "vulnerab", "cve", "exploit"}, []string{"secur", "vulnerab", "cve", "ghsa", "exploit", "advisor"}},
	{[]string{"fix", "bug"}, []string{"fix", "bug", "regress"}},
	{[]string{"deprecat"}, []string{"deprecat"}},
}

// simStopwords are long instruction words that say how to answer, not what
// to look for, or that every line of a changelog matches.
var simStopwords = map[string]bool{
	"about": true, "above": true, "after": true, "answer": true, "below": true,
	"brief": true, "bullet": true, "bullets": true, "change": true, "changed": true,
	"changelog": true, "changes": true, "concise": true, "could": true, "every": true,
	"following": true, "format": true, "given": true, "include": true, "including": true,
	"items": true, "markdown": true, "notes": true, "please": true, "release": true,
	"released": true, "releases": true, "review": true, "reviews": true, "short": true,
	"should": true, "summarise": true, "summarize": true, "summary": true, "their": true,
	"there": true, "these": true, "those": true, "which": true, "while": true,
	"would": true,
}

// Weights of a line's score: a topic stem it mentions, another instruction
// word it mentions, and a heading above it that mentions a topic (so that
// "* bump golang.org/x/net" under "**Security**" counts).
const (
	simTopicWeight   = 3
	simWordWeight    = 1
	simHeadingWeight = 2
)

// simKeyword is a word stem a line is scored by.
type simKeyword struct {
	stem   string
	weight int
}

// simKeywords are the stems the instruction asks for, in the order they first
// appear.
func simKeywords(instruction string) []simKeyword {
	var out []simKeyword
	at := map[string]int{}
	add := func(stem string, weight int) {
		if i, ok := at[stem]; ok {
			out[i].weight = max(out[i].weight, weight)
			return
		}
		at[stem] = len(out)
		out = append(out, simKeyword{stem: stem, weight: weight})
	}
	for _, w := range simWords(instruction) {
		topic := false
		for _, t := range simTopics {
			if hasAnyPrefix(w, t.triggers) {
				topic = true
				for _, s := range t.stems {
					add(s, simTopicWeight)
				}
			}
		}
		if !topic && utf8.RuneCountInString(w) > 4 && !simStopwords[w] && !strings.ContainsFunc(w, unicode.IsDigit) {
			add(simStem(w), simWordWeight)
		}
	}
	return out
}

// simStem cuts w to its first two thirds, at least five letters, so that
// "vulnerabilities" finds "vulnerability" and "performance" "performs".
func simStem(w string) string {
	r := []rune(w)
	n := max(5, (2*len(r)+2)/3)
	if n >= len(r) {
		return w
	}
	return string(r[:n])
}

// simWords are the lower-case words of s.
func simWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

func hasAnyPrefix(w string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(w, p) {
			return true
		}
	}
	return false
}

// simUnit is a heading or a bullet-sized piece of the document.
type simUnit struct {
	text    string
	heading bool
	// parents are the indices of the enclosing headings, outermost first.
	// Units share these slices; they are never modified once made.
	parents []int
	score   int
}

// simVersionLine matches a bare release line such as "v4.12.0" or
// "[9.7.0] - 2025-01-01".
var simVersionLine = regexp.MustCompile(`^\[?v?\d+\.\d+\.\d+\S*(\s|$)`)

// headingLevel is the nesting level of line as a section heading, or 0 if it
// is not one: 1–6 for markdown headings, 2 for a bare version line, 7 for a
// line that is only bold text ("**Security**"), as changelogs use for
// sub-sections.
func headingLevel(line string) int {
	switch {
	case strings.HasPrefix(line, "#"):
		n := len(line) - len(strings.TrimLeft(line, "#"))
		if n <= 6 && (n == len(line) || line[n] == ' ') {
			return n
		}
	case len(line) <= 80 && strings.HasPrefix(line, "**") && strings.Count(line, "**") == 2 &&
		(strings.HasSuffix(line, "**") || strings.HasSuffix(line, "**:")):
		return 7
	case len(line) <= 80 && simVersionLine.MatchString(line):
		return 2
	}
	return 0
}

// splitInstruction separates the instruction at the top of a prompt from the
// document it is about. The instruction ends at the first line ending in a
// colon, or before the first blank line or heading, within the first five
// lines; failing those it is the first line. A prompt that is all
// instruction is its own document.
func splitInstruction(prompt string) (instruction, document string) {
	prompt = strings.TrimLeft(prompt, " \t\r\n")
	lines := strings.SplitAfter(prompt, "\n")
	end := 1
	for i, line := range lines[:min(5, len(lines))] {
		t := strings.TrimSpace(line)
		if t == "" || headingLevel(t) > 0 {
			end = i
			break
		}
		if strings.HasSuffix(t, ":") {
			end = i + 1
			break
		}
	}
	instruction = strings.Join(lines[:end], "")
	document = strings.Join(lines[end:], "")
	if strings.TrimSpace(document) == "" {
		document = prompt
	}
	return instruction, document
}

// simUnits parses document into headings and bullet-sized pieces of text,
// leaving out fenced code and lines without letters.
func simUnits(document string) []simUnit {
	var (
		units  []simUnit
		stack  []int // enclosing headings
		levels []int // their levels
		fenced bool
	)
	for line := range strings.Lines(document) {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
			fenced = !fenced
			continue
		}
		if fenced || t == "" {
			continue
		}
		// Headings first: "# 9.21.0 (2026-06-18)" has no letters.
		if level := headingLevel(t); level > 0 {
			k := len(levels)
			for k > 0 && levels[k-1] >= level {
				k--
			}
			// Full slice expressions make append copy, so units made
			// earlier keep their parents.
			units = append(units, simUnit{text: t, heading: true, parents: stack[:k:k]})
			stack = append(stack[:k:k], len(units)-1)
			levels = append(levels[:k:k], level)
			continue
		}
		if !strings.ContainsFunc(t, unicode.IsLetter) {
			continue
		}
		for _, piece := range simPieces(trimListMarker(t)) {
			units = append(units, simUnit{text: piece, parents: stack})
		}
	}
	return units
}

// simListMarker matches what opens a list item or quote: "- ", "* ", "+ ",
// "> ", "1. ", "2) ".
var simListMarker = regexp.MustCompile(`^(?:[-*+>]|\d{1,3}[.)])\s+`)

// trimListMarker removes list and quote markers from the start of line, but
// not the "**" of bold text.
func trimListMarker(line string) string {
	for {
		loc := simListMarker.FindStringIndex(line)
		if loc == nil {
			return line
		}
		line = line[loc[1]:]
	}
}

// simPieces splits a long line into sentences and shortens each to at most
// simMaxLine bytes, cutting at a space.
func simPieces(line string) []string {
	if line == "" {
		return nil
	}
	if len(line) <= simMaxLine {
		return []string{line}
	}
	var pieces []string
	for s := range strings.SplitAfterSeq(line, ". ") {
		s = strings.TrimSpace(s)
		if len(s) > simMaxLine {
			cut := strings.LastIndexByte(s[:simMaxLine], ' ')
			if cut <= 0 {
				cut = simMaxLine
				for !utf8.RuneStart(s[cut]) {
					cut--
				}
			}
			s = s[:cut] + " …"
		}
		if s != "" {
			pieces = append(pieces, s)
		}
	}
	return pieces
}

// extract builds the simulated answer: a header, then the best-scoring lines
// of the document as bullets in document order, each under the headings
// above it, all within maxTokens tokens.
func extract(tok *Tokenizer, system, prompt string, maxTokens int) string {
	instruction, document := splitInstruction(prompt)
	keywords := simKeywords(system + "\n" + instruction)
	units := simUnits(document)

	// Score headings by topic only and lines by every keyword, plus a bonus
	// under a heading that names a topic.
	for i := range units {
		u := &units[i]
		words := simWords(u.text)
		for _, k := range keywords {
			if u.heading && k.weight != simTopicWeight {
				continue
			}
			if slices.ContainsFunc(words, func(w string) bool { return strings.HasPrefix(w, k.stem) }) {
				u.score += k.weight
			}
		}
		if !u.heading && slices.ContainsFunc(u.parents, func(p int) bool { return units[p].score > 0 }) {
			u.score += simHeadingWeight
		}
	}

	// Rank lines by score, then by position; when nothing scores, the
	// answer is the opening of the document.
	var ranked []int
	for i, u := range units {
		if !u.heading && u.score > 0 {
			ranked = append(ranked, i)
		}
	}
	if len(ranked) == 0 {
		for i, u := range units {
			if !u.heading {
				ranked = append(ranked, i)
			}
		}
	}
	slices.SortStableFunc(ranked, func(a, b int) int { return units[b].score - units[a].score })

	// Take lines in rank order while they fit, paying for each heading the
	// first time a line needs it.
	var (
		picked []int
		seen   = map[string]bool{}
		shown  = map[int]bool{}
		used   = tok.Count(simHeader)
		misses int
	)
	for _, i := range ranked {
		if misses >= simMaxMisses {
			break
		}
		u := units[i]
		if seen[u.text] {
			continue
		}
		cost := tok.Count("\n- " + u.text)
		for _, p := range u.parents {
			if !shown[p] {
				cost += tok.Count("\n" + units[p].text)
			}
		}
		if used+cost > maxTokens {
			misses++
			continue
		}
		misses = 0
		used += cost
		seen[u.text] = true
		for _, p := range u.parents {
			shown[p] = true
		}
		picked = append(picked, i)
	}

	// Pieces counted apart can tokenize differently when joined, so check
	// the whole and drop the lowest-ranked lines until it fits.
	for {
		text := renderSim(units, picked)
		if len(units) == 0 {
			text += "\n- the prompt has no text to extract from"
		}
		if tok.Count(text) <= maxTokens {
			return text
		}
		if len(picked) == 0 {
			return tok.truncate(text, maxTokens)
		}
		picked = picked[:len(picked)-1]
	}
}

// renderSim writes the header and the picked units in document order, each
// under the headings above it that were not written yet.
func renderSim(units []simUnit, picked []int) string {
	order := slices.Clone(picked)
	slices.Sort(order)
	var b strings.Builder
	b.WriteString(simHeader)
	shown := map[int]bool{}
	for _, i := range order {
		for _, p := range units[i].parents {
			if !shown[p] {
				shown[p] = true
				b.WriteString("\n" + units[p].text)
			}
		}
		b.WriteString("\n- " + units[i].text)
	}
	return b.String()
}
