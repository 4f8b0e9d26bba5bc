package agents

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

//go:embed prices.json
var embeddedPrices []byte

// EmbeddedPricesVersion names the embedded price table; ledger entries record it.
const EmbeddedPricesVersion = "openai-2026-11"

// PriceTable maps model names to prices. Version is recorded on every ledger
// entry so a later price change never rewrites what a past call cost.
type PriceTable struct {
	Version string
	Models  map[string]Price
}

// Lookup returns the price of model, trying the name as given and then without
// a "provider/" prefix.
func (t PriceTable) Lookup(model string) (Price, bool) {
	if p, ok := t.Models[model]; ok {
		return p, true
	}
	if i := strings.LastIndexByte(model, '/'); i >= 0 {
		p, ok := t.Models[model[i+1:]]
		return p, ok
	}
	return Price{}, false
}

// Names lists the priced models in order.
func (t PriceTable) Names() []string {
	names := make([]string, 0, len(t.Models))
	for n := range t.Models {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// DefaultPrices returns the embedded price table of current OpenAI models.
func DefaultPrices() PriceTable {
	models, err := ParsePrices(embeddedPrices)
	if err != nil {
		panic(fmt.Sprintf("embedded price table: %v", err)) // a build defect, caught by tests
	}
	return PriceTable{Version: EmbeddedPricesVersion, Models: models}
}

// WithOverrides returns a copy of t in which the models of a user price file
// (JSON: model name → LiteLLM price fields, USD per token) replace or add to
// the table. The version becomes "<version>+<label>".
func (t PriceTable) WithOverrides(file []byte, label string) (PriceTable, error) {
	over, err := ParsePrices(file)
	if err != nil {
		return PriceTable{}, err
	}
	out := PriceTable{Version: t.Version + "+" + label, Models: make(map[string]Price, len(t.Models)+len(over))}
	for k, v := range t.Models {
		out.Models[k] = v
	}
	for k, v := range over {
		out.Models[k] = v
	}
	return out, nil
}

// ParsePrices reads a LiteLLM-style price map. Fields other than the four price
// fields are ignored so LiteLLM's own file can be used as it is; entries with
// neither input nor output price (such as LiteLLM's "sample_spec") are skipped.
func ParsePrices(b []byte) (map[string]Price, error) {
	var raw map[string]map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("price file: %w", err)
	}
	out := make(map[string]Price, len(raw))
	for _, model := range sortedKeys(raw) {
		fields := raw[model]
		var p Price
		var hasIn, hasOut bool
		for _, f := range []struct {
			name string
			dst  *Money
			has  *bool
		}{
			{"input_cost_per_token", &p.Input, &hasIn},
			{"output_cost_per_token", &p.Output, &hasOut},
			{"cache_read_input_token_cost", &p.CacheRead, &p.HasCacheRead},
			{"output_cost_per_reasoning_token", &p.Reasoning, &p.HasReasoning},
		} {
			v, ok := fields[f.name]
			if !ok || string(v) == "null" {
				continue
			}
			s := strings.Trim(string(v), `"`)
			m, err := ParseUSD(s)
			if err != nil {
				return nil, fmt.Errorf("price file: %s.%s: %w", model, f.name, err)
			}
			if m < 0 {
				return nil, fmt.Errorf("price file: %s.%s: must not be negative", model, f.name)
			}
			*f.dst, *f.has = m, true
		}
		if !hasIn && !hasOut {
			continue
		}
		if !hasIn || !hasOut {
			return nil, fmt.Errorf("price file: %s: needs both input_cost_per_token and output_cost_per_token", model)
		}
		out[model] = p
	}
	return out, nil
}
