package connectors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// compile checks a's parameter declarations, fills in whichever of
// InputSchema and Required/Optional it lacks, and compiles its schemas once,
// so that calls only validate.
func compile(a Action) (registered, error) {
	if a.InputSchema == nil {
		schema, err := deriveSchema(a)
		if err != nil {
			return registered{}, err
		}
		a.InputSchema = schema
	} else {
		if len(a.Required) > 0 || len(a.Optional) > 0 || len(a.Kinds) > 0 {
			return registered{}, errors.New("declares both InputSchema and Required/Optional/Kinds; declare the parameters once")
		}
		req, opt, err := parameters(a.InputSchema)
		if err != nil {
			return registered{}, fmt.Errorf("input schema: %w", err)
		}
		a.Required, a.Optional = req, opt
	}
	reg := registered{Action: a}
	var err error
	if reg.input, err = compileSchema(a.ID+"/input", a.InputSchema); err != nil {
		return registered{}, fmt.Errorf("input schema: %w", err)
	}
	if a.OutputSchema != nil {
		if reg.output, err = compileSchema(a.ID+"/output", a.OutputSchema); err != nil {
			return registered{}, fmt.Errorf("output schema: %w", err)
		}
	}
	return reg, nil
}

// deriveSchema writes the JSON Schema that Required, Optional and Kinds
// describe: an object of exactly those parameters, the required ones present
// and, when strings, not empty.
func deriveSchema(a Action) (json.RawMessage, error) {
	props := map[string]any{}
	for _, p := range slices.Concat(a.Required, a.Optional) {
		if _, dup := props[p]; p == "" || dup {
			return nil, fmt.Errorf("declares parameter %q twice or empty", p)
		}
		props[p] = nil
	}
	for p, k := range a.Kinds {
		if _, ok := props[p]; !ok {
			return nil, fmt.Errorf("gives a kind to undeclared parameter %q", p)
		}
		if k != String && k != StringMap && k != StringOrObject {
			return nil, fmt.Errorf("gives parameter %q unknown kind %q", p, k)
		}
	}
	for p := range props {
		var s map[string]any
		switch a.Kinds[p] {
		case StringMap:
			s = map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}
		case StringOrObject:
			s = map[string]any{"type": []string{"string", "object"}}
		default:
			s = map[string]any{"type": "string"}
		}
		if slices.Contains(a.Required, p) {
			s["minLength"] = 1 // applies to strings only
		}
		props[p] = s
	}
	required := a.Required
	if required == nil {
		required = []string{}
	}
	return json.Marshal(map[string]any{
		"type":                 "object",
		"properties":           props,
		"required":             required,
		"additionalProperties": false,
	})
}

// parameters reads the parameter names from an input schema, which must be an
// object that lists every parameter and refuses others: spec validation
// names unknown parameters from this list.
func parameters(schema json.RawMessage) (required, optional []string, err error) {
	var s struct {
		Type                 any                        `json:"type"`
		Properties           map[string]json.RawMessage `json:"properties"`
		Required             []string                   `json:"required"`
		AdditionalProperties json.RawMessage            `json:"additionalProperties"`
	}
	if err := json.Unmarshal(schema, &s); err != nil {
		return nil, nil, err
	}
	if s.Type != "object" || s.Properties == nil {
		return nil, nil, errors.New(`the top level must be {"type": "object", "properties": {...}}`)
	}
	if string(bytes.TrimSpace(s.AdditionalProperties)) != "false" {
		return nil, nil, errors.New(`the top level must set "additionalProperties": false`)
	}
	for _, p := range s.Required {
		if _, ok := s.Properties[p]; !ok {
			return nil, nil, fmt.Errorf("required parameter %q is not under properties", p)
		}
	}
	for p := range s.Properties {
		if !slices.Contains(s.Required, p) {
			optional = append(optional, p)
		}
	}
	sort.Strings(optional)
	return s.Required, optional, nil
}

// compileSchema compiles one schema document. It loads nothing from outside:
// a $ref to a file or URL is an error.
func compileSchema(name string, schema json.RawMessage) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(jsonschema.SchemeURLLoader{})
	loc := "https://telos.invalid/connectors/" + name + ".json"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, err
	}
	return c.Compile(loc)
}

// validate checks v against sch. Input parameters that are null count as
// absent, as they did before schemas: an optional reference that rendered
// to nothing. label starts the message, e.g. "slack.post_message".
func validate(sch *jsonschema.Schema, label string, v map[string]any, nullIsAbsent bool) error {
	clean := make(map[string]any, len(v))
	for k, x := range v {
		if x != nil || !nullIsAbsent {
			clean[k] = x
		}
	}
	b, err := json.Marshal(clean)
	if err != nil {
		return Errorf(CodeInvalidInput, "%s: not a JSON document: %v", label, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return Errorf(CodeInvalidInput, "%s: not a JSON document: %v", label, err)
	}
	err = sch.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return Errorf(CodeInvalidInput, "%s: %v", label, err)
	}
	var ps []problem
	collect(ve, &ps)
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].path != ps[j].path {
			return ps[i].path < ps[j].path
		}
		return ps[i].msg < ps[j].msg
	})
	if len(ps) == 0 {
		return Errorf(CodeInvalidInput, "%s: does not match its schema", label)
	}
	msg := label + ": " + ps[0].path + ": " + ps[0].msg
	if len(ps) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(ps)-1)
	}
	return &Error{Code: CodeInvalidInput, Message: msg}
}

// problem is one schema violation: where, and what is wrong in words a
// spec author understands. Messages never repeat the offending value.
type problem struct{ path, msg string }

var printer = message.NewPrinter(language.English)

// collect gathers the innermost violations of e, which are the precise ones.
func collect(e *jsonschema.ValidationError, out *[]problem) {
	if len(e.Causes) > 0 {
		for _, c := range e.Causes {
			collect(c, out)
		}
		return
	}
	at := func(extra ...string) string {
		p := strings.Join(slices.Concat(e.InstanceLocation, extra), ".")
		if p == "" {
			return "input"
		}
		return p
	}
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		for _, m := range k.Missing {
			*out = append(*out, problem{at(m), "missing"})
		}
	case *kind.AdditionalProperties:
		what := "unknown field"
		if len(e.InstanceLocation) == 0 {
			what = "unknown parameter"
		}
		for _, p := range k.Properties {
			*out = append(*out, problem{at(p), what})
		}
	case *kind.Type:
		*out = append(*out, problem{at(), "expected " + strings.Join(k.Want, " or ") + ", got " + k.Got})
	case *kind.MinLength:
		msg := fmt.Sprintf("must be at least %d characters", k.Want)
		if k.Got == 0 {
			msg = "must not be empty"
		}
		*out = append(*out, problem{at(), msg})
	case *kind.MaxLength:
		*out = append(*out, problem{at(), fmt.Sprintf("must be at most %d characters", k.Want)})
	case *kind.Minimum:
		*out = append(*out, problem{at(), "must be at least " + k.Want.RatString()})
	case *kind.Maximum:
		*out = append(*out, problem{at(), "must be at most " + k.Want.RatString()})
	case *kind.Format:
		*out = append(*out, problem{at(), "must be a valid " + k.Want})
	case *kind.Pattern:
		*out = append(*out, problem{at(), "must match " + k.Want})
	default:
		*out = append(*out, problem{at(), e.ErrorKind.LocalizedString(printer)})
	}
}
