package stack

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestWeeklyJiraTriage is the acceptance scenario against local
// protocol-level servers: an agent step reads Jira issues, triages them with
// tools, comments on one and posts a summary to Slack; it is scheduled
// weekly in the user's time zone with a monthly forecast; and every outcome
// reference lands in the ledger.
func TestWeeklyJiraTriage(t *testing.T) {
	var mu sync.Mutex
	var jiraComments, slackPosts []string
	jira := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "POST" && r.URL.Path == "/rest/api/3/search/jql":
			fmt.Fprint(w, `{"issues":[{"id":"10001","key":"ENG-1","fields":{"summary":"Login fails after the Echo upgrade","status":{"name":"To Do"},"priority":{"name":"High"},"labels":["upgrade"]}},
				{"id":"10002","key":"ENG-2","fields":{"summary":"Typo in the footer","status":{"name":"To Do"},"priority":{"name":"Low"},"labels":[]}}],"isLast":true}`)
		case r.Method == "POST" && r.URL.Path == "/rest/api/3/issue/ENG-1/comment":
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			jiraComments = append(jiraComments, string(b))
			mu.Unlock()
			fmt.Fprint(w, `{"id":"20001","body":{"type":"doc","version":1,"content":[]}}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"errorMessages":["not found"],"errors":{}}`)
		}
	}))
	defer jira.Close()
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/chat.postMessage":
			mu.Lock()
			slackPosts = append(slackPosts, r.Form.Get("channel")+": "+r.Form.Get("text"))
			mu.Unlock()
			fmt.Fprint(w, `{"ok":true,"channel":"C0TRIAGE","ts":"1700000000.000100"}`)
		case "/api/chat.getPermalink":
			fmt.Fprint(w, `{"ok":true,"channel":"C0TRIAGE","permalink":"https://acme.slack.com/archives/C0TRIAGE/p1700000000000100"}`)
		default:
			fmt.Fprint(w, `{"ok":false,"error":"unknown_method"}`)
		}
	}))
	defer slack.Close()
	model := newScriptedModel(t,
		toolCall("c1", "jira__search", `{"jql":"project = ENG AND status = \"To Do\"","max_results":20}`),
		toolCall("c2", "jira__comment", `{"key":"ENG-1","body":"Triage: high priority, likely caused by the Echo v5 upgrade."}`),
		toolCall("c3", "slack__post_message", `{"channel":"#eng-triage","text":"Triage: ENG-1 is urgent (Echo upgrade), ENG-2 can wait."}`),
		answer("Commented on ENG-1 and posted the summary to #eng-triage."),
	)
	s := startStack(t, Config{OpenAIBaseURL: model.URL + "/v1", OpenAIAPIKey: "sk-test", JiraURL: jira.URL, JiraEmail: "bot@acme.com", SlackAPIURL: slack.URL + "/api/"})
	c := withApprover(t, apiClient{t: t, url: s.URL, key: testAdminKey})
	for name, value := range map[string]string{JiraTokenSecret: "jira-api-token", SlackTokenSecret: "xoxb-triage"} {
		c.json("POST", "/v1/secrets", map[string]string{"name": name, "value": value}, http.StatusCreated, nil)
	}
	c.apply(`apiVersion: telos/v1
kind: Agent
metadata: { name: weekly-triage }
spec:
  purpose: { category: engineering-productivity, statement: Triage new ENG issues every Monday so urgent regressions get an owner the same day. }
  model: gpt-4o-mini
  allow:
    jira: [ENG]
    slack: ["#eng-triage"]
  steps:
    - id: triage
      purpose: Read open ENG issues, comment on the urgent ones and post a summary.
      agent:
        system: You triage Jira issues for the platform team.
        prompt: Triage this week's open ENG issues, comment on urgent ones, then post a summary to #eng-triage.
        tools: [jira.search, jira.comment, slack.post_message]
`)
	var sch scheduleDoc
	c.json("POST", "/v1/agents/weekly-triage/schedules", map[string]any{"cron": "0 9 * * MON", "timezone": "Europe/Berlin"}, http.StatusCreated, &sch)
	if sch.Forecast.RunsPerMonth < 4 || sch.Forecast.RunsPerMonth > 5 || sch.Forecast.Cost == "" || sch.Forecast.Cost == "0" {
		t.Errorf("forecast: got %+v, want 4-5 runs a month with a cost", sch.Forecast)
	}
	c.json("POST", "/v1/agents/weekly-triage/schedules/"+sch.ID+"/trigger", nil, http.StatusAccepted, nil)
	run := waitScheduledRun(t, c, "weekly-triage", "schedule:"+sch.ID)
	if run.Status != "completed" {
		t.Fatalf("run: got %q (%s)", run.Status, run.Error)
	}
	var led struct {
		Items []struct {
			Kind       string `json:"kind"`
			Action     string `json:"action"`
			Status     string `json:"status"`
			OutcomeRef string `json:"outcome_ref"`
			Trigger    string `json:"trigger"`
		} `json:"items"`
	}
	c.json("GET", "/v1/runs/"+run.ID+"/ledger", nil, http.StatusOK, &led)
	var refs []string
	for _, e := range led.Items {
		if e.Status != "completed" || e.Trigger != "schedule:"+sch.ID {
			t.Errorf("entry %+v: want completed with the schedule trigger", e)
		}
		if e.OutcomeRef != "" {
			refs = append(refs, e.Action+" "+e.OutcomeRef)
		}
	}
	want := []string{
		"jira.comment " + jira.URL + "/browse/ENG-1?focusedCommentId=20001",
		"slack.post_message https://acme.slack.com/archives/C0TRIAGE/p1700000000000100",
	}
	if fmt.Sprint(refs) != fmt.Sprint(want) {
		t.Errorf("outcome refs:\ngot  %v\nwant %v", refs, want)
	}
	if len(led.Items) != 7 {
		t.Errorf("ledger: got %d entries, want 4 turns and 3 tool calls", len(led.Items))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(jiraComments) != 1 || !strings.Contains(jiraComments[0], "likely caused by the Echo v5 upgrade") {
		t.Errorf("jira comments: %v", jiraComments)
	}
	if len(slackPosts) != 1 || !strings.HasPrefix(slackPosts[0], "#eng-triage: Triage: ENG-1 is urgent") {
		t.Errorf("slack posts: %v", slackPosts)
	}
}
