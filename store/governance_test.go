package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/telos-dev/telos/agents"
	"github.com/telos-dev/telos/ledger"
)

func mustAgent(t *testing.T, s *Store, team, name, category string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.CreateAgent(ctx, AgentVersion{Team: team, Name: name, Spec: []byte(`{"spec":{}}`), SpecHash: "h1", CreatedBy: "ana"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetVersionCategory(ctx, team, name, 1, category); err != nil {
		t.Fatal(err)
	}
}

func TestTransitions(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		mustAgent(t, s, "platform", "digest", "engineering-productivity")
		au := AuditEntry{Actor: "rita", ActorRole: RoleReviewer}
		steps := []struct {
			version int
			action  string
			want    string
			wantErr error
		}{
			{1, "approve", "", ErrInvalidTransition},
			{1, "submit", VersionInReview, nil},
			{1, "submit", "", ErrInvalidTransition},
			{1, "approve", VersionApproved, nil},
			{2, "submit", VersionInReview, nil},
			{2, "request-changes", VersionChangesRequested, nil},
			{3, "submit", VersionInReview, nil},
			{3, "approve", VersionApproved, nil},
			{9, "submit", "", ErrNotFound},
		}
		for i, st := range steps {
			if st.version > 1 && st.action == "submit" && st.wantErr == nil {
				if _, err := s.AddVersion(ctx, AgentVersion{Team: "platform", Name: "digest", Spec: []byte(`{}`), SpecHash: fmt.Sprint(i), CreatedBy: "ana"}); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.Transition(ctx, "platform", "digest", st.version, st.action, "rita", "", au)
			if !errors.Is(err, st.wantErr) || got != st.want {
				t.Fatalf("step %d %s v%d: got %q, %v; want %q, %v", i, st.action, st.version, got, err, st.want, st.wantErr)
			}
		}
		state, err := s.AgentState(ctx, "platform", "digest")
		if err != nil {
			t.Fatal(err)
		}
		if state.ApprovedVersion != 3 || state.LatestVersion != 3 {
			t.Errorf("state: got approved %d latest %d, want 3 and 3", state.ApprovedVersion, state.LatestVersion)
		}
		if st, _ := s.VersionStatus(ctx, "platform", "digest", 1); st != VersionSuperseded {
			t.Errorf("version 1: got %q, want superseded", st)
		}
		reviews, err := s.Reviews(ctx, "platform", "digest")
		if err != nil || len(reviews) != 6 {
			t.Fatalf("reviews: got %d, %v; want 6", len(reviews), err)
		}
		if err := s.SetAgentStatus(ctx, "platform", "digest", AgentSuspended, au); err != nil {
			t.Fatal(err)
		}
		if err := s.SetAgentStatus(ctx, "platform", "digest", AgentSuspended, au); !errors.Is(err, ErrInvalidTransition) {
			t.Errorf("suspend twice: got %v, want ErrInvalidTransition", err)
		}
		audit, err := s.Audit(ctx, AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(audit) != 7 || audit[6].BeforeHash != Hash([]byte(AgentActive)) || audit[6].AfterHash != Hash([]byte(AgentSuspended)) {
			t.Errorf("audit: got %d records, last %+v", len(audit), audit[len(audit)-1])
		}
	})
}

func TestSpendCatalogAndAlerts(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
		s.now = func() time.Time { return now }
		mustAgent(t, s, "platform", "digest", "engineering-productivity")
		mustAgent(t, s, "payments", "recon", "operations")
		entry := func(team, agent, run, trigger string, at time.Time, cost agents.Money, in int64, unpriced bool) ledger.Entry {
			return ledger.Entry{WorkflowRunID: run, ActivityID: "step/a", Attempt: 1, RunID: run, Agent: agent, Version: 1, Team: team,
				Owner: "ana", Trigger: trigger, StepID: "a", Kind: "llm", Purpose: "p", PurposeCategory: map[string]string{"digest": "engineering-productivity", "recon": "operations"}[agent],
				Usage: agents.Usage{InputTokens: in, OutputTokens: 10}, Cost: cost, Unpriced: unpriced, Status: "completed", StartedAt: at, FinishedAt: at}
		}
		entries := []ledger.Entry{
			entry("platform", "digest", "r1", "api", now.Add(-time.Hour), 3_000_000_000, 100, false),
			entry("platform", "digest", "r2", "api", now.AddDate(0, 0, -10), 5_000_000_000, 200, false),
			entry("platform", "digest", "r3", "dry-run", now.Add(-time.Hour), 7_000_000_000, 300, false),
			entry("platform", "digest", "r4", "api", now.Add(-2*time.Hour), 9_000_000_000, 50, true),
			entry("payments", "recon", "r5", "api", now.AddDate(0, 0, -40), 11_000_000_000, 400, false),
		}
		if n, err := s.ImportLedger(ctx, entries); err != nil || n != 5 {
			t.Fatalf("import: got %d, %v", n, err)
		}
		if n, err := s.ImportLedger(ctx, entries[:2]); err != nil || n != 0 {
			t.Fatalf("re-import: got %d, %v; want 0 new", n, err)
		}
		day := now.Truncate(24 * time.Hour)
		for _, tt := range []struct {
			scope      string
			from, to   time.Time
			wantCost   agents.Money
			wantTokens int64
		}{
			{"agent:platform/digest", day, day.AddDate(0, 0, 1), 3_000_000_000, 110 + 60},
			{"agent:platform/digest", day.AddDate(0, 0, -30), day.AddDate(0, 0, 1), 8_000_000_000, 110 + 210 + 60},
			{"team:platform", day, day.AddDate(0, 0, 1), 3_000_000_000, 170},
			{"category:operations", day.AddDate(0, -2, 0), day, 11_000_000_000, 410},
			{"run:r3", time.Time{}, time.Time{}, 7_000_000_000, 310},
		} {
			cost, tokens, err := s.Spend(ctx, tt.scope, tt.from, tt.to)
			if err != nil || cost != tt.wantCost || tokens != tt.wantTokens {
				t.Errorf("spend %s: got %s %d %v, want %s %d", tt.scope, cost, tokens, err, tt.wantCost, tt.wantTokens)
			}
		}
		for i := 0; i < 3; i++ {
			if err := s.CreateRun(ctx, Run{ID: fmt.Sprintf("x%d", i), Team: "platform", Agent: "digest", Version: 1, Owner: "ana", Trigger: "api", Status: RunRunning, WorkflowID: "w", CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		cat, err := s.Catalog(ctx, CatalogFilter{Sort: "-cost_30d"})
		if err != nil {
			t.Fatal(err)
		}
		if len(cat) != 2 {
			t.Fatalf("catalog: got %d entries, want 2", len(cat))
		}
		d := cat[0]
		// 7 days: r1, r4 unpriced (tokens, no dollars); the dry run r3 is a
		// forecast, counted only as simulated cost.
		if d.Name != "digest" || d.Runs7d != 3 || d.Runs30d != 3 || d.Cost7d != 3_000_000_000 || d.Cost30d != 8_000_000_000 ||
			d.Tokens7d != 110+60 || d.Tokens30d != 110+60+210 || d.Unpriced30d != 1 || d.SimulatedCost30 != 7_000_000_000 ||
			d.Category != "engineering-productivity" || d.VersionStatus != VersionDraft {
			t.Errorf("digest: got %+v", d)
		}
		if r := cat[1]; r.Name != "recon" || r.Cost30d != 0 || r.Runs30d != 0 {
			t.Errorf("recon (40 days old spend): got %+v", r)
		}
		only, err := s.Catalog(ctx, CatalogFilter{Teams: []string{"payments"}})
		if err != nil || len(only) != 1 || only[0].Name != "recon" {
			t.Errorf("catalog for payments: got %+v, %v", only, err)
		}
		for i, want := range []bool{true, false} {
			got, err := s.RecordAlert(ctx, "agent:platform/digest/day", "2026-12-03", 80)
			if err != nil || got != want {
				t.Errorf("alert %d: got %v, %v; want %v", i, got, err, want)
			}
		}
	})
}
