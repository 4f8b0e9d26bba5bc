package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/telos-dev/telos/agents"
)

const testAPIKey = "sk-test-0123456789abcdef"

// fakeOpenAI is an OpenAI-compatible server: it answers
// POST /v1/chat/completions with handle and keeps the last request body.
type fakeOpenAI struct {
	*httptest.Server
	handle func(w http.ResponseWriter, r *http.Request)

	mu   sync.Mutex
	body string
	auth string
}

func newFakeOpenAI(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) *fakeOpenAI {
	t.Helper()
	f := &fakeOpenAI{handle: handle}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.body, f.auth = string(body), r.Header.Get("Authorization")
		f.mu.Unlock()
		f.handle(w, r)
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func (f *fakeOpenAI) provider(stream bool) *OpenAI {
	return NewOpenAI(OpenAIConfig{BaseURL: f.URL + "/v1", APIKey: testAPIKey, HTTPClient: f.Client(), Stream: stream})
}

func (f *fakeOpenAI) lastRequest() (body, auth string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.body, f.auth
}

// replyJSON answers with a chat completion object.
func replyJSON(body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}
}

// replySSE answers with server-sent events, one per data payload, as the
// API streams them.
func replySSE(events ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, e := range events {
			fmt.Fprintf(w, "data: %s\n\n", e)
			w.(http.Flusher).Flush()
		}
	}
}

// replyError answers with status, extra headers and an error body.
func replyError(status int, header map[string]string, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

const (
	wireUsage = `{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,` +
		`"prompt_tokens_details":{"cached_tokens":1000,"audio_tokens":0},` +
		`"completion_tokens_details":{"reasoning_tokens":120,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`
	wireCompletion = `{"id":"chatcmpl-1","object":"chat.completion","created":1720000000,"model":"gpt-4o-mini-2024-07-18",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"Two releases need action.","refusal":null},"logprobs":null,"finish_reason":"stop"}],` +
		`"usage":` + wireUsage + `,"system_fingerprint":"fp_1"}`
	wireCompletionNoUsage = `{"id":"chatcmpl-2","object":"chat.completion","created":1720000000,"model":"llama3.1:8b",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"Hello there!"},"finish_reason":"stop"}]}`
)

// chunk is one chat.completion.chunk event.
func chunk(model, choices, usage string) string {
	return `{"id":"chatcmpl-3","object":"chat.completion.chunk","created":1720000000,"model":"` + model +
		`","system_fingerprint":"fp_1","choices":` + choices + `,"usage":` + usage + `}`
}

func delta(content string) string {
	return `[{"index":0,"delta":{"content":"` + content + `"},"logprobs":null,"finish_reason":null}]`
}

const finishStop = `[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]`

func TestOpenAIComplete(t *testing.T) {
	const model = "gpt-4o-mini-2024-07-18"
	exact := agents.Usage{InputTokens: 1200, CachedInputTokens: 1000, OutputTokens: 300, ReasoningTokens: 120}
	tests := []struct {
		name   string
		stream bool
		handle func(http.ResponseWriter, *http.Request)
		req    Request
		want   Response
		// wantBody are fragments the request body must contain.
		wantBody []string
	}{
		{
			name:   "non-streaming with cached and reasoning tokens",
			handle: replyJSON(wireCompletion),
			req:    Request{Model: "gpt-4o-mini", System: "You review release notes.", Prompt: "List breaking changes.", MaxTokens: 800},
			want:   Response{Text: "Two releases need action.", Usage: exact, Provider: "openai", ResponseModel: model},
			wantBody: []string{
				`"model":"gpt-4o-mini"`,
				`"messages":[{"role":"system","content":"You review release notes."},{"role":"user","content":"List breaking changes."}]`,
				`"max_completion_tokens":800`,
				`"stream":false`,
			},
		},
		{
			name:   "streaming with usage on the final chunk",
			stream: true,
			handle: replySSE(
				chunk(model, `[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]`, "null"),
				chunk(model, delta("Two releases"), "null"),
				chunk(model, delta(" need action."), "null"),
				chunk(model, finishStop, "null"),
				chunk(model, "[]", wireUsage),
				"[DONE]",
			),
			req:  Request{Model: "gpt-4o-mini", Prompt: "List breaking changes.", MaxTokens: 800},
			want: Response{Text: "Two releases need action.", Usage: exact, Provider: "openai", ResponseModel: model},
			wantBody: []string{
				`"stream":true`,
				`"stream_options":{"include_usage":true}`,
				`"max_completion_tokens":800`,
			},
		},
		{
			// Some compatible servers repeat running totals on every chunk:
			// the last one is the total, the chunks are never added up.
			name:   "streaming with usage on every chunk",
			stream: true,
			handle: replySSE(
				chunk(model, delta("Two releases"), `{"prompt_tokens":1200,"completion_tokens":2,"total_tokens":1202}`),
				chunk(model, delta(" need action."), `{"prompt_tokens":1200,"completion_tokens":5,"total_tokens":1205}`),
				chunk(model, finishStop, wireUsage),
				"[DONE]",
			),
			req:  Request{Model: "gpt-4o-mini", Prompt: "List breaking changes."},
			want: Response{Text: "Two releases need action.", Usage: exact, Provider: "openai", ResponseModel: model},
		},
		{
			// CountChat("You are terse.", "Say hello.") is 18 and
			// Count("Hello there!") is 3 in cl100k_base.
			name:   "non-streaming without usage",
			handle: replyJSON(wireCompletionNoUsage),
			req:    Request{Model: "llama3.1:8b", System: "You are terse.", Prompt: "Say hello."},
			want: Response{
				Text: "Hello there!", Usage: agents.Usage{InputTokens: 18, OutputTokens: 3},
				UsageEstimated: true, Provider: "openai", ResponseModel: "llama3.1:8b",
			},
		},
		{
			name:   "streaming without usage",
			stream: true,
			handle: replySSE(
				chunk("gpt-4o-mini", delta("Hello"), "null"),
				chunk("gpt-4o-mini", delta(" there!"), "null"),
				chunk("gpt-4o-mini", finishStop, "null"),
				"[DONE]",
			),
			req: Request{Model: "gpt-4o-mini", System: "You are terse.", Prompt: "Say hello."},
			want: Response{
				Text: "Hello there!", Usage: agents.Usage{InputTokens: 18, OutputTokens: 3},
				UsageEstimated: true, Provider: "openai", ResponseModel: "gpt-4o-mini",
			},
		},
		{
			name: "zero usage counts as none",
			handle: replyJSON(`{"id":"x","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,` +
				`"message":{"role":"assistant","content":"Hello there!"},"finish_reason":"stop"}],` +
				`"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}`),
			req: Request{Model: "gpt-4o", Prompt: "Say hello."},
			want: Response{
				Text: "Hello there!", Usage: agents.Usage{InputTokens: 10, OutputTokens: 3},
				UsageEstimated: true, Provider: "openai", ResponseModel: "gpt-4o",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeOpenAI(t, tt.handle)
			got, err := srv.provider(tt.stream).Complete(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			body, auth := srv.lastRequest()
			if want := "Bearer " + testAPIKey; auth != want {
				t.Errorf("got Authorization %q, want %q", auth, want)
			}
			for _, frag := range tt.wantBody {
				if !strings.Contains(body, frag) {
					t.Errorf("request body %s does not contain %s", body, frag)
				}
			}
			if strings.Contains(body, `"max_tokens"`) {
				t.Errorf("request body %s has the deprecated max_tokens", body)
			}
			if !tt.stream && strings.Contains(body, "stream_options") {
				t.Errorf("non-streaming request body %s has stream_options", body)
			}
		})
	}
}

func TestOpenAICompleteErrors(t *testing.T) {
	const apiError = `{"error":{"message":%q,"type":%q,"param":null,"code":null}}`
	tests := []struct {
		name   string
		handle func(http.ResponseWriter, *http.Request)
		want   Error
	}{
		{
			name: "rate limited with Retry-After",
			handle: replyError(http.StatusTooManyRequests, map[string]string{"Retry-After": "7"},
				fmt.Sprintf(apiError, "Rate limit reached for gpt-4o-mini.", "requests")),
			want: Error{StatusCode: 429, Retryable: true, RetryAfter: 7 * time.Second,
				Message: "openai chat completion: Rate limit reached for gpt-4o-mini."},
		},
		{
			name: "rate limited with retry-after-ms",
			handle: replyError(http.StatusTooManyRequests, map[string]string{"Retry-After": "2", "retry-after-ms": "1500"},
				fmt.Sprintf(apiError, "Rate limit reached.", "requests")),
			want: Error{StatusCode: 429, Retryable: true, RetryAfter: 1500 * time.Millisecond,
				Message: "openai chat completion: Rate limit reached."},
		},
		{
			name: "bad request",
			handle: replyError(http.StatusBadRequest, nil,
				fmt.Sprintf(apiError, "Invalid value for 'max_completion_tokens'.", "invalid_request_error")),
			want: Error{StatusCode: 400, Message: "openai chat completion: Invalid value for 'max_completion_tokens'."},
		},
		{
			name: "bad API key is not repeated",
			handle: replyError(http.StatusUnauthorized, nil,
				fmt.Sprintf(apiError, "Incorrect API key provided: "+testAPIKey+".", "invalid_request_error")),
			want: Error{StatusCode: 401, Message: "openai chat completion: Incorrect API key provided: [redacted]."},
		},
		{
			name:   "request timeout",
			handle: replyError(http.StatusRequestTimeout, nil, fmt.Sprintf(apiError, "Request timed out.", "timeout")),
			want:   Error{StatusCode: 408, Retryable: true, Message: "openai chat completion: Request timed out."},
		},
		{
			name:   "conflict",
			handle: replyError(http.StatusConflict, nil, fmt.Sprintf(apiError, "Conflict.", "conflict")),
			want:   Error{StatusCode: 409, Retryable: true, Message: "openai chat completion: Conflict."},
		},
		{
			name:   "server error",
			handle: replyError(http.StatusInternalServerError, nil, fmt.Sprintf(apiError, "The server had an error.", "server_error")),
			want:   Error{StatusCode: 500, Retryable: true, Message: "openai chat completion: The server had an error."},
		},
		{
			name:   "proxy error page",
			handle: replyError(http.StatusBadGateway, map[string]string{"Retry-After": "3"}, "<html>\n<h1>502  Bad Gateway</h1>\n</html>"),
			want: Error{StatusCode: 502, Retryable: true, RetryAfter: 3 * time.Second,
				Message: "openai chat completion: <html> <h1>502 Bad Gateway</h1> </html>"},
		},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%t", tt.name, stream), func(t *testing.T) {
				srv := newFakeOpenAI(t, tt.handle)
				_, err := srv.provider(stream).Complete(context.Background(), Request{Model: "gpt-4o-mini", Prompt: "hi"})
				var got *Error
				if !errors.As(err, &got) {
					t.Fatalf("got error %v (%T), want *Error", err, err)
				}
				if *got != tt.want {
					t.Errorf("got %+v, want %+v", *got, tt.want)
				}
				if strings.Contains(err.Error(), testAPIKey) {
					t.Errorf("error %q contains the API key", err)
				}
			})
		}
	}
}

func TestOpenAICompleteStreamFailures(t *testing.T) {
	tests := []struct {
		name   string
		handle func(http.ResponseWriter, *http.Request)
		want   Error
	}{
		{
			name: "error event in the stream",
			handle: replySSE(
				chunk("gpt-4o-mini", delta("Two"), "null"),
				`{"error":{"message":"The server had an error while processing your request.","type":"server_error"}}`,
			),
			want: Error{Retryable: true, Message: "openai chat completion: The server had an error while processing your request."},
		},
		{
			name:   "stream cut short",
			handle: replySSE(chunk("gpt-4o-mini", delta("Two"), "null")),
			want:   Error{Retryable: true, Message: "openai chat completion: answer cut short: unexpected EOF"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeOpenAI(t, tt.handle)
			_, err := srv.provider(true).Complete(context.Background(), Request{Model: "gpt-4o-mini", Prompt: "hi"})
			var got *Error
			if !errors.As(err, &got) {
				t.Fatalf("got error %v (%T), want *Error", err, err)
			}
			if *got != tt.want {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestOpenAICompleteNoServer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	p := NewOpenAI(OpenAIConfig{BaseURL: url + "/v1", APIKey: testAPIKey})
	_, err := p.Complete(context.Background(), Request{Model: "gpt-4o-mini", Prompt: "hi"})
	var got *Error
	if !errors.As(err, &got) {
		t.Fatalf("got error %v (%T), want *Error", err, err)
	}
	if !got.Retryable || got.StatusCode != 0 {
		t.Errorf("got Retryable %t StatusCode %d, want true 0", got.Retryable, got.StatusCode)
	}
	if strings.Contains(got.Message, url) {
		t.Errorf("message %q contains the URL", got.Message)
	}
}

func TestOpenAICompleteBadBaseURL(t *testing.T) {
	p := NewOpenAI(OpenAIConfig{BaseURL: "http://localhost:badport/v1", APIKey: testAPIKey})
	_, err := p.Complete(context.Background(), Request{Model: "gpt-4o-mini", Prompt: "hi"})
	var got *Error
	if !errors.As(err, &got) {
		t.Fatalf("got error %v (%T), want *Error", err, err)
	}
	if got.Retryable {
		t.Errorf("got Retryable true for a base URL that does not parse, want false")
	}
}

func TestOpenAICompleteCanceled(t *testing.T) {
	srv := newFakeOpenAI(t, replyJSON(wireCompletion))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := srv.provider(false).Complete(ctx, Request{Model: "gpt-4o-mini", Prompt: "hi"})
	var got *Error
	if !errors.As(err, &got) {
		t.Fatalf("got error %v (%T), want *Error", err, err)
	}
	if got.Retryable {
		t.Errorf("got Retryable true for a canceled call, want false")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(%v, context.Canceled) = false, want true", err)
	}
}

func TestOpenAICompleteInvalidRequest(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"no model", Request{Prompt: "hi"}, "openai chat completion: model is required"},
		{"negative max tokens", Request{Model: "gpt-4o", Prompt: "hi", MaxTokens: -1}, "openai chat completion: max tokens -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewOpenAI(OpenAIConfig{}).Complete(context.Background(), tt.req)
			var got *Error
			if !errors.As(err, &got) {
				t.Fatalf("got error %v (%T), want *Error", err, err)
			}
			if got.Error() != tt.want || got.Retryable {
				t.Errorf("got %q retryable %t, want %q retryable false", got.Error(), got.Retryable, tt.want)
			}
		})
	}
}

func TestChatRequestTemperature(t *testing.T) {
	ptr := func(f float64) *float64 { return &f }
	tests := []struct {
		name string
		in   *float64
		want float32
	}{
		{"default", nil, 0},
		{"explicit zero is sent", ptr(0), 1e-45},
		{"set", ptr(0.2), 0.2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := chatRequest(Request{Model: "gpt-4o", Prompt: "hi", Temperature: tt.in}).Temperature
			if got != tt.want {
				t.Errorf("got temperature %g, want %g", got, tt.want)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{Message: "openai chat completion: connection refused"}, "openai chat completion: connection refused"},
		{Error{StatusCode: 429, Message: "openai chat completion: slow down"}, "openai chat completion: slow down (http status 429)"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	date := "Mon, 03 Aug 2026 10:00:00 GMT"
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"none", http.Header{}, 0},
		{"seconds", http.Header{"Retry-After": {"7"}}, 7 * time.Second},
		{"zero", http.Header{"Retry-After": {"0"}}, 0},
		{"negative", http.Header{"Retry-After": {"-3"}}, 0},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0},
		{"milliseconds win", http.Header{"Retry-After": {"2"}, "Retry-After-Ms": {"1500"}}, 1500 * time.Millisecond},
		{"http date", http.Header{"Retry-After": {"Mon, 03 Aug 2026 10:00:30 GMT"}, "Date": {date}}, 30 * time.Second},
		{"http date in the past", http.Header{"Retry-After": {"Mon, 03 Aug 2026 09:59:00 GMT"}, "Date": {date}}, 0},
		{"http date without Date", http.Header{"Retry-After": {"Mon, 03 Aug 2026 10:00:30 GMT"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryAfter(tt.header); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
