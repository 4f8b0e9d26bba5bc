// Package budget enforces hard spending limits — per run, per agent per day or
// month, per team or purpose category per month — so that concurrent calls can
// never overrun them. Before an LLM call the caller reserves the most the call
// can cost against every limit that applies, atomically in Redis (all or
// none); after the call it settles the reservation to the actual cost, or
// releases it if the call failed.
//
// Counters live in Redis, one hash per scope and calendar window, and Redis is
// allowed to lose them: a counter that is not initialized is rebuilt from the
// ledger before it is used, which also makes a budget added mid-window count
// what was already spent in that window.
//
// Keys (prefix "telos:budget" by default):
//
//	telos:budget:day:2026-12-03:agent:platform/echo-digest   a day counter
//	telos:budget:month:2026-12:team:platform                 a month counter
//	telos:budget:run:run:run_abc                             a run counter
//	telos:budget:resv:<id>                                   a reservation
//
// The window comes before the scope so that no scope can spell another key.
// Every script declares all keys it touches; on Redis Cluster, give a prefix
// with a hash tag (WithPrefix("{telos-budget}")) so they share one slot.
//
// Day and month counters expire 40 days after their window ends, run counters
// 7 days after the run's last reservation. Run Redis with maxmemory-policy
// noeviction: an evicted counter is rebuilt correctly, but more slowly.
//
// A reservation whose caller dies without settling or releasing it stays held
// until its window's counter expires: the budget errs on the side of refusing.
// Callers release in every failure path; a retried Reserve with the same id
// does not hold twice.
package budget

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/telos-dev/telos/agents"
)

// Window is the period a limit counts spend over.
type Window string

// Windows. Day and month windows are calendar windows in the engine's time
// zone; a run window is the whole run.
const (
	PerRun   Window = "run"
	PerDay   Window = "day"
	PerMonth Window = "month"
)

// Measure is what a limit counts: dollars or tokens.
type Measure string

// Measures.
const (
	USD    Measure = "usd"
	Tokens Measure = "tokens"
)

// Limit is one budget that applies to a call.
type Limit struct {
	// Scope names what the budget is for, e.g. "agent:platform/echo-digest",
	// "team:platform", "category:engineering-productivity" or "run:run_abc".
	// The Ledger must understand it.
	Scope  string `json:"scope"`
	Window Window `json:"window"`
	// USD is the most the scope may spend in the window; 0 means no USD limit.
	USD agents.Money `json:"usd"`
	// Tokens is the most input+output tokens the scope may use in the window;
	// 0 means no token limit.
	Tokens int64 `json:"tokens"`
}

// Amount is a quantity in both measures.
type Amount struct {
	USD    agents.Money `json:"usd"`
	Tokens int64        `json:"tokens"`
}

// Ledger is where spend is rebuilt from when a counter is not initialized:
// on first use, or after Redis lost its data. The store implements it.
type Ledger interface {
	// Spend sums the cost and the tokens (input+output) of the ledger entries in
	// scope whose start time is in [from, to). For run windows from and to are
	// zero and the scope is the run.
	Spend(ctx context.Context, scope string, from, to time.Time) (agents.Money, int64, error)
}

// Reservation is an amount held against the counters of some limits until it
// is settled or released. It is plain data, so a workflow can pass it from the
// activity that reserved to the one that settles.
type Reservation struct {
	ID     string       `json:"id"`
	USD    agents.Money `json:"usd"`
	Tokens int64        `json:"tokens"`
	Holds  []Hold       `json:"holds"`
}

// Hold is the part of a reservation held on one limit's counter. It keeps the
// window the reservation was taken in, so a call that runs across midnight is
// settled where it was reserved.
type Hold struct {
	Limit Limit `json:"limit"`
	// Start and End bound the window; both are zero for run windows.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Key is the counter's Redis key.
	Key string `json:"key"`
	// Epoch identifies the counter's seeding when the reservation was taken;
	// it tells a settlement whether Redis lost the reservation since.
	Epoch string `json:"epoch"`
}

// Crossing reports that a limit's settled spend reached one of the soft
// thresholds (50, 80, 100 percent of the USD or the token limit) in a window.
// Each threshold is reported once per window, by the settlement that reached it.
type Crossing struct {
	Limit Limit     `json:"limit"`
	Start time.Time `json:"start"`
	// Percent is 50, 80 or 100.
	Percent int `json:"percent"`
	// Spent is the window's settled spend after the settlement.
	Spent Amount `json:"spent"`
}

// State is a limit's counter in its current window.
type State struct {
	Limit Limit `json:"limit"`
	// Start and End bound the window; both are zero for run windows.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Spent is the settled spend; it may pass the limit, because a call that
	// cost more than reserved is still counted.
	Spent Amount `json:"spent"`
	// Reserved is held by calls in flight.
	Reserved Amount `json:"reserved"`
	// Remaining is what can still be reserved, never below zero. It means
	// something only for the measures the limit sets.
	Remaining Amount `json:"remaining"`
}

// thresholds are the soft thresholds Settle reports, in percent.
var thresholds = [...]int{50, 80, 100}

const (
	defaultPrefix = "telos:budget"
	// retention is how long a day or month counter outlives its window, so
	// that late settlements and reports still find it.
	retention = 40 * 24 * time.Hour
	// runTTL is how long a run counter lives after its last reservation.
	runTTL = 7 * 24 * time.Hour
	// attempts bounds how often one call seeds counters that keep vanishing.
	attempts = 3
)

// Engine reserves, settles and reports budgets in Redis.
type Engine struct {
	rdb    redis.UniversalClient
	loc    *time.Location
	ledger Ledger
	now    func() time.Time
	prefix string
}

// Option configures an Engine.
type Option func(*Engine)

// WithClock makes the engine read the time from now instead of time.Now.
func WithClock(now func() time.Time) Option { return func(e *Engine) { e.now = now } }

// WithPrefix sets the prefix of every key (default "telos:budget").
func WithPrefix(prefix string) Option { return func(e *Engine) { e.prefix = prefix } }

// New returns an engine that keeps counters in rdb, cuts day and month
// windows in loc (UTC if nil) and rebuilds counters from ledger.
func New(rdb redis.UniversalClient, loc *time.Location, ledger Ledger, opts ...Option) *Engine {
	if loc == nil {
		loc = time.UTC
	}
	e := &Engine{rdb: rdb, loc: loc, ledger: ledger, now: time.Now, prefix: defaultPrefix}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Reserve holds usd and tokens against every limit, atomically: either all
// limits have room and the amount is held on each, or nothing is held and the
// error is an *ExceededError naming the first limit that would be exceeded.
// The id names the call; retrying Reserve with the same id while the
// reservation is held returns it without holding the amount twice.
func (e *Engine) Reserve(ctx context.Context, id string, limits []Limit, usd agents.Money, tokens int64) (*Reservation, error) {
	if id == "" {
		return nil, errors.New("reserve: empty reservation id")
	}
	if usd < 0 || tokens < 0 {
		return nil, fmt.Errorf("reserve %q: negative amount $%s, %d tokens", id, usd, tokens)
	}
	now := e.now()
	holds, err := e.holds(limits, now)
	if err != nil {
		return nil, fmt.Errorf("reserve %q: %w", id, err)
	}
	r := &Reservation{ID: id, USD: usd, Tokens: tokens, Holds: holds}
	if len(holds) == 0 {
		return r, nil
	}
	keys := []string{e.reservationKey(id)}
	args := []any{itoa(usd), itoa(tokens), ms(e.reservationTTL(holds, now))}
	for _, h := range holds {
		keys = append(keys, h.Key)
		// Day and month counters keep the expiry they were seeded with; a run
		// counter lives on while the run reserves.
		ttl := ""
		if h.Limit.Window == PerRun {
			ttl = ms(runTTL)
		}
		args = append(args, room(int64(h.Limit.USD), int64(usd)), room(h.Limit.Tokens, tokens), ttl)
	}
	for range attempts {
		reply, err := reserveScript.Run(ctx, e.rdb, keys, args...).Slice()
		if err != nil {
			return nil, fmt.Errorf("reserve %q: %w", id, err)
		}
		switch status(reply) {
		case "ok":
			if len(reply) != len(holds)+1 {
				return nil, fmt.Errorf("reserve %q: unexpected reply %v", id, reply)
			}
			for i := range holds {
				holds[i].Epoch = fmt.Sprint(reply[i+1])
			}
			return r, nil
		case "seed":
			idx, _ := reply[1].([]any)
			var stale []Hold
			for _, v := range idx {
				i, err := replyInt(v)
				if err != nil || i < 1 || int(i) > len(holds) {
					return nil, fmt.Errorf("reserve %q: unexpected reply %v", id, reply)
				}
				stale = append(stale, holds[i-1])
			}
			if err := e.seed(ctx, stale, now); err != nil {
				return nil, fmt.Errorf("reserve %q: %w", id, err)
			}
		case "over":
			return nil, exceeded(reply, holds, r)
		case "conflict":
			return nil, fmt.Errorf("reserve %q: the id is already used by another reservation", id)
		default:
			return nil, fmt.Errorf("reserve %q: %s", id, scriptError(reply))
		}
	}
	return nil, fmt.Errorf("reserve %q: counters lost their data %d times in a row", id, attempts)
}

// Settle replaces the reservation by the actual cost of the call. The actual
// cost is always counted, even if it is more than reserved and passes a
// limit: it was spent. It returns the thresholds (50, 80, 100 percent) that
// this settlement made a limit reach, each reported once per window.
//
// Settling twice, or settling a released or unknown reservation, changes
// nothing and reports nothing; so does settling into a counter that no longer
// exists. If Redis lost the reservation with its data and the counter has been
// rebuilt from the ledger since, the actual cost is added to the rebuilt
// counter, once: the ledger entry of a call in flight may not have been
// written when the counter was rebuilt, and counting it twice is the safe
// mistake.
func (e *Engine) Settle(ctx context.Context, r *Reservation, usd agents.Money, tokens int64) ([]Crossing, error) {
	if usd < 0 || tokens < 0 {
		return nil, fmt.Errorf("settle: negative amount $%s, %d tokens", usd, tokens)
	}
	return e.finish(ctx, "settle", r, usd, tokens)
}

// Release gives back a reservation whose call did not happen or cost nothing.
// Releasing twice, or releasing a settled or unknown reservation, changes
// nothing.
func (e *Engine) Release(ctx context.Context, r *Reservation) error {
	_, err := e.finish(ctx, "release", r, 0, 0)
	return err
}

// finish runs finishScript for Settle (mode "settle") and Release.
func (e *Engine) finish(ctx context.Context, mode string, r *Reservation, usd agents.Money, tokens int64) ([]Crossing, error) {
	if r == nil {
		return nil, fmt.Errorf("%s: nil reservation", mode)
	}
	if r.USD < 0 || r.Tokens < 0 {
		return nil, fmt.Errorf("%s %q: negative reserved amount $%s, %d tokens", mode, r.ID, r.USD, r.Tokens)
	}
	if len(r.Holds) == 0 {
		return nil, nil
	}
	now := e.now()
	keys := []string{e.reservationKey(r.ID)}
	args := []any{mode, itoa(usd), itoa(tokens), itoa(r.USD), itoa(r.Tokens), itoa(usd - r.USD), itoa(tokens - r.Tokens),
		ms(e.reservationTTL(r.Holds, now)), len(thresholds)}
	for _, h := range r.Holds {
		keys = append(keys, h.Key)
		args = append(args, h.Epoch)
		for _, p := range thresholds {
			args = append(args, p, threshold(int64(h.Limit.USD), p), threshold(h.Limit.Tokens, p))
		}
	}
	reply, err := finishScript.Run(ctx, e.rdb, keys, args...).Slice()
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", mode, r.ID, err)
	}
	if status(reply) != "ok" {
		return nil, fmt.Errorf("%s %q: %s", mode, r.ID, scriptError(reply))
	}
	var out []Crossing
	for _, v := range reply[1:] {
		c, ok := v.([]any)
		if !ok || len(c) != 4 {
			return nil, fmt.Errorf("%s %q: unexpected reply %v", mode, r.ID, reply)
		}
		n, err := replyInts(c)
		if err != nil || n[0] < 1 || int(n[0]) > len(r.Holds) {
			return nil, fmt.Errorf("%s %q: unexpected reply %v", mode, r.ID, reply)
		}
		h := r.Holds[n[0]-1]
		out = append(out, Crossing{Limit: h.Limit, Start: h.Start, Percent: int(n[1]),
			Spent: Amount{USD: agents.Money(n[2]), Tokens: n[3]}})
	}
	return out, nil
}

// State reports each limit's counter in its current window, rebuilding
// counters from the ledger where Redis has none.
func (e *Engine) State(ctx context.Context, limits []Limit) ([]State, error) {
	now := e.now()
	holds, err := e.holds(limits, now)
	if err != nil {
		return nil, fmt.Errorf("budget state: %w", err)
	}
	for range attempts {
		pipe := e.rdb.Pipeline()
		cmds := make([]*redis.SliceCmd, len(holds))
		for i, h := range holds {
			cmds[i] = pipe.HMGet(ctx, h.Key, "epoch", "spent_usd", "spent_tok", "held_usd", "held_tok")
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("budget state: %w", err)
		}
		var stale []Hold
		out := make([]State, len(holds))
		for i, h := range holds {
			v := cmds[i].Val()
			if v[0] == nil {
				stale = append(stale, h)
				continue
			}
			n, err := replyInts(v[1:])
			if err != nil {
				return nil, fmt.Errorf("budget state of %s: %w", h.Key, err)
			}
			s := State{Limit: h.Limit, Start: h.Start, End: h.End,
				Spent:    Amount{USD: agents.Money(n[0]), Tokens: n[1]},
				Reserved: Amount{USD: agents.Money(n[2] - n[0]), Tokens: n[3] - n[1]}}
			if h.Limit.USD > 0 {
				s.Remaining.USD = max(0, h.Limit.USD-agents.Money(n[2]))
			}
			if h.Limit.Tokens > 0 {
				s.Remaining.Tokens = max(0, h.Limit.Tokens-n[3])
			}
			out[i] = s
		}
		if len(stale) == 0 {
			return out, nil
		}
		if err := e.seed(ctx, stale, now); err != nil {
			return nil, fmt.Errorf("budget state: %w", err)
		}
	}
	return nil, fmt.Errorf("budget state: counters lost their data %d times in a row", attempts)
}

// seed initializes the counters of holds that are not initialized with the
// ledger's spend in their windows.
func (e *Engine) seed(ctx context.Context, holds []Hold, now time.Time) error {
	if e.ledger == nil {
		return errors.New("no ledger to rebuild budget counters from")
	}
	keys := make([]string, 0, len(holds))
	args := make([]any, 0, 4*len(holds))
	for _, h := range holds {
		usd, tokens, err := e.ledger.Spend(ctx, h.Limit.Scope, h.Start, h.End)
		if err != nil {
			return fmt.Errorf("rebuild %s %s budget from the ledger: %w", h.Limit.Scope, h.Limit.Window, err)
		}
		if usd < 0 || tokens < 0 {
			return fmt.Errorf("rebuild %s %s budget: the ledger reports negative spend $%s, %d tokens", h.Limit.Scope, h.Limit.Window, usd, tokens)
		}
		keys = append(keys, h.Key)
		args = append(args, itoa(usd), itoa(tokens), rand.Text(), ms(e.ttl(h, now)))
	}
	if err := seedScript.Run(ctx, e.rdb, keys, args...).Err(); err != nil {
		return fmt.Errorf("seed budget counters: %w", err)
	}
	return nil
}

// holds checks limits and places each in its window at now.
func (e *Engine) holds(limits []Limit, now time.Time) ([]Hold, error) {
	holds := make([]Hold, 0, len(limits))
	seen := make(map[string]bool, len(limits))
	for _, l := range limits {
		if l.Scope == "" {
			return nil, errors.New("limit with an empty scope")
		}
		if l.USD < 0 || l.Tokens < 0 {
			return nil, fmt.Errorf("%s %s limit: negative amount", l.Scope, l.Window)
		}
		start, end, label, err := e.window(l.Window, now)
		if err != nil {
			return nil, fmt.Errorf("%s limit: %w", l.Scope, err)
		}
		key := e.prefix + ":" + string(l.Window) + label + ":" + l.Scope
		if seen[key] {
			// Two limits on one counter would hold the amount twice.
			return nil, fmt.Errorf("two %s limits for %s: merge them into one", l.Window, l.Scope)
		}
		seen[key] = true
		holds = append(holds, Hold{Limit: l, Start: start, End: end, Key: key})
	}
	return holds, nil
}

// window returns the bounds of the window w that contains now, and the label
// that window's keys carry (":2026-12-03", ":2026-12", or "" for runs).
func (e *Engine) window(w Window, now time.Time) (start, end time.Time, label string, err error) {
	t := now.In(e.loc)
	switch w {
	case PerRun:
		return time.Time{}, time.Time{}, "", nil
	case PerDay:
		start = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, e.loc)
		end = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, e.loc)
		return start, end, t.Format(":2006-01-02"), nil
	case PerMonth:
		start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, e.loc)
		end = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, e.loc)
		return start, end, t.Format(":2006-01"), nil
	}
	return time.Time{}, time.Time{}, "", fmt.Errorf("unknown window %q", w)
}

// ttl is how long h's counter should live from now on.
func (e *Engine) ttl(h Hold, now time.Time) time.Duration {
	if h.Limit.Window == PerRun {
		return runTTL
	}
	return max(h.End.Add(retention).Sub(now), time.Minute)
}

// reservationTTL keeps a reservation as long as the longest-lived of its
// counters, so that no counter holds an amount whose reservation is gone.
func (e *Engine) reservationTTL(holds []Hold, now time.Time) time.Duration {
	var d time.Duration
	for _, h := range holds {
		d = max(d, e.ttl(h, now))
	}
	return d
}

func (e *Engine) reservationKey(id string) string { return e.prefix + ":resv:" + id }

// room is the most a counter may hold before a reservation of amount for
// the reservation to fit under limit; "" if there is no limit. It may be
// negative: then nothing fits.
func room(limit, amount int64) string {
	if limit == 0 {
		return ""
	}
	return itoa(limit - amount)
}

// threshold is the smallest spend that reaches pct percent of limit, i.e.
// ceil(limit*pct/100), computed without overflowing int64; "" if there is no
// limit.
func threshold(limit int64, pct int) string {
	if limit == 0 {
		return ""
	}
	p := int64(pct)
	q, r := limit/100, limit%100
	return itoa(q*p + (r*p+99)/100)
}

// exceeded builds the error for an {'over', …} reply.
func exceeded(reply []any, holds []Hold, r *Reservation) error {
	if len(reply) != 7 {
		return fmt.Errorf("reserve %q: unexpected reply %v", r.ID, reply)
	}
	i, err := replyInt(reply[1])
	if err != nil || i < 1 || int(i) > len(holds) {
		return fmt.Errorf("reserve %q: unexpected reply %v", r.ID, reply)
	}
	n, err := replyInts(reply[3:])
	if err != nil {
		return fmt.Errorf("reserve %q: unexpected reply %v", r.ID, reply)
	}
	m := USD
	if reply[2] == "tok" {
		m = Tokens
	}
	h := holds[i-1]
	return &ExceededError{Limit: h.Limit, Start: h.Start, Measure: m,
		Spent:     Amount{USD: agents.Money(n[0]), Tokens: n[1]},
		Reserved:  Amount{USD: agents.Money(n[2] - n[0]), Tokens: n[3] - n[1]},
		Requested: Amount{USD: r.USD, Tokens: r.Tokens}}
}

// status is the first element of a script's reply.
func status(reply []any) string {
	if len(reply) == 0 {
		return ""
	}
	s, _ := reply[0].(string)
	return s
}

// scriptError describes a reply other than success: the message of an
// {'error', message} reply, or the unexpected reply itself.
func scriptError(reply []any) string {
	if status(reply) == "error" && len(reply) == 2 {
		return fmt.Sprint(reply[1])
	}
	return fmt.Sprintf("unexpected reply %v", reply)
}

// replyInt reads an integer that a script returned as a Redis integer or as a
// decimal string.
func replyInt(v any) (int64, error) {
	switch v := v.(type) {
	case int64:
		return v, nil
	case string:
		return strconv.ParseInt(v, 10, 64)
	}
	return 0, fmt.Errorf("not an integer: %v", v)
}

// replyInts reads integers as replyInt does; a missing value is zero.
func replyInts(vs []any) ([]int64, error) {
	out := make([]int64, len(vs))
	for i, v := range vs {
		if v == nil {
			continue
		}
		n, err := replyInt(v)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// itoa renders an integer amount as the decimal string the scripts work on.
func itoa[T ~int64](v T) string { return strconv.FormatInt(int64(v), 10) }

// ms renders a duration as whole milliseconds for PEXPIRE.
func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
