package agents

import (
	"fmt"
	"math/bits"
)

// Usage is the token usage of one LLM call in OpenAI's convention: cached input
// tokens are counted inside InputTokens and reasoning tokens inside OutputTokens.
type Usage struct {
	InputTokens       int64 `json:"input_tokens"`
	CachedInputTokens int64 `json:"cached_input_tokens"`
	OutputTokens      int64 `json:"output_tokens"`
	ReasoningTokens   int64 `json:"reasoning_tokens"`
}

// Add returns the sum of u and v.
func (u Usage) Add(v Usage) Usage {
	return Usage{
		InputTokens:       u.InputTokens + v.InputTokens,
		CachedInputTokens: u.CachedInputTokens + v.CachedInputTokens,
		OutputTokens:      u.OutputTokens + v.OutputTokens,
		ReasoningTokens:   u.ReasoningTokens + v.ReasoningTokens,
	}
}

// Total is every token counted once.
func (u Usage) Total() int64 { return u.InputTokens + u.OutputTokens }

// Price is what one model costs per token, with the field names of the LiteLLM
// price map. A zero CacheRead or Reasoning rate means "not given": those tokens
// are charged at the plain input or output rate.
type Price struct {
	Input     Money `json:"input_cost_per_token"`
	Output    Money `json:"output_cost_per_token"`
	CacheRead Money `json:"cache_read_input_token_cost,omitempty"`
	Reasoning Money `json:"output_cost_per_reasoning_token,omitempty"`
	// HasCacheRead and HasReasoning tell a rate of zero from a missing rate.
	HasCacheRead bool `json:"-"`
	HasReasoning bool `json:"-"`
}

// Cost charges every token of u once, at its own rate: uncached input at the
// input rate, cached input at the cache-read rate, plain output at the output
// rate and reasoning output at the reasoning rate (each falling back to the
// plain rate when not given). It fails on inconsistent usage or overflow.
func (p Price) Cost(u Usage) (Money, error) {
	if u.InputTokens < 0 || u.OutputTokens < 0 || u.CachedInputTokens < 0 || u.ReasoningTokens < 0 {
		return 0, fmt.Errorf("negative token count in usage %+v", u)
	}
	if u.CachedInputTokens > u.InputTokens {
		return 0, fmt.Errorf("cached input tokens %d exceed input tokens %d", u.CachedInputTokens, u.InputTokens)
	}
	if u.ReasoningTokens > u.OutputTokens {
		return 0, fmt.Errorf("reasoning tokens %d exceed output tokens %d", u.ReasoningTokens, u.OutputTokens)
	}
	cacheRate, reasonRate := p.Input, p.Output
	if p.HasCacheRead {
		cacheRate = p.CacheRead
	}
	if p.HasReasoning {
		reasonRate = p.Reasoning
	}
	var total Money
	for _, part := range [...]struct {
		n    int64
		rate Money
	}{
		{u.InputTokens - u.CachedInputTokens, p.Input},
		{u.CachedInputTokens, cacheRate},
		{u.OutputTokens - u.ReasoningTokens, p.Output},
		{u.ReasoningTokens, reasonRate},
	} {
		hi, lo := bits.Mul64(uint64(part.n), uint64(part.rate))
		if hi != 0 || lo > 1<<62 {
			return 0, fmt.Errorf("cost overflows")
		}
		total += Money(lo)
		if total < 0 {
			return 0, fmt.Errorf("cost overflows")
		}
	}
	return total, nil
}
