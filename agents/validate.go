package agents

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// ActionLister is implemented by an ActionCatalog that can also list its
// actions. When the catalog given to Validate implements it, an unknown
// connector action is reported together with the known ones.
type ActionLister interface {
	// ActionIDs returns the id of every action.
	ActionIDs() []string
}

var (
	dnsLabel   = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)
	identifier = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
)

const (
	dnsLabelRule   = "must be a DNS label: 1-63 lowercase letters, digits or '-', starting with a letter and ending with a letter or digit"
	identifierRule = "must be 1-63 lowercase letters, digits or '_', starting with a letter"
)

// Bounds of spec values.
const (
	maxStepTokens     = 128000
	maxTemperature    = 2
	maxTimeoutSeconds = 3600
	minStatementChars = 15
	minStatementWords = 3
	// Step purposes may be shorter, but must still say something.
	minStepPurposeChars = 10
	minStepPurposeWords = 2
)

// inputTypes are the types an input may declare.
var inputTypes = []string{"string", "number", "integer", "boolean", "object", "array"}

// Validate checks what an agent document says: names, purposes, budgets,
// inputs, steps, connector actions and parameters (against actions), and every
// `${{ }}` reference. It returns nil or a *ValidationError holding every
// problem in document order: metadata, then spec fields in declaration order,
// steps by index and map keys sorted. A nil catalog skips the connector checks.
func Validate(a *Agent, actions ActionCatalog) error {
	if a == nil {
		return invalid("", "empty document")
	}
	v := validator{a: a, actions: actions, stepIndex: map[string]int{}}
	for i, st := range a.Spec.Steps {
		if _, dup := v.stepIndex[st.ID]; !dup && st.ID != "" {
			v.stepIndex[st.ID] = i
		}
	}
	v.header()
	v.purpose(a.Spec.Purpose)
	v.budget(a.Spec.Budget)
	v.inputs(a.Spec.Inputs)
	v.steps(a.Spec.Steps)
	v.allow(a.Spec.Allow)
	return v.errs.err()
}

// fieldErrors collects FieldErrors in the order they are found.
type fieldErrors []FieldError

func (e *fieldErrors) add(path, msg string) {
	*e = append(*e, FieldError{Path: path, Message: msg})
}

func (e *fieldErrors) addf(path, format string, args ...any) {
	e.add(path, fmt.Sprintf(format, args...))
}

// err is nil when nothing was found, so callers never see a typed nil.
func (e fieldErrors) err() error {
	if len(e) == 0 {
		return nil
	}
	return &ValidationError{Errors: e}
}

type validator struct {
	a         *Agent
	actions   ActionCatalog
	stepIndex map[string]int // step id -> index of its first step
	errs      fieldErrors
}

func (v *validator) header() {
	v.exact("apiVersion", v.a.APIVersion, APIVersion)
	v.exact("kind", v.a.Kind, KindAgent)
	v.name("metadata.name", v.a.Metadata.Name, true)
	v.name("metadata.team", v.a.Metadata.Team, false)
}

func (v *validator) exact(path, got, want string) {
	switch got {
	case want:
	case "":
		v.errs.add(path, "required")
	default:
		v.errs.addf(path, "must be %q, got %q", want, got)
	}
}

// name checks a DNS-label name such as an agent, team or category name.
func (v *validator) name(path, s string, required bool) {
	switch {
	case s == "":
		if required {
			v.errs.add(path, "required")
		}
	case !dnsLabel.MatchString(s):
		v.errs.add(path, dnsLabelRule)
	}
}

func (v *validator) purpose(p Purpose) {
	v.name("spec.purpose.category", p.Category, true)
	if msg := PurposeProblem(p.Statement, minStatementWords, minStatementChars); msg != "" {
		v.errs.add("spec.purpose.statement", msg)
	}
	v.maxLen("spec.purpose.statement", p.Statement, maxStatementBytes)
	v.maxLen("spec.purpose.outcome", p.Outcome, maxStatementBytes)
	if strings.TrimSpace(p.Outcome) != "" {
		if msg := PurposeProblem(p.Outcome, 2, 10); msg != "" {
			v.errs.add("spec.purpose.outcome", msg)
		}
	}
	v.maxLen("spec.description", v.a.Spec.Description, maxDescBytes)
	if p.Value != nil && p.Value.MinutesSavedPerRun != nil && !(*p.Value.MinutesSavedPerRun >= 0) {
		v.errs.add("spec.purpose.value.minutes_saved_per_run", "must not be negative")
	}
}

// window is one budget limit with its name.
type window struct {
	name  string
	limit *Limit
}

func (v *validator) budget(b *Budget) {
	if b == nil {
		return
	}
	windows := []window{{"per_run", b.PerRun}, {"per_day", b.PerDay}, {"per_month", b.PerMonth}}
	for i, w := range windows {
		if w.limit == nil {
			continue
		}
		path := "spec.budget." + w.name
		v.limit(path, w.limit)
		// A shorter window may not allow more than a longer one.
		tokens, usd := caps(w.limit)
		for _, longer := range windows[i+1:] {
			maxTokens, maxUSD := caps(longer.limit)
			if tokens != nil && maxTokens != nil && *tokens > *maxTokens {
				v.errs.addf(path+".tokens", "must not exceed %s.tokens (%d)", longer.name, *maxTokens)
			}
			if usd != nil && maxUSD != nil && *usd > *maxUSD {
				v.errs.addf(path+".usd", "must not exceed %s.usd (%s)", longer.name, *maxUSD)
			}
		}
	}
}

func (v *validator) limit(path string, l *Limit) {
	if l.Tokens == nil && l.USD == nil {
		v.errs.add(path, "set tokens, usd or both")
		return
	}
	if l.Tokens != nil && *l.Tokens <= 0 {
		v.errs.add(path+".tokens", "must be positive")
	}
	if l.USD != nil {
		m, err := ParseUSD(*l.USD)
		switch {
		case err != nil:
			v.errs.add(path+".usd", err.Error())
		case m <= 0:
			v.errs.add(path+".usd", "must be positive")
		case !plainDecimal.MatchString(*l.USD):
			v.errs.addf(path+".usd", "%q must be a plain decimal amount such as \"0.05\"", *l.USD)
		}
	}
}

// caps returns the valid caps of l; invalid ones are nil (limit reports them).
func caps(l *Limit) (tokens *int64, usd *Money) {
	if l == nil {
		return nil, nil
	}
	if l.Tokens != nil && *l.Tokens > 0 {
		tokens = l.Tokens
	}
	if l.USD != nil {
		if m, err := ParseUSD(*l.USD); err == nil && m > 0 {
			usd = &m
		}
	}
	return tokens, usd
}

func (v *validator) inputs(inputs map[string]Input) {
	for _, name := range sortedKeys(inputs) {
		in, path := inputs[name], join("spec.inputs", name)
		if !identifier.MatchString(name) {
			v.errs.add(path, "input name "+identifierRule)
		}
		typeOK := false
		switch {
		case in.Type == "":
			v.errs.add(path+".type", "required")
		case !slices.Contains(inputTypes, in.Type):
			v.errs.addf(path+".type", "must be one of %s", strings.Join(inputTypes, ", "))
		default:
			typeOK = true
		}
		switch {
		case in.Default == nil:
		case in.Required:
			v.errs.add(path+".default", "a required input cannot have a default")
		case typeOK:
			if msg := checkType(in.Type, in.Default); msg != "" {
				v.errs.add(path+".default", msg)
			}
		}
	}
}

// MaxSteps bounds a spec, and with it the workflow history of its runs.
const MaxSteps = 64

// Text size limits: purposes are sentences, prompts are templates (the data
// they reference is not counted).
const (
	maxStatementBytes = 1000
	maxDescBytes      = 4000
	maxStepPurpose    = 500
	maxPromptBytes    = 32 << 10
)

var plainDecimal = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

func (v *validator) maxLen(path, s string, n int) {
	if len(s) > n {
		v.errs.addf(path, "must be at most %d bytes", n)
	}
}

// agent checks an agent step: its model, prompt, tools and limits.
func (v *validator) agent(path string, i int, a *AgentStep) {
	if a.Model == "" && v.a.Spec.Model == "" {
		v.errs.add(path+".model", "no model (set spec.model or this field)")
	}
	if strings.Contains(a.Model, "${{") {
		v.errs.add(path+".model", "must be a model name; references are not allowed here")
	}
	v.refs(path+".system", i, a.System)
	if strings.TrimSpace(a.Prompt) == "" {
		v.errs.add(path+".prompt", "required")
	}
	v.refs(path+".prompt", i, a.Prompt)
	v.maxLen(path+".system", a.System, maxPromptBytes)
	v.maxLen(path+".prompt", a.Prompt, maxPromptBytes)
	if len(a.Tools) == 0 {
		v.errs.add(path+".tools", "at least one tool (a connector action) is required")
	}
	seen := map[string]bool{}
	for j, t := range a.Tools {
		p := index(path+".tools", j)
		switch {
		case seen[t]:
			v.errs.addf(p, "duplicate tool %q", t)
		case v.actions != nil:
			if _, _, ok := v.actions.Action(t); !ok {
				v.errs.addf(p, "unknown connector action %q", t)
			}
		}
		seen[t] = true
	}
	for _, l := range []struct {
		name     string
		val, max int64
	}{
		{"max_turns", int64(a.MaxTurns), maxAgentTurns},
		{"max_tool_calls", int64(a.MaxToolCalls), maxAgentToolCalls},
		{"max_tokens", int64(a.MaxTokens), maxStepTokens},
		{"token_budget", a.TokenBudget, 10_000_000},
	} {
		if l.val < 0 || l.val > l.max {
			v.errs.addf(path+"."+l.name, "must be between 1 and %d (0 for the default)", l.max)
		}
	}
}

// allowPatterns say what a declared destination looks like per connector; no
// wildcards beyond a GitHub owner's "owner/*", so a reviewer reads exactly
// where an agent may write.
var allowPatterns = map[string]*regexp.Regexp{
	"email":  regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$`),
	"github": regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*/([A-Za-z0-9._-]+|\*)$`),
	"http":   regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$`),
	"jira":   regexp.MustCompile(`^[A-Z][A-Z0-9_]+$`),
	"mcp":    regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`),
	"slack":  regexp.MustCompile(`^#?[a-z0-9][a-z0-9._-]{0,79}$`),
}

var allowRules = map[string]string{
	"email":  "must be a recipient domain such as \"acme.com\"",
	"github": "must be a repository \"owner/name\" or \"owner/*\"",
	"http":   "must be a host or host:port such as \"hooks.example.com\" (no scheme, path or wildcard)",
	"jira":   "must be a project key such as \"ENG\"",
	"mcp":    "must be the name of an MCP server the operator configured",
	"slack":  "must be a channel name such as \"#platform-deps\"",
}

func (v *validator) allow(allow map[string][]string) {
	for _, k := range sortedKeys(allow) {
		known := false
		for _, c := range AllowConnectors {
			known = known || c == k
		}
		if !known {
			v.errs.addf("spec.allow."+k, "unknown connector (known: %s)", strings.Join(AllowConnectors, ", "))
			continue
		}
		for i, d := range allow[k] {
			if !allowPatterns[k].MatchString(d) {
				v.errs.add(index("spec.allow."+k, i), allowRules[k])
			}
		}
	}
}

func (v *validator) steps(steps []Step) {
	if len(steps) == 0 {
		v.errs.add("spec.steps", "at least one step is required")
	}
	if len(steps) > MaxSteps {
		v.errs.addf("spec.steps", "at most %d steps (split the work into several agents)", MaxSteps)
	}
	for i, st := range steps {
		v.step(i, st)
	}
}

func (v *validator) step(i int, st Step) {
	path := index("spec.steps", i)
	switch first, seen := v.stepIndex[st.ID]; {
	case st.ID == "":
		v.errs.add(path+".id", "required")
	case !identifier.MatchString(st.ID):
		v.errs.add(path+".id", identifierRule)
	case seen && first != i:
		v.errs.addf(path+".id", "duplicate step id %q (also %s.id)", st.ID, index("spec.steps", first))
	}
	if msg := PurposeProblem(st.Purpose, minStepPurposeWords, minStepPurposeChars); msg != "" {
		v.errs.add(path+".purpose", msg)
	}
	v.maxLen(path+".purpose", st.Purpose, maxStepPurpose)
	kinds := 0
	for _, set := range []bool{st.Connector != "", st.LLM != nil, st.Agent != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		v.errs.add(path, "set exactly one of connector, llm or agent")
	}
	v.with(path, i, st)
	if st.LLM != nil {
		v.llm(path+".llm", i, st.LLM)
	}
	if st.Agent != nil {
		v.agent(path+".agent", i, st.Agent)
	}
	if st.TimeoutSeconds < 0 || st.TimeoutSeconds > maxTimeoutSeconds {
		v.errs.addf(path+".timeout_seconds", "must be between 0 and %d", maxTimeoutSeconds)
	}
}

// with checks the connector action of step i and its parameters, and the
// references in every parameter.
func (v *validator) with(path string, i int, st Step) {
	if st.Connector == "" && st.LLM != nil && len(st.With) > 0 {
		v.errs.add(path+".with", "only connector steps take parameters")
	}
	required, allowed, known := v.action(path+".connector", st.Connector)
	for _, name := range unionKeys(st.With, required) {
		p, val := join(path+".with", name), st.With[name]
		switch {
		case !known:
		case required[name] && val == nil:
			v.errs.add(p, "required")
		case !allowed[name]:
			v.errs.addf(p, "unknown parameter (%s takes %s)", st.Connector, takes(allowed))
		}
		walkStrings(p, val, func(p, s string) { v.refs(p, i, s) })
	}
}

// action looks a connector action up in the catalog. known is false when the
// step has no connector, the catalog is nil or the action does not exist.
func (v *validator) action(path, id string) (required, allowed map[string]bool, known bool) {
	if id == "" || v.actions == nil {
		return nil, nil, false
	}
	req, opt, ok := v.actions.Action(id)
	if !ok {
		msg := fmt.Sprintf("unknown connector action %q", id)
		if l, ok := v.actions.(ActionLister); ok {
			if ids := l.ActionIDs(); len(ids) > 0 {
				ids = append([]string(nil), ids...)
				slices.Sort(ids)
				msg += " (known: " + strings.Join(ids, ", ") + ")"
			}
		}
		v.errs.add(path, msg)
		return nil, nil, false
	}
	required, allowed = map[string]bool{}, map[string]bool{}
	for _, p := range req {
		required[p], allowed[p] = true, true
	}
	for _, p := range opt {
		allowed[p] = true
	}
	return required, allowed, true
}

// takes lists the parameters an action takes, for error messages.
func takes(allowed map[string]bool) string {
	if len(allowed) == 0 {
		return "no parameters"
	}
	return strings.Join(sortedKeys(allowed), ", ")
}

func (v *validator) llm(path string, i int, l *LLMStep) {
	if l.Model == "" && v.a.Spec.Model == "" {
		v.errs.add(path+".model", "no model (set spec.model or this field)")
	}
	if strings.Contains(l.Model, "${{") {
		v.errs.add(path+".model", "must be a model name; references are not allowed here")
	}
	v.maxLen(path+".system", l.System, maxPromptBytes)
	v.maxLen(path+".prompt", l.Prompt, maxPromptBytes)
	v.refs(path+".system", i, l.System)
	if strings.TrimSpace(l.Prompt) == "" {
		v.errs.add(path+".prompt", "required")
	}
	v.refs(path+".prompt", i, l.Prompt)
	if l.MaxTokens < 0 || l.MaxTokens > maxStepTokens {
		v.errs.addf(path+".max_tokens", "must be between 1 and %d", maxStepTokens)
	}
	if t := l.Temperature; t != nil && !(*t >= 0 && *t <= maxTemperature) {
		v.errs.addf(path+".temperature", "must be between 0 and %d", maxTemperature)
	}
}

// refs checks every `${{ }}` reference in s, a string of step i at path:
// inputs must be declared and steps must come before step i.
func (v *validator) refs(path string, i int, s string) {
	for _, p := range splitTemplate(s) {
		if !p.isRef {
			continue
		}
		r, err := parseRef(p)
		if err != nil {
			v.errs.add(path, err.Error())
			continue
		}
		switch r.root {
		case "inputs":
			if _, ok := v.a.Spec.Inputs[r.name]; !ok {
				v.errs.addf(path, "unknown input %q", r.name)
			}
		case "steps":
			j, ok := v.stepIndex[r.name]
			switch {
			case !ok:
				v.errs.addf(path, "unknown step %q", r.name)
			case j >= i:
				v.errs.addf(path, "step %q is not before this step", r.name)
			}
		}
	}
}

// walkStrings calls fn with every string in v, a tree of maps and slices, and
// its path, visiting map keys in order.
func walkStrings(path string, v any, fn func(path, s string)) {
	switch t := v.(type) {
	case string:
		fn(path, t)
	case map[string]any:
		for _, k := range sortedKeys(t) {
			walkStrings(join(path, k), t[k], fn)
		}
	case []any:
		for i, e := range t {
			walkStrings(index(path, i), e, fn)
		}
	}
}

// checkType returns "" if v is a value of the input type typ, else what is
// wrong with it ("must be an integer").
func checkType(typ string, v any) string {
	ok := false
	switch typ {
	case "string":
		_, ok = v.(string)
	case "number":
		_, ok = number(v)
	case "integer":
		_, ok, _ = integer(v)
	case "boolean":
		_, ok = v.(bool)
	case "object":
		_, ok = v.(map[string]any)
	case "array":
		_, ok = v.([]any)
	default:
		return fmt.Sprintf("has unknown type %q", typ)
	}
	if ok {
		return ""
	}
	if strings.ContainsRune("aeiou", rune(typ[0])) {
		return "must be an " + typ
	}
	return "must be a " + typ
}
