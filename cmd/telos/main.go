// Command telos is the Telos binary: `telos dev` runs the whole platform on
// embedded defaults, `telos server` and `telos worker` run the production
// parts, and the client commands (agents, runs, usage, …) call the REST API.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		os.Exit(1)
	}
}

// run executes the command line args; it is main without the process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	root := &cobra.Command{
		Use:           "telos",
		Short:         "Telos runs AI agents as durable workflows and accounts for every token",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(serveCommands(getenv, stdout, stderr)...)
	root.AddCommand(clientCommands(getenv, stdout, stderr)...)
	root.AddCommand(migrateCommand(getenv, stdout))
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
	}
	return err
}
