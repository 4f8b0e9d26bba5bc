package stack

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/telos-dev/telos/agents"
)

// TestBudgetHoldsUnderConcurrency starts 50 runs at once against an agent
// whose daily budget covers about 10 of them (against a real redis-server
// when TELOS_TEST_REDIS_URL is set): the settled spend never exceeds the
// budget, and every refused step is recorded as budget_exceeded. Then Redis
// loses its data: the counters are rebuilt from the ledger and still nothing
// overruns.
func TestBudgetHoldsUnderConcurrency(t *testing.T) {
	forEachStore(t, testBudgetHoldsUnderConcurrency)
}

func testBudgetHoldsUnderConcurrency(t *testing.T, db string) {
	s := startStack(t, Config{DatabaseURL: db})
	c := withApprover(t, apiClient{t: t, url: s.URL, key: testAdminKey})

	// A dry run tells what one run costs on sim: the same every time.
	c.apply(testAgent("probe"))
	var probe runDoc
	c.json("POST", "/v1/agents/probe/runs", map[string]any{"dry_run": true}, http.StatusAccepted, &probe)
	probe = c.wait(probe.ID)
	perRun, err := agents.ParseUSD(probe.Totals.Cost)
	if err != nil || perRun <= 0 {
		t.Fatalf("probe cost %q: %v", probe.Totals.Cost, err)
	}
	limit := perRun*10 + perRun/2
	doc := strings.Replace(testAgent("burst"), "  model: gpt-4o-mini", fmt.Sprintf("  model: gpt-4o-mini\n  budget: { per_day: { usd: %q } }", limit.String()), 1)
	c.apply(doc)

	start := func(n int) []string {
		ids := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var r runDoc
				c.json("POST", "/v1/agents/burst/runs", map[string]any{}, http.StatusAccepted, &r)
				ids[i] = r.ID
			}()
		}
		wg.Wait()
		return ids
	}
	check := func(ids []string) (completed, refused int) {
		t.Helper()
		for _, id := range ids {
			r := c.wait(id)
			var led ledgerDoc
			c.json("GET", "/v1/runs/"+id+"/ledger", nil, http.StatusOK, &led)
			if len(led.Items) != 1 {
				t.Fatalf("run %s: got %d ledger entries, want 1", id, len(led.Items))
			}
			switch r.Status {
			case "completed":
				completed++
			case "budget_exceeded":
				refused++
				if e := led.Items[0]; e.Status != "budget_exceeded" || e.InputTokens != 0 || e.Cost != "0" || e.Attempt != 1 {
					t.Errorf("refused step: got %+v, want one budget_exceeded attempt with no tokens", e)
				}
			default:
				t.Errorf("run %s: got status %q (%s)", id, r.Status, r.Error)
			}
		}
		return completed, refused
	}
	spent := func() agents.Money {
		t.Helper()
		var u struct {
			Items []struct {
				Key  string `json:"key"`
				Cost string `json:"cost_usd"`
			} `json:"items"`
		}
		c.json("GET", "/v1/usage?group_by=agent", nil, http.StatusOK, &u)
		for _, it := range u.Items {
			if it.Key == "default/burst" {
				m, _ := agents.ParseUSD(it.Cost)
				return m
			}
		}
		return 0
	}

	completed, refused := check(start(50))
	if completed+refused != 50 || completed == 0 || completed > 10 {
		t.Errorf("runs: got %d completed and %d refused, want 1..10 completed and the rest refused", completed, refused)
	}
	if got := spent(); got > limit || got != perRun*agents.Money(completed) {
		t.Errorf("settled spend: got $%s, want $%s (%d runs) and at most the limit $%s", got, perRun*agents.Money(completed), completed, limit)
	}

	// Redis loses everything: counters are rebuilt from the ledger before
	// the next reservation, so the spent budget still refuses.
	if err := s.Redis.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	more, refusedAfter := check(start(5))
	if got := spent(); got > limit {
		t.Errorf("after the flush: spent $%s, over the limit $%s (%d more completed, %d refused)", got, limit, more, refusedAfter)
	}
	var budgets struct {
		Items []struct {
			Scope       string  `json:"scope"`
			Window      string  `json:"window"`
			LimitUSD    *string `json:"limit_usd"`
			SpentUSD    string  `json:"spent_usd"`
			ReservedUSD string  `json:"reserved_usd"`
		} `json:"items"`
	}
	c.json("GET", "/v1/budgets", nil, http.StatusOK, &budgets)
	found := false
	for _, b := range budgets.Items {
		if b.Scope == "agent:default/burst" && b.Window == "day" {
			found = true
			if b.LimitUSD == nil || *b.LimitUSD != limit.String() || b.SpentUSD != spent().String() || b.ReservedUSD != "0" {
				t.Errorf("budget: got %+v, want limit %s, spent %s, nothing reserved", b, limit, spent())
			}
		}
	}
	if !found {
		t.Errorf("budgets: no day budget for the agent in %+v", budgets.Items)
	}
	// Crossing 50, 80 and 100 percent told the team once each.
	var inbox struct {
		Items []struct{ Title string } `json:"items"`
	}
	c.json("GET", "/v1/inbox", nil, http.StatusOK, &inbox)
	alerts := map[string]int{}
	for _, m := range inbox.Items {
		if strings.HasPrefix(m.Title, "Budget agent:default/burst") {
			alerts[m.Title]++
		}
	}
	for _, pct := range []string{"50%", "80%"} {
		if alerts["Budget agent:default/burst at "+pct] != 1 {
			t.Errorf("alerts: got %v, want one at %s", alerts, pct)
		}
	}
}
