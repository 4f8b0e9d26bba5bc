package agents

import (
	"errors"
	"fmt"
	"strings"
)

// References are `${{ expr }}` inside step strings. They are data
// substitution only, with this grammar (whitespace allowed inside the braces):
//
//	inputs.NAME(.FIELD)*
//	steps.ID.output(.FIELD)*
//	run.id | run.agent | run.version | run.team | run.trigger
//
// A FIELD is a map key or, into an array, a decimal index. Segments are made
// of letters, digits, '_' and '-'; anything else (calls, operators, env.X) is
// refused.

// runFields are the names run.* may take.
var runFields = map[string]bool{"id": true, "agent": true, "version": true, "team": true, "trigger": true}

// errUnclosed reports a "${{" with no "}}" after it.
var errUnclosed = errors.New(`"${{" without a closing "}}"`)

// part is a piece of a template string: literal text or one reference.
type part struct {
	text     string // literal text, or the trimmed expression of a reference
	isRef    bool
	unclosed bool // isRef, but the "}}" is missing
}

// splitTemplate cuts s into literal text and references.
func splitTemplate(s string) []part {
	var parts []part
	for s != "" {
		i := strings.Index(s, "${{")
		if i < 0 {
			return append(parts, part{text: s})
		}
		if i > 0 {
			parts = append(parts, part{text: s[:i]})
		}
		rest := s[i+len("${{"):]
		j := strings.Index(rest, "}}")
		if j < 0 {
			return append(parts, part{text: strings.TrimSpace(rest), isRef: true, unclosed: true})
		}
		parts = append(parts, part{text: strings.TrimSpace(rest[:j]), isRef: true})
		s = rest[j+len("}}"):]
	}
	return parts
}

// ref is one parsed reference.
type ref struct {
	root   string   // "inputs", "steps" or "run"
	name   string   // input name, step id or run field
	fields []string // path below the input or the step output
}

// parseRef parses the expression of a reference part.
func parseRef(p part) (ref, error) {
	if p.unclosed {
		return ref{}, errUnclosed
	}
	if p.text == "" {
		return ref{}, errors.New("empty reference")
	}
	segs := strings.Split(p.text, ".")
	for _, s := range segs {
		if !validSegment(s) {
			return ref{}, fmt.Errorf("unknown reference %q", p.text)
		}
	}
	switch {
	case segs[0] == "inputs" && len(segs) >= 2:
		return ref{root: "inputs", name: segs[1], fields: segs[2:]}, nil
	case segs[0] == "steps" && len(segs) >= 3 && segs[2] == "output":
		return ref{root: "steps", name: segs[1], fields: segs[3:]}, nil
	case segs[0] == "run" && len(segs) == 2 && runFields[segs[1]]:
		return ref{root: "run", name: segs[1]}, nil
	}
	return ref{}, fmt.Errorf("unknown reference %q", p.text)
}

func validSegment(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// base is the reference without its fields: "inputs.x", "steps.x.output", "run.x".
func (r ref) base() string {
	if r.root == "steps" {
		return "steps." + r.name + ".output"
	}
	return r.root + "." + r.name
}

// prefix is the reference up to and including its n-th field.
func (r ref) prefix(n int) string {
	return strings.Join(append([]string{r.base()}, r.fields[:n]...), ".")
}
