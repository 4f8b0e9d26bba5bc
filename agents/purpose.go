package agents

import (
	"strings"
	"unicode"
)

// vaguePurposes are statements that say nothing about what spend is for. They
// are the purposes of tokenmaxxing: tokens burned to look busy.
var vaguePurposes = []string{
	"test", "testing", "tests", "misc", "miscellaneous", "usage", "n/a", "na", "none", "tbd", "todo",
	"stuff", "various", "general", "other", "experiment", "experimenting", "demo", "placeholder",
	"ai", "llm", "tokens", "use ai", "use the llm", "increase ai usage", "increase usage", "ai usage",
	"token usage", "use tokens", "use more tokens", "burn tokens", "spend tokens", "adopt ai", "ai adoption",
}

// vaguePhrases make a statement vague wherever they appear in it.
var vaguePhrases = []string{"increase ai usage", "increase token usage", "use more tokens", "burn tokens", "boost ai usage", "ai adoption metric"}

// PurposeProblem says what is wrong with a purpose statement, or "" when it
// is acceptable: specific enough that a reviewer can tell what the tokens buy.
// minWords and minChars set how long it must be.
func PurposeProblem(statement string, minWords, minChars int) string {
	s := strings.TrimSpace(statement)
	if s == "" {
		return "required"
	}
	norm := normalizePurpose(s)
	for _, v := range vaguePurposes {
		if norm == v {
			return "is too vague: say what the work is for and who uses its result"
		}
	}
	for _, p := range vaguePhrases {
		if strings.Contains(norm, p) {
			return "states AI or token usage as the goal: say what the work is for and who uses its result"
		}
	}
	if len([]rune(s)) < minChars || len(strings.Fields(s)) < minWords {
		return "is too short: say what the work is for in at least " + itoaSmall(minWords) + " words and " + itoaSmall(minChars) + " characters"
	}
	if !saysSomething(norm) {
		return "is too vague: say what the work is for and who uses its result"
	}
	return ""
}

// normalizePurpose lower-cases s, drops punctuation other than '/' and folds
// white space, so "  Misc. " and "misc" compare equal.
func normalizePurpose(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '/':
			b.WriteRune(r)
		case unicode.IsSpace(r) || r == '-' || r == '_':
			b.WriteRune(' ')
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func itoaSmall(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoaSmall(n/10) + string(rune('0'+n%10))
}

// fillerWords say nothing about what work is for on their own.
var fillerWords = map[string]bool{
	"a": true, "an": true, "the": true, "for": true, "of": true, "to": true, "and": true, "or": true, "with": true, "only": true,
	"just": true, "some": true, "this": true, "that": true, "it": true, "is": true, "be": true, "in": true, "on": true, "we": true,
	"purpose": true, "purposes": true, "testing": true, "test": true, "tests": true, "experiment": true, "experimenting": true,
	"experiments": true, "trying": true, "try": true, "out": true, "play": true, "playing": true, "around": true, "ai": true, "llm": true,
	"llms": true, "gpt": true, "model": true, "models": true, "tokens": true, "token": true, "usage": true, "use": true, "using": true,
	"misc": true, "stuff": true, "things": true, "various": true, "general": true, "demo": true, "poc": true, "tbd": true, "todo": true,
}

// saysSomething reports whether a normalized statement has at least two
// different words beyond fillers, and is not one word repeated or a keyboard
// mash of words without a vowel.
func saysSomething(norm string) bool {
	seen := map[string]bool{}
	for _, w := range strings.Fields(norm) {
		if fillerWords[w] || !strings.ContainsAny(w, "aeiouy0123456789") {
			continue
		}
		seen[w] = true
	}
	return len(seen) >= 2
}
