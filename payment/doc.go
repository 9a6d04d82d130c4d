// Package payment owns the payment lifecycle: creating payments (through a
// window, at once by card data, as a virtual account), the window's
// result, confirmation, cancels in full and in part, net-cancels, virtual
// accounts and their deposits, cash receipts, and the sweeper that settles
// what a lost PG answer left open. Service is the one writer of payments,
// cancellations, cash receipts and pre-registrations: every state change
// goes through paystate, and is written with its event and its webhook
// deliveries (the outbox) in one transaction.
//
// Service is also the one writer of channels (a store's PG contracts): it
// opens them for every charge, so it creates, changes and deletes them,
// seals their secrets, and forgets the ones it keeps open when they
// change. A store's default channel of a mode and purpose is the one a
// payment naming no channel goes through: the first channel of its mode
// and purpose becomes it, another takes it over only by being made the
// default, and it is deleted only as the last of its mode and purpose.
//
// The package speaks Go and ent, not any wire format: inputs are Go
// structs, results are ent entities, refusals are apierr errors. Each
// surface (server/ for Connect, gRPC and REST; the pages; compatibility
// APIs) maps them.
package payment
