package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/telos-dev/telos/agents"
)

// fieldErrors collects validation failures of a request body.
type fieldErrors []agents.FieldError

func (f *fieldErrors) add(path, msg string) {
	*f = append(*f, agents.FieldError{Path: path, Message: msg})
}

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return &apiError{status: http.StatusUnprocessableEntity, detail: "the request is invalid", errors: f}
}

// readBody reads the whole request body, which BodyLimit has capped.
func readBody(c echo.Context) ([]byte, error) {
	b, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return nil, he
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, echo.ErrStatusRequestEntityTooLarge
		}
		return nil, newError(http.StatusBadRequest, "could not read the request body")
	}
	return b, nil
}

// decodeJSON decodes a JSON body strictly: unknown fields and trailing data
// are errors, reported with their field path.
func decodeJSON(c echo.Context, dst any) error {
	b, err := readBody(c)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return fieldError(http.StatusBadRequest, "", "the request body is empty")
	}
	return decodeBytes(b, dst)
}

// decodeOptionalJSON is decodeJSON for bodies that may be empty.
func decodeOptionalJSON(c echo.Context, dst any) error {
	b, err := readBody(c)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return err
	}
	return decodeBytes(b, dst)
}

func decodeBytes(b []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return fieldError(http.StatusUnprocessableEntity, te.Field, fmt.Sprintf("must be %s", jsonKind(te.Type.Kind().String())))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return fieldError(http.StatusUnprocessableEntity, name, "unknown field")
		default:
			return fieldError(http.StatusBadRequest, "", "malformed JSON: "+strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	if dec.More() {
		return fieldError(http.StatusBadRequest, "", "malformed JSON: trailing data after the object")
	}
	return nil
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "an array"
	case "bool":
		return "a boolean"
	default:
		return "a number"
	}
}
