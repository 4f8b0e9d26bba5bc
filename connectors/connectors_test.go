package connectors_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
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
		param string // named in the message
	}{
		{"ok", "http.get", map[string]any{"url": "https://example.com"}, "", ""},
		{"ok with objects", "http.get", map[string]any{
			"url":     "https://example.com",
			"headers": map[string]any{"Accept": "text/plain"},
			"body":    map[string]any{"n": 1.0},
		}, "", ""},
		{"typed string map", "http.get", map[string]any{"url": "u", "headers": map[string]string{"A": "b"}}, "", ""},
		{"null optional", "http.get", map[string]any{"url": "u", "body": nil}, "", ""},
		{"unknown action", "http.delete", nil, connectors.CodeNotFound, "http.delete"},
		{"missing required", "http.get", map[string]any{}, connectors.CodeInvalidInput, `"url"`},
		{"nil input", "http.get", nil, connectors.CodeInvalidInput, `"url"`},
		{"null required", "http.get", map[string]any{"url": nil}, connectors.CodeInvalidInput, `"url"`},
		{"empty required", "http.get", map[string]any{"url": ""}, connectors.CodeInvalidInput, `"url"`},
		{"unknown parameter", "http.get", map[string]any{"url": "u", "method": "DELETE"}, connectors.CodeInvalidInput, `"method"`},
		{"number for string", "http.get", map[string]any{"url": 42}, connectors.CodeInvalidInput, `"url"`},
		{"headers not object", "http.get", map[string]any{"url": "u", "headers": "A: b"}, connectors.CodeInvalidInput, `"headers"`},
		{"header value not string", "http.get", map[string]any{"url": "u", "headers": map[string]any{"A": 1.0}}, connectors.CodeInvalidInput, `"headers"`},
		{"body list", "http.get", map[string]any{"url": "u", "body": []any{"x"}}, connectors.CodeInvalidInput, `"body"`},
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
			var cerr *connectors.Error
			if !errors.As(err, &cerr) {
				t.Fatalf("got error %v, want a *connectors.Error", err)
			}
			if cerr.Code != tt.code || cerr.Retryable {
				t.Errorf("got code %q retryable %v, want %q not retryable", cerr.Code, cerr.Retryable, tt.code)
			}
			if !strings.Contains(cerr.Message, tt.param) {
				t.Errorf("got message %q, want it to name %s", cerr.Message, tt.param)
			}
		})
	}
}
