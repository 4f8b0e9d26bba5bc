package agents

import (
	"fmt"
	"math/big"
	"strings"
)

// Money is an exact amount of US dollars counted in pico-dollars (1e-12 USD).
// Per-token prices of current models are whole numbers of pico-dollars, so every
// cost Telos computes is exact; float64 never holds money. An int64 holds up to
// about 9.2 million dollars per value.
type Money int64

// PicosPerUSD is the number of Money units in one dollar.
const PicosPerUSD = 1_000_000_000_000

// String formats m as a plain decimal dollar amount with no trailing zeros,
// e.g. "0.000123", "1.5", "0".
func (m Money) String() string {
	neg := m < 0
	v := uint64(m)
	if neg {
		v = uint64(-m)
	}
	whole, frac := v/PicosPerUSD, v%PicosPerUSD
	s := fmt.Sprintf("%d", whole)
	if frac != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%012d", frac), "0")
	}
	if neg {
		s = "-" + s
	}
	return s
}

// MarshalText renders the amount as its decimal string so JSON carries it exactly.
func (m Money) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText parses a decimal dollar amount.
func (m *Money) UnmarshalText(b []byte) error {
	v, err := ParseUSD(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

var picosRat = new(big.Rat).SetInt64(PicosPerUSD)

// ParseUSD parses a decimal dollar amount such as "0.05", "1.5e-07" or "12". It
// refuses amounts that are not a whole number of pico-dollars or that overflow,
// rather than rounding them.
func ParseUSD(s string) (Money, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty amount")
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || strings.Trim(s, "0123456789.eE+-") != "" {
		return 0, fmt.Errorf("%q is not a decimal number", s)
	}
	r.Mul(r, picosRat)
	if !r.IsInt() {
		return 0, fmt.Errorf("%q is finer than 1e-12 USD", s)
	}
	n := r.Num()
	if !n.IsInt64() {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return Money(n.Int64()), nil
}
