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
