package budget

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/telos-dev/telos/agents"
)

var (
	ctx = context.Background()
	// noon is a time well inside a UTC day.
	noon = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
)

func TestReserveSettleRelease(t *testing.T) {
	limit := Limit{Scope: "agent:platform/echo-digest", Window: PerDay, USD: usd("1"), Tokens: 1000}
	type step struct {
		op          string // reserve, settle, release
		id          string
		usd         string
		tokens      int64
		wantMeasure Measure // for a reserve that must be refused
	}
	tests := []struct {
		name  string
		steps []step
		want  counts
	}{
		{"reserve holds the amount",
			[]step{{op: "reserve", id: "a", usd: "0.30", tokens: 100}},
			counts{Reserved: Amount{usd("0.30"), 100}, Remaining: Amount{usd("0.70"), 900}}},
		{"settle below the reservation",
			[]step{{op: "reserve", id: "a", usd: "0.30", tokens: 100}, {op: "settle", id: "a", usd: "0.000123456789", tokens: 42}},
			counts{Spent: Amount{usd("0.000123456789"), 42}, Remaining: Amount{usd("0.999876543211"), 958}}},
		{"settle above the reservation counts it all",
			[]step{{op: "reserve", id: "a", usd: "0.30", tokens: 100}, {op: "settle", id: "a", usd: "0.45", tokens: 150}},
			counts{Spent: Amount{usd("0.45"), 150}, Remaining: Amount{usd("0.55"), 850}}},
		{"release gives it all back",
			[]step{{op: "reserve", id: "a", usd: "0.30", tokens: 100}, {op: "release", id: "a"}},
			counts{Remaining: Amount{usd("1"), 1000}}},
		{"reservations fill the limit exactly",
			[]step{
				{op: "reserve", id: "a", usd: "0.6", tokens: 1},
				{op: "reserve", id: "b", usd: "0.4", tokens: 1},
				{op: "reserve", id: "c", usd: "0.000000000001", wantMeasure: USD},
			},
			counts{Reserved: Amount{usd("1"), 2}, Remaining: Amount{0, 998}}},
		{"settled and held spend add up",
			[]step{
				{op: "reserve", id: "a", usd: "0.5", tokens: 300},
				{op: "settle", id: "a", usd: "0.25", tokens: 200},
				{op: "reserve", id: "b", usd: "0.5", tokens: 300},
				{op: "reserve", id: "c", usd: "0.25", tokens: 300},
				{op: "reserve", id: "d", usd: "0.000000000001", wantMeasure: USD},
				{op: "release", id: "c"},
			},
			counts{Spent: Amount{usd("0.25"), 200}, Reserved: Amount{usd("0.5"), 300}, Remaining: Amount{usd("0.25"), 500}}},
		{"token limit refuses on its own",
			[]step{{op: "reserve", id: "a", usd: "0.01", tokens: 1001, wantMeasure: Tokens}},
			counts{Remaining: Amount{usd("1"), 1000}}},
		{"an overspent window refuses even an empty call",
			[]step{
				{op: "reserve", id: "a", usd: "0.5", tokens: 10},
				{op: "settle", id: "a", usd: "1.2", tokens: 10},
				{op: "reserve", id: "b", usd: "0", tokens: 0, wantMeasure: USD},
			},
			counts{Spent: Amount{usd("1.2"), 10}, Remaining: Amount{0, 990}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(newTestRedis(t).rdb, nil, emptyLedger, WithClock(newClock(noon).Now))
			held := map[string]*Reservation{}
			for _, s := range tt.steps {
				switch s.op {
				case "reserve":
					r, err := e.Reserve(ctx, s.id, []Limit{limit}, usd(s.usd), s.tokens)
					var ex *ExceededError
					switch {
					case s.wantMeasure == "" && err != nil:
						t.Fatalf("reserve %s: %v", s.id, err)
					case s.wantMeasure != "" && !errors.As(err, &ex):
						t.Fatalf("reserve %s: got %v, want an ExceededError", s.id, err)
					case s.wantMeasure != "" && ex.Measure != s.wantMeasure:
						t.Fatalf("reserve %s: got measure %s, want %s", s.id, ex.Measure, s.wantMeasure)
					}
					held[s.id] = r
				case "settle":
					settle(t, e, held[s.id], usd(s.usd), s.tokens)
				case "release":
					if err := e.Release(ctx, held[s.id]); err != nil {
						t.Fatalf("release %s: %v", s.id, err)
					}
				}
			}
			if got := stateOf(t, e, limit); got[0] != tt.want {
				t.Errorf("got %+v, want %+v", got[0], tt.want)
			}
		})
	}
}

func TestReserveAllOrNone(t *testing.T) {
	run := Limit{Scope: "run:run_abc", Window: PerRun, Tokens: 40000}
	agent := Limit{Scope: "agent:platform/echo-digest", Window: PerDay, USD: usd("1")}
	team := Limit{Scope: "team:platform", Window: PerMonth, USD: usd("100")}
	category := Limit{Scope: "category:engineering-productivity", Window: PerMonth, USD: usd("500"), Tokens: 10_000_000}
	limits := []Limit{run, agent, team, category}

	tests := []struct {
		name   string
		spent  map[string]Amount // in the ledger before the call
		usd    agents.Money
		tokens int64
		want   *ExceededError // nil: all four hold the amount
	}{
		{name: "all have room", usd: usd("0.05"), tokens: 2000},
		{name: "run tokens", usd: usd("0.05"), tokens: 2000,
			spent: map[string]Amount{run.Scope: {usd("0.2"), 38001}},
			want:  &ExceededError{Limit: run, Measure: Tokens, Spent: Amount{usd("0.2"), 38001}, Requested: Amount{usd("0.05"), 2000}}},
		{name: "agent day", usd: usd("0.05"), tokens: 2000,
			spent: map[string]Amount{agent.Scope: {usd("0.96"), 5}},
			want:  &ExceededError{Limit: agent, Measure: USD, Spent: Amount{usd("0.96"), 5}, Requested: Amount{usd("0.05"), 2000}}},
		{name: "team month", usd: usd("0.05"), tokens: 2000,
			spent: map[string]Amount{team.Scope: {usd("99.950000000001"), 7}},
			want:  &ExceededError{Limit: team, Measure: USD, Spent: Amount{usd("99.950000000001"), 7}, Requested: Amount{usd("0.05"), 2000}}},
		{name: "category month tokens", usd: usd("0.05"), tokens: 2000,
			spent: map[string]Amount{category.Scope: {usd("1"), 9_998_001}},
			want:  &ExceededError{Limit: category, Measure: Tokens, Spent: Amount{usd("1"), 9_998_001}, Requested: Amount{usd("0.05"), 2000}}},
		{name: "first exceeded limit is named", usd: usd("0.05"), tokens: 2000,
			spent: map[string]Amount{team.Scope: {usd("100"), 0}, category.Scope: {usd("500"), 0}},
			want:  &ExceededError{Limit: team, Measure: USD, Spent: Amount{usd("100"), 0}, Requested: Amount{usd("0.05"), 2000}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(newTestRedis(t).rdb, nil, fixedLedger(tt.spent), WithClock(newClock(noon).Now))
			before := stateOf(t, e, limits...)
			_, err := e.Reserve(ctx, "call", limits, tt.usd, tt.tokens)
			after := stateOf(t, e, limits...)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("reserve: %v", err)
				}
				for i, c := range after {
					if want := (Amount{tt.usd, tt.tokens}); c.Reserved != want {
						t.Errorf("limit %d: got reserved %+v, want %+v", i, c.Reserved, want)
					}
				}
				return
			}
			var got *ExceededError
			if !errors.As(err, &got) {
				t.Fatalf("got %v, want an ExceededError", err)
			}
			got.Start = time.Time{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if !reflect.DeepEqual(after, before) {
				t.Errorf("counters changed: got %+v, want %+v", after, before)
			}
		})
	}
}

func TestExceededErrorText(t *testing.T) {
	limit := Limit{Scope: "agent:platform/echo-digest", Window: PerDay, USD: usd("1.00")}
	tests := []struct {
		name string
		err  *ExceededError
		want string
	}{
		{"usd", &ExceededError{Limit: limit, Measure: USD, Spent: Amount{USD: usd("0.98")}, Reserved: Amount{USD: usd("0.01")}, Requested: Amount{USD: usd("0.02")}},
			"budget exceeded: agent:platform/echo-digest day limit $1.00: spent $0.98, reserved $0.01, this call needs up to $0.02"},
		{"fractions of a cent", &ExceededError{Limit: Limit{Scope: "team:platform", Window: PerMonth, USD: usd("1500")}, Measure: USD,
			Spent: Amount{USD: usd("1499.9")}, Reserved: Amount{USD: 0}, Requested: Amount{USD: usd("0.100000000001")}},
			"budget exceeded: team:platform month limit $1500.00: spent $1499.90, reserved $0.00, this call needs up to $0.100000000001"},
		{"tokens", &ExceededError{Limit: Limit{Scope: "run:run_abc", Window: PerRun, Tokens: 40000}, Measure: Tokens,
			Spent: Amount{Tokens: 39000}, Reserved: Amount{Tokens: 500}, Requested: Amount{Tokens: 800}},
			"budget exceeded: run:run_abc run limit 40000 tokens: spent 39000, reserved 500, this call needs up to 800"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	// The same text from a real refusal.
	e := New(newTestRedis(t).rdb, nil, fixedLedger(map[string]Amount{limit.Scope: {USD: usd("0.98")}}), WithClock(newClock(noon).Now))
	reserve(t, e, "other", []Limit{limit}, usd("0.01"), 0)
	_, err := e.Reserve(ctx, "this", []Limit{limit}, usd("0.02"), 0)
	if got, want := fmt.Sprint(err), tests[0].want; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestConcurrentReservations(t *testing.T) {
	const calls = 50
	cost := usd("0.0123")
	// A quarter call was spent before the limit existed: all 50 goroutines
	// find the counter uninitialized and race to seed it.
	limit := Limit{Scope: "agent:platform/echo-digest", Window: PerDay, USD: cost*10 + cost/2 + cost/4}
	ledger := fixedLedger(map[string]Amount{limit.Scope: {cost / 4, 25}})
	e := New(newTestRedis(t).rdb, nil, ledger, WithClock(newClock(noon).Now))

	var (
		wg                 sync.WaitGroup
		mu                 sync.Mutex
		succeeded, refused int
		others             []error
	)
	start := make(chan struct{})
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := e.Reserve(ctx, fmt.Sprintf("call-%d", i), []Limit{limit}, cost, 100)
			if err == nil {
				_, err = e.Settle(ctx, r, cost, 100)
			}
			mu.Lock()
			defer mu.Unlock()
			var ex *ExceededError
			switch {
			case err == nil:
				succeeded++
			case errors.As(err, &ex):
				refused++
			default:
				others = append(others, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(others) > 0 {
		t.Fatalf("unexpected errors: %v", others)
	}
	if succeeded != 10 || refused != 40 {
		t.Errorf("got %d succeeded and %d refused, want 10 and 40", succeeded, refused)
	}
	got := stateOf(t, e, limit)[0]
	if want := (counts{Spent: Amount{cost*10 + cost/4, 1025}, Remaining: Amount{cost / 2, 0}}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got.Spent.USD > limit.USD {
		t.Errorf("spent %s passes the limit %s", got.Spent.USD, limit.USD)
	}
}

func TestWindows(t *testing.T) {
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		loc       *time.Location
		before    time.Time // 23:59:30 local
		after     time.Time // 00:00:30 local, the next day
		newMonth  bool
		wantDay   time.Duration // length of the day of `after`
		wantStart string        // the day window of `after`, in UTC
	}{
		{"new york day", newYork, time.Date(2026, 12, 3, 23, 59, 30, 0, newYork), time.Date(2026, 12, 4, 0, 0, 30, 0, newYork),
			false, 24 * time.Hour, "2026-12-04T05:00:00Z"},
		{"tokyo day", tokyo, time.Date(2026, 12, 3, 23, 59, 30, 0, tokyo), time.Date(2026, 12, 4, 0, 0, 30, 0, tokyo),
			false, 24 * time.Hour, "2026-12-03T15:00:00Z"},
		{"new york month", newYork, time.Date(2026, 1, 31, 23, 59, 30, 0, newYork), time.Date(2026, 2, 1, 0, 0, 30, 0, newYork),
			true, 24 * time.Hour, "2026-02-01T05:00:00Z"},
		{"tokyo month and year", tokyo, time.Date(2026, 12, 31, 23, 59, 30, 0, tokyo), time.Date(2027, 1, 1, 0, 0, 30, 0, tokyo),
			true, 24 * time.Hour, "2026-12-31T15:00:00Z"},
		{"new york spring forward day has 23 hours", newYork, time.Date(2026, 3, 7, 23, 59, 30, 0, newYork), time.Date(2026, 3, 8, 0, 0, 30, 0, newYork),
			false, 23 * time.Hour, "2026-03-08T05:00:00Z"},
		{"new york fall back day has 25 hours and a new month", newYork, time.Date(2026, 10, 31, 23, 59, 30, 0, newYork), time.Date(2026, 11, 1, 0, 0, 30, 0, newYork),
			true, 25 * time.Hour, "2026-11-01T04:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			day := Limit{Scope: "agent:platform/echo-digest", Window: PerDay, USD: usd("1")}
			month := Limit{Scope: "team:platform", Window: PerMonth, USD: usd("1")}
			type query struct{ scope, from, to string }
			var queries []query
			ledger := fakeLedger{spend: func(_ context.Context, scope string, from, to time.Time) (agents.Money, int64, error) {
				queries = append(queries, query{scope, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339)})
				return 0, 0, nil
			}}
			clk := newClock(tt.before)
			e := New(newTestRedis(t).rdb, tt.loc, ledger, WithClock(clk.Now))

			// A call reserved just before midnight and settled after it
			// counts in the day it was reserved in.
			r := reserve(t, e, "late", []Limit{day, month}, usd("0.8"), 0)
			clk.Set(tt.after)
			settle(t, e, r, usd("0.7"), 0)

			_, err := e.Reserve(ctx, "early", []Limit{day}, usd("0.8"), 0)
			if err != nil {
				t.Fatalf("a new day refused: %v", err)
			}
			_, err = e.Reserve(ctx, "early-month", []Limit{month}, usd("0.8"), 0)
			var ex *ExceededError
			if tt.newMonth != (err == nil) || (err != nil && !errors.As(err, &ex)) {
				t.Errorf("reserve in the month after: got %v, want new month %v", err, tt.newMonth)
			}

			states, err := e.State(ctx, []Limit{day})
			if err != nil {
				t.Fatal(err)
			}
			s := states[0]
			if got := s.Start.UTC().Format(time.RFC3339); got != tt.wantStart {
				t.Errorf("got day start %s, want %s", got, tt.wantStart)
			}
			if got := s.End.Sub(s.Start); got != tt.wantDay {
				t.Errorf("got a day of %s, want %s", got, tt.wantDay)
			}
			if l := s.Start.In(tt.loc); l.Hour() != 0 || l.Minute() != 0 || l.Day() != tt.after.Day() {
				t.Errorf("got day start %s, want local midnight of %s", l, tt.after)
			}

			prev := tt.before.Add(-23*time.Hour - 59*time.Minute - 30*time.Second) // midnight that began `before`'s day
			wantMonth := time.Date(tt.after.Year(), tt.after.Month(), 1, 0, 0, 0, 0, tt.loc)
			if !tt.newMonth {
				wantMonth = time.Date(tt.before.Year(), tt.before.Month(), 1, 0, 0, 0, 0, tt.loc)
			}
			utc := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
			want := []query{
				{day.Scope, utc(time.Date(prev.Year(), prev.Month(), prev.Day(), 0, 0, 0, 0, tt.loc)), tt.wantStart},
				{month.Scope, utc(time.Date(tt.before.Year(), tt.before.Month(), 1, 0, 0, 0, 0, tt.loc)),
					utc(time.Date(tt.before.Year(), tt.before.Month()+1, 1, 0, 0, 0, 0, tt.loc))},
				{day.Scope, tt.wantStart, utc(s.End)},
			}
			if tt.newMonth {
				want = append(want, query{month.Scope, utc(wantMonth), utc(wantMonth.AddDate(0, 1, 0))})
			}
			if !reflect.DeepEqual(queries, want) {
				t.Errorf("ledger queries:\ngot  %v\nwant %v", queries, want)
			}
		})
	}
}

func TestBudgetAddedMidWindow(t *testing.T) {
	limit := Limit{Scope: "agent:platform/echo-digest", Window: PerDay, USD: usd("1"), Tokens: 50000}
	var asked []string
	ledger := fakeLedger{spend: func(_ context.Context, scope string, from, to time.Time) (agents.Money, int64, error) {
		asked = append(asked, fmt.Sprintf("%s [%s, %s)", scope, from.Format(time.RFC3339), to.Format(time.RFC3339)))
		return usd("0.7"), 30000, nil
	}}
	e := New(newTestRedis(t).rdb, nil, ledger, WithClock(newClock(noon).Now))

	_, err := e.Reserve(ctx, "a", []Limit{limit}, usd("0.300000000001"), 100)
	var ex *ExceededError
	if !errors.As(err, &ex) || ex.Spent != (Amount{usd("0.7"), 30000}) {
		t.Fatalf("got %v, want an ExceededError counting $0.7 and 30000 tokens already spent", err)
	}
	reserve(t, e, "b", []Limit{limit}, usd("0.3"), 100)
	if got, want := stateOf(t, e, limit)[0], (counts{Spent: Amount{usd("0.7"), 30000}, Reserved: Amount{usd("0.3"), 100}, Remaining: Amount{0, 19900}}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	want := []string{"agent:platform/echo-digest [2026-12-03T00:00:00Z, 2026-12-04T00:00:00Z)"}
	if !reflect.DeepEqual(asked, want) {
		t.Errorf("ledger asked %q, want %q once", asked, want)
	}
}

func TestRebuildAfterFlushAll(t *testing.T) {
	const cost = 100_000_000_000 // $0.10
	limits := []Limit{
		{Scope: "agent:platform/echo-digest", Window: PerDay, USD: usd("1")},
		{Scope: "team:platform", Window: PerMonth, USD: usd("5")},
	}
	scopes := []string{limits[0].Scope, limits[1].Scope}
	clk := newClock(noon)
	mem := &memLedger{}
	// Last month's spend must not count.
	mem.add(entry{scopes, noon.AddDate(0, -1, 0), Amount{usd("3"), 0}})
	srv := newTestRedis(t)
	e := New(srv.rdb, nil, mem.ledger(), WithClock(clk.Now))

	// call reserves, settles and writes the ledger, as the LLM activity does.
	call := func(id string) error {
		r, err := e.Reserve(ctx, id, limits, cost, 0)
		if err != nil {
			return err
		}
		settle(t, e, r, cost, 0)
		mem.add(entry{scopes, clk.Now(), Amount{cost, 0}})
		return nil
	}
	for i := range 5 {
		if err := call(fmt.Sprint("before-", i)); err != nil {
			t.Fatal(err)
		}
	}
	inFlight := reserve(t, e, "in-flight", limits, cost, 0)

	srv.flushAll(t)

	// Rebuilt from the ledger: the settled calls, not the one in flight.
	want := []counts{
		{Spent: Amount{5 * cost, 0}, Remaining: Amount{5 * cost, 0}},
		{Spent: Amount{5 * cost, 0}, Remaining: Amount{45 * cost, 0}},
	}
	if got := stateOf(t, e, limits...); !reflect.DeepEqual(got, want) {
		t.Fatalf("after flushall: got %+v, want %+v", got, want)
	}
	// The call in flight settles into the rebuilt counters, once.
	settle(t, e, inFlight, cost, 0)
	settle(t, e, inFlight, cost, 0)
	if err := e.Release(ctx, inFlight); err != nil {
		t.Fatal(err)
	}
	mem.add(entry{scopes, clk.Now(), Amount{cost, 0}})
	if got := stateOf(t, e, limits...)[0].Spent.USD; got != 6*cost {
		t.Fatalf("got spent %s after the call in flight settled, want %s", got, agents.Money(6*cost))
	}

	// Flush again between calls: still exactly the limit, never more.
	ok := 0
	for i := range 10 {
		if i == 2 {
			srv.flushAll(t)
		}
		err := call(fmt.Sprint("after-", i))
		var ex *ExceededError
		switch {
		case err == nil:
			ok++
		case !errors.As(err, &ex):
			t.Fatal(err)
		}
	}
	if ok != 4 {
		t.Errorf("got %d calls after the flush, want 4", ok)
	}
	usd, _, _ := mem.ledger().Spend(ctx, limits[0].Scope, noon.Truncate(24*time.Hour), noon.Truncate(24*time.Hour).Add(24*time.Hour))
	if usd != limits[0].USD {
		t.Errorf("ledger spend today %s, want exactly the limit %s", usd, limits[0].USD)
	}
	if got, want := stateOf(t, e, limits...)[0], (counts{Spent: Amount{10 * cost, 0}}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestScriptFlush(t *testing.T) {
	limit := Limit{Scope: "agent:platform/echo-digest", Window: PerDay, USD: usd("1"), Tokens: 1000}
	srv := newTestRedis(t)
	e := New(srv.rdb, nil, emptyLedger, WithClock(newClock(noon).Now))
	flush := func() {
		t.Helper()
		if err := srv.rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatalf("script flush: %v", err)
		}
		exists, err := srv.rdb.ScriptExists(ctx, reserveScript.Hash(), finishScript.Hash(), seedScript.Hash()).Result()
		if err != nil || !reflect.DeepEqual(exists, []bool{false, false, false}) {
			t.Fatalf("scripts still loaded after script flush: %v %v", exists, err)
		}
	}
	flush()
	a := reserve(t, e, "a", []Limit{limit}, usd("0.4"), 400)
	flush()
	if c := settle(t, e, a, usd("0.5"), 500); len(c) != 1 || c[0].Percent != 50 {
		t.Errorf("got crossings %+v, want 50%%", c)
	}
	flush()
	b := reserve(t, e, "b", []Limit{limit}, usd("0.2"), 200)
	flush()
	if err := e.Release(ctx, b); err != nil {
		t.Fatal(err)
	}
	flush()
	if got, want := stateOf(t, e, limit)[0], (counts{Spent: Amount{usd("0.5"), 500}, Remaining: Amount{usd("0.5"), 500}}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestIdempotence(t *testing.T) {
	limit := Limit{Scope: "agent:platform/echo-digest", Window: PerDay, USD: usd("1"), Tokens: 1000}
	tests := []struct {
		name string
		ops  []string // settle (0.6, 600) or release, on one reservation of 0.3, 300
		want counts
	}{
		{"settle twice", []string{"settle", "settle"}, counts{Spent: Amount{usd("0.6"), 600}, Remaining: Amount{usd("0.4"), 400}}},
		{"release twice", []string{"release", "release"}, counts{Remaining: Amount{usd("1"), 1000}}},
		{"settle then release", []string{"settle", "release"}, counts{Spent: Amount{usd("0.6"), 600}, Remaining: Amount{usd("0.4"), 400}}},
		{"release then settle", []string{"release", "settle"}, counts{Remaining: Amount{usd("1"), 1000}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(newTestRedis(t).rdb, nil, emptyLedger, WithClock(newClock(noon).Now))
			r := reserve(t, e, "a", []Limit{limit}, usd("0.3"), 300)
			for i, op := range tt.ops {
				var crossings []Crossing
				var err error
				if op == "settle" {
					crossings, err = e.Settle(ctx, r, usd("0.6"), 600)
				} else {
					err = e.Release(ctx, r)
				}
				if err != nil {
					t.Fatalf("%s: %v", op, err)
				}
				if i > 0 && len(crossings) > 0 {
					t.Errorf("repeated %s reported %+v", op, crossings)
				}
			}
			if got := stateOf(t, e, limit)[0]; got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}

	t.Run("unknown reservation", func(t *testing.T) {
		e := New(newTestRedis(t).rdb, nil, emptyLedger, WithClock(newClock(noon).Now))
		r := reserve(t, e, "a", []Limit{limit}, usd("0.3"), 300)
		unknown := *r
		unknown.ID = "never-reserved"
		if c := settle(t, e, &unknown, usd("0.6"), 600); len(c) != 0 {
			t.Errorf("got crossings %+v, want none", c)
		}
		if got, want := stateOf(t, e, limit)[0], (counts{Reserved: Amount{usd("0.3"), 300}, Remaining: Amount{usd("0.7"), 700}}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})

	t.Run("altered reservation", func(t *testing.T) {
		e := New(newTestRedis(t).rdb, nil, emptyLedger, WithClock(newClock(noon).Now))
		r := reserve(t, e, "a", []Limit{limit}, usd("0.3"), 300)
		altered := *r
		altered.USD = usd("0.9")
		_, err := e.Settle(ctx, &altered, usd("0.6"), 600)
		if got, want := fmt.Sprint(err), `settle "a": the reservation does not match what was reserved`; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		if got, want := stateOf(t, e, limit)[0], (counts{Reserved: Amount{usd("0.3"), 300}, Remaining: Amount{usd("0.7"), 700}}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})

	t.Run("retried reserve holds once", func(t *testing.T) {
		e := New(newTestRedis(t).rdb, nil, emptyLedger, WithClock(newClock(noon).Now))
		r1 := reserve(t, e, "a", []Limit{limit}, usd("0.3"), 300)
		r2 := reserve(t, e, "a", []Limit{limit}, usd("0.3"), 300)
		if !reflect.DeepEqual(r1, r2) {
			t.Errorf("got %+v, want %+v", r2, r1)
		}
		if got, want := stateOf(t, e, limit)[0], (counts{Reserved: Amount{usd("0.3"), 300}, Remaining: Amount{usd("0.7"), 700}}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
		_, err := e.Reserve(ctx, "a", []Limit{limit}, usd("0.4"), 300)
		if got, want := fmt.Sprint(err), `reserve "a": the id is already used by another reservation`; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})

	t.Run("reservation passed as JSON", func(t *testing.T) {
		newYork, _ := time.LoadLocation("America/New_York")
		e := New(newTestRedis(t).rdb, newYork, emptyLedger, WithClock(newClock(noon).Now))
		r := reserve(t, e, "a", []Limit{limit}, usd("0.3"), 300)
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back Reservation
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		settle(t, e, &back, usd("0.6"), 600)
		settle(t, e, &back, usd("0.6"), 600)
		if got, want := stateOf(t, e, limit)[0], (counts{Spent: Amount{usd("0.6"), 600}, Remaining: Amount{usd("0.4"), 400}}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
}

func TestCrossings(t *testing.T) {
	agent := Limit{Scope: "agent:platform/echo-digest", Window: PerDay, USD: usd("1"), Tokens: 1000}
	team := Limit{Scope: "team:platform", Window: PerMonth, USD: usd("10")}
	clk := newClock(noon)
	e := New(newTestRedis(t).rdb, nil, emptyLedger, WithClock(clk.Now))
	type crossing struct {
		scope   string
		percent int
	}
	steps := []struct {
		limits []Limit
		usd    string
		tokens int64
		want   []crossing
	}{
		{[]Limit{agent, team}, "0.3", 100, nil},
		{[]Limit{agent, team}, "0.2", 100, []crossing{{agent.Scope, 50}}}, // $0.50 reaches 50% exactly
		{[]Limit{agent, team}, "0.1", 100, nil},
		{[]Limit{agent, team}, "0.1", 499, nil},                       // $0.70 and 799 tokens
		{[]Limit{agent, team}, "0", 1, []crossing{{agent.Scope, 80}}}, // 800 tokens
		{[]Limit{agent, team}, "0.099999999999", 0, nil},              // $0.799999999999: 80% is already reported
		{[]Limit{agent, team}, "0.2", 0, nil},                         // $0.999999999999
		{[]Limit{agent, team}, "0.000000000001", 0, []crossing{{agent.Scope, 100}}},
		{[]Limit{team}, "4", 0, []crossing{{team.Scope, 50}}},  // $5
		{[]Limit{team}, "4", 0, []crossing{{team.Scope, 80}}},  // $9
		{[]Limit{team}, "1", 0, []crossing{{team.Scope, 100}}}, // $10
		{[]Limit{team}, "1", 0, nil},                           // $11, over: nothing new
	}
	for i, s := range steps {
		// Reserving nothing and settling more lets the test walk past limits.
		r := reserve(t, e, fmt.Sprint("call-", i), s.limits, 0, 0)
		var got []crossing
		for _, c := range settle(t, e, r, usd(s.usd), s.tokens) {
			got = append(got, crossing{c.Limit.Scope, c.Percent})
		}
		if !reflect.DeepEqual(got, s.want) {
			t.Errorf("step %d: got %v, want %v", i, got, s.want)
		}
	}

	// A new day reports the agent's thresholds again; the team's month goes on.
	clk.Set(noon.AddDate(0, 0, 1))
	_, err := e.Reserve(ctx, "next-day", []Limit{agent, team}, 0, 0)
	var ex *ExceededError
	if !errors.As(err, &ex) || ex.Limit != team {
		t.Fatalf("got %v, want the team's month limit exceeded", err)
	}
	r := reserve(t, e, "next-day", []Limit{agent}, usd("0.8"), 0)
	c := settle(t, e, r, usd("0.8"), 0)
	if len(c) != 2 || c[0].Percent != 50 || c[1].Percent != 80 || c[1].Spent != (Amount{usd("0.8"), 0}) ||
		!c[0].Start.Equal(time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("got %+v, want 50%% and 80%% of the new day", c)
	}
}

// TestPrecision checks amounts that a double cannot hold: 2^53+1 picos
// rounds to 2^53 as a Lua number, so a script doing arithmetic in Lua would
// let one pico too many through.
func TestPrecision(t *testing.T) {
	const big = 1<<53 + 1 // 9007199254740993 picos, about $9,007
	limit := Limit{Scope: "team:platform", Window: PerMonth, USD: 20_000_000_000_000_003, Tokens: 1<<62 + 1}
	e := New(newTestRedis(t).rdb, nil, fixedLedger(map[string]Amount{limit.Scope: {big, 1 << 62}}), WithClock(newClock(noon).Now))

	room := limit.USD - big // 10992800745259010
	r := reserve(t, e, "a", []Limit{limit}, room, 1)
	want := counts{Spent: Amount{big, 1 << 62}, Reserved: Amount{room, 1}, Remaining: Amount{0, 0}}
	if got := stateOf(t, e, limit)[0]; got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	_, err := e.Reserve(ctx, "b", []Limit{limit}, 1, 0)
	var ex *ExceededError
	if !errors.As(err, &ex) || ex.Spent.USD != big || ex.Reserved.USD != room {
		t.Fatalf("one pico over: got %v, want an ExceededError", err)
	}
	if c := settle(t, e, r, room-1, 0); len(c) != 2 || c[1].Percent != 80 || c[1].Spent != (Amount{limit.USD - 1, 1 << 62}) {
		t.Errorf("got crossings %+v, want 50 and 80%%", c)
	}
	if _, err := e.Reserve(ctx, "c", []Limit{limit}, 2, 0); !errors.As(err, &ex) {
		t.Fatalf("two picos with one left: got %v, want an ExceededError", err)
	}
	c := reserve(t, e, "c", []Limit{limit}, 1, 0)
	crossings := settle(t, e, c, 1, 1)
	want = counts{Spent: Amount{limit.USD, 1<<62 + 1}}
	if got := stateOf(t, e, limit)[0]; got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if len(crossings) != 1 || crossings[0].Percent != 100 || crossings[0].Spent != want.Spent {
		t.Errorf("got crossings %+v, want 100%% at %+v", crossings, want.Spent)
	}

	t.Run("thresholds", func(t *testing.T) {
		tests := []struct {
			limit int64
			pct   int
			want  string
		}{
			{0, 50, ""},
			{1, 50, "1"},
			{3, 50, "2"},
			{5, 80, "4"},
			{6, 80, "5"},
			{1_000_000_000_000, 80, "800000000000"},
			{math.MaxInt64, 50, "4611686018427387904"},
			{math.MaxInt64, 80, "7378697629483820646"},
			{math.MaxInt64, 100, "9223372036854775807"},
		}
		for _, tt := range tests {
			if got := threshold(tt.limit, tt.pct); got != tt.want {
				t.Errorf("threshold(%d, %d): got %q, want %q", tt.limit, tt.pct, got, tt.want)
			}
		}
	})

	t.Run("int64 overflow is refused, not wrapped", func(t *testing.T) {
		srv := newTestRedis(t)
		if srv.mini != nil {
			t.Skip("miniredis wraps HINCRBY around int64 instead of refusing; run with TELOS_TEST_REDIS_URL")
		}
		unlimited := Limit{Scope: "team:platform", Window: PerMonth} // tracks spend without a limit
		e := New(srv.rdb, nil, fixedLedger(map[string]Amount{limit.Scope: {math.MaxInt64 - 1, 0}}), WithClock(newClock(noon).Now))
		other := Limit{Scope: "agent:platform/echo-digest", Window: PerDay, USD: usd("1")}
		_, err := e.Reserve(ctx, "a", []Limit{other, unlimited}, 2, 0)
		if err == nil || !strings.Contains(err.Error(), "overflow") {
			t.Fatalf("got %v, want an overflow error", err)
		}
		if got, want := stateOf(t, e, other, unlimited), []counts{{Remaining: Amount{usd("1"), 0}}, {Spent: Amount{math.MaxInt64 - 1, 0}}}; !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v (nothing held)", got, want)
		}
	})
}

func TestInvalid(t *testing.T) {
	day := Limit{Scope: "agent:platform/echo-digest", Window: PerDay, USD: usd("1")}
	tests := []struct {
		name   string
		id     string
		limits []Limit
		usd    agents.Money
		want   string
	}{
		{"empty id", "", []Limit{day}, 1, "reserve: empty reservation id"},
		{"negative amount", "a", []Limit{day}, -1, `reserve "a": negative amount $-0.000000000001, 0 tokens`},
		{"empty scope", "a", []Limit{{Window: PerDay}}, 1, `reserve "a": limit with an empty scope`},
		{"unknown window", "a", []Limit{{Scope: "team:x", Window: "week"}}, 1, `reserve "a": team:x limit: unknown window "week"`},
		{"negative limit", "a", []Limit{{Scope: "team:x", Window: PerDay, Tokens: -5}}, 1, `reserve "a": team:x day limit: negative amount`},
		{"two limits on one counter", "a", []Limit{day, {Scope: day.Scope, Window: PerDay, Tokens: 5}}, 1,
			`reserve "a": two day limits for agent:platform/echo-digest: merge them into one`},
	}
	e := New(newTestRedis(t).rdb, nil, emptyLedger, WithClock(newClock(noon).Now))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Reserve(ctx, tt.id, tt.limits, tt.usd, 0)
			if got := fmt.Sprint(err); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLedgerFailureRefuses(t *testing.T) {
	limit := Limit{Scope: "agent:platform/echo-digest", Window: PerDay, USD: usd("1")}
	tests := []struct {
		name   string
		ledger Ledger
		want   string
	}{
		{"ledger error", fakeLedger{spend: func(context.Context, string, time.Time, time.Time) (agents.Money, int64, error) {
			return 0, 0, errors.New("database is closed")
		}}, `reserve "a": rebuild agent:platform/echo-digest day budget from the ledger: database is closed`},
		{"no ledger", nil, `reserve "a": no ledger to rebuild budget counters from`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestRedis(t)
			e := New(srv.rdb, nil, tt.ledger, WithClock(newClock(noon).Now))
			_, err := e.Reserve(ctx, "a", []Limit{limit}, 1, 0)
			if got := fmt.Sprint(err); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if n, err := srv.rdb.DBSize(ctx).Result(); err != nil || n != 0 {
				t.Errorf("got %d keys (%v), want none written", n, err)
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	srv := newTestRedis(t)
	e := New(srv.rdb, nil, emptyLedger, WithClock(newClock(noon).Now))
	limits := []Limit{
		{Scope: "run:run_abc", Window: PerRun, Tokens: 1000},
		{Scope: "agent:platform/echo-digest", Window: PerDay, USD: usd("1")},
		{Scope: "team:platform", Window: PerMonth, USD: usd("10")},
	}
	r := reserve(t, e, "a", limits, usd("0.1"), 10)
	tests := []struct {
		key  string
		want time.Duration
	}{
		{"telos:budget:run:run:run_abc", 7 * 24 * time.Hour},
		{"telos:budget:day:2026-12-03:agent:platform/echo-digest", 12*time.Hour + 40*24*time.Hour},
		{"telos:budget:month:2026-12:team:platform", (28*24+12)*time.Hour + 40*24*time.Hour},
		{"telos:budget:resv:a", (28*24+12)*time.Hour + 40*24*time.Hour},
	}
	for i, tt := range tests {
		if i < len(r.Holds) && r.Holds[i].Key != tt.key {
			t.Errorf("got key %q, want %q", r.Holds[i].Key, tt.key)
		}
		got, err := srv.rdb.PTTL(ctx, tt.key).Result()
		if err != nil {
			t.Fatal(err)
		}
		// A real server has counted down since the script ran.
		if got > tt.want || got < tt.want-5*time.Second {
			t.Errorf("%s: got ttl %s, want %s", tt.key, got, tt.want)
		}
	}
}
