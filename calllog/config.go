package calllog

import "time"

// Config is the call log's configuration (the call_log.* keys), not the
// process log's.
type Config struct {
	Enabled bool `mapstructure:"enabled"`
	// Retention is how long a record is kept; a sweep purges older ones.
	Retention time.Duration `mapstructure:"retention"`
	// MaxBodyBytes cuts each stored request and response body.
	MaxBodyBytes int `mapstructure:"max_body_bytes"`
	// Buffer is how many records may wait to be written; it bounds memory.
	Buffer int `mapstructure:"buffer"`
	// Overload is what a call does when the buffer is full: "drop" (the
	// record is dropped and counted in paymux_log_records_dropped_total)
	// or "block" (the call waits for room, so logging slows calls down
	// rather than lose a record).
	Overload string `mapstructure:"overload"`
}
