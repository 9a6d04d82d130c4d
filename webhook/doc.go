// Package webhook owns paymux's outbound webhooks: the endpoints merchants
// register, the deliveries queued for them, the attempts that send them, and
// the delivery log those attempts leave. It is transport-free: it takes Go
// inputs and returns ent entities and apierr errors; server/ maps the
// WebhookService API onto it.
//
//   - The outbox (outbox.go): Outbox.Enqueue writes an event's deliveries in
//     the transaction that writes the event, one per endpoint that wants it,
//     and wakes the dispatcher once that transaction commits.
//   - The Dispatcher (dispatcher.go), a Runner: claims due deliveries with a
//     lease (replicas share the queue), sends them on a bounded pool of
//     workers with a cap per endpoint, records each attempt, retries on the
//     schedule (Retry-After honoured) and keeps endpoints' health, disabling
//     one that answered 410 Gone or failed for webhooks.disable_after
//     (health.go). Its metrics are paymux_webhook_attempts_total and
//     paymux_webhook_deliveries_due.
//   - The Service (endpoints.go, deliveries.go): the one writer of
//     endpoints (URL checks, secrets generated and sealed with the keyring,
//     rotation with an overlap), TEST calls and resends.
//   - What is sent (attempt.go): the event's stored data in a JSON or form
//     body, signed for the endpoint; or, for a PAYACTION endpoint
//     (payaction.go), the bank transfer events in PayAction's format, with
//     its headers, done only on its {"status":"success"} answer.
//
// And the building blocks, which need no database:
//
//   - Signing, per the Standard Webhooks specification
//     (https://www.standardwebhooks.com/): NewSecret and ParseSecret for
//     "whsec_" secrets, Sign and Headers for the webhook-id,
//     webhook-timestamp and webhook-signature headers, and Verify for
//     receivers and tests.
//   - An HTTP client for merchant-supplied URLs that is safe against SSRF:
//     NewClient checks every address at connect time, after DNS, so hostnames
//     that resolve (or rebind) to loopback, private, link-local or cloud
//     metadata addresses are refused in every IPv4 and IPv6 encoding.
//     Redirects are not followed and proxies from the environment are
//     ignored. CheckAddr validates literal addresses; ReadLimited reads a
//     bounded response body for the delivery log.
//   - Retry timing: Schedule and DefaultSchedule (Svix's schedule, about 27
//     hours over 7 retries), ParseSchedule for configuration, Schedule.Next
//     with jitter, and ParseRetryAfter for the Retry-After response header.
//
// Its configuration is Config (webhooks.*).
package webhook
