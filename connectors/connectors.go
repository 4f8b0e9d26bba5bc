// Package connectors defines how Telos calls the software an agent works with:
// an Action is one named operation ("http.get", "inbox.deliver"), a Registry
// holds the actions a process offers, and Error tells the workflow whether a
// failed call is worth retrying.
//
// The registry is explicit: cmd/ builds one and registers every action in one
// visible place, and tests build their own. Connector packages export
// constructors that return actions; they never register themselves.
package connectors

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Class says whether an action only reads or changes something outside Telos.
type Class string

const (
	// Read actions observe and change nothing; they may run in dry runs.
	Read Class = "read"
	// Write actions change something outside Telos; in a dry run they only
	// report what they would do.
	Write Class = "write"
)

// Kind is the shape of value a parameter accepts. Parameters are strings
// unless an action declares otherwise in Action.Kinds.
type Kind string

const (
	// String accepts a string. It is the kind of every parameter not listed in Action.Kinds.
	String Kind = "string"
	// StringMap accepts an object whose values are all strings, such as HTTP headers.
	StringMap Kind = "string_map"
	// StringOrObject accepts a string or an object, such as a request body.
	StringOrObject Kind = "string_or_object"
)

// Request is one call of an action.
type Request struct {
	RunID, Agent, Team, StepID string
	// Input is the rendered `with` of the step.
	Input map[string]any
	// DryRun asks write actions not to perform their effect but to return what they would do.
	DryRun bool
}

// Result is what an action produced.
type Result struct {
	// Output becomes steps.<id>.output.
	Output map[string]any
	// OutcomeRef is evidence of a write (message id, permalink); empty for reads.
	OutcomeRef string
}

// Action is one named operation such as "http.get".
//
// Its parameters are declared once: either as InputSchema, a JSON Schema
// whose top level is an object listing every parameter under "properties"
// (Required and Optional are then filled in from it), or, for simple actions,
// as Required, Optional and Kinds, from which Register derives the schema.
type Action struct {
	// ID is "<connector>.<action>", lower-case letters, digits and underscores.
	ID          string
	Class       Class
	Description string
	// InputSchema is the JSON Schema (draft 2020-12) of the input. Registry.Call
	// validates every input against it before Do runs.
	InputSchema json.RawMessage
	// OutputSchema is the JSON Schema of Result.Output; nil says nothing about it.
	OutputSchema json.RawMessage
	// Required and Optional name the parameters the action accepts.
	Required []string
	Optional []string
	// Kinds lists the parameters that accept something other than a string.
	Kinds map[string]Kind
	// Destination names where the action reads or writes, e.g. "url", "path"
	// or "channel"; reviewers see it in the dossier.
	Destination string
	// Do performs the call. Registry.Call has already checked the input.
	Do func(ctx context.Context, req Request) (Result, error)
}

// Error codes shared by all connectors. The workflow decides retries from
// Error.Retryable, and the API maps codes to problem types.
const (
	CodeInvalidInput         = "invalid_input"
	CodeForbiddenDestination = "forbidden_destination"
	CodeNotFound             = "not_found"
	CodeTooLarge             = "too_large"
	CodeUpstream             = "upstream"
	// CodeAuth says the upstream refused the credentials; retrying cannot help.
	CodeAuth = "auth_failed"
	// CodeRateLimited says the upstream refused the request for now; the
	// Error carries RateLimited and, when the upstream said, RetryAfter.
	CodeRateLimited = "rate_limited"
)

// Error is a failure of an action that the workflow can act on: retry it or
// fail the step with Code.
type Error struct {
	Code      string
	Retryable bool
	Message   string
	// RetryAfter is the delay the upstream asked for (HTTP Retry-After); zero if none.
	RetryAfter time.Duration
	// RateLimited says the upstream refused the request before doing it (HTTP
	// 429), so even a write action may safely be sent again.
	RateLimited bool
}

// Error returns the code and the message.
func (e *Error) Error() string {
	return e.Code + ": " + e.Message
}

// Errorf returns a non-retryable *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Registry holds the actions a process offers. The zero value is not usable;
// call NewRegistry.
type Registry struct {
	actions map[string]registered
}

// registered is an action with its schemas compiled.
type registered struct {
	Action
	input, output *jsonschema.Schema
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{actions: make(map[string]registered)}
}

var actionID = regexp.MustCompile(`^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$`)

// Register adds a. It panics if a is malformed or its ID is taken: both are
// programming errors in the one place that fills the registry.
func (r *Registry) Register(a Action) {
	if !actionID.MatchString(a.ID) {
		panic(fmt.Sprintf("connectors: malformed action id %q, want <connector>.<action>", a.ID))
	}
	if _, dup := r.actions[a.ID]; dup {
		panic(fmt.Sprintf("connectors: action %q registered twice", a.ID))
	}
	if a.Class != Read && a.Class != Write {
		panic(fmt.Sprintf("connectors: action %q has class %q, want %q or %q", a.ID, a.Class, Read, Write))
	}
	if a.Do == nil {
		panic(fmt.Sprintf("connectors: action %q has no Do", a.ID))
	}
	reg, err := compile(a)
	if err != nil {
		panic(fmt.Sprintf("connectors: action %q: %v", a.ID, err))
	}
	r.actions[a.ID] = reg
}

// Lookup returns the action with the given ID.
func (r *Registry) Lookup(id string) (Action, bool) {
	a, ok := r.actions[id]
	return a.Action, ok
}

// Actions returns every registered action, sorted by ID.
func (r *Registry) Actions() []Action {
	all := make([]Action, 0, len(r.actions))
	for _, a := range r.actions {
		all = append(all, a.Action)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	return all
}

// Action reports whether id exists and its required and optional parameters.
// It lets spec validation use the registry as an agents.ActionCatalog.
func (r *Registry) Action(id string) (required, optional []string, ok bool) {
	a, ok := r.actions[id]
	if !ok {
		return nil, nil, false
	}
	return slices.Clone(a.Required), slices.Clone(a.Optional), true
}

// Call validates req.Input against the action's input schema and then runs
// it. Input problems come back as an *Error with Code CodeInvalidInput
// naming the parameter, before anything is sent anywhere; an unknown id as
// CodeNotFound.
func (r *Registry) Call(ctx context.Context, id string, req Request) (Result, error) {
	a, ok := r.actions[id]
	if !ok {
		return Result{}, Errorf(CodeNotFound, "unknown action %q", id)
	}
	if err := validate(a.input, id, req.Input, true); err != nil {
		return Result{}, err
	}
	return a.Do(ctx, req)
}

// CheckOutput validates out against the action's output schema; an action
// without one accepts anything. Connector tests use it to hold actions to
// what they declare.
func (r *Registry) CheckOutput(id string, out map[string]any) error {
	a, ok := r.actions[id]
	if !ok {
		return Errorf(CodeNotFound, "unknown action %q", id)
	}
	if a.output == nil {
		return nil
	}
	return validate(a.output, id+" output", out, false)
}

// ActionIDs lists the registered action IDs in order, so validation errors can
// name the actions that exist.
func (r *Registry) ActionIDs() []string {
	acts := r.Actions()
	ids := make([]string, len(acts))
	for i, a := range acts {
		ids[i] = a.ID
	}
	return ids
}
