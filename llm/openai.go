package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/telos-dev/telos/agents"
)

// OpenAIConfig configures an OpenAI-compatible chat completions endpoint that
// takes a bearer token: OpenAI, vLLM, Ollama, LiteLLM, OpenRouter and the like.
type OpenAIConfig struct {
	// BaseURL is the API root with its version, such as
	// "http://localhost:11434/v1"; empty means "https://api.openai.com/v1".
	BaseURL string
	// APIKey is sent as a bearer token. It never appears in errors.
	APIKey string
	// HTTPClient makes the calls; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Stream asks for the answer as server-sent events, with usage in the
	// final event.
	Stream bool
}

// OpenAI is a Provider that calls an OpenAI-compatible chat completions
// endpoint through go-openai.
type OpenAI struct {
	cfg OpenAIConfig
}

var _ Provider = (*OpenAI)(nil)

// NewOpenAI returns a provider for the endpoint cfg describes.
func NewOpenAI(cfg OpenAIConfig) *OpenAI {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	return &OpenAI{cfg: cfg}
}

// Complete sends req as one chat completion. Usage is what the endpoint
// reported; when it reported none, Usage is counted with the model's
// tokenizer and UsageEstimated is set. Failures are *Error values that say
// whether the call may be retried.
func (o *OpenAI) Complete(ctx context.Context, req Request) (Response, error) {
	switch {
	case req.Model == "":
		return Response{}, &Error{Message: "openai chat completion: model is required"}
	case req.MaxTokens < 0:
		return Response{}, &Error{Message: fmt.Sprintf("openai chat completion: max tokens %d is negative", req.MaxTokens)}
	}
	// go-openai returns errors without the response headers, so each call
	// gets its own recorder to keep Retry-After.
	rec := &headerRecorder{client: o.cfg.HTTPClient}
	cfg := openai.DefaultConfig(o.cfg.APIKey)
	if o.cfg.BaseURL != "" {
		cfg.BaseURL = o.cfg.BaseURL
	}
	cfg.HTTPClient = rec
	client := openai.NewClientWithConfig(cfg)

	complete := o.completeOnce
	// Tool calls arrive in pieces when streamed; agent turns are short, so
	// they are made without streaming.
	if o.cfg.Stream && len(req.Tools) == 0 {
		complete = o.completeStream
	}
	resp, usage, err := complete(ctx, client, chatRequest(req))
	if err != nil {
		return Response{}, o.classify(ctx, err, rec.header)
	}
	resp.Provider = "openai"
	// Some compatible servers send no usage, or zeros. A real call always
	// has prompt tokens, so zeros mean "not reported", not "free".
	if usage == nil || (usage.PromptTokens == 0 && usage.CompletionTokens == 0) {
		tok, err := NewTokenizer(req.Model)
		if err != nil {
			return Response{}, &Error{Message: "openai chat completion: estimate usage: " + err.Error()}
		}
		system, prompt := req.Text()
		resp.Usage = agents.Usage{
			InputTokens:  int64(tok.CountChat(system, prompt)),
			OutputTokens: int64(tok.Count(resp.Text)),
		}
		resp.UsageEstimated = true
		return resp, nil
	}
	resp.Usage = usageOf(usage)
	return resp, nil
}

// chatRequest is req in go-openai's terms.
func chatRequest(req Request) openai.ChatCompletionRequest {
	var msgs []openai.ChatCompletionMessage
	if len(req.Messages) > 0 {
		for _, m := range req.Messages {
			om := openai.ChatCompletionMessage{Role: m.Role, Content: m.Content, ToolCallID: m.ToolCallID}
			for _, tc := range m.ToolCalls {
				om.ToolCalls = append(om.ToolCalls, openai.ToolCall{ID: tc.ID, Type: openai.ToolTypeFunction,
					Function: openai.FunctionCall{Name: ToolFunctionName(tc.Name), Arguments: tc.Arguments}})
			}
			msgs = append(msgs, om)
		}
	} else {
		if req.System != "" {
			msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleSystem, Content: req.System})
		}
		msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: req.Prompt})
	}
	var tools []openai.Tool
	for _, t := range req.Tools {
		params := t.Parameters
		if len(params) == 0 {
			params = json.RawMessage(`{"type":"object"}`)
		}
		tools = append(tools, openai.Tool{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{
			Name: ToolFunctionName(t.Name), Description: t.Description, Parameters: params}})
	}
	c := openai.ChatCompletionRequest{
		Tools:    tools,
		Model:    req.Model,
		Messages: msgs,
		// max_completion_tokens, not the deprecated max_tokens: reasoning
		// models accept only the former, and it bounds reasoning tokens too.
		MaxCompletionTokens: req.MaxTokens,
	}
	if req.Temperature != nil {
		c.Temperature = float32(*req.Temperature)
		if c.Temperature == 0 {
			// go-openai omits a zero temperature, which would leave the API's
			// default of 1; the smallest positive float32 is sent and samples
			// as zero does.
			c.Temperature = math.SmallestNonzeroFloat32
		}
	}
	return c
}

// completeOnce makes a plain, non-streaming call.
func (o *OpenAI) completeOnce(ctx context.Context, client *openai.Client, creq openai.ChatCompletionRequest) (Response, *openai.Usage, error) {
	r, err := client.CreateChatCompletion(ctx, creq)
	if err != nil {
		return Response{}, nil, err
	}
	resp := Response{ResponseModel: r.Model}
	if len(r.Choices) > 0 {
		resp.Text = r.Choices[0].Message.Content
		for _, tc := range r.Choices[0].Message.ToolCalls {
			resp.ToolCalls = append(resp.ToolCalls, ToolCall{ID: tc.ID, Name: ActionName(tc.Function.Name), Arguments: tc.Function.Arguments})
		}
	}
	return resp, &r.Usage, nil
}

// completeStream makes a streaming call and joins the deltas.
func (o *OpenAI) completeStream(ctx context.Context, client *openai.Client, creq openai.ChatCompletionRequest) (Response, *openai.Usage, error) {
	creq.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	stream, err := client.CreateChatCompletionStream(ctx, creq)
	if err != nil {
		return Response{}, nil, err
	}
	defer stream.Close()
	var (
		resp     Response
		text     strings.Builder
		usage    *openai.Usage
		finished bool
	)
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Response{}, nil, err
		}
		if chunk.Model != "" {
			resp.ResponseModel = chunk.Model
		}
		for _, c := range chunk.Choices {
			if c.Index != 0 {
				continue
			}
			text.WriteString(c.Delta.Content)
			if c.FinishReason != "" {
				finished = true
			}
		}
		// Usage covers the whole request and comes on the last chunk; servers
		// that send it more often send running totals. So the last usage
		// seen wins, and chunks are never added up.
		if chunk.Usage != nil {
			usage = chunk.Usage
		}
	}
	// go-openai reports a stream cut short as a plain end of stream; an
	// answer with neither a finish reason nor usage was cut short.
	if !finished && usage == nil {
		return Response{}, nil, io.ErrUnexpectedEOF
	}
	resp.Text = text.String()
	return resp, usage, nil
}

// usageOf maps OpenAI's usage block onto agents.Usage; both count cached
// tokens inside input tokens and reasoning tokens inside output tokens.
func usageOf(u *openai.Usage) agents.Usage {
	out := agents.Usage{InputTokens: int64(u.PromptTokens), OutputTokens: int64(u.CompletionTokens)}
	if d := u.PromptTokensDetails; d != nil {
		out.CachedInputTokens = int64(d.CachedTokens)
	}
	if d := u.CompletionTokensDetails; d != nil {
		out.ReasoningTokens = int64(d.ReasoningTokens)
	}
	return out
}

// classify turns a go-openai failure into an *Error without the API key.
func (o *OpenAI) classify(ctx context.Context, err error, header http.Header) *Error {
	const prefix = "openai chat completion: "
	if ctxErr := ctx.Err(); ctxErr != nil {
		return &Error{
			Retryable: errors.Is(ctxErr, context.DeadlineExceeded),
			Message:   prefix + ctxErr.Error(),
			err:       ctxErr,
		}
	}
	var (
		e      Error
		reqErr *openai.RequestError
		apiErr *openai.APIError
		urlErr *url.Error
		netErr net.Error
	)
	// RequestError before APIError: a RequestError may wrap an APIError that
	// lacks the status code.
	switch {
	case errors.As(err, &reqErr):
		e.StatusCode = reqErr.HTTPStatusCode
		e.Message = bodySnippet(reqErr.Body)
		if e.Message == "" {
			e.Message = http.StatusText(reqErr.HTTPStatusCode)
		}
	case errors.As(err, &apiErr):
		e.StatusCode = apiErr.HTTPStatusCode
		e.Message = apiErr.Message
		// An error event inside a stream has no status code.
		e.Retryable = apiErr.HTTPStatusCode == 0 && apiErr.Type == "server_error"
	case errors.As(err, &urlErr):
		// The HTTP client failed: no connection, a reset, a timeout; or the
		// base URL does not parse, which no retry mends. The URL is left out
		// of the message.
		e.Retryable = urlErr.Op != "parse"
		e.Message = urlErr.Err.Error()
	case errors.As(err, &netErr), errors.Is(err, io.ErrUnexpectedEOF):
		e.Retryable = true
		e.Message = "answer cut short: " + err.Error()
	default:
		e.Message = err.Error()
	}
	if e.StatusCode != 0 {
		e.Retryable = retryableStatus(e.StatusCode)
		e.RetryAfter = retryAfter(header)
	}
	e.Message = prefix + e.Message
	if o.cfg.APIKey != "" {
		e.Message = strings.ReplaceAll(e.Message, o.cfg.APIKey, "[redacted]")
	}
	return &e
}

// retryableStatus tells whether a call that failed with code may succeed when
// made again: timeouts, conflicts, rate limits and server errors.
func retryableStatus(code int) bool {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusConflict, code == http.StatusTooManyRequests:
		return true
	default:
		return code >= 500
	}
}

// retryAfter reads how long the server asked callers to wait: OpenAI's
// retry-after-ms, else Retry-After in seconds or as an HTTP date. A date is
// measured from the response's own Date header, so the local clock does not
// matter; without one it is ignored.
func retryAfter(h http.Header) time.Duration {
	if h == nil {
		return 0
	}
	if ms, err := strconv.ParseFloat(h.Get("Retry-After-Ms"), 64); err == nil && ms > 0 && ms < math.MaxInt64/float64(time.Millisecond) {
		return time.Duration(ms * float64(time.Millisecond))
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 || secs > math.MaxInt64/int64(time.Second) {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	date, err := http.ParseTime(h.Get("Date"))
	if err != nil || !at.After(date) {
		return 0
	}
	return at.Sub(date)
}

// bodySnippet is the start of an error body that was not OpenAI's error
// JSON (a proxy's HTML page, say), on one line.
func bodySnippet(body []byte) string {
	const limit = 200
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(body), "")), " ")
	if len(s) > limit {
		s = strings.ToValidUTF8(s[:limit], "") + "…"
	}
	return s
}

// headerRecorder is the HTTP client of one call; it keeps the headers of a
// failed response, which go-openai drops from its errors.
type headerRecorder struct {
	client *http.Client
	header http.Header
}

// Do implements openai.HTTPDoer.
func (r *headerRecorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.client.Do(req)
	if err == nil && resp.StatusCode >= http.StatusBadRequest {
		r.header = resp.Header
	}
	return resp, err
}

// ToolFunctionName maps an action id such as "jira.search" to an OpenAI
// function name, which may not contain dots: "jira__search".
func ToolFunctionName(action string) string { return strings.ReplaceAll(action, ".", "__") }

// ActionName maps a function name back to its action id.
func ActionName(function string) string { return strings.ReplaceAll(function, "__", ".") }
