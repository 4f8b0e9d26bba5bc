package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/telos-dev/telos/agents"
	"github.com/telos-dev/telos/api"
	"github.com/telos-dev/telos/budget"
	"github.com/telos-dev/telos/ledger"
	"github.com/telos-dev/telos/store"
)

// Catalog benchmark size: the catalog of a company with many agents and a
// month of history.
const (
	catalogAgents  = 1000
	catalogLedger  = 1_000_000
	catalogSamples = 100
	importBatch    = 5000
)

// BenchmarkCatalog measures GET /v1/catalog over 1,000 agents and 1,000,000
// ledger rows, on SQLite and — when TELOS_BENCH_DATABASE_URL or
// TELOS_TEST_DATABASE_URL names one — on PostgreSQL, and prints p50 and p99
// latency (target p99 ≤ 200 ms).
func BenchmarkCatalog(b *testing.B) {
	targets := map[string]string{"sqlite": filepath.Join(b.TempDir(), "catalog.db")}
	if url := firstSet(os.Getenv("TELOS_BENCH_DATABASE_URL"), os.Getenv("TELOS_TEST_DATABASE_URL")); url != "" {
		targets["postgres"] = url
	}
	for _, name := range []string{"sqlite", "postgres"} {
		target, ok := targets[name]
		if !ok {
			fmt.Printf("catalog on %s: skipped (set TELOS_BENCH_DATABASE_URL)\n", name)
			continue
		}
		b.Run(name, func(b *testing.B) { benchCatalog(b, name, target) })
	}
}

func benchCatalog(b *testing.B, name, target string) {
	ctx := context.Background()
	st, err := store.Open(ctx, target)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, _, err := st.Spend(ctx, "team:bench-0", time.Now().Add(-time.Hour), time.Now()); err != nil {
		b.Fatal(err)
	}
	seedStart := time.Now()
	if err := seedCatalog(ctx, st); err != nil {
		b.Fatal(err)
	}
	seeded := time.Since(seedStart)

	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		b.Fatal(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	srv := &api.Server{Store: st, Budgets: budget.New(rdb, time.UTC, st), Prices: agents.DefaultPrices()}
	key := api.NewKey()
	if err := st.CreateKey(ctx, store.APIKey{Hash: store.Hash([]byte(key)), Prefix: "bench", User: "admin", Team: "ops", Role: store.RoleAdmin, CreatedBy: "bench"},
		store.AuditEntry{Actor: "bench", Action: "key.issued"}); err != nil && err != store.ErrConflict {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	get := func() (time.Duration, int) {
		req, _ := http.NewRequest("GET", ts.URL+"/v1/catalog?sort=-cost_30d", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := resp.Body.Read(make([]byte, 1))
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("catalog: status %d", resp.StatusCode)
		}
		return time.Since(start), n
	}
	first, _ := get() // seeds the budget counters from the ledger
	var lat []time.Duration
	b.ResetTimer()
	for range catalogSamples {
		d, _ := get()
		lat = append(lat, d)
	}
	b.StopTimer()
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99_ms")
	fmt.Printf("GET /v1/catalog on %s, %d agents, %d ledger rows (seeded in %s): first %s, p50 %s, p99 %s over %d requests (target p99 <= 200ms)\n",
		name, catalogAgents, catalogLedger, seeded.Round(time.Second), first.Round(time.Millisecond), p50.Round(time.Millisecond), p99.Round(time.Millisecond), catalogSamples)
}

// seedCatalog creates the agents and ledger rows unless a previous run did.
func seedCatalog(ctx context.Context, st *store.Store) error {
	if _, err := st.AgentVersion(ctx, "bench-9", fmt.Sprintf("agent-%04d", catalogAgents-1), 0); err == nil {
		return nil
	}
	for i := range catalogAgents {
		team := fmt.Sprintf("bench-%d", i%10)
		spec := []byte(`{"spec":{}}`)
		if i%4 == 0 {
			spec = []byte(`{"spec":{"budget":{"per_day":{"usd":"5"},"per_month":{"usd":"100"}}}}`)
		}
		if _, err := st.CreateAgent(ctx, store.AgentVersion{Team: team, Name: fmt.Sprintf("agent-%04d", i), Spec: spec, SpecHash: "h", CreatedBy: "owner"}); err != nil {
			return err
		}
	}
	now := time.Now().UTC()
	batch := make([]ledger.Entry, 0, importBatch)
	for i := range catalogLedger {
		a := i % catalogAgents
		at := now.Add(-time.Duration(i%(30*24)) * time.Hour)
		batch = append(batch, ledger.Entry{WorkflowRunID: fmt.Sprintf("wf-%d", i/3), ActivityID: fmt.Sprintf("step/%d", i%3), Attempt: 1,
			RunID: fmt.Sprintf("run-%d", i/3), Agent: fmt.Sprintf("agent-%04d", a), Version: 1, Team: fmt.Sprintf("bench-%d", a%10), Owner: "owner",
			Trigger: "api", StepID: fmt.Sprintf("s%d", i%3), Kind: "llm", Purpose: "p", PurposeCategory: "engineering-productivity",
			Provider: "sim", Model: "gpt-4o-mini", Usage: agents.Usage{InputTokens: 1000, OutputTokens: 200}, Cost: 270_000_000,
			Status: "completed", StartedAt: at, FinishedAt: at})
		if len(batch) == importBatch {
			if _, err := st.ImportLedger(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	_, err := st.ImportLedger(ctx, batch)
	return err
}

func firstSet(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
