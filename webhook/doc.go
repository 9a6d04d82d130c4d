// Package webhook holds the building blocks of paymux's outbound webhook
// delivery. The delivery engine (which stores events, queues attempts and
// logs them) lives elsewhere and uses these pieces:
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
// The package uses only the standard library.
package webhook
