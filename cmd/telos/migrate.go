package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/telos-dev/telos/store"
)

// migrateCommand creates or upgrades the store's schema and prints its version.
// Servers and workers migrate on start too; running this first lets a deploy
// upgrade the schema once, before the new replicas roll out.
func migrateCommand(getenv func(string) string, stdout io.Writer) *cobra.Command {
	c := &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the database schema (PostgreSQL or SQLite)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			flag, _ := cmd.Flags().GetString("database-url")
			target := firstNonEmpty(flag, getenv("TELOS_DATABASE_URL"), getenv("TELOS_DATABASE_PATH"), "./.telos/telos.db")
			st, err := store.Open(cmd.Context(), target)
			if err != nil {
				return err
			}
			defer st.Close()
			v, err := st.SchemaVersion(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s schema is at version %d\n", st.Dialect(), v)
			return nil
		},
	}
	c.Flags().String("database-url", "", "postgres:// URL or SQLite file (default: $TELOS_DATABASE_URL, $TELOS_DATABASE_PATH, ./.telos/telos.db)")
	return c
}
