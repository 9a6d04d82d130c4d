// Package config is paymux's configuration: every key with its default,
// loading from a YAML file, PAYMUX_* environment variables and flags
// (viper), and the checks that refuse a bad value with its key and origin.
package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paymux/paymux/console"
	"github.com/paymux/paymux/deposit"

	"github.com/paymux/paymux/billing"
	"github.com/paymux/paymux/payment"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/calllog"
	"github.com/paymux/paymux/clientip"
	"github.com/paymux/paymux/webhook"
)

// Config is everything paymux reads at start. Each key has a default
// (Defaults), can be set in the YAML file, and by an environment variable
// PAYMUX_<KEY> with dots as underscores (database.dsn: PAYMUX_DATABASE_DSN).
type Config struct {
	// Listen is the one address every surface is served on.
	Listen string `mapstructure:"listen"`
	// DataDir holds the SQLite database and the generated master key.
	DataDir  string         `mapstructure:"data_dir"`
	Database DatabaseConfig `mapstructure:"database"`
	// MasterKey (base64, 32 bytes) derives the keys that hash API secrets,
	// sign access tokens and encrypt PG credentials. Empty: a key is
	// generated once into <data_dir>/master.key. Replicas must share it.
	MasterKey string `mapstructure:"master_key"`
	// AdminToken is the platform administrator's bearer token. Empty: the
	// first run generates one, prints it once and keeps only its hash.
	AdminToken string `mapstructure:"admin_token"`
	// TrustedProxies are the peers whose X-Forwarded-For is believed (CIDRs
	// or addresses). Empty: only the immediate peer counts.
	TrustedProxies  []string      `mapstructure:"trusted_proxies"`
	TLS             TLSConfig     `mapstructure:"tls"`
	MaxRequestBytes int64         `mapstructure:"max_request_bytes"`
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
	// AuthCacheTTL bounds how long a key, a store's state or its IP rules
	// are served from memory. Changes made through this process apply at
	// once; changes made through another replica within this time.
	AuthCacheTTL time.Duration `mapstructure:"auth_cache_ttl"`
	Log          LogConfig     `mapstructure:"log"`
	// PublicURL is where browsers and PGs reach this server (the payment
	// window's checkout and return pages, PG notifications). Empty:
	// http://<listen>, with a wildcard host read as localhost.
	PublicURL string         `mapstructure:"public_url"`
	Payments  payment.Config `mapstructure:"payments"`
	Webhooks  webhook.Config `mapstructure:"webhooks"`
	CallLog   calllog.Config `mapstructure:"call_log"`
	Billing   billing.Config `mapstructure:"billing"`
	Deposits  deposit.Config `mapstructure:"deposits"`
	// Console is the web console's sign-in: sessions and lock-out.
	Console console.Config `mapstructure:"console"`
	// PGs are where each real PG is reached. The defaults are the PGs'
	// documented hosts; tests and staging point them elsewhere.
	PGs PGsConfig `mapstructure:"pgs"`
}

type PGsConfig struct {
	TossPayments TossPaymentsConfig `mapstructure:"tosspayments"`
	NicePay      NicePayConfig      `mapstructure:"nicepay"`
}

// TossPaymentsConfig: one host serves test and live keys alike.
type TossPaymentsConfig struct {
	APIURL string `mapstructure:"api_url"`
	SDKURL string `mapstructure:"sdk_url"` // the JS SDK paymux's checkout page loads
}

// NicePayConfig: TEST channels reach the sandbox host, LIVE the live one.
type NicePayConfig struct {
	APIURL        string `mapstructure:"api_url"`
	SandboxAPIURL string `mapstructure:"sandbox_api_url"`
	SDKURL        string `mapstructure:"sdk_url"`
}

type DatabaseConfig struct {
	// DSN of a PostgreSQL database ("postgres://..."). Empty: SQLite at
	// <data_dir>/paymux.db.
	DSN          string `mapstructure:"dsn"`
	MaxOpenConns int    `mapstructure:"max_open_conns"`
}

type TLSConfig struct {
	CertFile string `mapstructure:"cert_file"`
	KeyFile  string `mapstructure:"key_file"`
}

type LogConfig struct {
	Level  string `mapstructure:"level"`  // debug, info, warn, error
	Format string `mapstructure:"format"` // text or json
}

// Defaults lists every configuration key with its default value.
var Defaults = map[string]any{
	"listen":                      "127.0.0.1:8080",
	"data_dir":                    "paymux-data",
	"database.dsn":                "",
	"database.max_open_conns":     20,
	"master_key":                  "",
	"admin_token":                 "",
	"trusted_proxies":             []string{},
	"tls.cert_file":               "",
	"tls.key_file":                "",
	"max_request_bytes":           int64(1 << 20),
	"shutdown_timeout":            "15s",
	"auth_cache_ttl":              "10s",
	"log.level":                   "info",
	"log.format":                  "text",
	"public_url":                  "",
	"payments.pg_timeout":         "30s",
	"payments.sweep_interval":     "30s",
	"payments.idempotency_ttl":    "24h",
	"deposits.match_window":       "336h",
	"deposits.sweep_interval":     "1m",
	"console.idle_timeout":        "30m",
	"console.session_lifetime":    "12h",
	"console.max_failed_sign_ins": 5,
	"console.lockout":             "15m",
	"console.invite_ttl":          "168h",
	"console.secure_cookie":       false,
	"webhooks.allow_private":      false,
	"webhooks.timeout":            "10s",
	"webhooks.retry_schedule":     "",
	"webhooks.disable_after":      "120h",
	"webhooks.log_retention":      "720h",
	"webhooks.workers":            64,
	"webhooks.max_response_bytes": int64(16 << 10),
	"webhooks.poll_interval":      "500ms",
	"call_log.enabled":            true,
	"call_log.retention":          "720h",
	"call_log.max_body_bytes":     16 << 10,
	"call_log.buffer":             10000,
	"call_log.overload":           "drop",
	"billing.poll_interval":       "1s",
	"billing.workers":             32,
	"pgs.tosspayments.api_url":    "https://api.tosspayments.com",
	"pgs.tosspayments.sdk_url":    "https://js.tosspayments.com/v2/standard",
	"pgs.nicepay.api_url":         "https://api.nicepay.co.kr",
	"pgs.nicepay.sandbox_api_url": "https://sandbox-api.nicepay.co.kr",
	"pgs.nicepay.sdk_url":         "https://pay.nicepay.co.kr/v1/js/",
}

// ConfigFileEnv names the YAML configuration file, like --config.
const ConfigFileEnv = "PAYMUX_CONFIG"

// envKeyReplacer turns a key into the rest of its environment variable's
// name (after PAYMUX_), upper-cased: database.dsn, PAYMUX_DATABASE_DSN.
var envKeyReplacer = strings.NewReplacer(".", "_")

// EnvName is the environment variable that sets a configuration key.
func EnvName(key string) string {
	return "PAYMUX_" + strings.ToUpper(envKeyReplacer.Replace(key))
}

// NewViper returns a viper that knows every key, its default and its
// environment variable.
func NewViper() *viper.Viper {
	v := viper.New()
	for key, value := range Defaults {
		v.SetDefault(key, value)
	}
	v.SetEnvPrefix("PAYMUX")
	v.SetEnvKeyReplacer(envKeyReplacer)
	v.AutomaticEnv()
	return v
}

// UnknownEnvVar is a PAYMUX_* environment variable that paymux does not
// read, with the known one it may have meant ("" when none is close).
type UnknownEnvVar struct {
	Name, DidYouMean string
}

// UnknownEnv lists the PAYMUX_* variables of environ (os.Environ's form)
// that paymux reads nowhere: it reads each key's variable (EnvName), the
// configuration file's (ConfigFileEnv) and, in tests, PAYMUX_TEST_*.
func UnknownEnv(environ []string) []UnknownEnvVar {
	known := []string{ConfigFileEnv}
	for key := range Defaults {
		known = append(known, EnvName(key))
	}
	slices.Sort(known)
	var unknown []UnknownEnvVar
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "PAYMUX_") || strings.HasPrefix(name, "PAYMUX_TEST_") || slices.Contains(known, name) {
			continue
		}
		unknown = append(unknown, UnknownEnvVar{Name: name, DidYouMean: closest(name, known)})
	}
	slices.SortFunc(unknown, func(a, b UnknownEnvVar) int { return strings.Compare(a.Name, b.Name) })
	return unknown
}

// closest is the candidate within a typo or two of s, if any.
func closest(s string, candidates []string) string {
	best, bestDistance := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestDistance && d < len(s)/2 {
			best, bestDistance = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// LoadConfig reads the YAML file (if file is not empty) into v, decodes and
// validates the result. Unknown keys in the file are an error: a typo must
// not silently fall back to a default. Errors name the key, the value
// (never a secret's) and where it came from.
func Load(v *viper.Viper, file string) (Config, error) {
	if file != "" {
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", file, err)
		}
	}
	if err := errors.Join(checkKeys(v, file), checkValues(v, file)); err != nil {
		return Config{}, err
	}
	var cfg Config
	decodeHook := viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","),
	))
	if err := v.UnmarshalExact(&cfg, decodeHook); err != nil {
		// checkKeys and checkValues let nothing through that fails here.
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// secretKeys are the keys whose values no message shows.
var secretKeys = []string{"master_key", "admin_token", "database.dsn"}

// origin says where v's value for key came from, for a message.
func origin(v *viper.Viper, key, file string) string {
	if env := EnvName(key); os.Getenv(env) != "" {
		return " (from " + env + ")"
	}
	if file != "" && v.InConfig(key) {
		return " (in " + file + ")"
	}
	return ""
}

// describe shows a raw value in a message.
func describe(raw any) string {
	switch r := raw.(type) {
	case string:
		return strconv.Quote(r)
	case map[string]any:
		return "a section"
	case []any:
		return "a list"
	}
	return fmt.Sprint(raw)
}

// checkKeys refuses the keys paymux does not know, and a value where a
// section of keys belongs.
func checkKeys(v *viper.Viper, file string) error {
	known := slices.Sorted(maps.Keys(Defaults))
	var errs []error
	for _, key := range slices.Sorted(slices.Values(v.AllKeys())) {
		if _, ok := Defaults[key]; ok {
			continue
		}
		if slices.ContainsFunc(known, func(k string) bool { return strings.HasPrefix(key, k+".") }) {
			continue // a section where a value belongs: checkValues says so
		}
		var section []string
		for _, k := range known {
			if strings.HasPrefix(k, key+".") {
				section = append(section, k)
			}
		}
		if len(section) > 0 {
			errs = append(errs, fmt.Errorf("config key %s: want a section (%s), got %s%s",
				key, strings.Join(section, ", "), describe(v.Get(key)), origin(v, key, file)))
			continue
		}
		msg := fmt.Sprintf("config: unknown key %q%s", key, origin(v, key, file))
		if guess := closest(key, known); guess != "" {
			msg += fmt.Sprintf("; did you mean %q?", guess)
		}
		errs = append(errs, errors.New(msg))
	}
	return errors.Join(errs...)
}

// checkValues refuses a value that cannot become its key's type, naming the
// key, the value and where it came from.
func checkValues(v *viper.Viper, file string) error {
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(Defaults)) {
		raw := v.Get(key)
		field, ok := configField(reflect.ValueOf(&Config{}).Elem(), key)
		if raw == nil || !ok {
			continue // under a section given a value: checkKeys says so
		}
		problem := valueProblem(field.Type(), raw)
		if problem == "" {
			continue
		}
		shown := describe(raw)
		if _, isString := raw.(string); isString && slices.Contains(secretKeys, key) {
			shown = "the value"
		}
		errs = append(errs, fmt.Errorf("config key %s: %s %s%s", key, shown, problem, origin(v, key, file)))
	}
	return errors.Join(errs...)
}

// valueProblem says why raw cannot be a value of typ ("" when it can), the
// way decoding will read it (strings are parsed; numbers, bools and
// strings convert into one another).
func valueProblem(typ reflect.Type, raw any) string {
	switch raw.(type) {
	case map[string]any:
		if typ.Kind() == reflect.Slice {
			return "is not a list"
		}
		return "is not a single value"
	case []any, []string:
		if typ.Kind() != reflect.Slice {
			return "is not a single value"
		}
	}
	s, isString := raw.(string)
	switch {
	case typ == reflect.TypeFor[time.Duration]():
		if _, err := time.ParseDuration(s); isString && err != nil {
			return "is not a duration (e.g. 10s, 1m)"
		}
	case typ.Kind() == reflect.Int || typ.Kind() == reflect.Int64:
		if f, ok := raw.(float64); ok && f != float64(int64(f)) {
			return "is not a whole number"
		}
		if _, err := strconv.ParseInt(s, 10, 64); isString && err != nil {
			return "is not a whole number"
		}
		if _, ok := raw.(bool); ok {
			return "is not a whole number"
		}
	case typ.Kind() == reflect.Bool:
		if _, err := strconv.ParseBool(s); isString && err != nil {
			return "is not true or false"
		}
	case typ.Kind() == reflect.Slice:
		if list, ok := raw.([]any); ok {
			for _, e := range list {
				switch e.(type) {
				case map[string]any, []any:
					return "is not a list of single values"
				}
			}
		}
	}
	return ""
}

// configField is the field of c (a Config) that key names.
func configField(c reflect.Value, key string) (reflect.Value, bool) {
	name, rest, nested := strings.Cut(key, ".")
	for i := range c.NumField() {
		if c.Type().Field(i).Tag.Get("mapstructure") != name {
			continue
		}
		f := c.Field(i)
		if !nested {
			return f, f.Kind() != reflect.Struct
		}
		if f.Kind() != reflect.Struct {
			return reflect.Value{}, false
		}
		return configField(f, rest)
	}
	return reflect.Value{}, false
}

// Validate checks every key and names the one that is wrong.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		// A bound broken: say what the value is (unless it is a secret).
		if f, ok := configField(reflect.ValueOf(c).Elem(), key); ok && strings.HasPrefix(msg, "must") && !slices.Contains(secretKeys, key) {
			msg += ", got " + describe(f.Interface())
		}
		errs = append(errs, fmt.Errorf("config key %s: %s", key, msg))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "want host:port, got %q", c.Listen)
	}
	if c.DataDir == "" {
		bad("data_dir", "must not be empty")
	}
	if c.Database.DSN != "" && !IsPostgresDSN(c.Database.DSN) {
		bad("database.dsn", "only PostgreSQL DSNs (postgres://... or postgresql://...) are supported; leave empty for SQLite")
	}
	if c.Database.MaxOpenConns < 1 {
		bad("database.max_open_conns", "must be at least 1")
	}
	// Entries may arrive as one comma-separated string from the environment.
	var proxies []string
	for _, p := range c.TrustedProxies {
		for _, e := range strings.Split(p, ",") {
			if e = strings.TrimSpace(e); e != "" {
				proxies = append(proxies, e)
			}
		}
	}
	c.TrustedProxies = proxies
	if _, err := clientip.ParseTrustedProxies(c.TrustedProxies); err != nil {
		bad("trusted_proxies", "%v", err)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls", "set both tls.cert_file and tls.key_file, or neither")
	}
	for key, f := range map[string]string{"tls.cert_file": c.TLS.CertFile, "tls.key_file": c.TLS.KeyFile} {
		if f != "" {
			if _, err := os.Stat(f); err != nil {
				bad(key, "%v", err)
			}
		}
	}
	if c.MaxRequestBytes < 1024 {
		bad("max_request_bytes", "must be at least 1024")
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout", "must be positive")
	}
	if c.AuthCacheTTL < 0 || c.AuthCacheTTL > 5*time.Minute {
		bad("auth_cache_ttl", "must be between 0s and 5m")
	}
	if c.AdminToken != "" && (len(c.AdminToken) < 24 || !account.ValidAdminToken(c.AdminToken)) {
		bad("admin_token", "must start with %q and be at least 24 characters", account.AdminTokenPrefix)
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			bad("public_url", "want an http or https origin such as https://pay.example.com, got %q", c.PublicURL)
		}
	}
	for _, kv := range [][2]string{
		{"pgs.tosspayments.api_url", c.PGs.TossPayments.APIURL}, {"pgs.tosspayments.sdk_url", c.PGs.TossPayments.SDKURL},
		{"pgs.nicepay.api_url", c.PGs.NicePay.APIURL}, {"pgs.nicepay.sandbox_api_url", c.PGs.NicePay.SandboxAPIURL},
		{"pgs.nicepay.sdk_url", c.PGs.NicePay.SDKURL},
	} {
		if kv[1] == "" {
			continue // the PG's documented URL
		}
		if u, err := url.Parse(kv[1]); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(kv[0], "want an http or https URL, got %q", kv[1])
		}
	}
	if c.Payments.PGTimeout < time.Second || c.Payments.PGTimeout > 5*time.Minute {
		bad("payments.pg_timeout", "must be between 1s and 5m")
	}
	if c.Payments.SweepInterval < 10*time.Millisecond {
		bad("payments.sweep_interval", "must be at least 10ms")
	}
	if c.Deposits.MatchWindow < time.Hour || c.Deposits.MatchWindow > 90*24*time.Hour {
		bad("deposits.match_window", "must be between 1h and 2160h (90 days)")
	}
	if c.Console.IdleTimeout < time.Second || c.Console.IdleTimeout > c.Console.SessionLifetime {
		bad("console.idle_timeout", "must be at least 1s and at most console.session_lifetime")
	}
	if c.Console.SessionLifetime < time.Second || c.Console.SessionLifetime > 30*24*time.Hour {
		bad("console.session_lifetime", "must be between 1s and 720h")
	}
	if c.Console.MaxFailedSignIns < 1 || c.Console.MaxFailedSignIns > 100 {
		bad("console.max_failed_sign_ins", "must be between 1 and 100")
	}
	if c.Console.Lockout < time.Second {
		bad("console.lockout", "must be at least 1s")
	}
	if c.Console.InviteTTL < time.Minute || c.Console.InviteTTL > 30*24*time.Hour {
		bad("console.invite_ttl", "must be between 1m and 720h")
	}
	if c.Deposits.SweepInterval < 10*time.Millisecond {
		bad("deposits.sweep_interval", "must be at least 10ms")
	}
	if c.Payments.IdempotencyTTL < 24*time.Hour {
		bad("payments.idempotency_ttl", "must be at least 24h")
	}
	if c.Webhooks.Timeout < 100*time.Millisecond || c.Webhooks.Timeout > time.Minute {
		bad("webhooks.timeout", "must be between 100ms and 1m")
	}
	if c.Webhooks.RetrySchedule != "" {
		if _, err := webhook.ParseSchedule(c.Webhooks.RetrySchedule); err != nil {
			bad("webhooks.retry_schedule", "%v", err)
		}
	}
	if c.Webhooks.DisableAfter < time.Minute {
		bad("webhooks.disable_after", "must be at least 1m")
	}
	if c.Webhooks.LogRetention < 24*time.Hour {
		bad("webhooks.log_retention", "must be at least 24h")
	}
	if c.Webhooks.Workers < 1 || c.Webhooks.Workers > 4096 {
		bad("webhooks.workers", "must be between 1 and 4096")
	}
	if c.Webhooks.MaxResponseBytes < 0 || c.Webhooks.MaxResponseBytes > 1<<20 {
		bad("webhooks.max_response_bytes", "must be between 0 and 1048576")
	}
	if c.Webhooks.PollInterval < 10*time.Millisecond || c.Webhooks.PollInterval > time.Minute {
		bad("webhooks.poll_interval", "must be between 10ms and 1m")
	}
	if c.CallLog.Retention < time.Hour {
		bad("call_log.retention", "must be at least 1h")
	}
	if c.CallLog.MaxBodyBytes < 256 || c.CallLog.MaxBodyBytes > 1<<20 {
		bad("call_log.max_body_bytes", "must be between 256 and 1048576")
	}
	if c.CallLog.Buffer < 1 || c.CallLog.Buffer > 1_000_000 {
		bad("call_log.buffer", "must be between 1 and 1000000")
	}
	if c.Billing.PollInterval < 10*time.Millisecond || c.Billing.PollInterval > time.Minute {
		bad("billing.poll_interval", "must be between 10ms and 1m")
	}
	if c.Billing.Workers < 1 || c.Billing.Workers > 1024 {
		bad("billing.workers", "must be between 1 and 1024")
	}
	switch c.CallLog.Overload {
	case "drop", "block":
	default:
		bad("call_log.overload", "want drop or block, got %q", c.CallLog.Overload)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "want debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "want text or json, got %q", c.Log.Format)
	}
	return errors.Join(errs...)
}

// IsPostgresDSN reports whether dsn names a PostgreSQL database.
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// SQLitePath is where the zero-config database lives.
func (c *Config) SQLitePath() string { return filepath.Join(c.DataDir, "paymux.db") }

// BaseURL is PublicURL, or http(s)://<listen> when it is empty.
func (c *Config) BaseURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	scheme := "http"
	if c.TLS.CertFile != "" {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return scheme + "://" + c.Listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}
