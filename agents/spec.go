package agents

// The agent spec, v1. Field names follow DESIGN.md; json tags are the wire
// names for both JSON and YAML documents.

// APIVersion and Kind are the only values a v1 document may carry.
const (
	APIVersion = "telos/v1"
	KindAgent  = "Agent"
)

// Agent is one agent document.
type Agent struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	Spec       Spec     `json:"spec"`
}

// Metadata names the agent. Team may be omitted: the server takes it from the
// caller's API key, and a team that differs from the caller's is refused.
type Metadata struct {
	Name   string            `json:"name"`
	Team   string            `json:"team,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// Spec is what the agent is for and what it does.
type Spec struct {
	Description string           `json:"description,omitempty"`
	Purpose     Purpose          `json:"purpose"`
	Model       string           `json:"model,omitempty"`
	Budget      *Budget          `json:"budget,omitempty"`
	Inputs      map[string]Input `json:"inputs,omitempty"`
	Steps       []Step           `json:"steps"`
	// Allow declares where the agent may write, per connector: Slack
	// channels, GitHub repositories, Jira projects, email domains, HTTP
	// hosts. A write anywhere else is refused at run time.
	Allow map[string][]string `json:"allow,omitempty"`
}

// Purpose is the business reason an agent exists and what it should produce.
type Purpose struct {
	Category  string `json:"category"`
	Statement string `json:"statement"`
	Outcome   string `json:"outcome,omitempty"`
	Value     *Value `json:"value,omitempty"`
}

// Value is the maker's declared value of one run.
type Value struct {
	MinutesSavedPerRun *float64 `json:"minutes_saved_per_run,omitempty"`
}

// Budget holds hard limits. Amounts are decimal strings ("0.05").
type Budget struct {
	PerRun   *Limit `json:"per_run,omitempty"`
	PerDay   *Limit `json:"per_day,omitempty"`
	PerMonth *Limit `json:"per_month,omitempty"`
}

// Limit caps tokens, dollars or both; nil fields are not limited.
type Limit struct {
	Tokens *int64  `json:"tokens,omitempty"`
	USD    *string `json:"usd,omitempty"`
}

// Input declares one run input.
type Input struct {
	Type        string `json:"type"` // string | number | integer | boolean | object | array
	Required    bool   `json:"required,omitempty"`
	Default     any    `json:"default,omitempty"`
	Description string `json:"description,omitempty"`
}

// Step is one unit of work: exactly one of Connector or LLM is set.
type Step struct {
	ID        string         `json:"id"`
	Purpose   string         `json:"purpose"`
	Connector string         `json:"connector,omitempty"`
	With      map[string]any `json:"with,omitempty"`
	LLM       *LLMStep       `json:"llm,omitempty"`
	Agent     *AgentStep     `json:"agent,omitempty"`
	// TimeoutSeconds bounds one attempt of the step; 0 means the kind's default.
	TimeoutSeconds int `json:"timeout_seconds,omitempty"`
}

// LLMStep asks a model for an answer.
type LLMStep struct {
	Model       string   `json:"model,omitempty"` // defaults to spec.model
	System      string   `json:"system,omitempty"`
	Prompt      string   `json:"prompt"`
	MaxTokens   int      `json:"max_tokens,omitempty"`
	Temperature *float64 `json:"temperature,omitempty"`
}

// AgentStep is an LLM loop that calls a declared subset of connector
// actions as tools until it answers or a limit ends it.
type AgentStep struct {
	Model        string   `json:"model,omitempty"` // defaults to spec.model
	System       string   `json:"system,omitempty"`
	Prompt       string   `json:"prompt"`
	Tools        []string `json:"tools"`
	MaxTurns     int      `json:"max_turns,omitempty"`      // default 8
	MaxToolCalls int      `json:"max_tool_calls,omitempty"` // default 16
	MaxTokens    int      `json:"max_tokens,omitempty"`     // per turn, default 1024
	TokenBudget  int64    `json:"token_budget,omitempty"`   // all turns together, default 50000
}

// Agent step defaults and bounds.
const (
	DefaultMaxTurns     = 8
	DefaultMaxToolCalls = 16
	DefaultTokenBudget  = 50000
	maxAgentTurns       = 32
	maxAgentToolCalls   = 64
)

// Limits returns the step's limits with defaults applied.
func (a AgentStep) Limits() (turns, calls int, tokens int64) {
	turns, calls, tokens = a.MaxTurns, a.MaxToolCalls, a.TokenBudget
	if turns == 0 {
		turns = DefaultMaxTurns
	}
	if calls == 0 {
		calls = DefaultMaxToolCalls
	}
	if tokens == 0 {
		tokens = DefaultTokenBudget
	}
	return turns, calls, tokens
}

// Kind names what a step does: "llm", "agent" or "connector".
func (s Step) Kind() string {
	switch {
	case s.LLM != nil:
		return "llm"
	case s.Agent != nil:
		return "agent"
	}
	return "connector"
}

// FieldError is one validation failure at a field path such as
// "spec.steps[1].purpose".
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (e FieldError) Error() string {
	if e.Path == "" { // the document as a whole
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// ValidationError carries every FieldError found in one document.
type ValidationError struct {
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	if len(e.Errors) == 0 {
		return "invalid"
	}
	if len(e.Errors) == 1 {
		return "invalid: " + e.Errors[0].Error()
	}
	return "invalid: " + e.Errors[0].Error() + " (and more)"
}

// ActionCatalog tells validation which connector actions exist and which
// parameters each requires. The connector registry implements it.
type ActionCatalog interface {
	// Action reports whether id (e.g. "http.get") exists and its required and optional parameters.
	Action(id string) (required, optional []string, ok bool)
}

// MCPServers lists the MCP servers a spec may call: those declared in
// spec.allow.mcp and those named literally by mcp steps. Approval pins each
// one's tool list.
func (s Spec) MCPServers() []string {
	seen := map[string]bool{}
	for _, v := range s.Allow["mcp"] {
		seen[v] = true
	}
	for _, st := range s.Steps {
		if len(st.Connector) > 4 && st.Connector[:4] == "mcp." {
			if v, ok := st.With["server"].(string); ok && v != "" && !containsRef(v) {
				seen[v] = true
			}
		}
	}
	return sortedKeys(seen)
}

func containsRef(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		if s[i:i+3] == "${{" {
			return true
		}
	}
	return false
}
