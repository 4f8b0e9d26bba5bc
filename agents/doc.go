// Package agents is the Telos domain: the agent spec (v1) and its validation,
// `${{ }}` data references, prices and exact cost arithmetic. It imports no
// HTTP framework, workflow engine, Redis client or SQL driver.
package agents
