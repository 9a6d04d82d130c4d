// Package account owns who may call paymux: stores, their API keys (client
// key plus a secret kept only as a keyed hash), Bearer access tokens, and
// each store's IP rules. It is the one writer of those rows, and the one
// place that decides who a call comes from:
//
//   - Service.Authenticate turns an Authorization header into a Principal
//     (the platform administrator, or a store's key), checking it against
//     the Access a method demands. Known keys and a store's IP rules are
//     served from an in-memory cache (auth_cache_ttl) that every write made
//     here invalidates at once, so a known key costs no database round trip.
//   - Service.RulesOf gives a store's IP rules for the policy chain's CIDR
//     step and for answers that report whether the caller is admitted.
//   - Service's writes: stores (create, rename, suspend), keys (create under
//     the per-store limit, reissue the secret, delete), access tokens, IP
//     rules (create under the per-store limit, delete).
//   - Service.Bootstrap prepares a database for this server: the master key
//     check, the administrator's token and, on a first run, a store with a
//     TEST key pair and a sandbox channel.
//   - UsageRecorder is a runner that writes each key's last use (time and
//     address) in the background, so no call waits on that write.
//
// Inputs are Go values; results are ent entities and apierr errors. The
// package knows nothing of the transports that call it.
package account
