package app

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/paymux/paymux/config"
	"github.com/paymux/paymux/internal/testdb"
	"github.com/paymux/paymux/secrets"
)

func TestRoles(t *testing.T) {
	cases := []struct {
		role    Role
		runners []string
		api     int // status of GET /v1/keys without credentials
	}{
		{RoleAll, []string{"call log writer", "sandbox state", "key usage", "sweeper", "order expiry", "webhook dispatcher", "scheduler", "housekeeping"}, http.StatusUnauthorized},
		{RoleAPI, []string{"call log writer", "sandbox state", "key usage"}, http.StatusUnauthorized},
		{RoleWorker, []string{"call log writer", "sandbox state", "sweeper", "order expiry", "webhook dispatcher", "scheduler", "housekeeping"}, http.StatusNotFound},
	}
	for _, c := range cases {
		t.Run(string(c.role), func(t *testing.T) {
			cfg, err := config.Load(config.NewViper(), "")
			if err != nil {
				t.Fatal(err)
			}
			cfg.DataDir = t.TempDir()
			keyring, err := secrets.NewKeyring(bytes.Repeat([]byte{7}, 32))
			if err != nil {
				t.Fatal(err)
			}
			db := testdb.SQLite(t)
			hash, _, err := Bootstrap(context.Background(), db, keyring, cfg)
			if err != nil {
				t.Fatal(err)
			}
			a, err := New(Options{Config: cfg, DB: db, Keyring: keyring, AdminTokenHash: hash, Role: c.role})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			var names []string
			for _, r := range a.runners() {
				names = append(names, r.name)
			}
			if !slices.Equal(names, c.runners) {
				t.Errorf("runners %v, want %v", names, c.runners)
			}
			for path, want := range map[string]int{"/v1/keys": c.api, "/healthz": http.StatusOK} {
				w := httptest.NewRecorder()
				a.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
				if w.Code != want {
					t.Errorf("GET %s: %d, want %d", path, w.Code, want)
				}
			}
		})
	}
	if _, err := ParseRole("workers"); err == nil {
		t.Error("ParseRole took a misspelt role")
	}
}
