package connectors_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/telos-dev/telos/agents"
	"github.com/telos-dev/telos/connectors"
)

// The registry is what spec validation consults.
var _ agents.ActionCatalog = (*connectors.Registry)(nil)

func echoAction(id string) connectors.Action {
	return connectors.Action{
		ID:       id,
		Class:    connectors.Read,
		Required: []string{"url"},
		Optional: []string{"headers", "body"},
		Kinds:    map[string]connectors.Kind{"headers": connectors.StringMap, "body": connectors.StringOrObject},
		Do: func(_ context.Context, req connectors.Request) (connectors.Result, error) {
			return connectors.Result{Output: req.Input}, nil
		},
	}
}

func TestRegistryListsSorted(t *testing.T) {
	r := connectors.NewRegistry()
	for _, id := range []string{"zeta.get", "alpha.post_message", "alpha.get"} {
		r.Register(echoAction(id))
	}
	var got []string
	for _, a := range r.Actions() {
		got = append(got, a.ID)
	}
	want := []string{"alpha.get", "alpha.post_message", "zeta.get"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}

	req, opt, ok := r.Action("alpha.get")
	if !ok || !reflect.DeepEqual(req, []string{"url"}) || !reflect.DeepEqual(opt, []string{"headers", "body"}) {
		t.Errorf("got %v %v %v, want [url] [headers body] true", req, opt, ok)
	}
	req[0] = "changed"
	if again, _, _ := r.Action("alpha.get"); again[0] != "url" {
		t.Errorf("got %q after mutating the returned slice, want %q", again[0], "url")
	}
	if _, _, ok := r.Action("alpha.missing"); ok {
		t.Errorf("got ok for an unknown action, want !ok")
	}
	if _, ok := r.Lookup("zeta.get"); !ok {
		t.Errorf("got !ok from Lookup, want ok")
	}
}

func TestRegisterPanics(t *testing.T) {
	noDo := echoAction("a.b")
	noDo.Do = nil
	badClass := echoAction("a.b")
	badClass.Class = "delete"
	dupParam := echoAction("a.b")
	dupParam.Optional = []string{"url"}
	strayKind := echoAction("a.b")
	strayKind.Kinds = map[string]connectors.Kind{"nope": connectors.StringMap}
	badKind := echoAction("a.b")
	badKind.Kinds = map[string]connectors.Kind{"body": "number"}

	tests := []struct {
		name string
		a    connectors.Action
	}{
		{"empty id", echoAction("")},
		{"no dot", echoAction("http")},
		{"two dots", echoAction("a.b.c")},
		{"upper case", echoAction("HTTP.get")},
		{"empty action", echoAction("http.")},
		{"no do", noDo},
		{"bad class", badClass},
		{"parameter twice", dupParam},
		{"kind for undeclared parameter", strayKind},
		{"unknown kind", badKind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("got no panic, want one")
				}
			}()
			connectors.NewRegistry().Register(tt.a)
		})
	}

	t.Run("duplicate", func(t *testing.T) {
		r := connectors.NewRegistry()
		r.Register(echoAction("http.get"))
		defer func() {
			if recover() == nil {
				t.Errorf("got no panic, want one")
			}
		}()
		r.Register(echoAction("http.get"))
	})
}

func TestCallChecksInput(t *testing.T) {
	r := connectors.NewRegistry()
	r.Register(echoAction("http.get"))

	tests := []struct {
		name  string
		id    string
		input map[string]any
		code  string // empty: the call succeeds
		msg   string // the exact message
	}{
		{"ok", "http.get", map[string]any{"url": "https://example.com"}, "", ""},
		{"ok with objects", "http.get", map[string]any{
			"url":     "https://example.com",
			"headers": map[string]any{"Accept": "text/plain"},
			"body":    map[string]any{"n": 1.0},
		}, "", ""},
		{"typed string map", "http.get", map[string]any{"url": "u", "headers": map[string]string{"A": "b"}}, "", ""},
		{"null optional", "http.get", map[string]any{"url": "u", "body": nil}, "", ""},
		{"unknown action", "http.delete", nil, connectors.CodeNotFound, `unknown action "http.delete"`},
		{"missing required", "http.get", map[string]any{}, connectors.CodeInvalidInput, "http.get: url: missing"},
		{"nil input", "http.get", nil, connectors.CodeInvalidInput, "http.get: url: missing"},
		{"null required", "http.get", map[string]any{"url": nil}, connectors.CodeInvalidInput, "http.get: url: missing"},
		{"empty required", "http.get", map[string]any{"url": ""}, connectors.CodeInvalidInput, "http.get: url: must not be empty"},
		{"unknown parameter", "http.get", map[string]any{"url": "u", "method": "DELETE"}, connectors.CodeInvalidInput, "http.get: method: unknown parameter"},
		{"number for string", "http.get", map[string]any{"url": 42}, connectors.CodeInvalidInput, "http.get: url: expected string, got number"},
		{"headers not object", "http.get", map[string]any{"url": "u", "headers": "A: b"}, connectors.CodeInvalidInput, "http.get: headers: expected object, got string"},
		{"header value not string", "http.get", map[string]any{"url": "u", "headers": map[string]any{"A": 1.0}}, connectors.CodeInvalidInput, "http.get: headers.A: expected string, got number"},
		{"body list", "http.get", map[string]any{"url": "u", "body": []any{"x"}}, connectors.CodeInvalidInput, "http.get: body: expected string or object, got array"},
		{"several problems", "http.get", map[string]any{"url": 1.0, "x": "y"}, connectors.CodeInvalidInput, "http.get: url: expected string, got number (and 1 more)"},
		{"not JSON", "http.get", map[string]any{"url": make(chan int)}, connectors.CodeInvalidInput, "http.get: not a JSON document: json: unsupported type: chan int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := r.Call(context.Background(), tt.id, connectors.Request{Input: tt.input})
			if tt.code == "" {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				if !reflect.DeepEqual(res.Output, tt.input) {
					t.Errorf("got output %v, want %v", res.Output, tt.input)
				}
				return
			}
			checkError(t, err, tt.code, tt.msg)
		})
	}
}

// checkError asserts that err is a non-retryable *connectors.Error with the
// given code and message.
func checkError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var cerr *connectors.Error
	if !errors.As(err, &cerr) {
		t.Fatalf("got error %v, want a *connectors.Error", err)
	}
	if cerr.Code != code || cerr.Retryable || cerr.Message != msg {
		t.Errorf("got %q %q retryable=%v, want %q %q not retryable", cerr.Code, cerr.Message, cerr.Retryable, code, msg)
	}
}

// postAction declares its parameters as a JSON Schema.
func postAction(do func(context.Context, connectors.Request) (connectors.Result, error)) connectors.Action {
	return connectors.Action{
		ID:    "chat.post",
		Class: connectors.Write,
		InputSchema: json.RawMessage(`{
			"type": "object",
			"properties": {
				"channel": {"type": "string", "minLength": 1, "pattern": "^[#A-Z]"},
				"text": {"type": "string", "minLength": 1, "maxLength": 10},
				"limit": {"type": "integer", "minimum": 1, "maximum": 100},
				"email": {"type": "string", "format": "email"},
				"mode": {"enum": ["plain", "markdown"]}
			},
			"required": ["text", "channel"],
			"additionalProperties": false
		}`),
		OutputSchema: json.RawMessage(`{"type": "object", "properties": {"ts": {"type": "string"}}, "required": ["ts"]}`),
		Do:           do,
	}
}

func TestSchemaAction(t *testing.T) {
	calls := 0
	r := connectors.NewRegistry()
	r.Register(postAction(func(_ context.Context, req connectors.Request) (connectors.Result, error) {
		calls++
		return connectors.Result{Output: map[string]any{"ts": "1.2"}}, nil
	}))

	req, opt, ok := r.Action("chat.post")
	if !ok || !reflect.DeepEqual(req, []string{"text", "channel"}) || !reflect.DeepEqual(opt, []string{"email", "limit", "mode"}) {
		t.Errorf("got %v %v %v, want [text channel] [email limit mode] true", req, opt, ok)
	}

	tests := []struct {
		name  string
		input map[string]any
		msg   string // empty: the call succeeds
	}{
		{"ok", map[string]any{"channel": "#ops", "text": "hi"}, ""},
		{"integer as float", map[string]any{"channel": "#ops", "text": "hi", "limit": 20.0}, ""},
		{"integer as int", map[string]any{"channel": "#ops", "text": "hi", "limit": 20}, ""},
		{"integer as json number", map[string]any{"channel": "#ops", "text": "hi", "limit": json.Number("20")}, ""},
		{"missing both", map[string]any{}, "chat.post: channel: missing (and 1 more)"},
		{"missing channel", map[string]any{"text": "hi"}, "chat.post: channel: missing"},
		{"text not a string", map[string]any{"channel": "#ops", "text": 3.0}, "chat.post: text: expected string, got number"},
		{"text too long", map[string]any{"channel": "#ops", "text": "hello world"}, "chat.post: text: must be at most 10 characters"},
		{"fractional limit", map[string]any{"channel": "#ops", "text": "hi", "limit": 2.5}, "chat.post: limit: expected integer, got number"},
		{"limit too small", map[string]any{"channel": "#ops", "text": "hi", "limit": 0}, "chat.post: limit: must be at least 1"},
		{"limit too large", map[string]any{"channel": "#ops", "text": "hi", "limit": 101}, "chat.post: limit: must be at most 100"},
		{"bad email", map[string]any{"channel": "#ops", "text": "hi", "email": "not-an-address"}, "chat.post: email: must be a valid email"},
		{"bad pattern", map[string]any{"channel": "ops", "text": "hi"}, "chat.post: channel: must match ^[#A-Z]"},
		{"not in enum", map[string]any{"channel": "#ops", "text": "hi", "mode": "html"}, "chat.post: mode: value must be one of 'plain', 'markdown'"},
		{"unknown parameter", map[string]any{"channel": "#ops", "text": "hi", "as_user": "true"}, "chat.post: as_user: unknown parameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := calls
			_, err := r.Call(context.Background(), "chat.post", connectors.Request{Input: tt.input})
			if tt.msg == "" {
				if err != nil || calls != before+1 {
					t.Fatalf("got error %v and %d calls, want none and 1", err, calls-before)
				}
				return
			}
			checkError(t, err, connectors.CodeInvalidInput, tt.msg)
			if calls != before {
				t.Errorf("got %d calls of Do, want 0: invalid input must be refused before the call", calls-before)
			}
		})
	}
}

func TestCheckOutput(t *testing.T) {
	r := connectors.NewRegistry()
	r.Register(postAction(func(context.Context, connectors.Request) (connectors.Result, error) { return connectors.Result{}, nil }))
	r.Register(echoAction("http.get"))
	tests := []struct {
		name string
		id   string
		out  map[string]any
		msg  string
	}{
		{"matches", "chat.post", map[string]any{"ts": "1.2", "extra": true}, ""},
		{"missing field", "chat.post", map[string]any{}, "chat.post output: ts: missing"},
		{"wrong type", "chat.post", map[string]any{"ts": 1.0}, "chat.post output: ts: expected string, got number"},
		{"no output schema", "http.get", map[string]any{"anything": nil}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.CheckOutput(tt.id, tt.out)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			checkError(t, err, connectors.CodeInvalidInput, tt.msg)
		})
	}
}

func TestRegisterSchemaPanics(t *testing.T) {
	do := func(context.Context, connectors.Request) (connectors.Result, error) { return connectors.Result{}, nil }
	with := func(schema string, edit func(*connectors.Action)) connectors.Action {
		a := postAction(do)
		a.InputSchema = json.RawMessage(schema)
		if edit != nil {
			edit(&a)
		}
		return a
	}
	const ok = `{"type": "object", "properties": {"text": {"type": "string"}}, "additionalProperties": false}`
	tests := []struct {
		name string
		a    connectors.Action
		want string
	}{
		{"not JSON", with(`{`, nil), `connectors: action "chat.post": input schema: unexpected end of JSON input`},
		{"not an object", with(`{"type": "string", "properties": {}, "additionalProperties": false}`, nil),
			`connectors: action "chat.post": input schema: the top level must be {"type": "object", "properties": {...}}`},
		{"no properties", with(`{"type": "object", "additionalProperties": false}`, nil),
			`connectors: action "chat.post": input schema: the top level must be {"type": "object", "properties": {...}}`},
		{"open object", with(`{"type": "object", "properties": {}}`, nil),
			`connectors: action "chat.post": input schema: the top level must set "additionalProperties": false`},
		{"required not a property", with(`{"type": "object", "properties": {}, "required": ["x"], "additionalProperties": false}`, nil),
			`connectors: action "chat.post": input schema: required parameter "x" is not under properties`},
		{"schema and parameters", with(ok, func(a *connectors.Action) { a.Required = []string{"text"} }),
			`connectors: action "chat.post": declares both InputSchema and Required/Optional/Kinds; declare the parameters once`},
		{"external ref", with(`{"type": "object", "properties": {"x": {"$ref": "file:///etc/schema.json"}}, "additionalProperties": false}`, nil), ""},
		{"bad output schema", with(ok, func(a *connectors.Action) { a.OutputSchema = json.RawMessage(`{"type": 7}`) }), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				got := recover()
				if got == nil {
					t.Fatalf("got no panic, want one")
				}
				if tt.want != "" && fmt.Sprint(got) != tt.want {
					t.Errorf("got panic %q, want %q", got, tt.want)
				}
			}()
			connectors.NewRegistry().Register(tt.a)
		})
	}
}
