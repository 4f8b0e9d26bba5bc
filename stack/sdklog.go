package stack

import (
	"context"
	"log/slog"
	"strings"
)

// expectedStepEnds are the error types of steps that ended by design — a
// budget refusal, a refused write, an agent step at its limit, bad input —
// which the Temporal SDK would otherwise log as errors.
var expectedStepEnds = []string{"type: budget_exceeded", "type: refused", "type: agent_limit", "type: invalid"}

// quietExpected is a slog handler for the Temporal SDK's logger that logs
// "Activity error." records of expected step ends at info level: the ledger
// and the run already record them, and an operator's error log should hold
// only what needs attention.
type quietExpected struct{ slog.Handler }

func (h quietExpected) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelError && r.Message == "Activity error." {
		expected := false
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "Error" {
				for _, t := range expectedStepEnds {
					expected = expected || strings.Contains(a.Value.String(), t)
				}
			}
			return true
		})
		if expected {
			if !h.Handler.Enabled(ctx, slog.LevelInfo) {
				return nil
			}
			info := slog.NewRecord(r.Time, slog.LevelInfo, r.Message, r.PC)
			r.Attrs(func(a slog.Attr) bool { info.AddAttrs(a); return true })
			r = info
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietExpected) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietExpected{h.Handler.WithAttrs(attrs)}
}

func (h quietExpected) WithGroup(name string) slog.Handler {
	return quietExpected{h.Handler.WithGroup(name)}
}
