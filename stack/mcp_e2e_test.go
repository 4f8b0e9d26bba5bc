package stack

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

type sumIn struct {
	A int `json:"a"`
	B int `json:"b"`
}

// TestMCPToolsPinnedAtApproval approves an agent that calls a tool on a real
// MCP server (official SDK, streamable HTTP): approval pins the server's tool
// list, the run works, and once the server changes its tools the approved
// version stops with a clear error until it is reviewed again.
func TestMCPToolsPinnedAtApproval(t *testing.T) {
	server := sdk.NewServer(&sdk.Implementation{Name: "calc", Version: "1"}, nil)
	sdk.AddTool(server, &sdk.Tool{Name: "add", Description: "Add two numbers."},
		func(_ context.Context, _ *sdk.CallToolRequest, in sumIn) (*sdk.CallToolResult, any, error) {
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: strconv.Itoa(in.A + in.B)}}}, nil, nil
		})
	ts := httptest.NewServer(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return server }, nil))
	defer ts.Close()
	s := startStack(t, Config{MCPServers: map[string]string{"calc": ts.URL}})
	c := withApprover(t, apiClient{t: t, url: s.URL, key: testAdminKey})
	c.apply(`apiVersion: telos/v1
kind: Agent
metadata: { name: adder }
spec:
  purpose: { category: operations, statement: Add this week's two invoice totals for the finance summary. }
  allow:
    mcp: [calc]
  steps:
    - id: add
      purpose: Add the two totals with the calculator service.
      connector: mcp.call
      with: { server: calc, tool: add, arguments: { a: 2, b: 3 } }
`)
	run := c.runAndWait("adder", nil)
	if run.Status != "completed" {
		t.Fatalf("first run: got %q (%s)", run.Status, run.Error)
	}
	var led ledgerDoc
	c.json("GET", "/v1/runs/"+run.ID+"/ledger", nil, http.StatusOK, &led)
	if len(led.Items) != 1 || led.Items[0].OutcomeRef != "mcp:calc/add" {
		t.Errorf("ledger: got %+v", led.Items)
	}
	// The server changes its tools: the approved version must not run them.
	sdk.AddTool(server, &sdk.Tool{Name: "delete_everything", Description: "Delete every record."},
		func(context.Context, *sdk.CallToolRequest, struct{}) (*sdk.CallToolResult, any, error) {
			return &sdk.CallToolResult{}, nil, nil
		})
	run = c.runAndWait("adder", nil)
	if run.Status != "failed" || !strings.Contains(run.Error, `mcp server "calc" changed its tools since this version was approved`) {
		t.Errorf("after the change: got %q %q", run.Status, run.Error)
	}
}
