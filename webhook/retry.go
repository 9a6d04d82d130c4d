package webhook

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Schedule lists the delays before each retry: Schedule[0] is the wait after
// the first attempt fails, Schedule[1] after the second, and so on. The first
// attempt is always immediate, so a Schedule of n delays allows n+1 attempts.
type Schedule []time.Duration

// DefaultSchedule is Svix's schedule, which the Standard Webhooks
// specification also uses as its example: after the immediate first attempt,
// retry after 5s, 5m, 30m, 2h, 5h, 10h and 10h; 8 attempts over about 27.6
// hours. The quick early retries get past deploys and restarts while the
// buyer may still be on the merchant's page; the later ones ride out an
// overnight outage. It sits between PortOne (5 retries over about 5.7 hours,
// short for an outage noticed the next morning) and Toss (7 over about 3.8
// days); after a day a payment notice is mostly stale, the merchant has been
// notified of the failures, and manual resend remains.
var DefaultSchedule = Schedule{
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
}

const (
	// MaxDelay caps the wait before any retry, including one asked for by
	// Retry-After, so an endpoint cannot park a delivery for weeks.
	MaxDelay = 24 * time.Hour

	// jitterFraction spreads retries ±20% so that deliveries that failed
	// together (say, during the endpoint's outage) do not return together.
	jitterFraction = 0.2

	maxScheduleEntries = 100
)

// ParseSchedule parses a comma-separated list of Go durations, such as
// "5s,5m,30m", into a Schedule. Spaces around entries are allowed. It refuses
// an empty list, negative entries and entries above MaxDelay.
func ParseSchedule(text string) (Schedule, error) {
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("webhook: empty retry schedule")
	}
	parts := strings.Split(text, ",")
	if len(parts) > maxScheduleEntries {
		return nil, fmt.Errorf("webhook: retry schedule has %d entries, at most %d allowed", len(parts), maxScheduleEntries)
	}
	s := make(Schedule, len(parts))
	for i, part := range parts {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("webhook: retry schedule entry %d: %w", i+1, err)
		}
		if d < 0 || d > MaxDelay {
			return nil, fmt.Errorf("webhook: retry schedule entry %d: %s is outside 0 to %s", i+1, d, MaxDelay)
		}
		s[i] = d
	}
	return s, nil
}

// String formats s the way ParseSchedule reads it.
func (s Schedule) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

// Next returns when the attempt after attempt number attempt (counting from
// 1; the attempt that just failed) is due, and false when the schedule has no
// retry left. With attempt < 1 nothing has been tried, and the first attempt
// is due now.
//
// The scheduled delay gets ±20% jitter, is raised to retryAfter when that is
// longer (pass 0 when the response had no Retry-After), and is capped at
// MaxDelay. rnd supplies the jitter; nil uses math/rand/v2's global source.
// A *rand.Rand is not safe for concurrent use.
func (s Schedule) Next(attempt int, now time.Time, retryAfter time.Duration, rnd *rand.Rand) (time.Time, bool) {
	if attempt < 1 {
		return now, true
	}
	if attempt > len(s) {
		return time.Time{}, false
	}
	delay := withJitter(s[attempt-1], rnd)
	delay = max(delay, retryAfter)
	delay = min(delay, MaxDelay)
	return now.Add(delay), true
}

func withJitter(d time.Duration, rnd *rand.Rand) time.Duration {
	var f float64 // in [0, 1)
	if rnd != nil {
		f = rnd.Float64()
	} else {
		f = rand.Float64()
	}
	return time.Duration(float64(d) * (1 + jitterFraction*(2*f-1)))
}

// ParseRetryAfter reads a Retry-After header value, either delay-seconds
// ("120") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT", taken relative to
// now). The result is between 0 (a date in the past) and MaxDelay. ok is
// false for an empty or malformed value, which callers should ignore.
func ParseRetryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if isDigits(h) {
		seconds, err := strconv.ParseInt(h, 10, 64)
		// All digits, so the only possible error is a number too large.
		if err != nil || seconds > int64(MaxDelay/time.Second) {
			return MaxDelay, true
		}
		return time.Duration(seconds) * time.Second, true
	}
	t, err := http.ParseTime(h)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), MaxDelay), true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
