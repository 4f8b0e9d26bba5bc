package agents

import (
	"fmt"
	"net/mail"
	"net/url"
	"strings"
)

// AllowConnectors are the connectors whose write destinations an agent must
// declare in spec.allow. inbox writes only to the agent's own team and needs
// no declaration.
var AllowConnectors = []string{"email", "github", "http", "jira", "mcp", "slack"}

// DestinationAllowed reports whether a write of connector to dest is declared
// in allow. It is the defence against a prompt or a document talking an agent
// into writing somewhere its owner never meant: whatever the model asks for,
// an undeclared destination is refused.
//
// Matching: slack channels by name with or without "#", case-insensitively;
// github repositories "owner/name" or "owner/*"; jira projects by key (an
// issue key ABC-123 belongs to project ABC); email recipients by domain
// (every recipient must match); http by URL host (host or host:port); mcp by
// server name.
func DestinationAllowed(allow map[string][]string, connector string, dest any) (bool, string) {
	patterns := allow[connector]
	switch connector {
	case "inbox":
		return true, ""
	case "email":
		addrs, err := recipients(dest)
		if err != nil || len(addrs) == 0 {
			return false, fmt.Sprintf("%v", dest)
		}
		for _, a := range addrs {
			_, domain, _ := strings.Cut(strings.ToLower(a), "@")
			if !containsFold(patterns, domain) {
				return false, a
			}
		}
		return true, ""
	}
	s, _ := dest.(string)
	if s == "" {
		return false, fmt.Sprintf("%v", dest)
	}
	switch connector {
	case "slack":
		norm := func(c string) string { return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(c), "#")) }
		for _, p := range patterns {
			if norm(p) == norm(s) {
				return true, ""
			}
		}
	case "github":
		owner, _, _ := strings.Cut(s, "/")
		for _, p := range patterns {
			if strings.EqualFold(p, s) || strings.EqualFold(p, owner+"/*") {
				return true, ""
			}
		}
	case "mcp":
		if containsFold(patterns, s) {
			return true, ""
		}
	case "jira":
		project, _, _ := strings.Cut(s, "-")
		if containsFold(patterns, project) {
			return true, ""
		}
	case "http":
		u, err := url.Parse(s)
		if err == nil && (containsFold(patterns, u.Host) || containsFold(patterns, u.Hostname())) {
			return true, ""
		}
	}
	return false, s
}

func recipients(v any) ([]string, error) {
	var raw []string
	switch t := v.(type) {
	case string:
		raw = strings.Split(t, ",")
	case []any:
		for _, x := range t {
			s, _ := x.(string)
			raw = append(raw, s)
		}
	}
	var out []string
	for _, r := range raw {
		if strings.TrimSpace(r) == "" {
			continue
		}
		a, err := mail.ParseAddress(strings.TrimSpace(r))
		if err != nil {
			return nil, err
		}
		out = append(out, a.Address)
	}
	return out, nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(strings.TrimSpace(v), s) {
			return true
		}
	}
	return false
}
