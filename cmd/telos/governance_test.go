package main

import "testing"

const (
	echoDigest = `{"name":"echo-digest","team":"platform","owner":"alice","version":2,"version_status":"draft","status":"active","latest_version":2,
"created_by":"alice","created_at":"2026-12-01T09:00:00Z","reviews":[],"agent":{"apiVersion":"telos/v1","kind":"Agent","metadata":{"name":"echo-digest"},"spec":{}}}`

	ownAgent = `{"type":"about:blank","title":"Forbidden","status":403,"detail":"nobody approves or decides on their own agent"}`

	dossierReviewed = `{"name":"echo-digest","team":"platform","owner":"alice","version":2,"version_status":"in_review","status":"active","approved_version":1,
"description":"Weekly digest of Echo releases.",
"purpose":{"category":"engineering-productivity","statement":"Flag breaking changes before the upgrade review.","outcome":"The team upgrades within a week.","value":{"minutes_saved_per_run":30}},
"estimate_per_run":{"source":"dry_runs","dry_runs":3,"input_tokens":1200,"output_tokens":300,"cost_usd":"0.00036","unpriced":false},
"monthly_forecast":{"runs_per_month":4,"cost_usd":"0.00144"},
"steps":[
 {"id":"fetch","kind":"connector","purpose":"Read the release notes.","action":"http.get","class":"read","destination":"https://github.com/labstack/echo/releases"},
 {"id":"summarize","kind":"llm","purpose":"Pick out breaking changes.","model":"gpt-4o-mini"},
 {"id":"post","kind":"connector","purpose":"Post the digest.","action":"slack.post_message","class":"write","destination":"#deps"},
 {"id":"file","kind":"connector","purpose":"Keep a copy.","action":"inbox.deliver","class":"write","destination":"the agent's team inbox"}],
"actions":[
 {"action":"http.get","class":"read","description":"GET a URL","destinations":["https://github.com/labstack/echo/releases"]},
 {"action":"inbox.deliver","class":"write","destinations":["the agent's team inbox"]},
 {"action":"slack.post_message","class":"write","destinations":["#deps","#releases"]}],
"budget":{"per_run":{"tokens":40000,"usd":"0.05"},"per_month":{"usd":"2.00"}},
"reviews":[
 {"version":1,"action":"submit","from_status":"draft","to_status":"in_review","actor":"alice","created_at":"2026-11-20T10:00:00Z"},
 {"version":1,"action":"approve","from_status":"in_review","to_status":"approved","actor":"rita","comment":"looks good","created_at":"2026-11-21T10:00:00Z"},
 {"version":2,"action":"submit","from_status":"draft","to_status":"in_review","actor":"alice","created_at":"2026-12-01T10:00:00Z"}]}`

	dossierReviewedText = `agent:        echo-digest@2 (team platform, owner alice)
status:       in_review; agent active, approved version 1
description:  Weekly digest of Echo releases.
purpose:      engineering-productivity: Flag breaking changes before the upgrade review.
outcome:      The team upgrades within a week.
value:        30 minutes saved per run
per run:      $0.00036, 1200 input + 300 output tokens (average of 3 dry runs)
per month:    $0.00144 for 4 runs
budget:       per run 40000 tokens, $0.05
budget:       per month $2.00
writes to:    nothing declared (only the team inbox)

ID         KIND       PURPOSE                     MODEL/ACTION        CLASS  DESTINATION
fetch      connector  Read the release notes.     http.get            read   https://github.com/labstack/echo/releases
summarize  llm        Pick out breaking changes.  gpt-4o-mini         -      -
post       connector  Post the digest.            slack.post_message  write  #deps
file       connector  Keep a copy.                inbox.deliver       write  the agent's team inbox

ACTION              CLASS  DESTINATIONS
http.get            read   https://github.com/labstack/echo/releases
inbox.deliver       write  the agent's team inbox
slack.post_message  write  #deps, #releases

TIME                  VERSION  ACTION   STATUS     ACTOR  COMMENT
2026-11-20 10:00:00Z  1        submit   in_review  alice
2026-11-21 10:00:00Z  1        approve  approved   rita   looks good
2026-12-01 10:00:00Z  2        submit   in_review  alice
`

	dossierDraft = `{"name":"echo-digest","team":"platform","owner":"alice","version":1,"version_status":"draft","status":"active",
"purpose":{"category":"research","statement":"Summarize the week's papers."},
"estimate_per_run":{"source":"forecast","dry_runs":0,"input_tokens":85,"output_tokens":1024,"cost_usd":"0","unpriced":true},
"monthly_forecast":null,
"steps":[{"id":"summarize","kind":"llm","purpose":"Summarize.","model":"house-model"}],
"actions":[],"budget":null,"reviews":[]}`

	dossierDraftText = `agent:      echo-digest@1 (team platform, owner alice)
status:     draft; agent active, no approved version
purpose:    research: Summarize the week's papers.
outcome:    not declared
value:      not declared
per run:    $0 + unpriced, 85 input + 1024 output tokens (forecast from the spec; input excludes referenced data)
per month:  no schedule declared
budget:     none declared
writes to:  nothing declared (only the team inbox)

ID         KIND  PURPOSE     MODEL/ACTION  CLASS  DESTINATION
summarize  llm   Summarize.  house-model   -      -

no reviews yet
`
)

func TestGovernanceCommands(t *testing.T) {
	tests := []clientCase{
		{
			name: "submit defaults to the latest version",
			args: []string{"agents", "submit", "echo-digest"},
			answers: map[string][]answer{
				"GET /v1/agents/echo-digest":                    {{200, echoDigest}},
				"POST /v1/agents/echo-digest/versions/2/submit": {{200, `{"name":"echo-digest","team":"platform","version":2,"version_status":"in_review"}`}},
			},
			wantOut:  "echo-digest@2 is now in_review\n",
			wantReqs: []string{"GET /v1/agents/echo-digest ", "POST /v1/agents/echo-digest/versions/2/submit "},
		},
		{
			name: "approve in another team with a comment",
			args: []string{"agents", "approve", "echo-digest", "--version", "2", "--comment", "ship it", "--team", "platform"},
			answers: map[string][]answer{
				"POST /v1/agents/echo-digest/versions/2/approve?team=platform": {{200, `{"name":"echo-digest","team":"platform","version":2,"version_status":"approved"}`}},
			},
			wantOut:  "echo-digest@2 is now approved\n",
			wantReqs: []string{`POST /v1/agents/echo-digest/versions/2/approve?team=platform Content-Type: application/json {"comment":"ship it"}`},
		},
		{
			name:     "approving your own agent is refused",
			args:     []string{"agents", "approve", "echo-digest", "--version", "2"},
			answers:  map[string][]answer{"POST /v1/agents/echo-digest/versions/2/approve": {{403, ownAgent}}},
			wantErr:  "error: nobody approves or decides on their own agent\n",
			wantReqs: []string{"POST /v1/agents/echo-digest/versions/2/approve "},
		},
		{
			name:    "approve needs a version",
			args:    []string{"agents", "approve", "echo-digest"},
			wantErr: "error: required flag(s) \"version\" not set\n",
		},
		{
			name: "reject with a comment",
			args: []string{"agents", "reject", "echo-digest", "--version", "2", "--comment", "posts outside the team"},
			answers: map[string][]answer{
				"POST /v1/agents/echo-digest/versions/2/reject": {{200, `{"name":"echo-digest","team":"platform","version":2,"version_status":"rejected"}`}},
			},
			wantOut:  "echo-digest@2 is now rejected\n",
			wantReqs: []string{`POST /v1/agents/echo-digest/versions/2/reject Content-Type: application/json {"comment":"posts outside the team"}`},
		},
		{
			name:    "reject needs a comment",
			args:    []string{"agents", "reject", "echo-digest", "--version", "2"},
			wantErr: "error: required flag(s) \"comment\" not set\n",
		},
		{
			name:     "rejecting your own agent is refused",
			args:     []string{"agents", "reject", "echo-digest", "--version", "2", "--comment", "never mind"},
			answers:  map[string][]answer{"POST /v1/agents/echo-digest/versions/2/reject": {{403, ownAgent}}},
			wantErr:  "error: nobody approves or decides on their own agent\n",
			wantReqs: []string{`POST /v1/agents/echo-digest/versions/2/reject Content-Type: application/json {"comment":"never mind"}`},
		},
		{
			name: "request-changes",
			args: []string{"agents", "request-changes", "echo-digest", "--version", "2", "--comment", "declare a budget"},
			answers: map[string][]answer{
				"POST /v1/agents/echo-digest/versions/2/request-changes": {{200, `{"name":"echo-digest","team":"platform","version":2,"version_status":"changes_requested"}`}},
			},
			wantOut:  "echo-digest@2 is now changes_requested\n",
			wantReqs: []string{`POST /v1/agents/echo-digest/versions/2/request-changes Content-Type: application/json {"comment":"declare a budget"}`},
		},
		{
			name:     "suspend",
			args:     []string{"agents", "suspend", "echo-digest", "--team", "platform", "--comment", "runaway cost"},
			answers:  map[string][]answer{"POST /v1/agents/echo-digest/suspend?team=platform": {{200, `{"name":"echo-digest","team":"platform","status":"suspended"}`}}},
			wantOut:  "echo-digest is now suspended\n",
			wantReqs: []string{`POST /v1/agents/echo-digest/suspend?team=platform Content-Type: application/json {"comment":"runaway cost"}`},
		},
		{
			name:     "resume",
			args:     []string{"agents", "resume", "echo-digest"},
			answers:  map[string][]answer{"POST /v1/agents/echo-digest/resume": {{200, `{"name":"echo-digest","team":"platform","status":"active"}`}}},
			wantOut:  "echo-digest is now active\n",
			wantReqs: []string{"POST /v1/agents/echo-digest/resume "},
		},
		{
			name: "dossier of the latest version",
			args: []string{"agents", "dossier", "echo-digest", "--team", "platform"},
			answers: map[string][]answer{
				"GET /v1/agents/echo-digest?team=platform":                    {{200, echoDigest}},
				"GET /v1/agents/echo-digest/versions/2/dossier?team=platform": {{200, dossierReviewed}},
			},
			wantOut:  dossierReviewedText,
			wantReqs: []string{"GET /v1/agents/echo-digest?team=platform ", "GET /v1/agents/echo-digest/versions/2/dossier?team=platform "},
		},
		{
			name:     "dossier of a draft with a forecast and nothing declared",
			args:     []string{"agents", "dossier", "echo-digest", "--version", "1"},
			answers:  map[string][]answer{"GET /v1/agents/echo-digest/versions/1/dossier": {{200, dossierDraft}}},
			wantOut:  dossierDraftText,
			wantReqs: []string{"GET /v1/agents/echo-digest/versions/1/dossier "},
		},
		{
			name:     "runs start --dry-run sends the version",
			args:     []string{"runs", "start", "echo-digest", "--dry-run", "--version", "2", "--team", "platform", "--input", "channel=#deps"},
			answers:  map[string][]answer{"POST /v1/agents/echo-digest/runs?team=platform": {{202, `{"id":"run_9","status":"running"}`}}},
			wantOut:  "run_9\n",
			wantReqs: []string{`POST /v1/agents/echo-digest/runs?team=platform Content-Type: application/json {"inputs":{"channel":"#deps"},"dry_run":true,"version":2}`},
		},
		{
			name: "keys create a reviewer key that expires",
			args: []string{"keys", "create", "--user", "rita", "--team", "security", "--role", "reviewer",
				"--review-team", "platform", "--review-team", "data", "--expires", "2027-01-01T00:00:00Z"},
			answers: map[string][]answer{"POST /v1/keys": {{201, `{"key":"tls_abc","id":"key_00112233aabbccdd","user":"rita","team":"security","role":"reviewer",
"review_teams":["platform","data"],"expires_at":"2027-01-01T00:00:00Z"}`}}},
			wantOut:  "tls_abc\n",
			wantErr:  "warning: key key_00112233aabbccdd for user rita (team security, role reviewer, reviews platform, data, expires 2027-01-01 00:00:00Z) is shown only once; store it now\n",
			wantReqs: []string{`POST /v1/keys Content-Type: application/json {"user":"rita","team":"security","role":"reviewer","review_teams":["platform","data"],"expires_at":"2027-01-01T00:00:00Z"}`},
		},
		{
			name:    "keys create refuses an expiry that is no RFC 3339 time",
			args:    []string{"keys", "create", "--user", "rita", "--team", "security", "--expires", "2027-01-01"},
			wantErr: "error: --expires \"2027-01-01\": want an RFC 3339 time such as 2027-01-01T00:00:00Z\n",
		},
		{
			name: "keys list",
			args: []string{"keys", "list"},
			answers: map[string][]answer{"GET /v1/keys": {{200, `{"items":[
 {"id":"key_00112233aabbccdd","prefix":"tls_abc123","user":"rita","team":"security","role":"reviewer","review_teams":["platform","data"],"created_by":"root","created_at":"2026-12-01T09:00:00Z","expires_at":"2027-01-01T00:00:00Z"},
 {"id":"key_ffeeddccbbaa9988","prefix":"tls_def456","user":"alice","team":"platform","role":"member","created_by":"alice","created_at":"2026-11-01T09:00:00+01:00","revoked_at":"2026-11-15T12:00:00Z"}]}`}}},
			wantOut: `ID                    USER   TEAM      ROLE      REVIEWS        CREATED               EXPIRES               REVOKED
key_00112233aabbccdd  rita   security  reviewer  platform,data  2026-12-01 09:00:00Z  2027-01-01 00:00:00Z  -
key_ffeeddccbbaa9988  alice  platform  member    -              2026-11-01 08:00:00Z  -                     2026-11-15 12:00:00Z
`,
			wantReqs: []string{"GET /v1/keys "},
		},
		{
			name:     "keys revoke",
			args:     []string{"keys", "revoke", "key_ffeeddccbbaa9988"},
			answers:  map[string][]answer{"DELETE /v1/keys/key_ffeeddccbbaa9988": {{204, ""}}},
			wantOut:  "key key_ffeeddccbbaa9988 revoked\n",
			wantReqs: []string{"DELETE /v1/keys/key_ffeeddccbbaa9988 "},
		},
		{
			name:     "keys revoke -o json prints nothing for no content",
			args:     []string{"keys", "revoke", "key_ffeeddccbbaa9988", "-o", "json"},
			answers:  map[string][]answer{"DELETE /v1/keys/key_ffeeddccbbaa9988": {{204, ""}}},
			wantReqs: []string{"DELETE /v1/keys/key_ffeeddccbbaa9988 "},
		},
		{
			name:     "keys revoke of an unknown key",
			args:     []string{"keys", "revoke", "key_nope"},
			answers:  map[string][]answer{"DELETE /v1/keys/key_nope": {{404, `{"type":"about:blank","title":"Not Found","status":404,"detail":"not found"}`}}},
			wantErr:  "error: not found\n",
			wantReqs: []string{"DELETE /v1/keys/key_nope "},
		},
		{
			name: "categories set from YAML sends JSON",
			args: []string{"categories", "set", "-f", "$DIR/categories.yaml"},
			files: map[string]string{"categories.yaml": `items:
  - name: research
    description: Finding and summarizing information.
    monthly_usd: 250.00
    monthly_tokens: 5000000
  - name: operations
    description: Keeping systems running.
`},
			answers: map[string][]answer{"PUT /v1/purpose-categories": {{200, `{"items":[
 {"name":"operations","description":"Keeping systems running."},
 {"name":"research","description":"Finding and summarizing information.","monthly_usd":"250","monthly_tokens":5000000}]}`}}},
			wantOut: `NAME        MONTHLY_USD  MONTHLY_TOKENS  DESCRIPTION
operations  -            -               Keeping systems running.
research    250          5000000         Finding and summarizing information.
`,
			wantReqs: []string{`PUT /v1/purpose-categories Content-Type: application/json {"items":[{"name":"research","description":"Finding and summarizing information.","monthly_usd":"250","monthly_tokens":5000000},{"name":"operations","description":"Keeping systems running."}]}`},
		},
		{
			name:    "categories set refuses an unknown YAML field",
			args:    []string{"categories", "set", "-f", "$DIR/categories.yml"},
			files:   map[string]string{"categories.yml": "items:\n  - name: research\n    budget: 5\n"},
			wantErr: "error: categories file \"$DIR/categories.yml\": yaml: unmarshal errors:\n  line 3: field budget not found in type main.purposeCategory\n",
		},
		{
			name:     "categories set sends a JSON file as is",
			args:     []string{"categories", "set", "-f", "$DIR/categories.json", "-o", "json"},
			files:    map[string]string{"categories.json": `{"items": [{"name": "research", "description": "Finding things out."}]}`},
			answers:  map[string][]answer{"PUT /v1/purpose-categories": {{200, `{"items":[{"name":"research","description":"Finding things out."}]}`}}},
			wantOut:  "{\n  \"items\": [\n    {\n      \"name\": \"research\",\n      \"description\": \"Finding things out.\"\n    }\n  ]\n}\n",
			wantReqs: []string{`PUT /v1/purpose-categories Content-Type: application/json {"items": [{"name": "research", "description": "Finding things out."}]}`},
		},
		{
			name: "budgets show a tokens line when tokens are limited",
			args: []string{"budgets"},
			answers: map[string][]answer{"GET /v1/budgets": {{200, `{"items":[
 {"scope":"agent:platform/x","window":"day","window_start":"2026-12-03","limit_usd":"1","limit_tokens":null,"spent_usd":"0.2","spent_tokens":123,"reserved_usd":"0","reserved_tokens":0,"remaining_usd":"0.8","remaining_tokens":null},
 {"scope":"team:platform","window":"month","window_start":"2026-12-01","limit_usd":"500","limit_tokens":2000000,"spent_usd":"12.5","spent_tokens":480000,"reserved_usd":"0.05","reserved_tokens":40000,"remaining_usd":"487.45","remaining_tokens":1480000},
 {"scope":"category:research","window":"month","window_start":"2026-12-01","limit_usd":null,"limit_tokens":null,"spent_usd":"3","spent_tokens":90000,"reserved_usd":"0","reserved_tokens":0,"remaining_usd":null,"remaining_tokens":null}]}`}}},
			wantOut: `SCOPE              WINDOW  START       LIMIT           SPENT          RESERVED      REMAINING
agent:platform/x   day     2026-12-03  $1              $0.2           $0            $0.8
team:platform      month   2026-12-01  $500            $12.5          $0.05         $487.45
                                       2000000 tokens  480000 tokens  40000 tokens  1480000 tokens
category:research  month   2026-12-01  -               $3             $0            -
`,
			wantReqs: []string{"GET /v1/budgets "},
		},
		{
			name:     "budgets set-team",
			args:     []string{"budgets", "set-team", "platform", "--usd", "500.00", "--tokens", "2000000"},
			answers:  map[string][]answer{"PUT /v1/teams/platform/budget": {{200, `{"team":"platform","monthly_usd":"500","monthly_tokens":2000000}`}}},
			wantOut:  "team platform monthly budget: $500, 2000000 tokens\n",
			wantReqs: []string{`PUT /v1/teams/platform/budget Content-Type: application/json {"monthly_usd":"500.00","monthly_tokens":2000000}`},
		},
		{
			name:    "budgets set-team needs a limit",
			args:    []string{"budgets", "set-team", "platform"},
			wantErr: "error: at least one of the flags in the group [usd tokens] is required\n",
		},
		{
			name: "catalog with filters",
			args: []string{"catalog", "--status", "in_review", "--team", "platform", "--category", "research", "--sort", "cost_30d"},
			answers: map[string][]answer{"GET /v1/catalog?category=research&sort=cost_30d&status=in_review&team=platform": {{200, `{"items":[
 {"name":"echo-digest","team":"platform","owner":"alice","category":"research","status":"active","version_status":"in_review","latest_version":2,"approved_version":1,
  "runs_7d":4,"runs_30d":17,"tokens_7d":6000,"tokens_30d":25500,"cost_7d_usd":"0.0015","cost_30d_usd":"0.0061","unpriced_entries_30d":0,"simulated_cost_30d_usd":"0.001","budget_state":"ok"},
 {"name":"paper-brief","team":"platform","owner":"bob","category":"research","status":"suspended","version_status":"in_review","latest_version":1,
  "runs_7d":0,"runs_30d":2,"tokens_7d":0,"tokens_30d":1400,"cost_7d_usd":"0","cost_30d_usd":"0","unpriced_entries_30d":2,"simulated_cost_30d_usd":"0","budget_state":""}]}`}}},
			wantOut: `AGENT        TEAM      OWNER  CATEGORY  STATUS     REVIEW     LATEST/APPROVED  RUNS(7D/30D)  TOKENS(30D)  COST(30D,USD)   BUDGET
echo-digest  platform  alice  research  active     in_review  2/1              4/17          25500        0.0061          ok
paper-brief  platform  bob    research  suspended  in_review  1/-              0/2           1400         0 + 2 unpriced  -
`,
			wantReqs: []string{"GET /v1/catalog?category=research&sort=cost_30d&status=in_review&team=platform "},
		},
		{
			name:     "catalog --csv prints the server's CSV as is",
			args:     []string{"catalog", "--csv", "--owner", "alice"},
			answers:  map[string][]answer{"GET /v1/catalog?format=csv&owner=alice": {{200, "name,team,cost_30d_usd\r\necho-digest,platform,0.0061\r\n"}}},
			wantOut:  "name,team,cost_30d_usd\r\necho-digest,platform,0.0061\r\n",
			wantReqs: []string{"GET /v1/catalog?format=csv&owner=alice "},
		},
		{
			name: "audit",
			args: []string{"audit", "--after", "40", "--team", "platform"},
			answers: map[string][]answer{"GET /v1/audit?after=40&team=platform": {{200, `{"items":[
 {"id":41,"at":"2026-12-01T10:00:00Z","actor":"alice","actor_role":"member","action":"agent.submit","object_kind":"agent_version","object_id":"platform/echo-digest@2","team":"platform"},
 {"id":42,"at":"2026-12-01T11:00:00Z","actor":"root","actor_role":"admin","action":"key.issued","object_kind":"api_key","object_id":"","detail":"user=rita role=reviewer"},
 {"id":43,"at":"2026-12-01T12:00:00Z","actor":"rita","actor_role":"reviewer","action":"agent.reject","object_kind":"agent_version","object_id":"platform/echo-digest@2","team":"platform","detail":"posts outside the team"}],
"next_after":43}`}}},
			wantOut: `ID  TIME                  ACTOR  ROLE      ACTION        OBJECT                                TEAM      DETAIL
41  2026-12-01 10:00:00Z  alice  member    agent.submit  agent_version:platform/echo-digest@2  platform
42  2026-12-01 11:00:00Z  root   admin     key.issued    api_key                               -         user=rita role=reviewer
43  2026-12-01 12:00:00Z  rita   reviewer  agent.reject  agent_version:platform/echo-digest@2  platform  posts outside the team
more: --after 43
`,
			wantReqs: []string{"GET /v1/audit?after=40&team=platform "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.check)
	}
}
