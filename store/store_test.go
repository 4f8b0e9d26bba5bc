package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/telos-dev/telos/store/storetest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/telos-dev/telos/agents"
	"github.com/telos-dev/telos/connectors/inbox"
	"github.com/telos-dev/telos/ledger"
)

// forEachTarget runs fn once per database the tests can reach, as a subtest
// named after the dialect: a fresh SQLite file always, and a fresh schema of
// the PostgreSQL database at TELOS_TEST_DATABASE_URL when that is set. target
// is what Open takes.
func forEachTarget(t *testing.T, fn func(t *testing.T, target string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, filepath.Join(t.TempDir(), "telos.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		base := os.Getenv("TELOS_TEST_DATABASE_URL")
		if base == "" {
			t.Skip("TELOS_TEST_DATABASE_URL is not set")
		}
		fn(t, storetest.PostgresSchema(t, base))
	})
}

// forEachStore runs fn against a fresh, migrated store of every database
// forEachTarget reaches; the store is closed when the subtest ends.
func forEachStore(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Helper()
	forEachTarget(t, func(t *testing.T, target string) {
		fn(t, openStore(t, target))
	})
}

func openStore(t *testing.T, target string) *Store {
	t.Helper()
	s, err := Open(context.Background(), target)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// clock returns a clock for Store.now that starts at start and advances a
// millisecond per reading, so rows written one after another are ordered.
func clock(start time.Time) func() time.Time {
	var mu sync.Mutex
	next := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t := next
		next = next.Add(time.Millisecond)
		return t
	}
}

var t0 = time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.UTC)

func TestOpenMigratesOnceWhenProcessesStartTogether(t *testing.T) {
	if len(postgresMigrations) != len(sqliteMigrations) {
		t.Fatalf("got %d postgres migrations, want %d like sqlite", len(postgresMigrations), len(sqliteMigrations))
	}
	for i := range sqliteMigrations {
		if p, s := postgresMigrations[i].version, sqliteMigrations[i].version; p != s {
			t.Errorf("migration %d: got postgres version %d, want %d like sqlite", i, p, s)
		}
	}
	latest := sqliteMigrations[len(sqliteMigrations)-1].version
	forEachTarget(t, func(t *testing.T, target string) {
		ctx := context.Background()
		const processes = 4
		errs := make([]error, processes)
		var wg sync.WaitGroup
		for i := range processes {
			wg.Go(func() {
				s, err := Open(ctx, target)
				if err == nil {
					err = s.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("open %d: %v", i, err)
			}
		}
		s := openStore(t, target)
		if got, want := s.Dialect(), filepath.Base(t.Name()); got != want {
			t.Errorf("got dialect %q, want %q", got, want)
		}
		if err := s.Ping(ctx); err != nil {
			t.Errorf("ping: %v", err)
		}
		if v, err := s.SchemaVersion(ctx); err != nil || v != latest {
			t.Errorf("got schema version %d, %v; want %d", v, err, latest)
		}
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(sqliteMigrations) {
			t.Errorf("got %d rows in schema_migrations (%v), want %d", n, err, len(sqliteMigrations))
		}
	})
}

func TestOpenPicksTheDatabaseByScheme(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Nothing listens on port 1: a postgres target fails to connect, which
	// shows it went to PostgreSQL and not to a SQLite file of that name.
	for _, target := range []string{"postgres://telos@127.0.0.1:1/telos", "postgresql://telos@127.0.0.1:1/telos", "POSTGRES://telos@127.0.0.1:1/telos"} {
		t.Run(target, func(t *testing.T) {
			s, err := Open(ctx, target)
			if err == nil {
				s.Close()
				t.Fatal("got a store, want a connection error")
			}
			if !strings.Contains(err.Error(), "open postgres") {
				t.Errorf("got %v, want an open postgres error", err)
			}
		})
	}
	t.Run("file", func(t *testing.T) {
		s := openStore(t, filepath.Join(t.TempDir(), "sub", "telos.db"))
		if got := s.Dialect(); got != "sqlite" {
			t.Errorf("got dialect %q, want sqlite", got)
		}
	})
}

// TestPostgresSchemaMirrorsSQLite compares the two migrated schemas: the same
// tables, columns in the same order and the same indexes; PostgreSQL integers
// are BIGINT except the 0/1 flags, and its text sorts bytewise as SQLite's.
func TestPostgresSchemaMirrorsSQLite(t *testing.T) {
	base := os.Getenv("TELOS_TEST_DATABASE_URL")
	if base == "" {
		t.Skip("TELOS_TEST_DATABASE_URL is not set")
	}
	ctx := context.Background()
	lite := openStore(t, filepath.Join(t.TempDir(), "telos.db"))
	pg := openStore(t, storetest.PostgresSchema(t, base))

	strs := func(s *Store, q string, args ...any) []string {
		t.Helper()
		rows, err := s.db.QueryContext(ctx, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	sorted := func(v []string) []string { slices.Sort(v); return v }

	tables := sorted(strs(lite, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`))
	if got := sorted(strs(pg, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)); !slices.Equal(got, tables) {
		t.Fatalf("got postgres tables %v, want %v", got, tables)
	}
	for _, table := range tables {
		want := strs(lite, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
		got := strs(pg, `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`, table)
		if !slices.Equal(got, want) {
			t.Errorf("table %s: got postgres columns %v, want %v", table, got, want)
		}
	}
	wantIdx := sorted(strs(lite, `SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL`))
	gotIdx := sorted(strs(pg, `SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class r ON r.oid = x.indrelid
		WHERE r.relnamespace = current_schema()::regnamespace AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)`))
	if !slices.Equal(gotIdx, wantIdx) {
		t.Errorf("got postgres indexes %v, want %v", gotIdx, wantIdx)
	}

	flags := []string{"ledger.simulated", "ledger.unpriced", "ledger.usage_estimated", "runs.dry_run", "schema_migrations.version"}
	if got := sorted(strs(pg, `SELECT table_name || '.' || column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND data_type = 'integer'`)); !slices.Equal(got, flags) {
		t.Errorf("got 32-bit integer columns %v, want only %v", got, flags)
	}
	if got := strs(pg, `SELECT table_name || '.' || column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND data_type = 'text' AND table_name <> 'schema_migrations' AND collation_name IS DISTINCT FROM 'C'`); len(got) > 0 {
		t.Errorf("text columns without COLLATE \"C\": %v", got)
	}
}

func TestAuditIsAppendOnly(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if _, err := s.db.ExecContext(ctx, `INSERT INTO audit (at, actor, actor_role, action, object_kind, object_id, team, before_hash, after_hash, detail)
			VALUES (?, 'ann', 'admin', 'key.issued', 'api_key', 'key_1', 'platform', '', '', '')`, formatTime(t0)); err != nil {
			t.Fatalf("insert: %v", err)
		}
		stmts := []string{`UPDATE audit SET actor = 'mallory'`, `DELETE FROM audit`}
		if s.Dialect() == "postgres" {
			stmts = append(stmts, `TRUNCATE audit`)
		}
		for _, stmt := range stmts {
			_, err := s.db.ExecContext(ctx, stmt)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: got %v, want the append-only error", stmt, err)
			}
		}
		var actor string
		if err := s.db.QueryRowContext(ctx, `SELECT actor FROM audit`).Scan(&actor); err != nil || actor != "ann" {
			t.Errorf("got actor %q, %v; want the record unchanged", actor, err)
		}
	})
}

func TestKeys(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		s.now = clock(t0)
		key := APIKey{Hash: Hash([]byte("secret-1")), Prefix: "tls_abc", User: "ann", Team: "platform", Role: RoleReviewer,
			ReviewTeams: []string{"platform", "data"}, CreatedBy: "admin", ExpiresAt: t0.Add(24 * time.Hour)}
		audit := AuditEntry{Actor: "admin", ActorRole: RoleAdmin, Action: "key.issued", ObjectKind: "api_key"}
		if err := s.CreateKey(ctx, key, audit); err != nil {
			t.Fatalf("create key: %v", err)
		}
		if err := s.CreateKey(ctx, key, audit); !errors.Is(err, ErrConflict) {
			t.Errorf("create the same key again: got %v, want ErrConflict", err)
		}
		tests := []struct {
			name    string
			hash    string
			want    APIKey
			wantErr error
		}{
			{"stored", key.Hash, func() APIKey { k := key; k.CreatedAt = t0; return k }(), nil},
			{"unknown", Hash([]byte("nope")), APIKey{}, ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.KeyByHash(ctx, tt.hash)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got error %v, want %v", err, tt.wantErr)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got %+v, want %+v", got, tt.want)
				}
			})
		}
		if err := s.RevokeKey(ctx, key.ID(), audit); err != nil {
			t.Fatalf("revoke: %v", err)
		}
		if got, err := s.KeyByHash(ctx, key.Hash); err != nil || got.RevokedAt.IsZero() {
			t.Errorf("after revoke: got %+v, %v; want a revocation time", got, err)
		}
		if err := s.RevokeKey(ctx, "key_0000000000000000", audit); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoke unknown: got %v, want ErrNotFound", err)
		}
		if got, err := s.Keys(ctx, "ann"); err != nil || len(got) != 1 || got[0].Hash != key.Hash {
			t.Errorf("keys of ann: got %+v, %v; want the one key", got, err)
		}
	})
}

func TestAgentVersions(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		s.now = clock(t0)
		spec := func(n int) []byte {
			return []byte(fmt.Sprintf(`{"metadata":{"name":"digest"},"n":%d,"text":"héllo ✓"}`, n))
		}
		puts := []struct {
			name        string
			create      bool
			v           AgentVersion
			wantVersion int
			wantOwner   string
			wantErr     error
		}{
			{"create", true, AgentVersion{Team: "platform", Name: "digest", Spec: spec(1), SpecHash: Hash(spec(1)), CreatedBy: "ann"}, 1, "ann", nil},
			{"create again", true, AgentVersion{Team: "platform", Name: "digest", Spec: spec(9), CreatedBy: "bob"}, 0, "", ErrConflict},
			{"add version keeps the owner", false, AgentVersion{Team: "platform", Name: "digest", Spec: spec(2), SpecHash: Hash(spec(2)), CreatedBy: "bob"}, 2, "ann", nil},
			{"add to unknown agent", false, AgentVersion{Team: "platform", Name: "nope", Spec: spec(1), CreatedBy: "bob"}, 0, "", ErrNotFound},
			{"same name in another team", true, AgentVersion{Team: "data", Name: "digest", Spec: spec(1), Owner: "dee", CreatedBy: "cy"}, 1, "dee", nil},
		}
		for _, p := range puts {
			put := s.AddVersion
			if p.create {
				put = s.CreateAgent
			}
			got, err := put(ctx, p.v)
			if !errors.Is(err, p.wantErr) {
				t.Fatalf("%s: got error %v, want %v", p.name, err, p.wantErr)
			}
			if got.Version != p.wantVersion || got.Owner != p.wantOwner {
				t.Errorf("%s: got version %d owner %q, want %d %q", p.name, got.Version, got.Owner, p.wantVersion, p.wantOwner)
			}
		}

		gets := []struct {
			name      string
			team      string
			agent     string
			version   int
			want      int
			wantSpec  []byte
			wantBy    string
			wantError error
		}{
			{"latest", "platform", "digest", 0, 2, spec(2), "bob", nil},
			{"first", "platform", "digest", 1, 1, spec(1), "ann", nil},
			{"past the latest", "platform", "digest", 3, 0, nil, "", ErrNotFound},
			{"unknown agent", "platform", "nope", 0, 0, nil, "", ErrNotFound},
		}
		for _, g := range gets {
			t.Run(g.name, func(t *testing.T) {
				got, err := s.AgentVersion(ctx, g.team, g.agent, g.version)
				if !errors.Is(err, g.wantError) {
					t.Fatalf("got error %v, want %v", err, g.wantError)
				}
				if got.Version != g.want || !bytes.Equal(got.Spec, g.wantSpec) || got.CreatedBy != g.wantBy {
					t.Errorf("got version %d spec %s by %q, want %d %s %q", got.Version, got.Spec, got.CreatedBy, g.want, g.wantSpec, g.wantBy)
				}
				if err == nil && (got.Owner != "ann" || got.SpecHash != Hash(g.wantSpec) || got.CreatedAt.IsZero()) {
					t.Errorf("got owner %q hash %q created %v, want ann, the spec's hash and a time", got.Owner, got.SpecHash, got.CreatedAt)
				}
			})
		}
	})
}

func TestListAgentsSortsBytewise(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		s.now = clock(t0)
		// Byte order puts upper case before lower case and "-" before
		// letters; a locale-aware collation would not.
		for _, a := range [][2]string{{"platform", "ab"}, {"Ops", "z"}, {"platform", "a-c"}, {"data", "x"}, {"platform", "Zed"}} {
			if _, err := s.CreateAgent(ctx, AgentVersion{Team: a[0], Name: a[1], Spec: []byte("{}"), CreatedBy: "ann"}); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			team string
			want []string
		}{
			{"", []string{"Ops/z", "data/x", "platform/Zed", "platform/a-c", "platform/ab"}},
			{"platform", []string{"platform/Zed", "platform/a-c", "platform/ab"}},
			{"nobody", []string{}},
		}
		for _, tt := range tests {
			t.Run("team="+tt.team, func(t *testing.T) {
				list, err := s.ListAgents(ctx, tt.team)
				if err != nil {
					t.Fatal(err)
				}
				got := []string{}
				for _, a := range list {
					got = append(got, a.Team+"/"+a.Name)
					if a.LatestVersion != 1 || a.Owner != "ann" || a.CreatedAt.IsZero() || !a.UpdatedAt.Equal(a.CreatedAt) {
						t.Errorf("%s: got %+v, want version 1 by ann", a.Name, a)
					}
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			})
		}
	})
}

func TestAddVersionConcurrently(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if _, err := s.CreateAgent(ctx, AgentVersion{Team: "platform", Name: "digest", Spec: []byte("{}"), CreatedBy: "ann"}); err != nil {
			t.Fatal(err)
		}
		const writers = 8
		versions := make([]int, writers)
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				v, err := s.AddVersion(ctx, AgentVersion{Team: "platform", Name: "digest", Spec: []byte("{}"), CreatedBy: "bob"})
				versions[i], errs[i] = v.Version, err
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
		}
		slices.Sort(versions)
		if want := []int{2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(versions, want) {
			t.Errorf("got versions %v, want %v", versions, want)
		}
	})
}

func TestRuns(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		s.now = clock(t0.Add(time.Hour))
		// r2 and r3 start at the same instant: the cursor orders them by id.
		runs := []Run{
			{ID: "r1", Team: "platform", Agent: "digest", CreatedAt: t0},
			{ID: "r2", Team: "platform", Agent: "triage", CreatedAt: t0.Add(time.Second)},
			{ID: "r3", Team: "platform", Agent: "digest", CreatedAt: t0.Add(time.Second)},
			{ID: "r4", Team: "data", Agent: "digest", CreatedAt: t0.Add(2 * time.Second)},
			{ID: "r5", Team: "platform", Agent: "digest", CreatedAt: t0.Add(3 * time.Second)},
		}
		for i := range runs {
			r := &runs[i]
			r.Version, r.Owner, r.Trigger, r.Status, r.WorkflowID, r.IdempotencyKey = 1, "ann", "api", RunRunning, "wf-"+r.ID, "idem-"+r.ID
			if err := s.CreateRun(ctx, *r); err != nil {
				t.Fatalf("create %s: %v", r.ID, err)
			}
		}
		if err := s.CreateRun(ctx, runs[0]); !errors.Is(err, ErrConflict) {
			t.Errorf("create r1 again: got %v, want ErrConflict", err)
		}
		if got, err := s.Run(ctx, "r3"); err != nil || !reflect.DeepEqual(got, runs[2]) {
			t.Errorf("run r3: got %+v, %v; want %+v", got, err, runs[2])
		}
		if _, err := s.Run(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("run nope: got %v, want ErrNotFound", err)
		}

		lists := []struct {
			name string
			f    RunFilter
			want []string
		}{
			{"all, newest first", RunFilter{}, []string{"r5", "r4", "r3", "r2", "r1"}},
			{"team", RunFilter{Team: "platform"}, []string{"r5", "r3", "r2", "r1"}},
			{"team and agent", RunFilter{Team: "platform", Agent: "digest"}, []string{"r5", "r3", "r1"}},
			{"limit", RunFilter{Limit: 2}, []string{"r5", "r4"}},
			{"before a tie", RunFilter{Before: "r3"}, []string{"r2", "r1"}},
			{"before the tie's other half", RunFilter{Before: "r2"}, []string{"r1"}},
			{"before the oldest", RunFilter{Before: "r1"}, []string{}},
			{"before an unknown run", RunFilter{Before: "nope"}, []string{}},
		}
		for _, tt := range lists {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.ListRuns(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				if ids := runIDs(got); !slices.Equal(ids, tt.want) {
					t.Errorf("got %v, want %v", ids, tt.want)
				}
			})
		}

		t.Run("pages", func(t *testing.T) {
			var got []string
			f := RunFilter{Team: "platform", Limit: 3}
			for range 5 {
				page, err := s.ListRuns(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				got = append(got, runIDs(page)...)
				f.Before = page[len(page)-1].ID
			}
			if want := []string{"r5", "r3", "r2", "r1"}; !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})

		t.Run("finish once", func(t *testing.T) {
			if err := s.FinishRun(ctx, "r1", RunFailed, "step summarize: boom"); err != nil {
				t.Fatal(err)
			}
			if err := s.FinishRun(ctx, "r1", RunCompleted, ""); err != nil {
				t.Fatalf("finish again: %v", err)
			}
			got, err := s.Run(ctx, "r1")
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != RunFailed || got.Error != "step summarize: boom" || !got.FinishedAt.Equal(t0.Add(time.Hour)) {
				t.Errorf("got %s %q finished %v, want the first finish: failed at %v", got.Status, got.Error, got.FinishedAt, t0.Add(time.Hour))
			}
			if err := s.FinishRun(ctx, "nope", RunCompleted, ""); !errors.Is(err, ErrNotFound) {
				t.Errorf("finish unknown: got %v, want ErrNotFound", err)
			}
		})
	})
}

func runIDs(rs []Run) []string {
	ids := []string{}
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	return ids
}

// Usage figures larger than 2^31 (and sums larger than 2^32) catch a 32-bit
// column or sum anywhere on the way.
const (
	bigTokens = 3_000_000_000
	bigPicos  = 3_000_000_000_000 // $3
)

// ledgerEntries is a small ledger: two attempts of one priced LLM step, a
// connector step, an unpriced model and a simulated step, over two days and
// two teams.
func ledgerEntries() []ledger.Entry {
	e := func(run, activity string, attempt int, team, agent, category, model string, day int, u agents.Usage, cost agents.Money) ledger.Entry {
		start := time.Date(2026, 3, day, 10, 0, 0, 987654321, time.UTC)
		return ledger.Entry{
			WorkflowRunID: "wf-" + run, ActivityID: activity, Attempt: attempt,
			RunID: run, Agent: agent, Version: 3, Team: team, Owner: "ann", Trigger: "schedule:nightly",
			StepID: activity, Kind: "llm", Action: "", Purpose: "Pick out breaking changes.", PurposeCategory: category,
			Provider: "openai", Model: model, Usage: u, Cost: cost, PriceVersion: "litellm-2026-02",
			Status: ledger.StatusCompleted, Error: "", OutcomeRef: "https://slack.example/p1", OutputRef: "sha256:abc",
			PromptHash: "p-" + activity, AnswerHash: "a-" + activity, StartedAt: start, FinishedAt: start.Add(1500 * time.Millisecond),
		}
	}
	big := agents.Usage{InputTokens: bigTokens, CachedInputTokens: bigTokens / 3, OutputTokens: bigTokens / 2, ReasoningTokens: 7}
	es := []ledger.Entry{
		e("r1", "summarize", 1, "platform", "digest", "engineering-productivity", "gpt-4o", 1, big, bigPicos),
		e("r1", "summarize", 2, "platform", "digest", "engineering-productivity", "gpt-4o", 1, big, bigPicos),
		e("r2", "fetch", 1, "platform", "triage", "operations", "", 2, agents.Usage{}, 0),
		e("r3", "summarize", 1, "data", "digest", "engineering-productivity", "mystery-model", 2, agents.Usage{InputTokens: 100, OutputTokens: 50}, 7),
		e("r3", "classify", 1, "data", "digest", "engineering-productivity", "gpt-4o-mini", 2, agents.Usage{InputTokens: 10, OutputTokens: 20}, 1500),
	}
	es[1].Status, es[1].Error = ledger.StatusFailed, "openai: 502"
	es[2].Kind, es[2].Action, es[2].Provider = "connector", "http.get", ""
	es[3].Unpriced = true
	es[4].Simulated, es[4].UsageEstimated = true, true
	return es
}

// totals is what Usage reports for es: the cost of unpriced entries is left
// out, their tokens are not.
func totals(es ...ledger.Entry) ledger.Totals {
	var t ledger.Totals
	for _, e := range es {
		t.Usage = t.Usage.Add(e.Usage)
		t.Entries++
		if e.Unpriced {
			t.Unpriced++
		} else {
			t.Cost += e.Cost
		}
		if e.Simulated {
			t.Simulated++
		}
	}
	return t
}

func TestLedgerAppendIsIdempotent(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		es := ledgerEntries()
		changed := es[0]
		changed.Cost, changed.Status = 1, ledger.StatusFailed
		appends := []struct {
			name string
			e    ledger.Entry
			want bool
		}{
			{"first attempt", es[0], true},
			{"same attempt again", es[0], false},
			{"same attempt, other figures", changed, false},
			{"second attempt", es[1], true},
		}
		for _, a := range appends {
			got, err := s.AppendLedger(ctx, a.e)
			if err != nil || got != a.want {
				t.Errorf("%s: got inserted=%v, %v; want %v", a.name, got, err, a.want)
			}
		}
		got, err := s.RunLedger(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("got %d entries, want 2", len(got))
		}
		for i, want := range es[:2] {
			if got[i].ID == 0 {
				t.Errorf("entry %d: got no id", i)
			}
			want.ID = got[i].ID
			if !reflect.DeepEqual(got[i], want) {
				t.Errorf("entry %d:\n got %+v\nwant %+v", i, got[i], want)
			}
		}
		if got[0].ID >= got[1].ID {
			t.Errorf("got ids %d, %d, want increasing", got[0].ID, got[1].ID)
		}
		if got, err := s.RunLedger(ctx, "nope"); err != nil || got == nil || len(got) != 0 {
			t.Errorf("unknown run: got %v, %v; want an empty list", got, err)
		}
	})
}

func TestUsageSumsExactly(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		es := ledgerEntries()
		for _, e := range es {
			if _, err := s.AppendLedger(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		if sum := totals(es[0], es[1]); sum.InputTokens != 2*bigTokens || sum.Cost != 2*bigPicos {
			t.Fatalf("the fixture lost its large figures: %+v", sum)
		}
		day2 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
		tests := []struct {
			name string
			q    UsageQuery
			want []UsageRow
		}{
			{"agent", UsageQuery{GroupBy: "agent"}, []UsageRow{
				{"data/digest", totals(es[3], es[4])}, {"platform/digest", totals(es[0], es[1])}, {"platform/triage", totals(es[2])}}},
			{"team", UsageQuery{GroupBy: "team"}, []UsageRow{
				{"data", totals(es[3], es[4])}, {"platform", totals(es[0], es[1], es[2])}}},
			{"purpose", UsageQuery{GroupBy: "purpose"}, []UsageRow{
				{"engineering-productivity", totals(es[0], es[1], es[3], es[4])}, {"operations", totals(es[2])}}},
			{"model", UsageQuery{GroupBy: "model"}, []UsageRow{
				{"(none)", totals(es[2])}, {"gpt-4o", totals(es[0], es[1])}, {"gpt-4o-mini", totals(es[4])}, {"mystery-model", totals(es[3])}}},
			{"day", UsageQuery{GroupBy: "day"}, []UsageRow{
				{"2026-03-01", totals(es[0], es[1])}, {"2026-03-02", totals(es[2], es[3], es[4])}}},
			{"run", UsageQuery{GroupBy: "run", RunID: "r1"}, []UsageRow{{"r1", totals(es[0], es[1])}}},
			{"one team", UsageQuery{GroupBy: "agent", Team: "platform"}, []UsageRow{
				{"platform/digest", totals(es[0], es[1])}, {"platform/triage", totals(es[2])}}},
			{"from", UsageQuery{GroupBy: "team", From: day2}, []UsageRow{
				{"data", totals(es[3], es[4])}, {"platform", totals(es[2])}}},
			{"to, exclusive", UsageQuery{GroupBy: "team", To: day2}, []UsageRow{{"platform", totals(es[0], es[1])}}},
			{"nothing", UsageQuery{GroupBy: "team", Team: "nobody"}, []UsageRow{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.Usage(ctx, tt.q)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got %+v\nwant %+v", got, tt.want)
				}
			})
		}
		if _, err := s.Usage(ctx, UsageQuery{GroupBy: "owner"}); err == nil {
			t.Error("group by owner: got no error, want unknown group")
		}
		for _, g := range UsageGroups() {
			if _, err := s.Usage(ctx, UsageQuery{GroupBy: g}); err != nil {
				t.Errorf("group %s: %v", g, err)
			}
		}
		spend, err := s.RunSpend(ctx, "r1")
		if err != nil || spend != totals(es[0], es[1]) {
			t.Errorf("run spend: got %+v, %v; want %+v", spend, err, totals(es[0], es[1]))
		}
		if spend, err := s.RunSpend(ctx, "nope"); err != nil || spend != (ledger.Totals{}) {
			t.Errorf("spend of unknown run: got %+v, %v; want zero", spend, err)
		}
	})
}

func TestBlobs(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		tests := []struct {
			name string
			data []byte
		}{
			{"text", []byte("release notes")},
			{"binary", []byte{0, 0xff, 0xfe, '\\', 'x', 0, 0x80}},
			{"empty", []byte{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for range 2 { // the second put of the same bytes is a no-op
					h, err := s.PutBlob(ctx, tt.data)
					if err != nil || h != Hash(tt.data) {
						t.Fatalf("put: got %q, %v; want %q", h, err, Hash(tt.data))
					}
				}
				got, err := s.Blob(ctx, Hash(tt.data))
				if err != nil || !bytes.Equal(got, tt.data) {
					t.Errorf("got %x, %v; want %x", got, err, tt.data)
				}
			})
		}
		if _, err := s.Blob(ctx, Hash([]byte("never stored"))); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown blob: got %v, want ErrNotFound", err)
		}
	})
}

func TestInbox(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		s.now = clock(t0)
		msgs := []inbox.Message{
			{Team: "platform", Agent: "digest", RunID: "r1", StepID: "deliver", Title: "Digest", Text: "first"},
			{Team: "platform", Agent: "digest", RunID: "r1", StepID: "deliver", Title: "Digest", Text: "retried"},
			{Team: "platform", Agent: "digest", RunID: "r2", StepID: "deliver", Title: "Digest", Text: "second"},
			{Team: "data", Agent: "digest", RunID: "r3", StepID: "deliver", Title: "Digest", Text: "theirs"},
		}
		ids := make([]string, len(msgs))
		for i, m := range msgs {
			id, err := s.DeliverMessage(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = id
		}
		if ids[0] != ids[1] || ids[0] == ids[2] {
			t.Errorf("got ids %v, want a retried delivery to keep the first id", ids)
		}
		tests := []struct {
			team  string
			limit int
			want  []string
		}{
			{"platform", 0, []string{"second", "first"}},
			{"platform", 1, []string{"second"}},
			{"data", 10, []string{"theirs"}},
			{"nobody", 10, []string{}},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%d", tt.team, tt.limit), func(t *testing.T) {
				got, err := s.Inbox(ctx, tt.team, tt.limit)
				if err != nil {
					t.Fatal(err)
				}
				texts := []string{}
				for _, m := range got {
					texts = append(texts, m.Text)
					if m.Team != tt.team || m.CreatedAt.IsZero() || m.ID == "" {
						t.Errorf("got %+v, want a message of %s with id and time", m, tt.team)
					}
				}
				if !slices.Equal(texts, tt.want) {
					t.Errorf("got %v, want %v", texts, tt.want)
				}
			})
		}
	})
}

func TestRebind(t *testing.T) {
	tests := []struct {
		d    dialect
		in   string
		want string
	}{
		{sqliteDialect, `SELECT * FROM t WHERE a = ? AND b = ?`, `SELECT * FROM t WHERE a = ? AND b = ?`},
		{postgresDialect, `SELECT * FROM t WHERE a = ? AND b = ?`, `SELECT * FROM t WHERE a = $1 AND b = $2`},
		{postgresDialect, `SELECT 1`, `SELECT 1`},
	}
	for _, tt := range tests {
		if got := tt.d.rebind(tt.in); got != tt.want {
			t.Errorf("%s rebind(%q): got %q, want %q", tt.d, tt.in, got, tt.want)
		}
	}
}
