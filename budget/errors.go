package budget

import (
	"fmt"
	"strings"
	"time"

	"github.com/telos-dev/telos/agents"
)

// ExceededError reports that a reservation would pass a hard limit; nothing
// was reserved. The step that asked fails as budget_exceeded and is not
// retried.
type ExceededError struct {
	// Limit is the first limit, in the caller's order, that has no room.
	Limit Limit
	// Start is the start of the limit's window (zero for run windows).
	Start time.Time
	// Measure says whether the USD or the token limit has no room.
	Measure Measure
	// Spent is the window's settled spend, Reserved what calls in flight hold
	// and Requested what this call asked to reserve.
	Spent, Reserved, Requested Amount
}

// Error reads like "budget exceeded: agent:platform/echo-digest day limit
// $1.00: spent $0.98, reserved $0.01, this call needs up to $0.02".
func (e *ExceededError) Error() string {
	if e.Measure == Tokens {
		return fmt.Sprintf("budget exceeded: %s %s limit %d tokens: spent %d, reserved %d, this call needs up to %d",
			e.Limit.Scope, e.Limit.Window, e.Limit.Tokens, e.Spent.Tokens, e.Reserved.Tokens, e.Requested.Tokens)
	}
	return fmt.Sprintf("budget exceeded: %s %s limit %s: spent %s, reserved %s, this call needs up to %s",
		e.Limit.Scope, e.Limit.Window, dollars(e.Limit.USD), dollars(e.Spent.USD), dollars(e.Reserved.USD), dollars(e.Requested.USD))
}

// dollars formats m with a dollar sign and at least two decimals, keeping
// every further digit: "$1.00", "$0.98", "$0.000125".
func dollars(m agents.Money) string {
	s := m.String()
	whole, frac, _ := strings.Cut(s, ".")
	for len(frac) < 2 {
		frac += "0"
	}
	if strings.HasPrefix(whole, "-") {
		return "-$" + whole[1:] + "." + frac
	}
	return "$" + whole + "." + frac
}
