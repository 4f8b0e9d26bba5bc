package agents

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Scope holds the values `${{ }}` references resolve to during one run.
type Scope struct {
	Inputs map[string]any            // inputs.NAME, after ValidateInputs
	Steps  map[string]map[string]any // steps.ID.output: step id -> output object
	Run    map[string]any            // run.id, run.agent, run.version, run.team, run.trigger
}

// Render returns a copy of v, a tree of map[string]any, []any and scalars, in
// which every `${{ expr }}` reference in a string is replaced. A string that is
// exactly one reference becomes the referenced value, keeping its type; in a
// string that mixes text and references, each reference becomes text (strings
// as they are, null as nothing, anything else as compact JSON). Other values
// are returned as they are. Render evaluates nothing: it only looks values up,
// and fails on the first reference, in key order, that does not resolve.
func Render(v any, s Scope) (any, error) {
	switch t := v.(type) {
	case string:
		return s.renderString(t)
	case map[string]any:
		out := make(map[string]any, len(t))
		for _, k := range sortedKeys(t) {
			r, err := Render(t[k], s)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			r, err := Render(e, s)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

func (s Scope) renderString(str string) (any, error) {
	parts := splitTemplate(str)
	if len(parts) == 1 && parts[0].isRef {
		return s.resolve(parts[0])
	}
	var b strings.Builder
	for _, p := range parts {
		if !p.isRef {
			b.WriteString(p.text)
			continue
		}
		v, err := s.resolve(p)
		if err != nil {
			return nil, err
		}
		t, err := text(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.text, err)
		}
		b.WriteString(t)
	}
	return b.String(), nil
}

// resolve looks up the value of one reference.
func (s Scope) resolve(p part) (any, error) {
	r, err := parseRef(p)
	if err != nil {
		return nil, err
	}
	var cur any
	var ok bool
	switch r.root {
	case "inputs":
		cur, ok = s.Inputs[r.name]
	case "steps":
		cur, ok = s.Steps[r.name]
	case "run":
		cur, ok = s.Run[r.name]
	}
	if !ok {
		return nil, fmt.Errorf("%s: not set", r.base())
	}
	for i, f := range r.fields {
		if cur, ok = field(cur, f); !ok {
			return nil, fmt.Errorf("%s: no such field", r.prefix(i+1))
		}
	}
	return cur, nil
}

// field returns the member f of an object, or element f (a decimal index) of
// an array.
func field(v any, f string) (any, bool) {
	switch t := v.(type) {
	case map[string]any:
		e, ok := t[f]
		return e, ok
	case []any:
		i, err := strconv.Atoi(f)
		if err != nil || i < 0 || i >= len(t) || strconv.Itoa(i) != f {
			return nil, false
		}
		return t[i], true
	}
	return nil, false
}

// text is the form of a value inside a larger string.
func text(v any) (string, error) {
	switch t := v.(type) {
	case nil:
		return "", nil
	case string:
		return t, nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // text for people and models, not for HTML
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// ValidateInputs checks the inputs given to a run against the spec and returns
// the inputs the run sees: every declared input, given or defaulted, and nil
// for an optional input with no default (so a reference to it renders empty).
// It refuses unknown inputs, missing required ones and values of the wrong
// type, all at once in a *ValidationError with paths such as "inputs.n".
// Numbers may be any Go number or a json.Number.
func ValidateInputs(spec Spec, given map[string]any) (map[string]any, error) {
	var errs fieldErrors
	out := make(map[string]any, len(spec.Inputs))
	for _, name := range unionKeys(given, spec.Inputs) {
		path := join("inputs", name)
		in, declared := spec.Inputs[name]
		v := given[name]
		switch {
		case !declared:
			errs.add(path, "unknown input")
		case v != nil:
			if msg := checkType(in.Type, v); msg != "" {
				errs.add(path, msg)
			}
			out[name] = v
		case in.Required:
			errs.add(path, "required")
		default:
			out[name] = in.Default
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// StepRefs returns the ids of the steps whose output st references, sorted and
// unique. References that do not parse are skipped; Validate reports them.
func StepRefs(st Step) []string {
	ids := map[string]bool{}
	collect := func(_, s string) {
		for _, p := range splitTemplate(s) {
			if !p.isRef {
				continue
			}
			if r, err := parseRef(p); err == nil && r.root == "steps" {
				ids[r.name] = true
			}
		}
	}
	walkStrings("with", st.With, collect)
	if st.LLM != nil {
		collect("llm.system", st.LLM.System)
		collect("llm.prompt", st.LLM.Prompt)
	}
	if st.Agent != nil {
		collect("agent.system", st.Agent.System)
		collect("agent.prompt", st.Agent.Prompt)
	}
	return sortedKeys(ids)
}

// RenderText renders a template string such as a prompt to text: every
// reference is replaced by its text form, even when the string is a single
// reference to an object.
func RenderText(str string, s Scope) (string, error) {
	v, err := s.renderString(str)
	if err != nil {
		return "", err
	}
	return text(v)
}
