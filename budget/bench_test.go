package budget

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkReserveSettle measures one LLM call's budget work — Reserve, then
// Settle — against four limits (run, agent day, team month, category month)
// on a real redis-server when TELOS_TEST_REDIS_URL is set, else on miniredis.
// It reports reservations (reserve+settle pairs) per second and the p50 and
// p99 latency of Reserve alone.
//
//	TELOS_TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench ReserveSettle ./budget
func BenchmarkReserveSettle(b *testing.B) {
	b.Run("serial", func(b *testing.B) { benchReserveSettle(b, 0) })
	for _, p := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("parallel-%dxGOMAXPROCS", p), func(b *testing.B) { benchReserveSettle(b, p) })
	}
}

// benchReserveSettle runs the benchmark serially (parallelism 0) or with
// RunParallel at the given parallelism.
func benchReserveSettle(b *testing.B, parallelism int) {
	e := New(newTestRedis(b).rdb, nil, emptyLedger)
	limits := func(n int64) []Limit {
		return []Limit{
			{Scope: fmt.Sprintf("run:run_%d", n%1000), Window: PerRun, Tokens: 1 << 50},
			{Scope: fmt.Sprintf("agent:platform/agent-%d", n%20), Window: PerDay, USD: usd("1000000")},
			{Scope: "team:platform", Window: PerMonth, USD: usd("1000000")},
			{Scope: "category:engineering-productivity", Window: PerMonth, USD: usd("1000000"), Tokens: 1 << 50},
		}
	}
	var (
		seq       atomic.Int64
		mu        sync.Mutex
		latencies []time.Duration
	)
	// call does one reserve+settle and records how long Reserve took.
	call := func(b *testing.B, local *[]time.Duration) {
		n := seq.Add(1)
		ls := limits(n)
		start := time.Now()
		r, err := e.Reserve(ctx, fmt.Sprint("bench-", n), ls, 1_500_000_000, 1200)
		*local = append(*local, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.Settle(ctx, r, 1_234_567_891, 987); err != nil {
			b.Fatal(err)
		}
	}
	// Seed the counters outside the measurement.
	for i := range 1000 {
		if _, err := e.State(ctx, limits(int64(i))); err != nil {
			b.Fatal(err)
		}
	}

	b.ResetTimer()
	if parallelism == 0 {
		local := make([]time.Duration, 0, b.N)
		for b.Loop() {
			call(b, &local)
		}
		latencies = local
	} else {
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			var local []time.Duration
			for pb.Next() {
				call(b, &local)
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		})
	}
	b.StopTimer()

	b.ReportMetric(float64(len(latencies))/b.Elapsed().Seconds(), "reservations/s")
	slices.Sort(latencies)
	if n := len(latencies); n > 0 {
		p50, p99 := latencies[n*50/100], latencies[min(n-1, n*99/100)]
		b.ReportMetric(float64(p50.Microseconds()), "reserve-p50-µs")
		b.ReportMetric(float64(p99.Microseconds()), "reserve-p99-µs")
	}
}
