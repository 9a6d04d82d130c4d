// Package billing owns billing keys and schedules: issuing a key from card
// data or through the PG's billing window, charging it now, deleting it
// with its schedules, scheduling charges (create, revoke, reschedule), and
// the Scheduler that charges due schedules, each exactly once. Service is
// the one writer of billing keys and schedules; every charge goes through
// payment.Service (write-ahead PAY_PENDING, then the PG's answer), and the
// transition that settles a scheduled charge's payment ends its schedule
// in the same transaction (Scheduler.EndSchedule).
//
// The package speaks Go and ent, not any wire format: inputs are Go
// structs, results are ent entities, refusals are apierr errors. Each
// surface (server/ for Connect, gRPC and REST; the pages; compatibility
// APIs) maps them, and renders the data of billing's events for it.
package billing
