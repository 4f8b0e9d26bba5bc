package stack

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/telos-dev/telos/api"
)

// TestRoleRouteMatrix calls every route as every role — the agent's owner and
// a teammate, a member of another team, a reviewer of the agent's team, a
// reviewer of another team, and an admin — and checks the status each gets.
// Another team's resources answer 404, never 403, on every verb.
func TestRoleRouteMatrix(t *testing.T) {
	forEachStore(t, testRoleRouteMatrix)
}

// forEachStore runs a whole-stack test on SQLite and, when
// TELOS_TEST_DATABASE_URL is set, on PostgreSQL.
func forEachStore(t *testing.T, fn func(t *testing.T, db string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "") })
	t.Run("postgres", func(t *testing.T) { fn(t, "postgres") })
}

func testRoleRouteMatrix(t *testing.T, db string) {
	s := startStack(t, Config{DatabaseURL: db})
	admin := apiClient{t: t, url: s.URL, key: testAdminKey}
	key := func(user, team, role string, reviews ...string) apiClient {
		var k struct{ Key string }
		body := map[string]any{"user": user, "team": team, "role": role}
		if len(reviews) > 0 {
			body["review_teams"] = reviews
		}
		admin.json("POST", "/v1/keys", body, http.StatusCreated, &k)
		return apiClient{t: t, url: s.URL, key: k.Key}
	}
	who := map[string]apiClient{
		"owner":      key("ana", "platform", "member"),
		"teammate":   key("pat", "platform", "member"),
		"other":      key("bo", "payments", "member"),
		"reviewer":   key("rita", "review", "reviewer", "platform"),
		"reviewer2":  key("rex", "review", "reviewer", "payments"),
		"admin":      admin,
		"anonymous":  {t: t, url: s.URL},
		"revoked":    key("old", "platform", "member"),
		"otheradmin": key("root", "ops", "admin"),
	}
	// Revoke one key: it must fail at once.
	var keys struct {
		Items []struct{ ID, User string }
	}
	admin.json("GET", "/v1/keys", nil, http.StatusOK, &keys)
	adminKeyID := ""
	for _, k := range keys.Items {
		if k.User == "old" {
			admin.json("DELETE", "/v1/keys/"+k.ID, nil, http.StatusNoContent, nil)
		}
		if k.User == "admin" {
			adminKeyID = k.ID
		}
	}

	owner := who["owner"]
	owner.apply(testAgent("matrix"))
	var dry runDoc
	owner.json("POST", "/v1/agents/matrix/runs", map[string]any{"dry_run": true}, http.StatusAccepted, &dry)
	owner.wait(dry.ID)
	run := "/v1/runs/" + dry.ID
	agent := "/v1/agents/matrix"
	v1 := agent + "/versions/1"
	q := "?team=platform"
	newVersion := strings.Replace(testAgent("matrix"), "max_tokens: 50", "max_tokens: 60", 1)
	comment := map[string]string{"comment": "the purpose needs a named audience"}

	type call struct {
		who    string
		method string
		path   string
		body   any
		want   int
	}
	calls := []call{
		{"anonymous", "GET", "/v1/agents", nil, 401},
		{"revoked", "GET", "/v1/agents", nil, 401},
		{"owner", "GET", "/v1/agents?api_key=x", nil, 400},

		{"owner", "GET", "/v1/agents", nil, 200},
		{"other", "GET", "/v1/agents", nil, 200},
		{"reviewer", "GET", "/v1/agents", nil, 200},

		{"owner", "GET", agent, nil, 200},
		{"teammate", "GET", agent, nil, 200},
		{"other", "GET", agent + q, nil, 404},
		{"reviewer", "GET", agent + q, nil, 200},
		{"reviewer2", "GET", agent + q, nil, 404},
		{"admin", "GET", agent + q, nil, 200},

		{"owner", "GET", v1, nil, 200},
		{"other", "GET", v1 + q, nil, 404},
		{"reviewer", "GET", v1 + q, nil, 200},
		{"reviewer2", "GET", v1 + q, nil, 404},

		{"owner", "GET", v1 + "/dossier", nil, 200},
		{"other", "GET", v1 + "/dossier" + q, nil, 404},
		{"reviewer", "GET", v1 + "/dossier" + q, nil, 200},
		{"reviewer2", "GET", v1 + "/dossier" + q, nil, 404},
		{"admin", "GET", v1 + "/dossier" + q, nil, 200},

		// Decisions on a draft: authorised callers get 409 (not in review).
		{"owner", "POST", v1 + "/approve", nil, 403},
		{"teammate", "POST", v1 + "/approve", nil, 403},
		{"other", "POST", v1 + "/approve" + q, nil, 404},
		{"reviewer2", "POST", v1 + "/approve" + q, nil, 404},
		{"reviewer", "POST", v1 + "/approve" + q, nil, 409},
		{"admin", "POST", v1 + "/approve" + q, nil, 409},
		{"other", "POST", v1 + "/reject" + q, comment, 404},
		{"reviewer", "POST", v1 + "/reject" + q, comment, 409},
		{"reviewer", "POST", v1 + "/reject" + q, nil, 422},
		{"other", "POST", v1 + "/request-changes" + q, comment, 404},
		{"teammate", "POST", v1 + "/request-changes", comment, 403},
		{"admin", "POST", v1 + "/request-changes" + q, comment, 409},

		{"other", "POST", v1 + "/submit" + q, nil, 404},
		{"reviewer2", "POST", v1 + "/submit" + q, nil, 404},
		{"reviewer", "POST", v1 + "/submit" + q, nil, 403},
		{"owner", "POST", v1 + "/submit", nil, 200},
		{"teammate", "POST", v1 + "/submit", nil, 409},
		{"owner", "POST", v1 + "/approve", nil, 403}, // nobody approves their own agent
		{"reviewer", "POST", v1 + "/approve" + q, nil, 200},

		{"owner", "POST", agent + "/runs", map[string]any{}, 202},
		{"teammate", "POST", agent + "/runs", map[string]any{}, 202},

		{"owner", "POST", agent + "/schedules", map[string]any{"cron": "@daily", "paused": true}, 201},
		{"other", "POST", agent + "/schedules" + q, map[string]any{"cron": "@daily"}, 404},
		{"reviewer", "POST", agent + "/schedules" + q, map[string]any{"cron": "@daily"}, 403},
		{"owner", "GET", agent + "/schedules", nil, 200},
		{"reviewer", "GET", agent + "/schedules" + q, nil, 200},
		{"other", "GET", agent + "/schedules" + q, nil, 404},
		{"owner", "GET", agent + "/schedules/telos.payments.recon.x", nil, 404},
		{"other", "GET", agent + "/schedules/telos.platform.matrix.x" + q, nil, 404},
		{"owner", "PATCH", agent + "/schedules/telos.platform.matrix.x", map[string]any{"every": "1h"}, 404},
		{"reviewer", "PATCH", agent + "/schedules/telos.platform.matrix.x" + q, map[string]any{"every": "1h"}, 403},
		{"other", "DELETE", agent + "/schedules/telos.platform.matrix.x" + q, nil, 404},
		{"owner", "DELETE", agent + "/schedules/telos.platform.matrix.x", nil, 404},
		{"other", "POST", agent + "/schedules/telos.platform.matrix.x/pause" + q, nil, 404},
		{"reviewer", "POST", agent + "/schedules/telos.platform.matrix.x/resume" + q, nil, 403},
		{"owner", "POST", agent + "/schedules/telos.platform.matrix.x/trigger", nil, 404},
		{"other", "POST", agent + "/runs" + q, map[string]any{}, 404},
		{"reviewer", "POST", agent + "/runs" + q, map[string]any{}, 403},
		{"reviewer", "POST", agent + "/runs" + q, map[string]any{"dry_run": true}, 202},
		{"reviewer2", "POST", agent + "/runs" + q, map[string]any{"dry_run": true}, 404},
		{"admin", "POST", agent + "/runs" + q, map[string]any{}, 202},

		{"other", "POST", agent + "/suspend" + q, nil, 404},
		{"reviewer2", "POST", agent + "/suspend" + q, nil, 404},
		{"teammate", "POST", agent + "/suspend", nil, 403},
		{"owner", "POST", agent + "/suspend", nil, 200},
		{"owner", "POST", agent + "/runs", map[string]any{}, 409}, // a suspended agent cannot run
		{"owner", "POST", agent + "/resume", nil, 403},
		{"other", "POST", agent + "/resume" + q, nil, 404},
		{"reviewer", "POST", agent + "/resume" + q, nil, 200},

		{"owner", "GET", run, nil, 200},
		{"teammate", "GET", run, nil, 200},
		{"other", "GET", run, nil, 404},
		{"reviewer", "GET", run, nil, 200},
		{"reviewer2", "GET", run, nil, 404},
		{"admin", "GET", run, nil, 200},
		{"owner", "GET", run + "/ledger", nil, 200},
		{"other", "GET", run + "/ledger", nil, 404},
		{"reviewer2", "GET", run + "/ledger", nil, 404},
		{"reviewer", "GET", run + "/ledger", nil, 200},
		{"other", "POST", run + "/cancel", nil, 404},
		{"reviewer2", "POST", run + "/cancel", nil, 404},
		{"owner", "POST", run + "/cancel", nil, 409},

		{"owner", "GET", "/v1/runs", nil, 200},
		{"other", "GET", "/v1/runs" + q, nil, 200},
		{"owner", "GET", "/v1/usage", nil, 200},
		{"other", "GET", "/v1/usage", nil, 200},
		{"owner", "GET", "/v1/inbox", nil, 200},
		{"other", "GET", "/v1/inbox" + q, nil, 200},

		{"owner", "POST", "/v1/keys", map[string]any{"role": "admin"}, 403},
		{"owner", "POST", "/v1/keys", map[string]any{"role": "reviewer"}, 403},
		{"owner", "POST", "/v1/keys", map[string]any{"user": "zed"}, 403},
		{"owner", "POST", "/v1/keys", map[string]any{"team": "payments"}, 403},
		{"owner", "POST", "/v1/keys", map[string]any{}, 201},
		{"reviewer", "POST", "/v1/keys", map[string]any{"user": "rita", "role": "reviewer", "review_teams": []string{"platform"}}, 201},
		{"reviewer", "POST", "/v1/keys", map[string]any{"user": "rob", "role": "reviewer", "review_teams": []string{"platform"}}, 403}, // no sock puppets
		{"reviewer", "POST", "/v1/keys", map[string]any{"user": "ana", "role": "member"}, 403},                                         // nor other people's names
		{"reviewer", "POST", "/v1/keys", map[string]any{"user": "rita", "role": "reviewer", "review_teams": []string{"payments"}}, 403},
		{"reviewer", "POST", "/v1/keys", map[string]any{"user": "rita", "role": "admin"}, 403},
		{"otheradmin", "POST", "/v1/keys", map[string]any{"user": "new", "team": "platform", "role": "admin"}, 201},
		{"owner", "GET", "/v1/keys", nil, 200},
		{"owner", "DELETE", "/v1/keys/" + adminKeyID, nil, 404},
		{"reviewer", "DELETE", "/v1/keys/" + adminKeyID, nil, 404},

		{"owner", "GET", "/v1/purpose-categories", nil, 200},
		{"owner", "PUT", "/v1/purpose-categories", map[string]any{"items": []any{}}, 403},
		{"reviewer", "PUT", "/v1/purpose-categories", map[string]any{"items": []any{}}, 403},
		{"owner", "PUT", "/v1/teams/platform/budget", map[string]any{"monthly_usd": "10"}, 403},
		{"reviewer", "PUT", "/v1/teams/platform/budget", map[string]any{"monthly_usd": "10"}, 403},
		{"admin", "PUT", "/v1/teams/platform/budget", map[string]any{"monthly_usd": "10"}, 200},
		{"owner", "GET", "/v1/audit", nil, 403},
		{"reviewer", "GET", "/v1/audit", nil, 403},
		{"admin", "GET", "/v1/audit", nil, 200},

		{"other", "PUT", agent, newVersion, 404},
		{"reviewer", "PUT", agent, newVersion, 404},
		{"teammate", "PUT", agent, newVersion, 200},
		{"other", "POST", "/v1/agents", strings.Replace(testAgent("sneaky"), "name: sneaky", "name: sneaky, team: platform", 1), 404},
		{"reviewer", "POST", "/v1/agents", strings.Replace(testAgent("sneaky"), "name: sneaky", "name: sneaky, team: platform", 1), 403},
		{"owner", "POST", "/v1/agents", testAgent("second"), 201},
		// Fields only the server sets are refused, never obeyed.
		{"owner", "POST", "/v1/agents", strings.Replace(testAgent("forged"), "metadata: { name: forged }", "metadata: { name: forged, owner: rita }\nstatus: approved", 1), 422},
		{"owner", "POST", agent + "/runs", map[string]any{"status": "completed"}, 422},
		{"owner", "POST", agent + "/runs", map[string]any{"approved_version": 1}, 422},
		{"owner", "POST", v1 + "/submit", map[string]any{"actor": "rita"}, 422},
		{"owner", "GET", "/v1/agents/forged", nil, 404},

		{"owner", "GET", "/v1/budgets", nil, 200},
		{"other", "GET", "/v1/budgets", nil, 200},
		{"owner", "GET", "/v1/catalog", nil, 403},
		{"reviewer", "GET", "/v1/catalog", nil, 200},
		{"admin", "GET", "/v1/catalog?format=csv", nil, 200},

		// Secrets belong to the team that uses them: its members and admins
		// manage them, nobody else even sees their names, and no answer
		// carries a value.
		{"anonymous", "GET", "/v1/secrets", nil, 401},
		{"owner", "POST", "/v1/secrets", map[string]any{"name": "slack-token", "value": "xoxb-matrix-1"}, 201},
		{"teammate", "POST", "/v1/secrets", map[string]any{"name": "slack-token", "value": "xoxb-matrix-2"}, 200},
		{"owner", "POST", "/v1/secrets" + q, map[string]any{"name": "slack-token", "value": "xoxb-matrix-3"}, 200},
		{"owner", "POST", "/v1/secrets", map[string]any{"name": "Slack Token", "value": "x"}, 422},
		{"owner", "POST", "/v1/secrets", map[string]any{"name": "empty", "value": ""}, 422},
		{"owner", "POST", "/v1/secrets", map[string]any{"name": "x", "value": "y", "team": "payments"}, 422},
		{"other", "POST", "/v1/secrets" + q, map[string]any{"name": "slack-token", "value": "xoxb-stolen"}, 404},
		{"reviewer", "POST", "/v1/secrets" + q, map[string]any{"name": "slack-token", "value": "xoxb-stolen"}, 404},
		{"reviewer2", "POST", "/v1/secrets" + q, map[string]any{"name": "slack-token", "value": "xoxb-stolen"}, 404},
		{"admin", "POST", "/v1/secrets" + q, map[string]any{"name": "jira-token", "value": "jira-matrix"}, 201},
		{"admin", "POST", "/v1/secrets?team=Not_A_Team", map[string]any{"name": "jira-token", "value": "x"}, 422},
		{"owner", "GET", "/v1/secrets", nil, 200},
		{"teammate", "GET", "/v1/secrets" + q, nil, 200},
		{"other", "GET", "/v1/secrets", nil, 200}, // its own team's
		{"other", "GET", "/v1/secrets" + q, nil, 404},
		{"reviewer", "GET", "/v1/secrets" + q, nil, 404},
		{"admin", "GET", "/v1/secrets" + q, nil, 200},
		{"other", "DELETE", "/v1/secrets/jira-token" + q, nil, 404},
		{"other", "DELETE", "/v1/secrets/jira-token", nil, 404}, // not in its own team
		{"reviewer", "DELETE", "/v1/secrets/jira-token" + q, nil, 404},
		{"teammate", "DELETE", "/v1/secrets/jira-token", nil, 204},
		{"teammate", "DELETE", "/v1/secrets/jira-token", nil, 404},
		{"otheradmin", "DELETE", "/v1/secrets/slack-token" + q, nil, 204},

		{"owner", "GET", "/healthz", nil, 200},
		{"anonymous", "GET", "/readyz", nil, 200},
		{"anonymous", "GET", "/v1/openapi.json", nil, 200},
	}
	// The matrix must cover every route the server registers.
	covered := map[string]bool{}
	for _, c := range calls {
		covered[c.method+" "+routeOf(c.path)] = true
	}
	var missing []string
	for _, r := range (&api.Server{}).Handler().Routes() {
		if r.Method != "echo_route_not_found" && !covered[r.Method+" "+r.Path] {
			missing = append(missing, r.Method+" "+r.Path)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("routes missing from the matrix: %v", missing)
	}

	for i, c := range calls {
		cl := who[c.who]
		cl.t = t
		var body []byte
		ct := ""
		switch b := c.body.(type) {
		case string:
			body, ct = []byte(b), "application/yaml"
		case nil:
		default:
			body, _ = json.Marshal(b)
			ct = "application/json"
		}
		status, resp := cl.do(c.method, c.path, ct, body)
		if status != c.want {
			t.Errorf("%d. %s %s %s: got %d, want %d: %.200s", i, c.who, c.method, c.path, status, c.want, resp)
		}
	}

	// Runs of other teams never show in listings.
	var runs struct{ Items []runDoc }
	other := who["other"]
	other.json("GET", "/v1/runs?team=platform", nil, http.StatusOK, &runs)
	if len(runs.Items) != 0 {
		t.Errorf("other team sees %d platform runs, want 0", len(runs.Items))
	}
}

// routeOf maps a concrete path to its Echo route pattern.
func routeOf(path string) string {
	path, _, _ = strings.Cut(path, "?")
	parts := strings.Split(path, "/")
	for i := range parts {
		switch {
		case i == 3 && parts[2] == "agents":
			parts[i] = ":name"
		case i == 3 && parts[2] == "runs":
			parts[i] = ":id"
		case i == 3 && parts[2] == "keys":
			parts[i] = ":id"
		case i == 3 && parts[2] == "teams":
			parts[i] = ":team"
		case i == 5 && parts[4] == "schedules":
			parts[i] = ":id"
		case i == 3 && parts[2] == "secrets":
			parts[i] = ":name"
		case i == 5 && parts[4] == "versions":
			parts[i] = ":version"
		}
	}
	return strings.Join(parts, "/")
}
