package agents

import (
	"reflect"
	"testing"
)

func TestDefaultPrices(t *testing.T) {
	table := DefaultPrices()
	if table.Version != EmbeddedPricesVersion {
		t.Errorf("Version: got %q, want %q", table.Version, EmbeddedPricesVersion)
	}
	wantNames := []string{"gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o", "gpt-4o-mini",
		"gpt-5", "gpt-5-mini", "gpt-5-nano", "o1", "o3", "o3-mini", "o4-mini"}
	if got := table.Names(); !reflect.DeepEqual(got, wantNames) {
		t.Errorf("Names: got %v, want %v", got, wantNames)
	}
	for _, tt := range []struct {
		model string
		want  Price
		ok    bool
	}{
		{"gpt-4o-mini", gpt4oMini, true},
		{"openai/gpt-4o-mini", gpt4oMini, true},
		{"gpt-5", Price{Input: 1_250_000, Output: 10_000_000, CacheRead: 125_000, HasCacheRead: true}, true},
		{"o1", Price{Input: 15_000_000, Output: 60_000_000, CacheRead: 7_500_000, HasCacheRead: true}, true},
		{"azure/unknown", Price{}, false},
		{"unknown", Price{}, false},
	} {
		t.Run(tt.model, func(t *testing.T) {
			got, ok := table.Lookup(tt.model)
			if ok != tt.ok || got != tt.want {
				t.Errorf("got %+v, %v, want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestWithOverrides(t *testing.T) {
	base := DefaultPrices()
	file := []byte(`{
		"gpt-4o-mini": {"input_cost_per_token": 1e-6, "output_cost_per_token": "0.000002"},
		"my-model": {"input_cost_per_token": 0, "output_cost_per_token": 3e-6,
			"cache_read_input_token_cost": null, "output_cost_per_reasoning_token": "0.000004", "max_tokens": 8192},
		"sample_spec": {"max_tokens": 10, "litellm_provider": "openai"}
	}`)
	got, err := base.WithOverrides(file, "acme")
	if err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	if want := EmbeddedPricesVersion + "+acme"; got.Version != want {
		t.Errorf("Version: got %q, want %q", got.Version, want)
	}
	for _, tt := range []struct {
		table PriceTable
		model string
		want  Price
		ok    bool
	}{
		{got, "gpt-4o-mini", Price{Input: 1_000_000, Output: 2_000_000}, true},
		{got, "my-model", Price{Output: 3_000_000, Reasoning: 4_000_000, HasReasoning: true}, true},
		{got, "gpt-4o", Price{Input: 2_500_000, Output: 10_000_000, CacheRead: 1_250_000, HasCacheRead: true}, true},
		{got, "sample_spec", Price{}, false},
		{base, "gpt-4o-mini", gpt4oMini, true}, // the base table is left alone
		{base, "my-model", Price{}, false},
	} {
		p, ok := tt.table.Lookup(tt.model)
		if ok != tt.ok || p != tt.want {
			t.Errorf("%s in %s: got %+v, %v, want %+v, %v", tt.model, tt.table.Version, p, ok, tt.want, tt.ok)
		}
	}
	if got, want := len(got.Models), len(base.Models)+1; got != want {
		t.Errorf("models: got %d, want %d", got, want)
	}
}

func TestParsePricesErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		file string
		want string
	}{
		{"not json", `{`, "price file: unexpected end of JSON input"},
		{"bad number", `{"m": {"input_cost_per_token": "abc", "output_cost_per_token": 1e-6}}`,
			`price file: m.input_cost_per_token: "abc" is not a decimal number`},
		{"bad output number", `{"m": {"input_cost_per_token": 1e-6, "output_cost_per_token": true}}`,
			`price file: m.output_cost_per_token: "true" is not a decimal number`},
		{"too fine", `{"m": {"input_cost_per_token": 1e-13, "output_cost_per_token": 1e-6}}`,
			`price file: m.input_cost_per_token: "1e-13" is finer than 1e-12 USD`},
		{"negative", `{"m": {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6, "cache_read_input_token_cost": -1e-7}}`,
			"price file: m.cache_read_input_token_cost: must not be negative"},
		{"only input", `{"m": {"input_cost_per_token": 1e-6}}`,
			"price file: m: needs both input_cost_per_token and output_cost_per_token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DefaultPrices().WithOverrides([]byte(tt.file), "x")
			if err == nil {
				t.Fatalf("got nil error, want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("got error %q, want %q", err, tt.want)
			}
		})
	}
}
