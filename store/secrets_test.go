package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestSecrets(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		s.now = clock(t0)
		audit := func(actor string) AuditEntry {
			return AuditEntry{Actor: actor, ActorRole: RoleMember, Action: "secret.put"}
		}
		sealed := func(team, name, ct string) Secret {
			return Secret{Team: team, Name: name, Ciphertext: []byte(ct), Nonce: []byte("nonce-" + ct), CreatedBy: "ana"}
		}

		// t0: first write; +1ms its audit record; +2ms the replacement.
		got, err := s.PutSecret(ctx, sealed("platform", "slack-token", "ct-1"), audit("ana"))
		if err != nil {
			t.Fatalf("put: %v", err)
		}
		if got.Version != 1 || !got.CreatedAt.Equal(t0) || !got.UpdatedAt.Equal(t0) || got.CreatedBy != "ana" {
			t.Errorf("first put: got version %d created %v updated %v by %q, want 1, %v, %v, ana", got.Version, got.CreatedAt, got.UpdatedAt, got.CreatedBy, t0, t0)
		}
		replaced := sealed("platform", "slack-token", "ct-2")
		replaced.CreatedBy = "pat" // the creator stays who created it
		got, err = s.PutSecret(ctx, replaced, audit("pat"))
		if err != nil {
			t.Fatalf("put again: %v", err)
		}
		t2 := t0.Add(2e6)
		if got.Version != 2 || !got.CreatedAt.Equal(t0) || !got.UpdatedAt.Equal(t2) || got.CreatedBy != "ana" {
			t.Errorf("second put: got version %d created %v updated %v by %q, want 2, %v, %v, ana", got.Version, got.CreatedAt, got.UpdatedAt, got.CreatedBy, t0, t2)
		}
		if _, err := s.PutSecret(ctx, sealed("payments", "slack-token", "ct-3"), audit("bo")); err != nil {
			t.Fatalf("put other team: %v", err)
		}
		if _, err := s.PutSecret(ctx, sealed("platform", "jira-token", "ct-4"), audit("ana")); err != nil {
			t.Fatalf("put second name: %v", err)
		}

		sec, err := s.Secret(ctx, "platform", "slack-token")
		if err != nil {
			t.Fatalf("secret: %v", err)
		}
		if string(sec.Ciphertext) != "ct-2" || string(sec.Nonce) != "nonce-ct-2" || sec.Version != 2 {
			t.Errorf("secret: got %q %q version %d, want ct-2 nonce-ct-2 version 2", sec.Ciphertext, sec.Nonce, sec.Version)
		}
		if _, err := s.Secret(ctx, "platform", "github-token"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown secret: got %v, want ErrNotFound", err)
		}
		if _, err := s.Secret(ctx, "marketing", "slack-token"); !errors.Is(err, ErrNotFound) {
			t.Errorf("another team's name: got %v, want ErrNotFound", err)
		}

		names, err := s.SecretNames(ctx, "platform")
		if err != nil {
			t.Fatalf("names: %v", err)
		}
		var listed []string
		for _, n := range names {
			if n.Ciphertext != nil || n.Nonce != nil {
				t.Errorf("listing of %s carries ciphertext", n.Name)
			}
			listed = append(listed, n.Team+"/"+n.Name)
		}
		if want := []string{"platform/jira-token", "platform/slack-token"}; !reflect.DeepEqual(listed, want) {
			t.Errorf("names: got %v, want %v", listed, want)
		}

		if err := s.DeleteSecret(ctx, "platform", "jira-token", AuditEntry{Actor: "ana", ActorRole: RoleMember, Action: "secret.deleted"}); err != nil {
			t.Fatalf("delete: %v", err)
		}
		if err := s.DeleteSecret(ctx, "platform", "jira-token", AuditEntry{Actor: "ana", Action: "secret.deleted"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("delete again: got %v, want ErrNotFound", err)
		}
		if names, _ := s.SecretNames(ctx, "platform"); len(names) != 1 || names[0].Name != "slack-token" {
			t.Errorf("after delete: got %+v, want slack-token only", names)
		}

		entries, err := s.Audit(ctx, AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var trail []string
		for _, e := range entries {
			trail = append(trail, strings.Join([]string{e.Actor, e.Action, e.ObjectKind, e.Team + "/" + e.ObjectID, e.BeforeHash, e.AfterHash, e.Detail}, " "))
			for _, ct := range []string{"ct-1", "ct-2", "ct-3", "ct-4"} {
				if strings.Contains(trail[len(trail)-1], ct) {
					t.Errorf("audit record %q holds ciphertext", trail[len(trail)-1])
				}
			}
		}
		h := func(team, name string, v int) string { return secretHash(team, name, v) }
		want := []string{
			"ana secret.put secret platform/slack-token  " + h("platform", "slack-token", 1) + " created",
			"pat secret.put secret platform/slack-token " + h("platform", "slack-token", 1) + " " + h("platform", "slack-token", 2) + " replaced (version 2)",
			"bo secret.put secret payments/slack-token  " + h("payments", "slack-token", 1) + " created",
			"ana secret.put secret platform/jira-token  " + h("platform", "jira-token", 1) + " created",
			"ana secret.deleted secret platform/jira-token " + h("platform", "jira-token", 1) + "  deleted",
		}
		if !reflect.DeepEqual(trail, want) {
			t.Errorf("audit:\ngot  %q\nwant %q", trail, want)
		}
		if h("platform", "slack-token", 1) != Hash([]byte("platform/slack-token#1")) {
			t.Errorf("secretHash is not the hash of team/name#version")
		}
	})
}
