package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/telos-dev/telos/agents"
	"github.com/telos-dev/telos/store"
)

// problem is an RFC 9457 problem document.
type problem struct {
	Type   string              `json:"type"`
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail,omitempty"`
	Errors []agents.FieldError `json:"errors,omitempty"`
}

// apiError is an error a handler returns with the status and detail a client
// may see.
type apiError struct {
	status int
	detail string
	errors []agents.FieldError
}

func (e *apiError) Error() string { return e.detail }

func newError(status int, detail string) error { return &apiError{status: status, detail: detail} }

func fieldError(status int, path, message string) error {
	detail := message
	if path != "" {
		detail = path + ": " + message
	}
	return &apiError{status: status, detail: detail, errors: []agents.FieldError{{Path: path, Message: message}}}
}

// handleError is the one place errors become responses. Unknown errors are
// logged and answered with a bare 500: internal details never reach a client.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := problem{Type: "about:blank"}
	var ae *apiError
	var ve *agents.ValidationError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
		p.Status, p.Detail, p.Errors = ae.status, ae.detail, ae.errors
	case errors.As(err, &ve):
		p.Status, p.Detail, p.Errors = http.StatusUnprocessableEntity, fmt.Sprintf("the document has %d errors", len(ve.Errors)), ve.Errors
		if len(ve.Errors) == 1 {
			p.Detail = "the document has 1 error"
		}
		for _, fe := range ve.Errors {
			if fe.Path == "" {
				p.Status, p.Detail = http.StatusBadRequest, "the document is malformed"
			}
		}
	case errors.Is(err, store.ErrNotFound):
		p.Status, p.Detail = http.StatusNotFound, "not found"
	case errors.Is(err, store.ErrConflict):
		p.Status, p.Detail = http.StatusConflict, "already exists"
	case errors.As(err, &he):
		p.Status = he.Code
		if he.Code == http.StatusRequestEntityTooLarge {
			p.Detail = "the request body is larger than 1 MiB"
		} else if m, ok := he.Message.(string); ok {
			p.Detail = m
		}
	case errors.Is(err, context.Canceled):
		p.Status = 499
	default:
		s.Logger.Error("request failed", "method", c.Request().Method, "path", c.Path(), "error", err)
		p.Status, p.Detail = http.StatusInternalServerError, "internal error"
	}
	p.Title = http.StatusText(p.Status)
	if p.Title == "" {
		p.Title = "Error"
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(p.Status)
	if c.Request().Method != http.MethodHead {
		_ = json.NewEncoder(c.Response()).Encode(p)
	}
}
