package agents

import (
	"math"
	"strings"
	"testing"
)

// fakeCatalog maps an action id to its required and optional parameters.
type fakeCatalog map[string][2][]string

func (c fakeCatalog) Action(id string) (required, optional []string, ok bool) {
	a, ok := c[id]
	return a[0], a[1], ok
}

// ActionIDs lists the ids out of order, as a registry might.
func (c fakeCatalog) ActionIDs() []string {
	ids := sortedKeys(c)
	for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
		ids[i], ids[j] = ids[j], ids[i]
	}
	return ids
}

// bareCatalog cannot list its actions.
type bareCatalog struct{ c fakeCatalog }

func (b bareCatalog) Action(id string) (required, optional []string, ok bool) { return b.c.Action(id) }

var testCatalog = fakeCatalog{
	"files.read":         {{"path"}, nil},
	"http.get":           {{"url"}, {"headers"}},
	"slack.post_message": {{"channel", "text"}, nil},
	"time.now":           {nil, nil},
}

func TestValidateExample(t *testing.T) {
	for _, tt := range []struct {
		name    string
		catalog ActionCatalog
	}{
		{"listing catalog", testCatalog},
		{"bare catalog", bareCatalog{testCatalog}},
		{"no catalog", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := Validate(exampleAgent(), tt.catalog); err != nil {
				t.Errorf("got %v, want nil", err)
			}
		})
	}
	a, err := Parse([]byte(exampleYAML))
	if err != nil {
		t.Fatalf("Parse: got %v, want nil", err)
	}
	if err := Validate(a, testCatalog); err != nil {
		t.Errorf("parsed example: got %v, want nil", err)
	}
}

func TestValidateNil(t *testing.T) {
	assertFieldErrors(t, Validate(nil, testCatalog), []FieldError{{"", "empty document"}})
}

const (
	testDNSRule = "must be a DNS label: 1-63 lowercase letters, digits or '-', starting with a letter and ending with a letter or digit"
	testIDRule  = "must be 1-63 lowercase letters, digits or '_', starting with a letter"
	testStmt    = "is too short: say what the work is for in at least 3 words and 15 characters"
)

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		name    string
		mutate  func(a *Agent)
		catalog ActionCatalog // testCatalog when nil, unless noCat
		noCat   bool
		want    []FieldError
	}{
		// Header and metadata.
		{name: "api version missing", mutate: func(a *Agent) { a.APIVersion = "" },
			want: []FieldError{{"apiVersion", "required"}}},
		{name: "api version wrong", mutate: func(a *Agent) { a.APIVersion = "telos/v2" },
			want: []FieldError{{"apiVersion", `must be "telos/v1", got "telos/v2"`}}},
		{name: "kind wrong", mutate: func(a *Agent) { a.Kind = "agent" },
			want: []FieldError{{"kind", `must be "Agent", got "agent"`}}},
		{name: "name missing", mutate: func(a *Agent) { a.Metadata.Name = "" },
			want: []FieldError{{"metadata.name", "required"}}},
		{name: "name upper case", mutate: func(a *Agent) { a.Metadata.Name = "Echo" },
			want: []FieldError{{"metadata.name", testDNSRule}}},
		{name: "name ends with dash", mutate: func(a *Agent) { a.Metadata.Name = "echo-" },
			want: []FieldError{{"metadata.name", testDNSRule}}},
		{name: "name starts with digit", mutate: func(a *Agent) { a.Metadata.Name = "1echo" },
			want: []FieldError{{"metadata.name", testDNSRule}}},
		{name: "name of 63", mutate: func(a *Agent) { a.Metadata.Name = strings.Repeat("a", 63) }},
		{name: "name of 64", mutate: func(a *Agent) { a.Metadata.Name = strings.Repeat("a", 64) },
			want: []FieldError{{"metadata.name", testDNSRule}}},
		{name: "name of one letter", mutate: func(a *Agent) { a.Metadata.Name = "e" }},
		{name: "team omitted", mutate: func(a *Agent) { a.Metadata.Team = "" }},
		{name: "team bad", mutate: func(a *Agent) { a.Metadata.Team = "plat_form" },
			want: []FieldError{{"metadata.team", testDNSRule}}},

		// Purpose.
		{name: "category missing", mutate: func(a *Agent) { a.Spec.Purpose.Category = "" },
			want: []FieldError{{"spec.purpose.category", "required"}}},
		{name: "category bad", mutate: func(a *Agent) { a.Spec.Purpose.Category = "Engineering" },
			want: []FieldError{{"spec.purpose.category", testDNSRule}}},
		{name: "statement blank", mutate: func(a *Agent) { a.Spec.Purpose.Statement = " \n " },
			want: []FieldError{{"spec.purpose.statement", "required"}}},
		{name: "statement short", mutate: func(a *Agent) { a.Spec.Purpose.Statement = "do stuff now" },
			want: []FieldError{{"spec.purpose.statement", testStmt}}},
		{name: "statement of two words", mutate: func(a *Agent) { a.Spec.Purpose.Statement = "summarize changelogs" },
			want: []FieldError{{"spec.purpose.statement", testStmt}}},
		{name: "statement padded to 15", mutate: func(a *Agent) { a.Spec.Purpose.Statement = "   go to it   now   " },
			want: []FieldError{{"spec.purpose.statement", testStmt}}},
		{name: "statement of 15 and 3", mutate: func(a *Agent) { a.Spec.Purpose.Statement = "  Audit build log  " }},
		{name: "negative minutes", mutate: func(a *Agent) { a.Spec.Purpose.Value.MinutesSavedPerRun = ptr(-1.0) },
			want: []FieldError{{"spec.purpose.value.minutes_saved_per_run", "must not be negative"}}},
		{name: "zero minutes", mutate: func(a *Agent) { a.Spec.Purpose.Value.MinutesSavedPerRun = ptr(0.0) }},
		{name: "no value", mutate: func(a *Agent) { a.Spec.Purpose.Value = nil }},

		// Budget.
		{name: "no budget", mutate: func(a *Agent) { a.Spec.Budget = nil }},
		{name: "empty limit", mutate: func(a *Agent) { a.Spec.Budget.PerMonth = &Limit{} },
			want: []FieldError{{"spec.budget.per_month", "set tokens, usd or both"}}},
		{name: "bad amounts", mutate: func(a *Agent) {
			a.Spec.Budget = &Budget{
				PerRun:   &Limit{Tokens: ptr(int64(0)), USD: ptr("abc")},
				PerDay:   &Limit{Tokens: ptr(int64(-5)), USD: ptr("0")},
				PerMonth: &Limit{USD: ptr("")},
			}
		}, want: []FieldError{
			{"spec.budget.per_run.tokens", "must be positive"},
			{"spec.budget.per_run.usd", `"abc" is not a decimal number`},
			{"spec.budget.per_day.tokens", "must be positive"},
			{"spec.budget.per_day.usd", "must be positive"},
			{"spec.budget.per_month.usd", "empty amount"},
		}},
		{name: "negative and too fine amounts", mutate: func(a *Agent) {
			a.Spec.Budget = &Budget{PerRun: &Limit{USD: ptr("-1")}, PerDay: &Limit{USD: ptr("0.0000000000001")}}
		}, want: []FieldError{
			{"spec.budget.per_run.usd", "must be positive"},
			{"spec.budget.per_day.usd", `"0.0000000000001" is finer than 1e-12 USD`},
		}},
		{name: "run exceeds day and month", mutate: func(a *Agent) {
			a.Spec.Budget = &Budget{
				PerRun:   &Limit{Tokens: ptr(int64(100)), USD: ptr("2")},
				PerDay:   &Limit{Tokens: ptr(int64(50)), USD: ptr("1.00")},
				PerMonth: &Limit{USD: ptr("1.5")},
			}
		}, want: []FieldError{
			{"spec.budget.per_run.tokens", "must not exceed per_day.tokens (50)"},
			{"spec.budget.per_run.usd", "must not exceed per_day.usd (1)"},
			{"spec.budget.per_run.usd", "must not exceed per_month.usd (1.5)"},
		}},
		{name: "day exceeds month", mutate: func(a *Agent) {
			a.Spec.Budget.PerMonth = &Limit{USD: ptr("0.5"), Tokens: ptr(int64(10))}
		}, want: []FieldError{
			{"spec.budget.per_run.tokens", "must not exceed per_month.tokens (10)"},
			{"spec.budget.per_day.usd", "must not exceed per_month.usd (0.5)"},
		}},
		{name: "equal limits", mutate: func(a *Agent) {
			a.Spec.Budget = &Budget{PerRun: &Limit{USD: ptr("1")}, PerDay: &Limit{USD: ptr("1.00")}}
		}},
		{name: "invalid limit is not compared", mutate: func(a *Agent) {
			a.Spec.Budget = &Budget{PerRun: &Limit{USD: ptr("2")}, PerDay: &Limit{USD: ptr("x")}}
		}, want: []FieldError{{"spec.budget.per_day.usd", `"x" is not a decimal number`}}},

		// Inputs.
		{name: "input names and types", mutate: func(a *Agent) {
			a.Spec.Inputs["Bad-Name"] = Input{Type: "string"}
			a.Spec.Inputs["no_type"] = Input{}
			a.Spec.Inputs["float"] = Input{Type: "float", Default: "x"}
		}, want: []FieldError{
			{"spec.inputs.Bad-Name", "input name " + testIDRule},
			{"spec.inputs.float.type", "must be one of string, number, integer, boolean, object, array"},
			{"spec.inputs.no_type.type", "required"},
		}},
		{name: "defaults", mutate: func(a *Agent) {
			a.Spec.Inputs = map[string]Input{
				"a_req":         {Type: "string", Required: true, Default: "x"},
				"b_int":         {Type: "integer", Default: 1.5},
				"c_int":         {Type: "integer", Default: 2.0},
				"d_num":         {Type: "number", Default: "1"},
				"e_num":         {Type: "number", Default: 3},
				"f_bool":        {Type: "boolean", Default: "true"},
				"g_bool":        {Type: "boolean", Default: false},
				"h_obj":         {Type: "object", Default: []any{}},
				"i_obj":         {Type: "object", Default: map[string]any{}},
				"j_arr":         {Type: "array", Default: map[string]any{}},
				"k_arr":         {Type: "array", Default: []any{1.0}},
				"l_str":         {Type: "string", Default: 1.0},
				"m_str":         {Type: "string", Default: ""},
				"n_req":         {Type: "string", Required: true},
				"changelog_url": {Type: "string", Required: true},
			}
		}, want: []FieldError{
			{"spec.inputs.a_req.default", "a required input cannot have a default"},
			{"spec.inputs.b_int.default", "must be an integer"},
			{"spec.inputs.d_num.default", "must be a number"},
			{"spec.inputs.f_bool.default", "must be a boolean"},
			{"spec.inputs.h_obj.default", "must be an object"},
			{"spec.inputs.j_arr.default", "must be an array"},
			{"spec.inputs.l_str.default", "must be a string"},
		}},

		// Steps.
		{name: "no steps", mutate: func(a *Agent) { a.Spec.Steps = nil },
			want: []FieldError{{"spec.steps", "at least one step is required"}}},
		{name: "step id missing", mutate: func(a *Agent) { a.Spec.Steps[2].ID = "" },
			want: []FieldError{{"spec.steps[2].id", "required"}}},
		{name: "step id bad", mutate: func(a *Agent) { a.Spec.Steps[2].ID = "Deliver-it" },
			want: []FieldError{{"spec.steps[2].id", testIDRule}}},
		{name: "step id of 63", mutate: func(a *Agent) { a.Spec.Steps[2].ID = "d" + strings.Repeat("_", 62) }},
		{name: "step id of 64", mutate: func(a *Agent) { a.Spec.Steps[2].ID = "d" + strings.Repeat("1", 63) },
			want: []FieldError{{"spec.steps[2].id", testIDRule}}},
		{name: "duplicate step id", mutate: func(a *Agent) { a.Spec.Steps[2].ID = "fetch" },
			want: []FieldError{{"spec.steps[2].id", `duplicate step id "fetch" (also spec.steps[0].id)`}}},
		{name: "purpose missing", mutate: func(a *Agent) { a.Spec.Steps[1].Purpose = "  " },
			want: []FieldError{{"spec.steps[1].purpose", "required"}}},
		{name: "neither connector nor llm", mutate: func(a *Agent) { a.Spec.Steps[0].Connector = "" },
			want: []FieldError{{"spec.steps[0]", "set exactly one of connector, llm or agent"}}},
		{name: "both connector and llm", mutate: func(a *Agent) { a.Spec.Steps[0].LLM = &LLMStep{Prompt: "p"} },
			want: []FieldError{{"spec.steps[0]", "set exactly one of connector, llm or agent"}}},
		{name: "unknown connector", mutate: func(a *Agent) { a.Spec.Steps[2].Connector = "slack.post" },
			want: []FieldError{{"spec.steps[2].connector",
				`unknown connector action "slack.post" (known: files.read, http.get, slack.post_message, time.now)`}}},
		{name: "unknown connector, bare catalog", catalog: bareCatalog{testCatalog},
			mutate: func(a *Agent) { a.Spec.Steps[2].Connector = "slack.post" },
			want:   []FieldError{{"spec.steps[2].connector", `unknown connector action "slack.post"`}}},
		{name: "unknown connector, empty catalog", catalog: fakeCatalog{},
			mutate: func(a *Agent) { a.Spec.Steps = a.Spec.Steps[:1] },
			want:   []FieldError{{"spec.steps[0].connector", `unknown connector action "http.get"`}}},
		{name: "parameters", mutate: func(a *Agent) {
			a.Spec.Steps[0].With = map[string]any{"headers": map[string]any{}, "method": "POST"}
			a.Spec.Steps[2].With = map[string]any{"channel": nil, "text": "t", "blocks": []any{}}
		}, want: []FieldError{
			{"spec.steps[0].with.method", "unknown parameter (http.get takes headers, url)"},
			{"spec.steps[0].with.url", "required"},
			{"spec.steps[2].with.blocks", "unknown parameter (slack.post_message takes channel, text)"},
			{"spec.steps[2].with.channel", "required"},
		}},
		{name: "action without parameters", mutate: func(a *Agent) {
			a.Spec.Steps[0] = Step{ID: "fetch", Purpose: "Read the clock now.", Connector: "time.now", With: map[string]any{"tz": "UTC"}}
			a.Spec.Steps[1].LLM.Prompt = "p"
		}, want: []FieldError{{"spec.steps[0].with.tz", "unknown parameter (time.now takes no parameters)"}}},
		{name: "no catalog skips connector checks", noCat: true, mutate: func(a *Agent) {
			a.Spec.Steps[0].Connector = "nope.nope"
			a.Spec.Steps[0].With["whatever"] = 1.0
		}},
		{name: "with on an llm step", mutate: func(a *Agent) { a.Spec.Steps[1].With = map[string]any{"x": "${{ inputs.nope }}"} },
			want: []FieldError{
				{"spec.steps[1].with", "only connector steps take parameters"},
				{"spec.steps[1].with.x", `unknown input "nope"`},
			}},
		{name: "llm prompt missing", mutate: func(a *Agent) { a.Spec.Steps[1].LLM.Prompt = "" },
			want: []FieldError{{"spec.steps[1].llm.prompt", "required"}}},
		{name: "llm limits", mutate: func(a *Agent) {
			a.Spec.Steps[1].LLM.MaxTokens = -1
			a.Spec.Steps[1].LLM.Temperature = ptr(2.1)
			a.Spec.Steps[1].TimeoutSeconds = 3601
		}, want: []FieldError{
			{"spec.steps[1].llm.max_tokens", "must be between 1 and 128000"},
			{"spec.steps[1].llm.temperature", "must be between 0 and 2"},
			{"spec.steps[1].timeout_seconds", "must be between 0 and 3600"},
		}},
		{name: "llm limits high and low", mutate: func(a *Agent) {
			a.Spec.Steps[1].LLM.MaxTokens = 128001
			a.Spec.Steps[1].LLM.Temperature = ptr(-0.1)
			a.Spec.Steps[1].TimeoutSeconds = -1
		}, want: []FieldError{
			{"spec.steps[1].llm.max_tokens", "must be between 1 and 128000"},
			{"spec.steps[1].llm.temperature", "must be between 0 and 2"},
			{"spec.steps[1].timeout_seconds", "must be between 0 and 3600"},
		}},
		{name: "temperature not a number", mutate: func(a *Agent) { a.Spec.Steps[1].LLM.Temperature = ptr(math.NaN()) },
			want: []FieldError{{"spec.steps[1].llm.temperature", "must be between 0 and 2"}}},
		{name: "llm limits at the edges", mutate: func(a *Agent) {
			a.Spec.Steps[1].LLM.MaxTokens = 128000
			a.Spec.Steps[1].LLM.Temperature = ptr(2.0)
			a.Spec.Steps[1].TimeoutSeconds = 3600
			a.Spec.Steps[0].TimeoutSeconds = 0
			a.Spec.Steps[2].TimeoutSeconds = 1
		}},
		{name: "temperature zero", mutate: func(a *Agent) { a.Spec.Steps[1].LLM.Temperature = ptr(0.0) }},
		{name: "no model", mutate: func(a *Agent) { a.Spec.Model = "" },
			want: []FieldError{{"spec.steps[1].llm.model", "no model (set spec.model or this field)"}}},
		{name: "model on the step", mutate: func(a *Agent) { a.Spec.Model = ""; a.Spec.Steps[1].LLM.Model = "gpt-5" }},

		// References.
		{name: "references to unknown things", mutate: func(a *Agent) {
			a.Spec.Steps[0].With["url"] = "${{ inputs.changelog }}/${{ steps.nope.output.x }}"
			a.Spec.Steps[1].LLM.System = "${{ secrets.x }}"
			a.Spec.Steps[1].LLM.Prompt = "${{ env.HOME }} ${{ run.secret }} ${{ steps.fetch.body }} ${{ steps.fetch }}"
		}, want: []FieldError{
			{"spec.steps[0].with.url", `unknown input "changelog"`},
			{"spec.steps[0].with.url", `unknown step "nope"`},
			{"spec.steps[1].llm.system", `unknown reference "secrets.x"`},
			{"spec.steps[1].llm.prompt", `unknown reference "env.HOME"`},
			{"spec.steps[1].llm.prompt", `unknown reference "run.secret"`},
			{"spec.steps[1].llm.prompt", `unknown reference "steps.fetch.body"`},
			{"spec.steps[1].llm.prompt", `unknown reference "steps.fetch"`},
		}},
		{name: "references that are code", mutate: func(a *Agent) {
			a.Spec.Steps[1].LLM.Prompt = "${{ toJSON(inputs.changelog_url) }} ${{ inputs.changelog_url || 'x' }}" +
				" ${{ inputs.changelog_url + 1 }} ${{ inputs['changelog_url'] }} ${{ inputs..x }} ${{}} ${{ inputs.changelog_url"
		}, want: []FieldError{
			{"spec.steps[1].llm.prompt", `unknown reference "toJSON(inputs.changelog_url)"`},
			{"spec.steps[1].llm.prompt", `unknown reference "inputs.changelog_url || 'x'"`},
			{"spec.steps[1].llm.prompt", `unknown reference "inputs.changelog_url + 1"`},
			{"spec.steps[1].llm.prompt", `unknown reference "inputs['changelog_url']"`},
			{"spec.steps[1].llm.prompt", `unknown reference "inputs..x"`},
			{"spec.steps[1].llm.prompt", "empty reference"},
			{"spec.steps[1].llm.prompt", `"${{" without a closing "}}"`},
		}},
		{name: "references to this and later steps", mutate: func(a *Agent) {
			a.Spec.Steps[0].With["url"] = "${{ steps.summarize.output.text }}"
			a.Spec.Steps[1].LLM.Prompt = "${{ steps.summarize.output }} ${{ steps.deliver.output.ok }}"
		}, want: []FieldError{
			{"spec.steps[0].with.url", `step "summarize" is not before this step`},
			{"spec.steps[1].llm.prompt", `step "summarize" is not before this step`},
			{"spec.steps[1].llm.prompt", `step "deliver" is not before this step`},
		}},
		{name: "good references", mutate: func(a *Agent) {
			a.Spec.Inputs["n"] = Input{Type: "object"}
			a.Spec.Steps[0].With["url"] = "${{inputs.changelog_url}}?a=${{   run.id }}&b=${{ run.agent }}${{ run.version }}${{ run.team }}${{ run.trigger }}"
			a.Spec.Steps[0].With["headers"] = map[string]any{"X-Deep": "${{ inputs.n.a.b-c.0.D_e }}"}
			a.Spec.Steps[1].LLM.Prompt = "${{ steps.fetch.output }} ${{ steps.fetch.output.items.0 }} }} $ {{ x }} {{ x }}"
		}},
		{name: "references in nested parameters", mutate: func(a *Agent) {
			a.Spec.Steps[0].With["headers"] = map[string]any{
				"b": []any{"ok", map[string]any{"z": "${{ inputs.b }}", "a": "${{ inputs.a }}"}},
				"a": 1.0,
			}
		}, want: []FieldError{
			{"spec.steps[0].with.headers.b[1].a", `unknown input "a"`},
			{"spec.steps[0].with.headers.b[1].z", `unknown input "b"`},
		}},
		{name: "reference to a duplicated id uses the first", mutate: func(a *Agent) {
			a.Spec.Steps[1].ID = "fetch"
			a.Spec.Steps[2].With["text"] = "${{ steps.fetch.output.text }}"
		}, want: []FieldError{{"spec.steps[1].id", `duplicate step id "fetch" (also spec.steps[0].id)`}}},

		// Order across the document.
		{name: "document order", mutate: func(a *Agent) {
			a.Kind = ""
			a.Metadata.Name = ""
			a.Spec.Purpose.Category = ""
			a.Spec.Budget.PerRun = &Limit{}
			a.Spec.Inputs["z"] = Input{}
			a.Spec.Inputs["a"] = Input{}
			a.Spec.Steps[0].ID = ""
			a.Spec.Steps[0].Purpose = ""
			a.Spec.Steps[2].Purpose = ""
			a.Spec.Steps[1].TimeoutSeconds = -1
			a.Spec.Steps[1].LLM.Prompt = ""
		}, want: []FieldError{
			{"kind", "required"},
			{"metadata.name", "required"},
			{"spec.purpose.category", "required"},
			{"spec.budget.per_run", "set tokens, usd or both"},
			{"spec.inputs.a.type", "required"},
			{"spec.inputs.z.type", "required"},
			{"spec.steps[0].id", "required"},
			{"spec.steps[0].purpose", "required"},
			{"spec.steps[1].llm.prompt", "required"},
			{"spec.steps[1].timeout_seconds", "must be between 0 and 3600"},
			{"spec.steps[2].purpose", "required"},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := exampleAgent()
			tt.mutate(a)
			var catalog ActionCatalog = testCatalog
			switch {
			case tt.noCat:
				catalog = nil
			case tt.catalog != nil:
				catalog = tt.catalog
			}
			assertFieldErrors(t, Validate(a, catalog), tt.want)
		})
	}
}

func TestStepKind(t *testing.T) {
	for _, tt := range []struct {
		step Step
		want string
	}{
		{Step{Connector: "http.get"}, "connector"},
		{Step{LLM: &LLMStep{}}, "llm"},
	} {
		if got := tt.step.Kind(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestPurposeProblem(t *testing.T) {
	tests := []struct {
		statement string
		want      string
	}{
		{"Flag breaking changes before the upgrade review.", ""},
		{"", "required"},
		{"testing", "is too vague: say what the work is for and who uses its result"},
		{"  Misc. ", "is too vague: say what the work is for and who uses its result"},
		{"N/A", "is too vague: say what the work is for and who uses its result"},
		{"usage", "is too vague: say what the work is for and who uses its result"},
		{"Increase AI usage", "is too vague: say what the work is for and who uses its result"},
		{"We run this to increase AI usage across the team.", "states AI or token usage as the goal: say what the work is for and who uses its result"},
		{"Summarize it", "is too short: say what the work is for in at least 3 words and 15 characters"},
		{"testing testing testing testing", "is too vague: say what the work is for and who uses its result"},
		{"for testing purposes only", "is too vague: say what the work is for and who uses its result"},
		{"Experimenting with AI models", "is too vague: say what the work is for and who uses its result"},
		{"asdf asdf asdf asdf", "is too vague: say what the work is for and who uses its result"},
	}
	for _, tt := range tests {
		t.Run(tt.statement, func(t *testing.T) {
			if got := PurposeProblem(tt.statement, 3, 15); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
