// Package calllog owns paymux's call log: the stored record of every API
// call and every PG call that the Log API reads (not the process log).
//
//   - Writer takes records from the calls that made them (Add costs a call
//     an allocation and a channel send, not a commit) and, as a runner
//     (Run), masks their bodies and headers with package redact and inserts
//     what has gathered in one statement. When its buffer is full,
//     call_log.overload decides: drop the record and count it, or make the
//     call wait. It owns the metrics paymux_log_records_written_total,
//     paymux_log_records_dropped_total{reason} and paymux_log_records_queued.
//   - Writer.WrapProvider wraps a PG adapter so that every PG operation is
//     recorded (and timed in paymux_pg_call_duration_seconds), linked by
//     request id to the API call or background job that caused it. The
//     request id travels in the context: WithRequestID and RequestID.
//   - Writer.Purge drops records older than call_log.retention.
//   - The queries behind the Log API: ListCalls, ListWebhookAttempts, Get
//     and Timeline, which merges a payment's calls, PG calls, status
//     changes and webhook attempts. They return ent entities and plain Go
//     values; the transport maps them.
//
// Records are transport-free: the transport turns what is its own (an
// error's details, say) into plain values when it captures a call. The
// package never imports the transport (connectrpc.com, the generated API
// code or package server).
package calllog
