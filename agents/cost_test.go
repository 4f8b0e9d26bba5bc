package agents

import (
	"encoding/json"
	"math"
	"testing"
)

// gpt4oMini is the embedded price of gpt-4o-mini, in pico-dollars per token.
var gpt4oMini = Price{Input: 150_000, Output: 600_000, CacheRead: 75_000, HasCacheRead: true}

func TestPriceCost(t *testing.T) {
	usage := Usage{InputTokens: 1000, CachedInputTokens: 400, OutputTokens: 500, ReasoningTokens: 100}
	for _, tt := range []struct {
		name  string
		price Price
		usage Usage
		want  Money
		text  string
	}{
		{
			"cache rate given, reasoning at the output rate", gpt4oMini, usage,
			600*150_000 + 400*75_000 + 500*600_000, "0.00042",
		},
		{
			"no cache rate: cached input at the input rate",
			Price{Input: 150_000, Output: 600_000}, usage,
			1000*150_000 + 500*600_000, "0.00045",
		},
		{
			"cache rate of zero is free, not missing",
			Price{Input: 150_000, Output: 600_000, HasCacheRead: true}, usage,
			600*150_000 + 500*600_000, "0.00039",
		},
		{
			"cache rate set but not marked given is ignored",
			Price{Input: 150_000, Output: 600_000, CacheRead: 1}, usage,
			1000*150_000 + 500*600_000, "0.00045",
		},
		{
			"reasoning rate given",
			Price{Input: 150_000, Output: 600_000, CacheRead: 75_000, HasCacheRead: true, Reasoning: 1_000_000, HasReasoning: true},
			usage,
			600*150_000 + 400*75_000 + 400*600_000 + 100*1_000_000, "0.00046",
		},
		{
			"reasoning rate of zero",
			Price{Input: 150_000, Output: 600_000, HasReasoning: true}, usage,
			1000*150_000 + 400*600_000, "0.00039",
		},
		{"no usage", gpt4oMini, Usage{}, 0, "0"},
		{"one token", Price{Input: 1, Output: 1}, Usage{InputTokens: 1}, 1, "0.000000000001"},
		{
			"all cached, all reasoning", gpt4oMini,
			Usage{InputTokens: 10, CachedInputTokens: 10, OutputTokens: 10, ReasoningTokens: 10},
			10*75_000 + 10*600_000, "0.00000675",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.price.Cost(tt.usage)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if got != tt.want {
				t.Errorf("got %d picos, want %d", got, tt.want)
			}
			if got.String() != tt.text {
				t.Errorf("got %q, want %q", got.String(), tt.text)
			}
		})
	}
}

func TestPriceCostErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		price Price
		usage Usage
		want  string
	}{
		{"negative", gpt4oMini, Usage{InputTokens: -1},
			"negative token count in usage {InputTokens:-1 CachedInputTokens:0 OutputTokens:0 ReasoningTokens:0}"},
		{"too many cached", gpt4oMini, Usage{InputTokens: 1, CachedInputTokens: 2},
			"cached input tokens 2 exceed input tokens 1"},
		{"too much reasoning", gpt4oMini, Usage{OutputTokens: 1, ReasoningTokens: 2},
			"reasoning tokens 2 exceed output tokens 1"},
		{"product overflows", Price{Input: 1 << 30, Output: 1}, Usage{InputTokens: 1 << 40}, "cost overflows"},
		{"sum overflows", Price{Input: 1 << 31, Output: 1 << 31}, Usage{InputTokens: 1 << 31, OutputTokens: 1 << 31}, "cost overflows"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.price.Cost(tt.usage)
			if err == nil {
				t.Fatalf("got %v, want error %q", got, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("got error %q, want %q", err, tt.want)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	u := Usage{InputTokens: 1000, CachedInputTokens: 400, OutputTokens: 500, ReasoningTokens: 100}
	got := u.Add(Usage{InputTokens: 1, CachedInputTokens: 2, OutputTokens: 3, ReasoningTokens: 4})
	if want := (Usage{InputTokens: 1001, CachedInputTokens: 402, OutputTokens: 503, ReasoningTokens: 104}); got != want {
		t.Errorf("Add: got %+v, want %+v", got, want)
	}
	if got, want := u.Total(), int64(1500); got != want {
		t.Errorf("Total: got %d, want %d", got, want)
	}
}

func TestParseUSD(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Money
		text string
	}{
		{"0.05", 50_000_000_000, "0.05"},
		{"1.5e-07", 150_000, "0.00000015"},
		{"0.00000015", 150_000, "0.00000015"},
		{"12", 12 * PicosPerUSD, "12"},
		{" 1.00 ", PicosPerUSD, "1"},
		{"0", 0, "0"},
		{"-0.5", -PicosPerUSD / 2, "-0.5"},
		{"0.000000000001", 1, "0.000000000001"},
		{"1e-12", 1, "0.000000000001"},
		{"123456.789012345678", 123456_789012345678, "123456.789012345678"},
		{"9223372.036854775807", math.MaxInt64, "9223372.036854775807"},
		{"-9223372.036854775808", math.MinInt64, "-9223372.036854775808"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseUSD(tt.in)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if got != tt.want {
				t.Errorf("got %d picos, want %d", got, tt.want)
			}
			if got.String() != tt.text {
				t.Errorf("String: got %q, want %q", got.String(), tt.text)
			}
		})
	}
}

func TestParseUSDErrors(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string
	}{
		{"", "empty amount"},
		{"   ", "empty amount"},
		{"abc", `"abc" is not a decimal number`},
		{"1/2", `"1/2" is not a decimal number`},
		{"$1", `"$1" is not a decimal number`},
		{"1,5", `"1,5" is not a decimal number`},
		{"1e-13", `"1e-13" is finer than 1e-12 USD`},
		{"0.0000000000015", `"0.0000000000015" is finer than 1e-12 USD`},
		{"9223372.036854775808", `"9223372.036854775808" is too large`},
		{"10000000", `"10000000" is too large`},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseUSD(tt.in)
			if err == nil {
				t.Fatalf("got %v, want error %q", got, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("got error %q, want %q", err, tt.want)
			}
		})
	}
}

func TestMoneyJSON(t *testing.T) {
	b, err := json.Marshal(struct{ Cost Money }{150_000})
	if err != nil {
		t.Fatalf("Marshal: got error %v, want nil", err)
	}
	if got, want := string(b), `{"Cost":"0.00000015"}`; got != want {
		t.Errorf("Marshal: got %s, want %s", got, want)
	}
	var v struct{ Cost Money }
	if err := json.Unmarshal([]byte(`{"Cost":"0.05"}`), &v); err != nil {
		t.Fatalf("Unmarshal: got error %v, want nil", err)
	}
	if v.Cost != 50_000_000_000 {
		t.Errorf("Unmarshal: got %d picos, want %d", v.Cost, 50_000_000_000)
	}
	if err := json.Unmarshal([]byte(`{"Cost":"x"}`), &v); err == nil {
		t.Errorf("Unmarshal of %q: got nil error, want one", "x")
	}
}
