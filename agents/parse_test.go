package agents

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// exampleYAML is the agent of DESIGN.md.
const exampleYAML = `apiVersion: telos/v1
kind: Agent
metadata:
  name: echo-release-digest          # DNS-label style, unique per team
  team: platform
spec:
  description: Tell the platform team which Echo releases need action.
  purpose:
    category: engineering-productivity   # from an admin-managed taxonomy
    statement: Flag breaking changes and security fixes before the Monday upgrade review.
    outcome: A digest message in the team channel each week.
    value: { minutes_saved_per_run: 30 }
  model: gpt-4o-mini                 # default for llm steps
  budget:
    per_run: { tokens: 40000, usd: "0.05" }
    per_day: { usd: "1.00" }
  inputs:
    changelog_url: { type: string, required: true }
  steps:
    - id: fetch
      purpose: Read the upstream release notes.
      connector: http.get
      with: { url: "${{ inputs.changelog_url }}" }
    - id: summarize
      purpose: Pick out breaking changes and security fixes.
      llm:
        system: You review dependency release notes for a platform team.
        prompt: "List releases with breaking changes or security fixes:\n${{ steps.fetch.output.body }}"
        max_tokens: 800
    - id: deliver
      purpose: Deliver the digest to the team.
      connector: slack.post_message
      with: { channel: "#platform-deps", text: "${{ steps.summarize.output.text }}" }
`

// exampleJSON is exampleYAML as JSON written by other tools: tab indents, an
// escaped slash and an escaped surrogate pair, which yaml.v3 alone refuses.
const exampleJSON = "{\n" +
	"\t\"apiVersion\": \"telos\\/v1\",\n" +
	"\t\"kind\": \"Agent\",\n" +
	"\t\"metadata\": {\"name\": \"echo-release-digest\", \"team\": \"platform\"},\n" +
	"\t\"spec\": {\n" +
	"\t\t\"description\": \"Tell the platform team which Echo releases need action.\",\n" +
	"\t\t\"purpose\": {\n" +
	"\t\t\t\"category\": \"engineering-productivity\",\n" +
	"\t\t\t\"statement\": \"Flag breaking changes and security fixes before the Monday upgrade review.\",\n" +
	"\t\t\t\"outcome\": \"A digest message in the team channel each week.\",\n" +
	"\t\t\t\"value\": {\"minutes_saved_per_run\": 30}\n" +
	"\t\t},\n" +
	"\t\t\"model\": \"gpt-4o-mini\",\n" +
	"\t\t\"budget\": {\"per_run\": {\"tokens\": 40000, \"usd\": \"0.05\"}, \"per_day\": {\"usd\": \"1.00\"}},\n" +
	"\t\t\"inputs\": {\"changelog_url\": {\"type\": \"string\", \"required\": true}},\n" +
	"\t\t\"steps\": [\n" +
	"\t\t\t{\"id\": \"fetch\", \"purpose\": \"Read the upstream release notes.\", \"connector\": \"http.get\",\n" +
	"\t\t\t \"with\": {\"url\": \"${{ inputs.changelog_url }}\"}},\n" +
	"\t\t\t{\"id\": \"summarize\", \"purpose\": \"Pick out breaking changes and security fixes.\",\n" +
	"\t\t\t \"llm\": {\"system\": \"You review dependency release notes for a platform team.\",\n" +
	"\t\t\t         \"prompt\": \"List releases with breaking changes or security fixes:\\n${{ steps.fetch.output.body }}\",\n" +
	"\t\t\t         \"max_tokens\": 800}},\n" +
	"\t\t\t{\"id\": \"deliver\", \"purpose\": \"Deliver the digest to the team.\", \"connector\": \"slack.post_message\",\n" +
	"\t\t\t \"with\": {\"channel\": \"#platform-deps\", \"text\": \"${{ steps.summarize.output.text }}\"}}\n" +
	"\t\t]\n" +
	"\t}\n" +
	"}\n"

// exampleAgent is what exampleYAML and exampleJSON decode to.
func exampleAgent() *Agent {
	return &Agent{
		APIVersion: "telos/v1",
		Kind:       "Agent",
		Metadata:   Metadata{Name: "echo-release-digest", Team: "platform"},
		Spec: Spec{
			Description: "Tell the platform team which Echo releases need action.",
			Purpose: Purpose{
				Category:  "engineering-productivity",
				Statement: "Flag breaking changes and security fixes before the Monday upgrade review.",
				Outcome:   "A digest message in the team channel each week.",
				Value:     &Value{MinutesSavedPerRun: ptr(30.0)},
			},
			Model: "gpt-4o-mini",
			Budget: &Budget{
				PerRun: &Limit{Tokens: ptr(int64(40000)), USD: ptr("0.05")},
				PerDay: &Limit{USD: ptr("1.00")},
			},
			Inputs: map[string]Input{"changelog_url": {Type: "string", Required: true}},
			Steps: []Step{
				{
					ID: "fetch", Purpose: "Read the upstream release notes.", Connector: "http.get",
					With: map[string]any{"url": "${{ inputs.changelog_url }}"},
				},
				{
					ID: "summarize", Purpose: "Pick out breaking changes and security fixes.",
					LLM: &LLMStep{
						System:    "You review dependency release notes for a platform team.",
						Prompt:    "List releases with breaking changes or security fixes:\n${{ steps.fetch.output.body }}",
						MaxTokens: 800,
					},
				},
				{
					ID: "deliver", Purpose: "Deliver the digest to the team.", Connector: "slack.post_message",
					With: map[string]any{"channel": "#platform-deps", "text": "${{ steps.summarize.output.text }}"},
				},
			},
		},
	}
}

func ptr[T any](v T) *T { return &v }

func TestParseExample(t *testing.T) {
	for _, tt := range []struct {
		name string
		doc  string
	}{
		{"yaml", exampleYAML},
		{"json", exampleJSON},
		{"json with byte order mark", "\xef\xbb\xbf" + exampleJSON},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.doc))
			if err != nil {
				t.Fatalf("Parse: got error %v, want nil", err)
			}
			if want := exampleAgent(); !reflect.DeepEqual(got, want) {
				t.Errorf("got %#v, want %#v", got, want)
			}
		})
	}
}

// minimal is the smallest document, with a placeholder for more spec fields.
func minimal(specExtra string) string {
	return "apiVersion: telos/v1\nkind: Agent\nmetadata: {name: a}\nspec:\n  purpose: {category: c, statement: s}\n" + specExtra
}

func TestParseValues(t *testing.T) {
	for _, tt := range []struct {
		name string
		doc  string
		got  func(a *Agent) any
		want any
	}{
		{
			"null is the zero value",
			minimal("  description: ~\n  budget:\n  steps:\n    - id: x\n      with:\n"),
			func(a *Agent) any { return []any{a.Spec.Description, a.Spec.Budget, a.Spec.Steps[0].With} },
			[]any{"", (*Budget)(nil), map[string]any(nil)},
		},
		{
			"timestamps stay text",
			minimal("  description: 2024-01-01\n  steps:\n    - with: {at: 2024-01-02T10:00:00Z}\n"),
			func(a *Agent) any { return []any{a.Spec.Description, a.Spec.Steps[0].With["at"]} },
			[]any{"2024-01-01", "2024-01-02T10:00:00Z"},
		},
		{
			"whole float for an integer",
			minimal("  steps:\n    - timeout_seconds: 30.0\n"),
			func(a *Agent) any { return a.Spec.Steps[0].TimeoutSeconds },
			30,
		},
		{
			"integer for a float",
			minimal("  steps:\n    - llm: {temperature: 1}\n"),
			func(a *Agent) any { return *a.Spec.Steps[0].LLM.Temperature },
			1.0,
		},
		{
			"any values keep JSON types",
			minimal("  inputs:\n    n: {type: object, default: {a: [1, 2.5, true, null, x]}}\n"),
			func(a *Agent) any { return a.Spec.Inputs["n"].Default },
			map[string]any{"a": []any{1.0, 2.5, true, nil, "x"}},
		},
		{
			"hex and underscores in numbers",
			minimal("  budget: {per_run: {tokens: 0x10}, per_day: {tokens: 1_000}}\n"),
			func(a *Agent) any { return []int64{*a.Spec.Budget.PerRun.Tokens, *a.Spec.Budget.PerDay.Tokens} },
			[]int64{16, 1000},
		},
		{
			"anchors and merge keys",
			minimal("  steps:\n    - &s {id: a, with: {x: 1}}\n    - {<<: *s, id: b}\n"),
			func(a *Agent) any { return []any{a.Spec.Steps[1].ID, a.Spec.Steps[1].With} },
			[]any{"b", map[string]any{"x": 1.0}},
		},
		{
			"yes is a string",
			minimal("  steps:\n    - purpose: yes\n"),
			func(a *Agent) any { return a.Spec.Steps[0].Purpose },
			"yes",
		},
		{
			"json numbers",
			`{"spec": {"steps": [{"timeout_seconds": 1.0e1, "with": {"big": 12345678901234567890, "f": 0.5}}]}}`,
			func(a *Agent) any { return []any{a.Spec.Steps[0].TimeoutSeconds, a.Spec.Steps[0].With} },
			[]any{10, map[string]any{"big": 12345678901234567890.0, "f": 0.5}},
		},
		{
			"yaml flow mapping that is not json",
			"{apiVersion: telos/v1, kind: Agent}",
			func(a *Agent) any { return a.APIVersion + " " + a.Kind },
			"telos/v1 Agent",
		},
		{
			"yaml tags",
			minimal("  steps:\n    - with: {a: !foo x, b: !!str 3, c: !!timestamp 2001-12-14, d: !!binary aGk=, e: 18446744073709551615}\n"),
			func(a *Agent) any { return a.Spec.Steps[0].With },
			map[string]any{"a": "x", "b": "3", "c": "2001-12-14", "d": "hi", "e": 18446744073709551615.0},
		},
		{
			"json with a trailing comma is yaml",
			`{"kind": "Agent",}`,
			func(a *Agent) any { return a.Kind },
			"Agent",
		},
		{
			"document at the size limit",
			"kind: Agent\n#" + strings.Repeat("x", MaxDocumentSize-len("kind: Agent\n#")),
			func(a *Agent) any { return a.Kind },
			"Agent",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse([]byte(tt.doc))
			if err != nil {
				t.Fatalf("Parse: got error %v, want nil", err)
			}
			if got := tt.got(a); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		doc  string
		want []FieldError
	}{
		{"empty", "", []FieldError{{"", "empty document"}}},
		{"only a comment", "# nothing\n", []FieldError{{"", "empty document"}}},
		{"null", "null\n", []FieldError{{"", "empty document"}}},
		{"empty document marker", "---\n", []FieldError{{"", "empty document"}}},
		{"scalar", "hello\n", []FieldError{{"", "must be an object"}}},
		{"json array", "[1, 2]", []FieldError{{"", "must be an object"}}},
		{"two documents", "kind: Agent\n---\nkind: Agent\n", []FieldError{{"", "more than one document"}}},
		{"malformed second document", "kind: Agent\n---\n[", []FieldError{{"", "line 3: did not find expected node content"}}},
		{"malformed yaml", "kind: [Agent\n", []FieldError{{"", "line 1: did not find expected ',' or ']'"}}},
		{"malformed json", `{"kind": "Agent"`, []FieldError{{"", "line 1: did not find expected ',' or '}'"}}},
		{"duplicate yaml key", "kind: Agent\nkind: Agent\n", []FieldError{{"", `line 2: mapping key "kind" already defined at line 1`}}},
		{"duplicate json key", "{\"kind\": \"Agent\",\n \"kind\": \"Agent\"}", []FieldError{{"", `line 2: duplicate key "kind"`}}},
		{"too large", "kind: Agent\n#" + strings.Repeat("x", MaxDocumentSize), []FieldError{{"", "document is larger than 1 MiB"}}},
		{
			"unknown fields everywhere",
			minimal("  stpes: []\n  steps:\n    - id: a\n      purpse: x\n      llm: {prompt: p, temp: 1}\n    - {id: b, Purpose: x}\n") +
				"extra: 1\nmetadata2: {}\n",
			[]FieldError{
				{"spec.steps[0].llm.temp", "unknown field"},
				{"spec.steps[0].purpse", "unknown field"},
				{"spec.steps[1].Purpose", "unknown field"},
				{"spec.stpes", "unknown field"},
				{"extra", "unknown field"},
				{"metadata2", "unknown field"},
			},
		},
		{
			"wrong types",
			"apiVersion: 1\nkind: [Agent]\nmetadata: {name: a, labels: {x: 1, y: ok}}\nspec:\n" +
				"  purpose: {category: c, statement: s, value: {minutes_saved_per_run: lots}}\n" +
				"  budget: {per_run: {tokens: 1.5, usd: 0.05}, per_day: {tokens: 1e30}}\n" +
				"  inputs: {a: {type: string, required: yes}, b: 3}\n" +
				"  steps:\n" +
				"    - {id: 7, timeout_seconds: 1.5, with: {x: .nan, y: [.inf]}}\n" +
				"    - {timeout_seconds: \"30\", llm: {max_tokens: true, temperature: hot}}\n" +
				"    - llm: [prompt]\n",
			[]FieldError{
				{"apiVersion", "must be a string"},
				{"kind", "must be a string"},
				{"metadata.labels.x", "must be a string"},
				{"spec.purpose.value.minutes_saved_per_run", "must be a number"},
				{"spec.budget.per_run.tokens", "must be an integer"},
				{"spec.budget.per_run.usd", "must be a string"},
				{"spec.budget.per_day.tokens", "is out of range"},
				{"spec.inputs.a.required", "must be a boolean"},
				{"spec.inputs.b", "must be an object"},
				{"spec.steps[0].id", "must be a string"},
				{"spec.steps[0].with.x", "must be a number"},
				{"spec.steps[0].with.y[0]", "must be a number"},
				{"spec.steps[0].timeout_seconds", "must be an integer"},
				{"spec.steps[1].llm.max_tokens", "must be an integer"},
				{"spec.steps[1].llm.temperature", "must be a number"},
				{"spec.steps[1].timeout_seconds", "must be an integer"},
				{"spec.steps[2].llm", "must be an object"},
			},
		},
		{
			"int overflow of a narrower field",
			minimal("  steps:\n    - timeout_seconds: 99999999999999999999\n"),
			[]FieldError{{"spec.steps[0].timeout_seconds", "is out of range"}},
		},
		{
			"whole float too large for int64",
			minimal("  budget: {per_run: {tokens: 1e19}}\n"),
			[]FieldError{{"spec.budget.per_run.tokens", "is out of range"}},
		},
		{
			"steps must be a list",
			minimal("  steps: {id: a}\n"),
			[]FieldError{{"spec.steps", "must be an array"}},
		},
		{
			"keys that are not strings",
			minimal("  inputs: {1: {type: string}, ~: {type: string}, ok: {type: 2}}\n  steps:\n    - with: {a: {true: x}}\n"),
			[]FieldError{
				{"spec.inputs.1", "key must be a string"},
				{"spec.inputs.null", "key must be a string"},
				{"spec.inputs.ok.type", "must be a string"},
				{"spec.steps[0].with.a.true", "key must be a string"},
			},
		},
		{
			"json wrong types",
			`{"kind": "Agent", "spec": {"steps": [{"id": "a", "timeout_seconds": 1e999}, {"id": null, "with": 3}]}}`,
			[]FieldError{
				{"spec.steps[0].timeout_seconds", "must be an integer"},
				{"spec.steps[1].with", "must be an object"},
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse([]byte(tt.doc))
			// A document that is an object comes back partially decoded so
			// Load can validate the rest; anything else comes back nil.
			rootError := len(tt.want) > 0 && tt.want[0].Path == ""
			if rootError && a != nil {
				t.Errorf("got agent %+v, want nil", a)
			}
			if !rootError && a == nil {
				t.Error("got nil agent, want the partial agent")
			}
			assertFieldErrors(t, err, tt.want)
		})
	}
}

// assertFieldErrors checks that err is a *ValidationError holding want exactly.
func assertFieldErrors(t *testing.T, err error, want []FieldError) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("got error %v, want nil", err)
		}
		return
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got error %v (%T), want *ValidationError", err, err)
	}
	if !reflect.DeepEqual(ve.Errors, want) {
		t.Errorf("got errors\n%s\nwant\n%s", formatFieldErrors(ve.Errors), formatFieldErrors(want))
	}
}

func formatFieldErrors(errs []FieldError) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString("\t" + e.Path + ": " + e.Message + "\n")
	}
	return b.String()
}

func TestFieldErrorText(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{FieldError{"spec.steps[0].id", "required"}, "spec.steps[0].id: required"},
		{FieldError{"", "empty document"}, "empty document"},
		{invalid("kind", "required"), "invalid: kind: required"},
		{&ValidationError{Errors: []FieldError{{"a", "x"}, {"b", "y"}}}, "invalid: a: x (and more)"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}
