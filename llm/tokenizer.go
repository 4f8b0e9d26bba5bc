package llm

import (
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// Encoding names, as tiktoken spells them.
const (
	encodingO200K  = "o200k_base"
	encodingCL100K = "cl100k_base"
)

// encodings caches one encoder per encoding name: building one decodes and
// sorts a few hundred thousand BPE ranks, which takes a noticeable fraction of
// a second, so every Tokenizer shares it.
var encodings = struct {
	loader sync.Once
	mu     sync.Mutex
	byName map[string]*tiktoken.Tiktoken
}{byName: map[string]*tiktoken.Tiktoken{}}

// Tokenizer counts tokens the way a model's BPE encoding does. It is safe for
// concurrent use.
type Tokenizer struct {
	encoding string
	enc      *tiktoken.Tiktoken
}

// NewTokenizer returns the tokenizer of model: o200k_base for the gpt-4o,
// gpt-4.1, gpt-4.5, gpt-5 and o-series families, cl100k_base for gpt-4,
// gpt-3.5 and any model it does not know. A provider prefix such as
// "openai/gpt-4o" is ignored. The BPE ranks are embedded in the binary, so
// nothing is downloaded.
func NewTokenizer(model string) (*Tokenizer, error) {
	name := encodingFor(model)
	enc, err := loadEncoding(name)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %s for model %q: %w", name, model, err)
	}
	return &Tokenizer{encoding: name, enc: enc}, nil
}

// encodingFor picks the BPE encoding of model by its name.
func encodingFor(model string) string {
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	for _, prefix := range []string{"gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4"} {
		if strings.HasPrefix(m, prefix) {
			return encodingO200K
		}
	}
	return encodingCL100K
}

// loadEncoding returns the cached encoder called name, building it on first
// use from the ranks that tiktoken-go-loader embeds.
func loadEncoding(name string) (*tiktoken.Tiktoken, error) {
	// SetBpeLoader replaces a process-wide variable without locking; doing it
	// once, before this package asks for any encoding, keeps tiktoken from
	// ever fetching ranks over the network.
	encodings.loader.Do(func() { tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader()) })
	encodings.mu.Lock()
	defer encodings.mu.Unlock()
	if enc, ok := encodings.byName[name]; ok {
		return enc, nil
	}
	enc, err := tiktoken.GetEncoding(name)
	if err != nil {
		return nil, err
	}
	encodings.byName[name] = enc
	return enc, nil
}

// Encoding is the name of the BPE encoding t uses, such as "o200k_base".
func (t *Tokenizer) Encoding() string { return t.encoding }

// Count is the number of tokens in text. Special-token markers such as
// "<|endoftext|>" count as the plain text they are, as they do in a chat
// message sent to the API.
func (t *Tokenizer) Count(text string) int {
	if text == "" {
		return 0
	}
	return len(t.enc.EncodeOrdinary(text))
}

// Token overheads of the chat format, from OpenAI's token-counting recipe for
// the gpt-3.5-turbo, gpt-4 and gpt-4o families: every message is wrapped in
// <|start|>{role}\n{content}<|end|>\n, which costs 3 tokens beside its role and
// content, and every reply is primed with <|start|>assistant<|message|>, which
// costs 3 more.
const (
	tokensPerMessage = 3
	tokensPerReply   = 3
)

// CountChat is the number of prompt tokens of a chat request made of an
// optional system message and one user message, as OpenAI counts it:
//
//	for each message sent: 3 + Count(role) + Count(content)
//	plus 3 for priming the reply
//
// The system message is left out when system is empty, as OpenAI.Complete
// does not send it then. With a one-token role name ("system", "user") a
// request costs Count(system) + Count(prompt) + 11 tokens, or
// Count(prompt) + 7 without a system message.
func (t *Tokenizer) CountChat(system, prompt string) int {
	n := tokensPerReply
	if system != "" {
		n += tokensPerMessage + t.Count("system") + t.Count(system)
	}
	return n + tokensPerMessage + t.Count("user") + t.Count(prompt)
}

// truncate returns the longest prefix of text, cut at a token boundary, that
// is at most n tokens.
func (t *Tokenizer) truncate(text string, n int) string {
	tokens := t.enc.EncodeOrdinary(text)
	if len(tokens) <= n {
		return text
	}
	for k := n; k > 0; k-- {
		s := t.enc.Decode(tokens[:k])
		if utf8.ValidString(s) && t.Count(s) <= n {
			return s
		}
	}
	return ""
}
