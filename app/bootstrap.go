package app

import (
	"context"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/config"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/secrets"
)

// FirstRun is what a first run created and must be shown once.
type FirstRun = account.FirstRun

// Bootstrap prepares db for an App built from Options without an
// account.Service: it runs account.Service.Bootstrap with the configured
// admin token and returns the hash Options.AdminTokenHash takes, and what a
// first run created. cmd/paymux builds the account.Service itself.
func Bootstrap(ctx context.Context, db *ent.Client, keyring *secrets.Keyring, cfg config.Config) ([]byte, FirstRun, error) {
	accounts := account.New(account.Options{DB: db, Keyring: keyring})
	first, err := accounts.Bootstrap(ctx, cfg.AdminToken)
	if err != nil {
		return nil, FirstRun{}, err
	}
	return accounts.AdminTokenHash(), first, nil
}
