package config

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/paymux/paymux/console"
	"github.com/paymux/paymux/deposit"

	"github.com/paymux/paymux/billing"
	"github.com/paymux/paymux/calllog"
	"github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/webhook"
)

// clearPaymuxEnv unsets every PAYMUX_* variable for the duration of the test
// (t.Setenv records the old value and restores it afterwards; the Unsetenv
// that follows makes the variable really absent, not merely empty).
func clearPaymuxEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "PAYMUX_") {
			t.Setenv(name, "")
			if err := os.Unsetenv(name); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// writeTestFile writes contents to name inside a fresh temporary directory
// and returns its path.
func writeTestFile(t *testing.T, name, contents string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(contents), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// defaultConfig is what LoadConfig must give with no file and no environment.
func defaultConfig() Config {
	return Config{
		Listen:          "127.0.0.1:8080",
		DataDir:         "paymux-data",
		Database:        DatabaseConfig{DSN: "", MaxOpenConns: 20},
		MaxRequestBytes: 1 << 20,
		ShutdownTimeout: 15 * time.Second,
		AuthCacheTTL:    10 * time.Second,
		Log:             LogConfig{Level: "info", Format: "text"},
		Payments:        payment.Config{PGTimeout: 30 * time.Second, SweepInterval: 30 * time.Second, IdempotencyTTL: 24 * time.Hour},
		Webhooks: webhook.Config{Timeout: 10 * time.Second, DisableAfter: 120 * time.Hour, LogRetention: 720 * time.Hour,
			Workers: 64, MaxResponseBytes: 16 << 10, PollInterval: 500 * time.Millisecond},
		CallLog:  calllog.Config{Enabled: true, Retention: 720 * time.Hour, MaxBodyBytes: 16 << 10, Buffer: 10000, Overload: "drop"},
		Billing:  billing.Config{PollInterval: time.Second, Workers: 32},
		Deposits: deposit.Config{MatchWindow: 14 * 24 * time.Hour, SweepInterval: time.Minute},
		Console: console.Config{IdleTimeout: 30 * time.Minute, SessionLifetime: 12 * time.Hour, MaxFailedSignIns: 5,
			Lockout: 15 * time.Minute, InviteTTL: 7 * 24 * time.Hour},
		PGs: PGsConfig{
			TossPayments: TossPaymentsConfig{APIURL: "https://api.tosspayments.com", SDKURL: "https://js.tosspayments.com/v2/standard"},
			NicePay: NicePayConfig{APIURL: "https://api.nicepay.co.kr", SandboxAPIURL: "https://sandbox-api.nicepay.co.kr",
				SDKURL: "https://pay.nicepay.co.kr/v1/js/"},
		},
	}
}

// sameConfig compares two configs, treating a nil and an empty
// TrustedProxies as equal.
func sameConfig(t *testing.T, got, want Config) {
	t.Helper()
	if len(got.TrustedProxies) == 0 && len(want.TrustedProxies) == 0 {
		got.TrustedProxies, want.TrustedProxies = nil, nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config\n got: %+v\nwant: %+v", got, want)
	}
}

func TestConfigDefaults(t *testing.T) {
	clearPaymuxEnv(t)
	cfg, err := Load(NewViper(), "")
	if err != nil {
		t.Fatalf("LoadConfig with defaults: %v", err)
	}
	sameConfig(t, cfg, defaultConfig())
	if got, want := cfg.SQLitePath(), filepath.Join("paymux-data", "paymux.db"); got != want {
		t.Errorf("SQLitePath() = %q, want %q", got, want)
	}
}

// An empty variable counts as unset (viper's AllowEmptyEnv is false by
// default): PAYMUX_LISTEN= must not become an empty, invalid listen address.
func TestConfigEmptyEnvIsUnset(t *testing.T) {
	clearPaymuxEnv(t)
	for key := range Defaults {
		t.Setenv(envName(key), "")
	}
	cfg, err := Load(NewViper(), "")
	if err != nil {
		t.Fatalf("LoadConfig with every PAYMUX_* set to the empty string: %v", err)
	}
	sameConfig(t, cfg, defaultConfig())
}

func envName(key string) string {
	return "PAYMUX_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// mapstructureKeys lists the dotted keys of every leaf field of a struct type.
func mapstructureKeys(typ reflect.Type, prefix string) []string {
	var keys []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("mapstructure")
		if tag == "" || tag == "-" {
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Duration]() {
			keys = append(keys, mapstructureKeys(f.Type, prefix+tag+".")...)
			continue
		}
		keys = append(keys, prefix+tag)
	}
	return keys
}

// Every key must have a default: AutomaticEnv only reaches keys viper knows,
// so a key missing from Defaults could not be set from the environment.
func TestConfigDefaultsCoverEveryKey(t *testing.T) {
	fields := mapstructureKeys(reflect.TypeFor[Config](), "")
	var defaults []string
	for k := range Defaults {
		defaults = append(defaults, k)
	}
	sort.Strings(fields)
	sort.Strings(defaults)
	if !reflect.DeepEqual(fields, defaults) {
		t.Errorf("Config keys and Defaults differ\nConfig:   %v\nDefaults: %v", fields, defaults)
	}
}

// Every key can be set from its environment variable.
func TestConfigEveryKeyFromEnv(t *testing.T) {
	cert := writeTestFile(t, "cert.pem", "cert")
	key := writeTestFile(t, "key.pem", "key")
	token := "pma_" + strings.Repeat("a", 30)
	masterKey := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	clearPaymuxEnv(t)
	env := map[string]string{
		"listen":                      "0.0.0.0:9000",
		"data_dir":                    "/var/lib/paymux",
		"database.dsn":                "postgresql://u@db/paymux",
		"database.max_open_conns":     "7",
		"master_key":                  masterKey,
		"admin_token":                 token,
		"trusted_proxies":             "10.0.0.1",
		"tls.cert_file":               cert,
		"tls.key_file":                key,
		"max_request_bytes":           "4096",
		"shutdown_timeout":            "3s",
		"auth_cache_ttl":              "0s",
		"log.level":                   "debug",
		"log.format":                  "json",
		"public_url":                  "https://pay.example.com",
		"payments.pg_timeout":         "10s",
		"payments.sweep_interval":     "1m",
		"payments.idempotency_ttl":    "48h",
		"webhooks.allow_private":      "true",
		"webhooks.timeout":            "5s",
		"webhooks.retry_schedule":     "1s,1m",
		"webhooks.disable_after":      "24h",
		"webhooks.log_retention":      "2160h",
		"webhooks.workers":            "16",
		"webhooks.max_response_bytes": "4096",
		"webhooks.poll_interval":      "1s",
		"call_log.enabled":            "false",
		"call_log.retention":          "48h",
		"call_log.max_body_bytes":     "1024",
		"call_log.buffer":             "50",
		"call_log.overload":           "block",
		"billing.poll_interval":       "2s",
		"billing.workers":             "8",
		"deposits.match_window":       "168h",
		"deposits.sweep_interval":     "30s",
		"console.idle_timeout":        "10m",
		"console.session_lifetime":    "8h",
		"console.max_failed_sign_ins": "10",
		"console.lockout":             "1h",
		"console.invite_ttl":          "48h",
		"console.secure_cookie":       "true",
		"pgs.tosspayments.api_url":    "http://127.0.0.1:9101",
		"pgs.tosspayments.sdk_url":    "http://127.0.0.1:9101/v2/standard",
		"pgs.nicepay.api_url":         "http://127.0.0.1:9102",
		"pgs.nicepay.sandbox_api_url": "http://127.0.0.1:9103",
		"pgs.nicepay.sdk_url":         "http://127.0.0.1:9102/v1/js/",
	}
	if len(env) != len(Defaults) {
		t.Fatalf("test sets %d keys, Defaults has %d", len(env), len(Defaults))
	}
	for k, v := range env {
		t.Setenv(envName(k), v)
	}
	cfg, err := Load(NewViper(), "")
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	sameConfig(t, cfg, Config{
		Listen:          "0.0.0.0:9000",
		DataDir:         "/var/lib/paymux",
		Database:        DatabaseConfig{DSN: "postgresql://u@db/paymux", MaxOpenConns: 7},
		MasterKey:       masterKey,
		AdminToken:      token,
		TrustedProxies:  []string{"10.0.0.1"},
		TLS:             TLSConfig{CertFile: cert, KeyFile: key},
		MaxRequestBytes: 4096,
		ShutdownTimeout: 3 * time.Second,
		AuthCacheTTL:    0,
		Log:             LogConfig{Level: "debug", Format: "json"},
		PublicURL:       "https://pay.example.com",
		Payments:        payment.Config{PGTimeout: 10 * time.Second, SweepInterval: time.Minute, IdempotencyTTL: 48 * time.Hour},
		Webhooks: webhook.Config{AllowPrivate: true, Timeout: 5 * time.Second, RetrySchedule: "1s,1m", DisableAfter: 24 * time.Hour,
			LogRetention: 2160 * time.Hour, Workers: 16, MaxResponseBytes: 4096, PollInterval: time.Second},
		CallLog:  calllog.Config{Enabled: false, Retention: 48 * time.Hour, MaxBodyBytes: 1024, Buffer: 50, Overload: "block"},
		Billing:  billing.Config{PollInterval: 2 * time.Second, Workers: 8},
		Deposits: deposit.Config{MatchWindow: 7 * 24 * time.Hour, SweepInterval: 30 * time.Second},
		Console: console.Config{IdleTimeout: 10 * time.Minute, SessionLifetime: 8 * time.Hour, MaxFailedSignIns: 10,
			Lockout: time.Hour, InviteTTL: 48 * time.Hour, SecureCookie: true},
		PGs: PGsConfig{
			TossPayments: TossPaymentsConfig{APIURL: "http://127.0.0.1:9101", SDKURL: "http://127.0.0.1:9101/v2/standard"},
			NicePay: NicePayConfig{APIURL: "http://127.0.0.1:9102", SandboxAPIURL: "http://127.0.0.1:9103",
				SDKURL: "http://127.0.0.1:9102/v1/js/"},
		},
	})
}

func TestLoadConfigFile(t *testing.T) {
	cert := writeTestFile(t, "cert.pem", "cert")
	key := writeTestFile(t, "key.pem", "key")
	clearPaymuxEnv(t)
	tests := []struct {
		name    string
		file    string // file name; .yaml unless told
		yaml    string
		want    func(*Config) // applied to the defaults; nil: an error is wanted
		wantErr []string      // substrings of the error
	}{
		{
			name: "every key",
			yaml: `
listen: 0.0.0.0:9443
data_dir: /srv/paymux
database:
  dsn: postgres://paymux@db:5432/paymux
  max_open_conns: 4
admin_token: pma_0123456789abcdefghijklmnop
trusted_proxies:
  - 10.0.0.0/8
  - 192.168.1.1
tls:
  cert_file: ` + cert + `
  key_file: ` + key + `
max_request_bytes: 2048
shutdown_timeout: 30s
auth_cache_ttl: 1m
log:
  level: warn
  format: json
public_url: https://pay.example.com/
payments:
  pg_timeout: 20s
  sweep_interval: 5s
  idempotency_ttl: 72h
`,
			want: func(c *Config) {
				c.Listen = "0.0.0.0:9443"
				c.DataDir = "/srv/paymux"
				c.Database = DatabaseConfig{DSN: "postgres://paymux@db:5432/paymux", MaxOpenConns: 4}
				c.AdminToken = "pma_0123456789abcdefghijklmnop"
				c.TrustedProxies = []string{"10.0.0.0/8", "192.168.1.1"}
				c.TLS = TLSConfig{CertFile: cert, KeyFile: key}
				c.MaxRequestBytes = 2048
				c.ShutdownTimeout = 30 * time.Second
				c.AuthCacheTTL = time.Minute
				c.Log = LogConfig{Level: "warn", Format: "json"}
				c.PublicURL = "https://pay.example.com/"
				c.Payments = payment.Config{PGTimeout: 20 * time.Second, SweepInterval: 5 * time.Second, IdempotencyTTL: 72 * time.Hour}
			},
		},
		{
			name: "some keys, others keep their defaults",
			file: "paymux.yml",
			yaml: "listen: \":9000\"\nlog:\n  format: json\n",
			want: func(c *Config) {
				c.Listen = ":9000"
				c.Log.Format = "json"
			},
		},
		{
			name: "trusted proxies as one comma-separated string",
			yaml: "trusted_proxies: \"10.0.0.1, 10.0.0.2\"\n",
			want: func(c *Config) { c.TrustedProxies = []string{"10.0.0.1", "10.0.0.2"} },
		},
		{
			name: "empty file",
			yaml: "",
			want: func(*Config) {},
		},
		{
			name:    "unknown top-level key",
			yaml:    "listn: x\n",
			wantErr: []string{"listn", `config: unknown key "listn" (in FILE); did you mean "listen"?`},
		},
		{
			name:    "unknown nested key",
			yaml:    "database:\n  dns: postgres://x\n",
			wantErr: []string{"dns", `config: unknown key "database.dns" (in FILE); did you mean "database.dsn"?`},
		},
		{
			name:    "unknown section",
			yaml:    "webhook:\n  timeout: 5s\n",
			wantErr: []string{`config: unknown key "webhook.timeout" (in FILE); did you mean "webhooks.timeout"?`},
		},
		{
			name:    "unknown keys, each named",
			yaml:    "colour: blue\nlog:\n  level: debug\n  colour: red\n",
			wantErr: []string{`config: unknown key "colour" (in FILE)`, `config: unknown key "log.colour" (in FILE)`},
		},
		{
			name:    "malformed YAML",
			yaml:    "listen: [127.0.0.1:8080\n",
			wantErr: []string{"config file"},
		},
		{
			name:    "wrong type",
			yaml:    "database:\n  max_open_conns: lots\n",
			wantErr: []string{"max_open_conns", `config key database.max_open_conns: "lots" is not a whole number (in FILE)`},
		},
		{
			name:    "a fraction for a whole number",
			yaml:    "webhooks:\n  workers: 1.5\n",
			wantErr: []string{`config key webhooks.workers: 1.5 is not a whole number (in FILE)`},
		},
		{
			name:    "bad duration",
			yaml:    "shutdown_timeout: soon\n",
			wantErr: []string{"shutdown_timeout", `config key shutdown_timeout: "soon" is not a duration (e.g. 10s, 1m) (in FILE)`},
		},
		{
			name:    "bad nested duration",
			yaml:    "webhooks:\n  timeout: 5x\n",
			wantErr: []string{`config key webhooks.timeout: "5x" is not a duration (e.g. 10s, 1m) (in FILE)`},
		},
		{
			name:    "bad bool",
			yaml:    "call_log:\n  enabled: maybe\n",
			wantErr: []string{`config key call_log.enabled: "maybe" is not true or false (in FILE)`},
		},
		{
			name:    "a value for a section",
			yaml:    "webhooks: 5\n",
			wantErr: []string{"config key webhooks: want a section (webhooks.allow_private, ", "got 5 (in FILE)"},
		},
		{
			name:    "a section for a value",
			yaml:    "listen:\n  host: x\n",
			wantErr: []string{"config key listen: a section is not a single value (in FILE)"},
		},
		{
			name:    "a section for a list",
			yaml:    "trusted_proxies:\n  office: 10.0.0.0/8\n",
			wantErr: []string{"config key trusted_proxies: a section is not a list (in FILE)"},
		},
		{
			name:    "several wrong at once",
			yaml:    "listn: x\nshutdown_timeout: soon\nwebhooks:\n  workers: many\n",
			wantErr: []string{`unknown key "listn"`, "config key shutdown_timeout: ", "config key webhooks.workers: "},
		},
		{
			name:    "a bound broken shows the value",
			yaml:    "webhooks:\n  timeout: 10ms\n",
			wantErr: []string{"config key webhooks.timeout: must be between 100ms and 1m, got 10ms"},
		},
		{
			name:    "file values are validated",
			yaml:    "log:\n  level: loud\n",
			wantErr: []string{"config key log.level"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.file
			if name == "" {
				name = "paymux.yaml"
			}
			path := writeTestFile(t, name, tt.yaml)
			cfg, err := Load(NewViper(), path)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("LoadConfig = %+v, want an error", cfg)
				}
				for _, s := range tt.wantErr {
					if s = strings.ReplaceAll(s, "FILE", path); !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				// Keys and values, not Go's names for types.
				for _, s := range []string{"server.", "Config", "decoding failed", "mapstructure", "strconv.", "time: "} {
					if strings.Contains(strings.ReplaceAll(err.Error(), path, "FILE"), s) {
						t.Errorf("error %q shows %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			want := defaultConfig()
			tt.want(&want)
			sameConfig(t, cfg, want)
		})
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	clearPaymuxEnv(t)
	path := filepath.Join(t.TempDir(), "absent.yaml")
	_, err := Load(NewViper(), path)
	if err == nil {
		t.Fatal("LoadConfig of a missing file: no error")
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file %s", err, path)
	}
}

func TestConfigEnvBeatsFile(t *testing.T) {
	clearPaymuxEnv(t)
	path := writeTestFile(t, "paymux.yaml", `
listen: 127.0.0.1:7000
database:
  dsn: postgres://file@db/paymux
trusted_proxies: [172.16.0.1]
log:
  level: warn
`)
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c Config)
	}{
		{
			name: "no environment: the file",
			check: func(t *testing.T, c Config) {
				if c.Listen != "127.0.0.1:7000" || c.Database.DSN != "postgres://file@db/paymux" ||
					!reflect.DeepEqual(c.TrustedProxies, []string{"172.16.0.1"}) || c.Log.Level != "warn" {
					t.Errorf("config %+v does not hold the file's values", c)
				}
			},
		},
		{
			name: "PAYMUX_LISTEN",
			env:  map[string]string{"PAYMUX_LISTEN": "127.0.0.1:7001"},
			check: func(t *testing.T, c Config) {
				if c.Listen != "127.0.0.1:7001" {
					t.Errorf("listen = %q, want the environment's 127.0.0.1:7001", c.Listen)
				}
				if c.Log.Level != "warn" {
					t.Errorf("log.level = %q, want the file's warn", c.Log.Level)
				}
			},
		},
		{
			name: "PAYMUX_DATABASE_DSN",
			env:  map[string]string{"PAYMUX_DATABASE_DSN": "postgres://env@db/paymux"},
			check: func(t *testing.T, c Config) {
				if c.Database.DSN != "postgres://env@db/paymux" {
					t.Errorf("database.dsn = %q, want the environment's", c.Database.DSN)
				}
				if c.Database.MaxOpenConns != 20 {
					t.Errorf("database.max_open_conns = %d, want the default 20", c.Database.MaxOpenConns)
				}
			},
		},
		{
			name: "PAYMUX_TRUSTED_PROXIES, comma-separated",
			env:  map[string]string{"PAYMUX_TRUSTED_PROXIES": "10.0.0.1, 192.168.0.0/16"},
			check: func(t *testing.T, c Config) {
				if want := []string{"10.0.0.1", "192.168.0.0/16"}; !reflect.DeepEqual(c.TrustedProxies, want) {
					t.Errorf("trusted_proxies = %q, want %q", c.TrustedProxies, want)
				}
			},
		},
		{
			name: "PAYMUX_LOG_LEVEL",
			env:  map[string]string{"PAYMUX_LOG_LEVEL": "error"},
			check: func(t *testing.T, c Config) {
				if c.Log.Level != "error" {
					t.Errorf("log.level = %q, want error", c.Log.Level)
				}
			},
		},
		{
			name: "empty variable: the file",
			env:  map[string]string{"PAYMUX_LISTEN": ""},
			check: func(t *testing.T, c Config) {
				if c.Listen != "127.0.0.1:7000" {
					t.Errorf("listen = %q, want the file's 127.0.0.1:7000", c.Listen)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			cfg, err := Load(NewViper(), path)
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			tt.check(t, cfg)
		})
	}
}

// An invalid value from the environment is reported under its key.
func TestLoadConfigEnvValidated(t *testing.T) {
	tests := []struct {
		env, value, key string
		want            string // also in the error, if set
		secret          bool   // the value must not be in the error
	}{
		{env: "PAYMUX_LOG_LEVEL", value: "loud", key: "log.level"},
		{env: "PAYMUX_ADMIN_TOKEN", value: "pma_tooshort", key: "admin_token", secret: true},
		{env: "PAYMUX_DATABASE_DSN", value: "mysql://x", key: "database.dsn", secret: true},
		{env: "PAYMUX_TRUSTED_PROXIES", value: "10.0.0.1, bogus", key: "trusted_proxies"},
		{env: "PAYMUX_AUTH_CACHE_TTL", value: "10m", key: "auth_cache_ttl", want: "must be between 0s and 5m, got 10m0s"},
		{env: "PAYMUX_WEBHOOKS_TIMEOUT", value: "5x", key: "webhooks.timeout",
			want: `config key webhooks.timeout: "5x" is not a duration (e.g. 10s, 1m) (from PAYMUX_WEBHOOKS_TIMEOUT)`},
		{env: "PAYMUX_DATABASE_MAX_OPEN_CONNS", value: "lots", key: "database.max_open_conns",
			want: `config key database.max_open_conns: "lots" is not a whole number (from PAYMUX_DATABASE_MAX_OPEN_CONNS)`},
		{env: "PAYMUX_WEBHOOKS_ALLOW_PRIVATE", value: "yes please", key: "webhooks.allow_private",
			want: `config key webhooks.allow_private: "yes please" is not true or false (from PAYMUX_WEBHOOKS_ALLOW_PRIVATE)`},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			clearPaymuxEnv(t)
			t.Setenv(tt.env, tt.value)
			_, err := Load(NewViper(), "")
			if err == nil {
				t.Fatalf("%s=%s: no error", tt.env, tt.value)
			}
			if !strings.Contains(err.Error(), "config key "+tt.key) {
				t.Errorf("%s=%s: error %q does not name %s", tt.env, tt.value, err, tt.key)
			}
			if tt.want != "" && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s=%s: error %q does not contain %q", tt.env, tt.value, err, tt.want)
			}
			if tt.secret && strings.Contains(err.Error(), tt.value) {
				t.Errorf("%s=%s: error %q shows the secret", tt.env, tt.value, err)
			}
		})
	}
}

func TestUnknownEnv(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		want    []UnknownEnvVar
	}{
		{"none", []string{"HOME=/root", "PATH=/bin"}, nil},
		{"every key's variable and the file's", func() []string {
			env := []string{ConfigFileEnv + "=paymux.yaml"}
			for key := range Defaults {
				env = append(env, EnvName(key)+"=x")
			}
			return env
		}(), nil},
		{"the tests' own", []string{"PAYMUX_TEST_POSTGRES_DSN=postgres://x", "PAYMUX_TEST_ANYTHING="}, nil},
		{"a typo", []string{"PAYMUX_WEBHOOK_TIMEOUT=5s", "PAYMUX_LOG_LEVEL=debug"},
			[]UnknownEnvVar{{Name: "PAYMUX_WEBHOOK_TIMEOUT", DidYouMean: "PAYMUX_WEBHOOKS_TIMEOUT"}}},
		{"several, sorted, one unlike any", []string{"PAYMUX_LISTN=:1", "PAYMUX_COLOUR=blue", "PAYMUX_CONFIG_FILE=x.yaml"},
			[]UnknownEnvVar{{Name: "PAYMUX_COLOUR"}, {Name: "PAYMUX_CONFIG_FILE", DidYouMean: ""}, {Name: "PAYMUX_LISTN", DidYouMean: "PAYMUX_LISTEN"}}},
		{"not paymux's", []string{"PAYMUXX=1", "MY_PAYMUX_LISTEN=x", "paymux_listen=x"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := UnknownEnv(tt.environ)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("UnknownEnv = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// What EnvName says is what viper reads.
func TestConfigEnvName(t *testing.T) {
	for key := range Defaults {
		if got, want := EnvName(key), envName(key); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	cert := filepath.Join(dir, "cert.pem")
	key := filepath.Join(dir, "key.pem")
	for _, f := range []string{cert, key} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name   string
		modify func(*Config)
		keys   []string // keys the error must name; none: valid
	}{
		{"defaults", func(*Config) {}, nil},
		{"listen without host", func(c *Config) { c.Listen = ":8080" }, nil},
		{"listen IPv6", func(c *Config) { c.Listen = "[::1]:0" }, nil},
		{"postgres DSN", func(c *Config) { c.Database.DSN = "postgres://u@h/db" }, nil},
		{"postgresql DSN", func(c *Config) { c.Database.DSN = "postgresql://u@h/db" }, nil},
		{"trusted proxies", func(c *Config) { c.TrustedProxies = []string{"10.0.0.0/8", "::1", " 192.168.0.1 "} }, nil},
		{"tls both files", func(c *Config) { c.TLS = TLSConfig{CertFile: cert, KeyFile: key} }, nil},
		{"max_request_bytes at minimum", func(c *Config) { c.MaxRequestBytes = 1024 }, nil},
		{"auth_cache_ttl 0", func(c *Config) { c.AuthCacheTTL = 0 }, nil},
		{"auth_cache_ttl 5m", func(c *Config) { c.AuthCacheTTL = 5 * time.Minute }, nil},
		{"admin token", func(c *Config) { c.AdminToken = "pma_" + strings.Repeat("x", 20) }, nil},
		{"log.level debug", func(c *Config) { c.Log.Level = "debug" }, nil},
		{"log.format json", func(c *Config) { c.Log.Format = "json" }, nil},

		{"listen nope", func(c *Config) { c.Listen = "nope" }, []string{"listen"}},
		{"listen empty", func(c *Config) { c.Listen = "" }, []string{"listen"}},
		{"data_dir empty", func(c *Config) { c.DataDir = "" }, []string{"data_dir"}},
		{"database.dsn mysql", func(c *Config) { c.Database.DSN = "mysql://x" }, []string{"database.dsn"}},
		{"database.dsn sqlite path", func(c *Config) { c.Database.DSN = "paymux.db" }, []string{"database.dsn"}},
		{"database.max_open_conns 0", func(c *Config) { c.Database.MaxOpenConns = 0 }, []string{"database.max_open_conns"}},
		{"trusted_proxies bogus", func(c *Config) { c.TrustedProxies = []string{"bogus"} }, []string{"trusted_proxies"}},
		{"trusted_proxies bad CIDR", func(c *Config) { c.TrustedProxies = []string{"10.0.0.0/33"} }, []string{"trusted_proxies"}},
		{"tls only cert_file", func(c *Config) { c.TLS.CertFile = cert }, []string{"tls"}},
		{"tls only key_file", func(c *Config) { c.TLS.KeyFile = key }, []string{"tls"}},
		{"tls cert_file missing", func(c *Config) { c.TLS = TLSConfig{CertFile: missing, KeyFile: key} }, []string{"tls.cert_file"}},
		{"tls key_file missing", func(c *Config) { c.TLS = TLSConfig{CertFile: cert, KeyFile: missing} }, []string{"tls.key_file"}},
		{"max_request_bytes 10", func(c *Config) { c.MaxRequestBytes = 10 }, []string{"max_request_bytes"}},
		{"shutdown_timeout 0", func(c *Config) { c.ShutdownTimeout = 0 }, []string{"shutdown_timeout"}},
		{"shutdown_timeout negative", func(c *Config) { c.ShutdownTimeout = -time.Second }, []string{"shutdown_timeout"}},
		{"auth_cache_ttl 10m", func(c *Config) { c.AuthCacheTTL = 10 * time.Minute }, []string{"auth_cache_ttl"}},
		{"auth_cache_ttl negative", func(c *Config) { c.AuthCacheTTL = -time.Second }, []string{"auth_cache_ttl"}},
		{"admin_token short", func(c *Config) { c.AdminToken = "short" }, []string{"admin_token"}},
		{"admin_token short with prefix", func(c *Config) { c.AdminToken = "pma_short" }, []string{"admin_token"}},
		{"admin_token without prefix", func(c *Config) { c.AdminToken = strings.Repeat("x", 40) }, []string{"admin_token"}},
		{"log.level loud", func(c *Config) { c.Log.Level = "loud" }, []string{"log.level"}},
		{"log.level empty", func(c *Config) { c.Log.Level = "" }, []string{"log.level"}},
		{"log.format xml", func(c *Config) { c.Log.Format = "xml" }, []string{"log.format"}},
		{"public_url with a path", func(c *Config) { c.PublicURL = "https://pay.example.com/shop" }, []string{"public_url"}},
		{"public_url not http", func(c *Config) { c.PublicURL = "ftp://pay.example.com" }, []string{"public_url"}},
		{"public_url origin", func(c *Config) { c.PublicURL = "https://pay.example.com" }, nil},
		{"payments.pg_timeout 0", func(c *Config) { c.Payments.PGTimeout = 0 }, []string{"payments.pg_timeout"}},
		{"payments.sweep_interval 0", func(c *Config) { c.Payments.SweepInterval = 0 }, []string{"payments.sweep_interval"}},
		{"payments.idempotency_ttl 1h", func(c *Config) { c.Payments.IdempotencyTTL = time.Hour }, []string{"payments.idempotency_ttl"}},
		{"webhooks.retry_schedule bad", func(c *Config) { c.Webhooks.RetrySchedule = "soon" }, []string{"webhooks.retry_schedule"}},
		{"webhooks.workers 0", func(c *Config) { c.Webhooks.Workers = 0 }, []string{"webhooks.workers"}},
		{"webhooks.timeout 0", func(c *Config) { c.Webhooks.Timeout = 0 }, []string{"webhooks.timeout"}},
		{"console.idle_timeout past the lifetime", func(c *Config) { c.Console.IdleTimeout = 13 * time.Hour }, []string{"console.idle_timeout"}},
		{"console.session_lifetime 0", func(c *Config) { c.Console.SessionLifetime = 0 }, []string{"console.session_lifetime", "console.idle_timeout"}},
		{"console.max_failed_sign_ins 0", func(c *Config) { c.Console.MaxFailedSignIns = 0 }, []string{"console.max_failed_sign_ins"}},
		{"console.invite_ttl 1s", func(c *Config) { c.Console.InviteTTL = time.Second }, []string{"console.invite_ttl"}},
		{
			"several at once",
			func(c *Config) {
				c.Listen = "nope"
				c.DataDir = ""
				c.Database.MaxOpenConns = 0
				c.ShutdownTimeout = 0
				c.Log.Level = "loud"
				c.Log.Format = "xml"
			},
			[]string{"listen", "data_dir", "database.max_open_conns", "shutdown_timeout", "log.level", "log.format"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaultConfig()
			tt.modify(&c)
			err := c.Validate()
			if len(tt.keys) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate(%+v): no error, want one naming %v", c, tt.keys)
			}
			msg := err.Error()
			for _, k := range tt.keys {
				if !strings.Contains(msg, "config key "+k+":") {
					t.Errorf("error %q does not name key %s", msg, k)
				}
			}
			if n := strings.Count(msg, "config key "); n != len(tt.keys) {
				t.Errorf("error names %d keys, want %d: %q", n, len(tt.keys), msg)
			}
		})
	}
}

// Validate normalises trusted proxies: a comma-separated entry becomes
// several, blanks are trimmed and empty entries dropped.
func TestConfigValidateSplitsTrustedProxies(t *testing.T) {
	tests := []struct {
		in   []string
		want []string
	}{
		{nil, nil},
		{[]string{"10.0.0.1"}, []string{"10.0.0.1"}},
		{[]string{"10.0.0.1, 192.168.0.0/16"}, []string{"10.0.0.1", "192.168.0.0/16"}},
		{[]string{" 10.0.0.1 ", "", "10.0.0.2,,10.0.0.3,"}, []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}},
	}
	for _, tt := range tests {
		c := defaultConfig()
		c.TrustedProxies = tt.in
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(c.TrustedProxies, tt.want) {
			t.Errorf("Validate(%q): trusted proxies %q, want %q", tt.in, c.TrustedProxies, tt.want)
		}
	}
}
