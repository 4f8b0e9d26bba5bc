// Package llm provides LLM providers for Telos steps: an OpenAI-compatible
// provider for real calls and an offline, deterministic simulator for dry runs
// and the embedded dev stack. Both report exact token usage, counted with a
// real BPE tokenizer where the provider does not report it.
package llm

import (
	"context"
	"fmt"
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
