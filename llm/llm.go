// Package llm provides LLM providers for Telos steps: an OpenAI-compatible
// provider for real calls and an offline, deterministic simulator for dry runs
// and the embedded dev stack. Both report exact token usage, counted with a
// real BPE tokenizer where the provider does not report it.
package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/telos-dev/telos/agents"
)

// Request is one chat completion.
type Request struct {
	// Model is the model to ask, such as "gpt-4o-mini".
	Model string
	// System is the system message; empty means none is sent.
	System string
	// Prompt is the user message.
	Prompt string
	// MaxTokens bounds the answer, reasoning included; zero means the
	// provider's default.
	MaxTokens int
	// Temperature is the sampling temperature; nil means the provider's default.
	Temperature *float64
	// Messages, when set, is the whole conversation (an agent step's loop)
	// and replaces System and Prompt.
	Messages []Message
	// Tools the model may call.
	Tools []Tool
}

// Message is one turn of a conversation.
type Message struct {
	Role       string     `json:"role"` // system, user, assistant, tool
	Content    string     `json:"content,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

// Tool is a function the model may call, with a JSON Schema of its arguments.
type Tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// ToolCall is the model asking for a tool with JSON arguments.
type ToolCall struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Text is the conversation flattened for token counting: the system
// messages, then everything else.
func (r Request) Text() (system, prompt string) {
	if len(r.Messages) == 0 {
		return r.System, r.Prompt
	}
	var sys, rest []string
	for _, m := range r.Messages {
		body := m.Content
		for _, tc := range m.ToolCalls {
			body += "\n" + tc.Name + "(" + tc.Arguments + ")"
		}
		if m.Role == "system" {
			sys = append(sys, body)
		} else {
			rest = append(rest, body)
		}
	}
	return strings.Join(sys, "\n"), strings.Join(rest, "\n")
}

// Response is the answer and exact usage.
type Response struct {
	// Text is the answer.
	Text string
	// Usage is the input, cached input, output and reasoning tokens.
	Usage agents.Usage
	// UsageEstimated is set when the provider sent no usage, so Usage was
	// counted with the tokenizer instead.
	UsageEstimated bool
	// Simulated is set when Sim produced the answer.
	Simulated bool
	// Provider is "openai" or "sim".
	Provider string
	// ResponseModel is the model name the provider reported.
	ResponseModel string
	// ToolCalls are the tools the model asked for; empty means it answered.
	ToolCalls []ToolCall
}

// Provider answers chat completions.
type Provider interface {
	// Complete answers req. Every failure it returns is an *Error.
	Complete(ctx context.Context, req Request) (Response, error)
}

// Error classifies a provider failure for retries.
type Error struct {
	// StatusCode is the HTTP status of the failed call; zero when there was no
	// HTTP answer (a network failure, a timeout, an invalid request).
	StatusCode int
	// Retryable tells whether the same call may succeed if made again:
	// rate limits, timeouts, conflicts, server errors and network failures.
	Retryable bool
	// RetryAfter is how long the provider asked callers to wait; zero when it
	// did not say.
	RetryAfter time.Duration
	// Message describes the failure. It never contains the API key.
	Message string

	// err is the context error when the call ended because its context did,
	// so that errors.Is finds context.Canceled and context.DeadlineExceeded.
	// Other causes are not kept: their text may carry secrets.
	err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.StatusCode == 0 {
		return e.Message
	}
	return fmt.Sprintf("%s (http status %d)", e.Message, e.StatusCode)
}

// Unwrap returns the context error that ended the call, if any.
func (e *Error) Unwrap() error { return e.err }
