package webhook

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDefaultSchedule(t *testing.T) {
	if got, want := DefaultSchedule.String(), "5s,5m0s,30m0s,2h0m0s,5h0m0s,10h0m0s,10h0m0s"; got != want {
		t.Errorf("DefaultSchedule = %s, want %s", got, want)
	}
	var total time.Duration
	for _, d := range DefaultSchedule {
		total += d
	}
	// The doc comment promises 8 attempts over about 27.6 hours.
	if want := 27*time.Hour + 35*time.Minute + 5*time.Second; total != want {
		t.Errorf("DefaultSchedule spans %v, want %v", total, want)
	}
}

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		in      string
		want    Schedule
		wantErr string
	}{
		{in: "5s,5m,30m", want: Schedule{5 * time.Second, 5 * time.Minute, 30 * time.Minute}},
		{in: " 1m, 4m ,16m,64m,256m ", want: Schedule{time.Minute, 4 * time.Minute, 16 * time.Minute, 64 * time.Minute, 256 * time.Minute}},
		{in: "0s,1h30m", want: Schedule{0, 90 * time.Minute}},
		{in: "24h", want: Schedule{24 * time.Hour}},
		{in: DefaultSchedule.String(), want: DefaultSchedule},
		{in: "", wantErr: "empty"},
		{in: "   ", wantErr: "empty"},
		{in: "5s,,5m", wantErr: "entry 2"},
		{in: "5s,", wantErr: "entry 2"},
		{in: "5", wantErr: "entry 1"},
		{in: "five seconds", wantErr: "entry 1"},
		{in: "5s,-1m", wantErr: "entry 2"},
		{in: "24h1s", wantErr: "entry 1"},
		{in: "5s;5m", wantErr: "entry 1"},
		{in: strings.Repeat("1s,", 100) + "1s", wantErr: "at most 100"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSchedule(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSchedule(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("ParseSchedule(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestScheduleNext(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := Schedule{5 * time.Second, 5 * time.Minute, 30 * time.Minute}
	tests := []struct {
		name       string
		attempt    int
		retryAfter time.Duration
		min, max   time.Duration // bounds of due - now
		ok         bool
	}{
		{name: "nothing tried yet", attempt: 0, ok: true},
		{name: "negative attempt", attempt: -3, ok: true},
		{name: "after first", attempt: 1, min: 4 * time.Second, max: 6 * time.Second, ok: true},
		{name: "after second", attempt: 2, min: 4 * time.Minute, max: 6 * time.Minute, ok: true},
		{name: "after third", attempt: 3, min: 24 * time.Minute, max: 36 * time.Minute, ok: true},
		{name: "exhausted", attempt: 4},
		{name: "far past the end", attempt: 100},
		{name: "retry-after longer", attempt: 1, retryAfter: time.Minute, min: time.Minute, max: time.Minute, ok: true},
		{name: "retry-after shorter", attempt: 2, retryAfter: time.Second, min: 4 * time.Minute, max: 6 * time.Minute, ok: true},
		{name: "retry-after capped", attempt: 1, retryAfter: 48 * time.Hour, min: MaxDelay, max: MaxDelay, ok: true},
		{name: "retry-after does not extend the schedule", attempt: 4, retryAfter: time.Minute},
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 50 {
				due, ok := s.Next(tt.attempt, now, tt.retryAfter, rnd)
				if ok != tt.ok {
					t.Fatalf("Next(%d) ok = %v, want %v", tt.attempt, ok, tt.ok)
				}
				if !ok {
					if !due.IsZero() {
						t.Fatalf("Next(%d) = %v, false; want the zero time", tt.attempt, due)
					}
					return
				}
				if d := due.Sub(now); d < tt.min || d > tt.max {
					t.Fatalf("Next(%d) is %v from now, want %v to %v", tt.attempt, d, tt.min, tt.max)
				}
			}
		})
	}
}

func TestScheduleNextJitter(t *testing.T) {
	now := time.Unix(1700000000, 0)
	base := 10 * time.Hour
	s := Schedule{base}
	rnd := rand.New(rand.NewPCG(5, 6))
	lo, hi := time.Duration(float64(base)*0.8), time.Duration(float64(base)*1.2)
	var seenLow, seenHigh bool
	for range 10000 {
		due, ok := s.Next(1, now, 0, rnd)
		d := due.Sub(now)
		if !ok || d < lo || d >= hi {
			t.Fatalf("Next = %v, %v; want within [%v, %v)", d, ok, lo, hi)
		}
		// Jitter should really spread: reach both outer tenths of the range.
		seenLow = seenLow || d < time.Duration(float64(base)*0.84)
		seenHigh = seenHigh || d > time.Duration(float64(base)*1.16)
	}
	if !seenLow || !seenHigh {
		t.Errorf("jitter did not spread across ±20%% (low %v, high %v)", seenLow, seenHigh)
	}

	// A nil source uses the global one and keeps the same bounds.
	for range 1000 {
		due, _ := s.Next(1, now, 0, nil)
		if d := due.Sub(now); d < lo || d >= hi {
			t.Fatalf("Next(nil rnd) = %v, want within [%v, %v)", d, lo, hi)
		}
	}
}

func TestScheduleNextCap(t *testing.T) {
	now := time.Unix(1700000000, 0)
	// 24h plus up to 20% jitter must still be capped.
	s := Schedule{MaxDelay}
	rnd := rand.New(rand.NewPCG(7, 8))
	for range 1000 {
		due, _ := s.Next(1, now, 0, rnd)
		if d := due.Sub(now); d > MaxDelay || d < time.Duration(float64(MaxDelay)*0.8) {
			t.Fatalf("Next = %v from now, want within [%v, %v]", d, time.Duration(float64(MaxDelay)*0.8), MaxDelay)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2015, 10, 21, 7, 28, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"120", 2 * time.Minute, true},
		{"0", 0, true},
		{" 30 ", 30 * time.Second, true},
		{"86400", 24 * time.Hour, true},
		{"86401", MaxDelay, true},
		{"99999999999999999999999999", MaxDelay, true},
		{"Wed, 21 Oct 2015 07:28:00 GMT", 0, true},
		{"Wed, 21 Oct 2015 07:30:30 GMT", 150 * time.Second, true},
		{"Wed, 21 Oct 2015 07:00:00 GMT", 0, true}, // in the past: retry now
		{"Sat, 24 Oct 2015 07:28:00 GMT", MaxDelay, true},
		{"Wednesday, 21-Oct-15 08:28:00 GMT", time.Hour, true}, // RFC 850
		{"Wed Oct 21 07:29:00 2015", time.Minute, true},        // asctime
		{"", 0, false},
		{"  ", 0, false},
		{"-5", 0, false},
		{"+5", 0, false},
		{"1.5", 0, false},
		{"5s", 0, false},
		{"soon", 0, false},
		{"2015-10-21T07:30:00Z", 0, false},
		{"Wed, 21 Oct 2015 07:30:00 KST", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.in, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
