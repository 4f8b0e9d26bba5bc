package budget

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/telos-dev/telos/agents"
)

// testRedis is the Redis the tests run against.
type testRedis struct {
	rdb *redis.Client
	// mini is the embedded server, nil when the tests use a real redis-server.
	mini *miniredis.Miniredis
}

// newTestRedis connects to the real redis-server at TELOS_TEST_REDIS_URL
// when it is set, or else starts a miniredis (whose scripts run on
// gopher-lua). The real server must be a disposable one: every test flushes
// it.
func newTestRedis(tb testing.TB) *testRedis {
	tb.Helper()
	if url := os.Getenv("TELOS_TEST_REDIS_URL"); url != "" {
		opt, err := redis.ParseURL(url)
		if err != nil {
			tb.Fatalf("parse TELOS_TEST_REDIS_URL: %v", err)
		}
		// A database of its own: other packages' tests use the server's
		// default database at the same time, and these tests flush theirs.
		opt.DB = 7
		rdb := redis.NewClient(opt)
		tb.Cleanup(func() { rdb.Close() })
		if err := rdb.FlushDB(context.Background()).Err(); err != nil {
			tb.Fatalf("flush test redis: %v", err)
		}
		return &testRedis{rdb: rdb}
	}
	m := miniredis.RunT(tb)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	tb.Cleanup(func() { rdb.Close() })
	return &testRedis{rdb: rdb, mini: m}
}

// flushAll makes Redis lose all its data, as a restart without persistence
// would (FLUSHDB: the test's own database is all the engine uses).
func (r *testRedis) flushAll(tb testing.TB) {
	tb.Helper()
	if err := r.rdb.FlushDB(context.Background()).Err(); err != nil {
		tb.Fatalf("flushall: %v", err)
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// fakeLedger is a Ledger whose answer a test decides.
type fakeLedger struct {
	spend func(ctx context.Context, scope string, from, to time.Time) (agents.Money, int64, error)
}

func (f fakeLedger) Spend(ctx context.Context, scope string, from, to time.Time) (agents.Money, int64, error) {
	return f.spend(ctx, scope, from, to)
}

// emptyLedger has no history.
var emptyLedger = fakeLedger{spend: func(context.Context, string, time.Time, time.Time) (agents.Money, int64, error) {
	return 0, 0, nil
}}

// fixedLedger reports the given spend for scopes it knows and none for others.
func fixedLedger(spent map[string]Amount) fakeLedger {
	return fakeLedger{spend: func(_ context.Context, scope string, _, _ time.Time) (agents.Money, int64, error) {
		a := spent[scope]
		return a.USD, a.Tokens, nil
	}}
}

// entry is a ledger entry of the memory ledger: a call's cost, counted in
// every scope it belongs to.
type entry struct {
	scopes []string
	at     time.Time
	cost   Amount
}

// memLedger records entries as the workflow's ledger activity would.
type memLedger struct {
	mu      sync.Mutex
	entries []entry
	calls   int
}

func (l *memLedger) add(e entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, e)
}

func (l *memLedger) ledger() fakeLedger {
	return fakeLedger{spend: func(_ context.Context, scope string, from, to time.Time) (agents.Money, int64, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.calls++
		var sum Amount
		for _, e := range l.entries {
			in := from.IsZero() || (!e.at.Before(from) && e.at.Before(to))
			for _, s := range e.scopes {
				if s == scope && in {
					sum.USD += e.cost.USD
					sum.Tokens += e.cost.Tokens
				}
			}
		}
		return sum.USD, sum.Tokens, nil
	}}
}

// usd parses a dollar amount the test spells out.
func usd(s string) agents.Money {
	m, err := agents.ParseUSD(s)
	if err != nil {
		panic(err)
	}
	return m
}

// counts is the part of a State that a test checks exactly.
type counts struct {
	Spent, Reserved, Remaining Amount
}

// stateOf returns the counts of each limit.
func stateOf(t *testing.T, e *Engine, limits ...Limit) []counts {
	t.Helper()
	states, err := e.State(context.Background(), limits)
	if err != nil {
		t.Fatalf("state: %v", err)
	}
	out := make([]counts, len(states))
	for i, s := range states {
		out[i] = counts{s.Spent, s.Reserved, s.Remaining}
	}
	return out
}

// reserve reserves and fails the test on an error.
func reserve(t *testing.T, e *Engine, id string, limits []Limit, usd agents.Money, tokens int64) *Reservation {
	t.Helper()
	r, err := e.Reserve(context.Background(), id, limits, usd, tokens)
	if err != nil {
		t.Fatalf("reserve %s: %v", id, err)
	}
	return r
}

// settle settles and fails the test on an error.
func settle(t *testing.T, e *Engine, r *Reservation, usd agents.Money, tokens int64) []Crossing {
	t.Helper()
	c, err := e.Settle(context.Background(), r, usd, tokens)
	if err != nil {
		t.Fatalf("settle %s: %v", r.ID, err)
	}
	return c
}
