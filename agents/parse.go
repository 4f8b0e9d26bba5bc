package agents

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxDocumentSize is the largest agent document Parse accepts, in bytes (1 MiB).
const MaxDocumentSize = 1 << 20

// Parse reads one agent document, YAML or JSON. It is strict: every unknown
// field and every value of the wrong type is reported at its field path (such
// as "spec.steps[1].purpse"), all at once, in a *ValidationError. Malformed
// documents yield a single FieldError at the document root (path ""). Parse
// checks the shape of the document only; Validate checks what it says.
func Parse(data []byte) (*Agent, error) {
	if len(data) > MaxDocumentSize {
		return nil, invalid("", "document is larger than 1 MiB")
	}
	tree, err := decodeTree(data)
	if err != nil {
		return nil, invalid("", err.Error())
	}
	if tree == nil {
		return nil, invalid("", "empty document")
	}
	var s shaper
	clean := s.value("", tree, reflect.TypeOf(Agent{}))
	// The cleaned tree matches Agent exactly (bad fields are left out), so
	// encoding/json does the copying.
	b, err := json.Marshal(clean)
	if err != nil {
		return nil, fmt.Errorf("encode agent tree: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var a Agent
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("decode agent tree: %w", err)
	}
	// On shape errors the partial agent is returned too, so Load can report
	// what Validate finds in the rest of the document at the same time.
	if err := s.errs.err(); err != nil {
		for _, fe := range s.errs {
			if fe.Path == "" {
				return nil, err
			}
		}
		return &a, err
	}
	return &a, nil
}

// Load parses and validates a document and reports every problem of both
// kinds at once. A nil agent comes back only for documents that cannot be read
// at all (malformed, empty, too large).
func Load(data []byte, actions ActionCatalog) (*Agent, error) {
	a, perr := Parse(data)
	if a == nil {
		return nil, perr
	}
	verr := Validate(a, actions)
	if perr == nil && verr == nil {
		return a, nil
	}
	var all []FieldError
	seen := map[string]bool{}
	for _, err := range []error{perr, verr} {
		var ve *ValidationError
		if errors.As(err, &ve) {
			for _, fe := range ve.Errors {
				if !seen[fe.Path] || !strings.HasPrefix(fe.Message, "required") {
					all = append(all, fe)
				}
				seen[fe.Path] = true
			}
		} else if err != nil {
			return nil, err
		}
	}
	return a, &ValidationError{Errors: all}
}

// invalid is a ValidationError holding a single FieldError.
func invalid(path, msg string) *ValidationError {
	return &ValidationError{Errors: []FieldError{{Path: path, Message: msg}}}
}

// decodeTree decodes data into a generic tree of map[string]any, []any and
// scalars; it returns nil for an empty document. A document that is valid JSON
// goes through encoding/json, because yaml.v3 refuses some valid JSON (the "\/"
// escape and escaped surrogate pairs such as "\ud83d\ude00"); anything else is
// read as YAML.
func decodeTree(data []byte) (any, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if t := bytes.TrimSpace(data); len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(t) {
		return decodeJSON(t)
	}
	return decodeYAML(data)
}

// decodeJSON decodes a valid JSON document, refusing duplicate object keys
// (which encoding/json would silently collapse). Numbers stay json.Number.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return jsonValue(dec, data)
}

func jsonValue(dec *json.Decoder, data []byte) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // string, json.Number, bool or nil
	}
	if delim == '[' {
		list := []any{}
		for dec.More() {
			v, err := jsonValue(dec, data)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		_, err := dec.Token()
		return list, err
	}
	obj := map[string]any{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		if _, dup := obj[key]; dup {
			line := bytes.Count(data[:dec.InputOffset()], []byte("\n")) + 1
			return nil, fmt.Errorf("line %d: duplicate key %q", line, key)
		}
		if obj[key], err = jsonValue(dec, data); err != nil {
			return nil, err
		}
	}
	_, err = dec.Token()
	return obj, err
}

// decodeYAML decodes a single YAML document. Timestamps stay the text they
// were written as, since no spec field is a time.
func decodeYAML(data []byte) (any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlError(err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, yamlError(err)
		}
		return nil, errors.New("more than one document")
	}
	timestampsAsText(&doc)
	var tree any
	if err := doc.Decode(&tree); err != nil {
		return nil, yamlError(err)
	}
	return tree, nil
}

func timestampsAsText(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!timestamp" {
		n.Tag = "!!str"
	}
	for _, c := range n.Content {
		timestampsAsText(c)
	}
}

// yamlError drops the "yaml: " prefix and flattens multi-line type errors.
func yamlError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return errors.New(strings.Join(te.Errors, "; "))
	}
	return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
}

// shaper checks a decoded tree against a Go type, following json tags, and
// returns the tree in the form encoding/json reads back into that type: maps
// with string keys, slices, strings, bools, int64 and finite float64.
type shaper struct {
	errs fieldErrors
}

var (
	objectType = reflect.TypeOf(map[string]any{})
	arrayType  = reflect.TypeOf([]any{})
)

func (s *shaper) value(path string, v any, t reflect.Type) any {
	if v == nil {
		return nil // null is the zero value, as in encoding/json
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Interface:
		return s.anyValue(path, v)
	case reflect.Struct:
		if m, ok := s.object(path, v); ok {
			return s.fields(path, m, t)
		}
	case reflect.Map:
		m, ok := s.object(path, v)
		if !ok {
			return nil
		}
		out := make(map[string]any, len(m))
		for _, k := range sortedKeys(m) {
			out[k] = s.value(join(path, k), m[k], t.Elem())
		}
		return out
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			s.errs.add(path, "must be an array")
			return nil
		}
		out := make([]any, len(list))
		for i, e := range list {
			out[i] = s.value(index(path, i), e, t.Elem())
		}
		return out
	case reflect.String:
		if str, ok := v.(string); ok {
			return str
		}
		s.errs.add(path, "must be a string")
	case reflect.Bool:
		if b, ok := v.(bool); ok {
			return b
		}
		s.errs.add(path, "must be a boolean")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, whole, fits := integer(v)
		switch {
		case !whole:
			s.errs.add(path, "must be an integer")
		case !fits || reflect.Zero(t).OverflowInt(i):
			s.errs.add(path, "is out of range")
		default:
			return i
		}
	case reflect.Float32, reflect.Float64:
		if n, ok := number(v); ok {
			return n
		}
		s.errs.add(path, "must be a number")
	default:
		s.errs.add(path, "has unsupported type "+t.String()) // a defect in the spec types
	}
	return nil
}

// anyValue accepts any JSON value, as for Input.Default and Step.With.
func (s *shaper) anyValue(path string, v any) any {
	switch v.(type) {
	case map[string]any, map[any]any:
		return s.value(path, v, objectType)
	case []any:
		return s.value(path, v, arrayType)
	case string, bool:
		return v
	}
	if n, ok := number(v); ok {
		return n
	}
	s.errs.add(path, "must be a number")
	return nil
}

// object returns v as a map with string keys. YAML maps with other keys
// (such as 1 or null) are reported key by key.
func (s *shaper) object(path string, v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		var bad []string
		for k, e := range m {
			if ks, ok := k.(string); ok {
				out[ks] = e
			} else if k == nil {
				bad = append(bad, "null")
			} else {
				bad = append(bad, fmt.Sprint(k))
			}
		}
		slices.Sort(bad)
		for _, k := range bad {
			s.errs.add(join(path, k), "key must be a string")
		}
		return out, true
	}
	s.errs.add(path, "must be an object")
	return nil, false
}

// fields shapes the members of a struct, in field order, then reports the
// keys that match no field.
func (s *shaper) fields(path string, m map[string]any, t reflect.Type) map[string]any {
	out := make(map[string]any, len(m))
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := jsonName(f)
		if name == "" {
			continue
		}
		if v, ok := m[name]; ok {
			out[name] = s.value(join(path, name), v, f.Type)
		}
	}
	for _, k := range sortedKeys(m) {
		if _, ok := out[k]; !ok {
			s.errs.add(join(path, k), "unknown field")
		}
	}
	return out
}

// jsonName is the wire name of a struct field, or "" if it is not encoded.
func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	switch name {
	case "-":
		return ""
	case "":
		return f.Name
	}
	return name
}

// number returns v as an int64 or a finite float64 if it is a number of any
// Go numeric type or a json.Number.
func number(v any) (any, bool) {
	if n, ok := v.(json.Number); ok {
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			return i, true
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, false
		}
		return f, true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if u := rv.Uint(); u <= math.MaxInt64 {
			return int64(u), true
		}
		return float64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		if f := rv.Float(); !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, true
		}
	}
	return nil, false
}

// integer reports whether v is a whole number and, when it fits an int64,
// its value.
func integer(v any) (i int64, whole, fits bool) {
	n, ok := number(v)
	if !ok {
		return 0, false, false
	}
	switch n := n.(type) {
	case int64:
		return n, true, true
	case float64:
		if n != math.Trunc(n) {
			return 0, false, false
		}
		if n < -(1<<63) || n >= 1<<63 {
			return 0, true, false
		}
		return int64(n), true, true
	}
	return 0, false, false
}

// join appends a map key or field name to a field path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index appends a list index to a field path.
func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// sortedKeys returns the keys of m in order, or nil if m is empty.
func sortedKeys[V any](m map[string]V) []string {
	return unionKeys(m, map[string]V(nil))
}

// unionKeys returns the keys of a and b in order, each once, or nil if both
// are empty.
func unionKeys[A, B any](a map[string]A, b map[string]B) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
