package webhook

import (
	"fmt"
	"net/http"
	"time"
)

// Config is the webhooks.* section of paymux's configuration. Its keys and
// defaults are listed with the others in config/config.go (Defaults) and the
// README.
type Config struct {
	// AllowPrivate lets endpoints be private, loopback or link-local
	// addresses. For local development only: in production it would let
	// any merchant make paymux call into its own network.
	AllowPrivate bool `mapstructure:"allow_private"`
	// Timeout bounds one attempt, connection to last byte.
	Timeout time.Duration `mapstructure:"timeout"`
	// RetrySchedule is the wait before each retry, comma-separated Go
	// durations ("5s,5m,30m,2h"); empty: the default (DefaultSchedule).
	RetrySchedule string `mapstructure:"retry_schedule"`
	// DisableAfter disables an endpoint whose every attempt has failed for
	// this long.
	DisableAfter time.Duration `mapstructure:"disable_after"`
	// LogRetention is how long attempts are kept in the delivery log.
	LogRetention time.Duration `mapstructure:"log_retention"`
	// Workers bounds the attempts in flight in this process.
	Workers int `mapstructure:"workers"`
	// MaxResponseBytes is how much of an endpoint's answer is kept.
	MaxResponseBytes int64 `mapstructure:"max_response_bytes"`
	// PollInterval is how often the dispatcher looks for due deliveries
	// when nothing woke it (another replica's events, retries coming due).
	PollInterval time.Duration `mapstructure:"poll_interval"`
}

// schedule is the retry schedule the configuration names.
func (c Config) schedule() (Schedule, error) {
	if c.RetrySchedule == "" {
		return DefaultSchedule, nil
	}
	s, err := ParseSchedule(c.RetrySchedule)
	if err != nil {
		return nil, fmt.Errorf("webhooks.retry_schedule: %w", err)
	}
	return s, nil
}

// client is the HTTP client attempts are sent with.
func (c Config) client() *http.Client {
	return NewClient(ClientOptions{AllowPrivate: c.AllowPrivate, Timeout: c.Timeout})
}
