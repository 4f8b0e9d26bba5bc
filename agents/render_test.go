package agents

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

func testScope() Scope {
	return Scope{
		Inputs: map[string]any{
			"url":  "https://example.com/a?b=c",
			"n":    3.0,
			"frac": 0.25,
			"flag": true,
			"obj":  map[string]any{"a": []any{1.0, "two"}, "html": "<b>&"},
			"none": nil,
			"num":  json.Number("12"),
			"bad":  func() {},
		},
		Steps: map[string]map[string]any{
			"fetch": {"body": "hello", "status": 200.0, "items": []any{map[string]any{"title": "first"}}},
			"empty": nil,
		},
		Run: map[string]any{"id": "run-1", "agent": "echo", "version": 3.0},
	}
}

func TestRender(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   any
		want any
	}{
		{"no reference", "plain ${ {x}} }}", "plain ${ {x}} }}"},
		{"empty string", "", ""},
		{"whole number", "${{ inputs.n }}", 3.0},
		{"whole without spaces", "${{inputs.flag}}", true},
		{"whole with wide spaces", "${{ \t inputs.url \n }}", "https://example.com/a?b=c"},
		{"whole object", "${{ inputs.obj }}", map[string]any{"a": []any{1.0, "two"}, "html": "<b>&"}},
		{"whole null", "${{ inputs.none }}", nil},
		{"whole step output", "${{ steps.fetch.output.status }}", 200.0},
		{"array index", "${{ steps.fetch.output.items.0.title }}", "first"},
		{"space outside the braces makes text", " ${{ inputs.n }}", " 3"},
		{
			"mixed text",
			"n=${{ inputs.n }} x=${{ inputs.frac }} f=${{ inputs.flag }} o=${{ inputs.obj }} s=${{ inputs.url }} none=[${{ inputs.none }}] num=${{ inputs.num }}",
			`n=3 x=0.25 f=true o={"a":[1,"two"],"html":"<b>&"} s=https://example.com/a?b=c none=[] num=12`,
		},
		{"two references", "${{ run.id }}/${{ run.version }}", "run-1/3"},
		{"list in text", "items: ${{ steps.fetch.output.items }}", `items: [{"title":"first"}]`},
		{
			"nested",
			map[string]any{"a": []any{"${{ inputs.n }}", 1.0, nil, map[string]any{"b": "x${{ run.agent }}"}}, "c": true},
			map[string]any{"a": []any{3.0, 1.0, nil, map[string]any{"b": "xecho"}}, "c": true},
		},
		{"number", 5, 5},
		{"nil", nil, nil},
		{"other types pass through", []string{"${{ inputs.n }}"}, []string{"${{ inputs.n }}"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Render(tt.in, testScope())
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   any
		want string
	}{
		{"missing field", "${{ steps.fetch.output.bodyx }}", "steps.fetch.output.bodyx: no such field"},
		{"field of a string", "x ${{ steps.fetch.output.body.x }}", "steps.fetch.output.body.x: no such field"},
		{"missing field names the first missing part", "${{ steps.fetch.output.a.b }}", "steps.fetch.output.a: no such field"},
		{"index out of range", "${{ steps.fetch.output.items.1 }}", "steps.fetch.output.items.1: no such field"},
		{"index with leading zero", "${{ steps.fetch.output.items.00 }}", "steps.fetch.output.items.00: no such field"},
		{"negative index", "${{ steps.fetch.output.items.-1 }}", "steps.fetch.output.items.-1: no such field"},
		{"field of null", "${{ inputs.none.x }}", "inputs.none.x: no such field"},
		{"step without output", "${{ steps.nope.output.x }}", "steps.nope.output: not set"},
		{"step with nil output", "${{ steps.empty.output.x }}", "steps.empty.output.x: no such field"},
		{"missing input", "${{ inputs.missing }}", "inputs.missing: not set"},
		{"missing run field", "${{ run.team }}", "run.team: not set"},
		{"unknown root", "${{ secrets.x }}", `unknown reference "secrets.x"`},
		{"function call", "${{ fromJSON(inputs.url) }}", `unknown reference "fromJSON(inputs.url)"`},
		{"unclosed", "x ${{ inputs.url", `"${{" without a closing "}}"`},
		{"first error in key order", map[string]any{"b": "${{ inputs.b }}", "a": []any{"${{ inputs.a }}"}}, "inputs.a: not set"},
		{"value that has no text", "x${{ inputs.bad }}", "inputs.bad: json: unsupported type: func()"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Render(tt.in, testScope())
			if err == nil {
				t.Fatalf("got %#v, want error %q", got, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("got error %q, want %q", err, tt.want)
			}
		})
	}
}

func TestRenderLeavesInputAlone(t *testing.T) {
	in := map[string]any{"a": "${{ inputs.n }}", "l": []any{"${{ run.id }}"}}
	if _, err := Render(in, testScope()); err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	want := map[string]any{"a": "${{ inputs.n }}", "l": []any{"${{ run.id }}"}}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("got input %#v after Render, want %#v", in, want)
	}
}

func TestValidateInputs(t *testing.T) {
	spec := Spec{Inputs: map[string]Input{
		"url":   {Type: "string", Required: true},
		"n":     {Type: "number", Default: 1.5},
		"count": {Type: "integer"},
		"flag":  {Type: "boolean", Default: false},
		"obj":   {Type: "object"},
		"list":  {Type: "array", Default: []any{"a"}},
		"odd":   {Type: "float"}, // Validate refuses this type
	}}
	for _, tt := range []struct {
		name    string
		given   map[string]any
		want    map[string]any
		wantErr []FieldError
	}{
		{
			"defaults",
			map[string]any{"url": "u"},
			map[string]any{"url": "u", "n": 1.5, "count": nil, "flag": false, "obj": nil, "list": []any{"a"}, "odd": nil},
			nil,
		},
		{
			"given values win",
			map[string]any{"url": "u", "n": json.Number("2.5"), "count": json.Number("3"), "flag": true,
				"obj": map[string]any{}, "list": []any{}},
			map[string]any{"url": "u", "n": json.Number("2.5"), "count": json.Number("3"), "flag": true,
				"obj": map[string]any{}, "list": []any{}, "odd": nil},
			nil,
		},
		{
			"null means not given",
			map[string]any{"url": "u", "n": nil},
			map[string]any{"url": "u", "n": 1.5, "count": nil, "flag": false, "obj": nil, "list": []any{"a"}, "odd": nil},
			nil,
		},
		{"integer as float64", map[string]any{"url": "u", "count": 4.0}, nil, nil},
		{"integer as int", map[string]any{"url": "u", "count": 5}, nil, nil},
		{"integer as exponent", map[string]any{"url": "u", "count": json.Number("1e2")}, nil, nil},
		{"number as int", map[string]any{"url": "u", "n": int32(7)}, nil, nil},
		{
			"every problem",
			map[string]any{"foo": 1, "n": "x", "count": 1.5, "flag": "true", "obj": []any{}, "list": map[string]any{}},
			nil,
			[]FieldError{
				{"inputs.count", "must be an integer"},
				{"inputs.flag", "must be a boolean"},
				{"inputs.foo", "unknown input"},
				{"inputs.list", "must be an array"},
				{"inputs.n", "must be a number"},
				{"inputs.obj", "must be an object"},
				{"inputs.url", "required"},
			},
		},
		{"required null", map[string]any{"url": nil}, nil, []FieldError{{"inputs.url", "required"}}},
		{"nothing given", nil, nil, []FieldError{{"inputs.url", "required"}}},
		{
			"bad numbers",
			map[string]any{"url": "u", "n": math.NaN(), "count": json.Number("1.5")},
			nil,
			[]FieldError{{"inputs.count", "must be an integer"}, {"inputs.n", "must be a number"}},
		},
		{"infinity", map[string]any{"url": "u", "n": math.Inf(1)}, nil, []FieldError{{"inputs.n", "must be a number"}}},
		{"not a json number", map[string]any{"url": "u", "n": json.Number("abc")}, nil, []FieldError{{"inputs.n", "must be a number"}}},
		{"string for a string only", map[string]any{"url": 1.0}, nil, []FieldError{{"inputs.url", "must be a string"}}},
		{"undeclared type", map[string]any{"url": "u", "odd": 1}, nil, []FieldError{{"inputs.odd", `has unknown type "float"`}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ValidateInputs(spec, tt.given)
			assertFieldErrors(t, err, tt.wantErr)
			if tt.wantErr != nil {
				if got != nil {
					t.Errorf("got %#v, want nil", got)
				}
				return
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestValidateInputsNoneDeclared(t *testing.T) {
	got, err := ValidateInputs(Spec{}, nil)
	if err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	if want := map[string]any{}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

func TestStepRefs(t *testing.T) {
	example := exampleAgent().Spec.Steps
	for _, tt := range []struct {
		name string
		step Step
		want []string
	}{
		{"connector with input only", example[0], nil},
		{"llm prompt", example[1], []string{"fetch"}},
		{"connector with", example[2], []string{"summarize"}},
		{"no references", Step{ID: "x"}, nil},
		{
			"everywhere, sorted and unique",
			Step{
				With: map[string]any{
					"a": "${{ steps.b.output.x }} ${{ steps.a.output }}",
					"l": []any{"${{ steps.b.output }}", map[string]any{"deep": "${{steps.d.output.y}}"}},
				},
				LLM: &LLMStep{
					System: "${{ steps.c.output }}",
					Prompt: "${{ steps.a.output.y }} ${{ steps.bad }} ${{ inputs.x }} ${{ run.id }} ${{ steps.z.output",
				},
			},
			[]string{"a", "b", "c", "d"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := StepRefs(tt.step); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}
