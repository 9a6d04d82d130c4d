// Command paymux runs the paymux payment platform.
//
//	paymux serve     serve every surface on one port (creates what a first run needs)
//	paymux migrate   bring the database schema up to date and exit
//	paymux version   print the version (also paymux --version)
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/app"
	"github.com/paymux/paymux/config"
	"github.com/paymux/paymux/console"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/secrets"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "paymux:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	v := config.NewViper()
	var configFile string
	root := &cobra.Command{
		Use:           "paymux",
		Short:         "paymux: one payment API over every Korean PG",
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("paymux {{.Version}}\n") // as `paymux version` prints it
	root.PersistentFlags().StringVar(&configFile, "config", "", "YAML configuration file (also "+config.ConfigFileEnv+")")
	root.PersistentFlags().String("data-dir", "", "data directory (config key data_dir, PAYMUX_DATA_DIR; default paymux-data)")
	bind(v, "data_dir", root.PersistentFlags().Lookup("data-dir"))
	load := func() (config.Config, error) {
		if configFile == "" {
			configFile = os.Getenv(config.ConfigFileEnv)
		}
		cfg, err := config.Load(v, configFile)
		// A misspelt variable would otherwise be ignored without a word.
		for _, u := range config.UnknownEnv(os.Environ()) {
			attrs := []any{"name", u.Name}
			if u.DidYouMean != "" {
				attrs = append(attrs, "did_you_mean", u.DidYouMean)
			}
			newLogger(cfg).Warn("unknown PAYMUX_ environment variable, ignored", attrs...)
		}
		return cfg, err
	}

	var role string
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Serve gRPC, gRPC-Web, Connect and REST/JSON on one port",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := app.ParseRole(role)
			if err != nil {
				return err
			}
			cfg, err := load()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runServe(ctx, cfg, r, cmd.OutOrStdout())
		},
	}
	serve.Flags().String("listen", "", "address to listen on (config key listen, PAYMUX_LISTEN; default 127.0.0.1:8080)")
	serve.Flags().StringVar(&role, "role", string(app.RoleAll),
		"what this process does: all (API and background work), api (the API only) or worker (background work; serves only /healthz and /metrics)")
	bind(v, "listen", serve.Flags().Lookup("listen"))

	migrate := &cobra.Command{
		Use:   "migrate",
		Short: "Bring the database schema up to date and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			db, err := openDatabase(cfg)
			if err != nil {
				return err
			}
			defer db.Close()
			if err := database.Migrate(cmd.Context(), db); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "paymux: schema is up to date")
			return nil
		},
	}

	ver := &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "paymux", versionString())
		},
	}
	root.AddCommand(serve, migrate, ver, newListenCommand())
	return root
}

// bind makes a flag, when given, win over the file and the environment.
func bind(v *viper.Viper, key string, f *pflag.Flag) {
	if err := v.BindPFlag(key, f); err != nil {
		panic(err) // only for a nil flag: a programming error
	}
}

func versionString() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}

func openDatabase(cfg config.Config) (*ent.Client, error) {
	if cfg.Database.DSN == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
	}
	return database.Open(cfg.Database.DSN, cfg.SQLitePath(), cfg.Database.MaxOpenConns)
}

func newLogger(cfg config.Config) *slog.Logger {
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[cfg.Log.Level]
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

func runServe(ctx context.Context, cfg config.Config, role app.Role, out io.Writer) error {
	log := newLogger(cfg)
	// Listen before anything is created: if the port is taken, a first run
	// leaves nothing behind (no master key, no secrets that were never
	// shown).
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	defer ln.Close()
	// One process per data directory: two would hand out the same sandbox
	// transaction ids.
	unlock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer unlock()
	masterKey, created, err := secrets.LoadOrCreateMasterKey(cfg.MasterKey, cfg.DataDir)
	if err != nil {
		return err
	}
	if created {
		log.Info("generated a master key; replicas must share it (config key master_key)", "file", cfg.DataDir+"/"+secrets.MasterKeyFileName)
	}
	keyring, err := secrets.NewKeyring(masterKey)
	if err != nil {
		return err
	}
	db, err := openDatabase(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := database.Migrate(ctx, db); err != nil {
		return err
	}
	scheme := "http"
	if cfg.TLS.CertFile != "" {
		scheme = "https"
	}
	baseURL := scheme + "://" + ln.Addr().String()
	if cfg.PublicURL == "" {
		// The port actually bound (listen may say :0); a wildcard host
		// becomes localhost for the browser.
		actual := cfg
		actual.Listen = ln.Addr().String()
		cfg.PublicURL = actual.BaseURL()
	}
	accounts := account.New(account.Options{DB: db, Keyring: keyring, CacheTTL: cfg.AuthCacheTTL})
	first, err := accounts.Bootstrap(ctx, cfg.AdminToken)
	if err != nil {
		return err
	}
	// Shown at once: nothing after this may keep the secrets from being seen.
	printFirstRun(out, first, baseURL, ln.Addr().String(), scheme == "http")
	paymux, err := app.New(app.Options{Config: cfg, DB: db, Keyring: keyring, Accounts: accounts, Logger: log, Role: role})
	if err != nil {
		return err
	}
	defer paymux.Close()
	if role != app.RoleWorker {
		if err := printConsoleLink(ctx, out, paymux.Console, cfg.BaseURL()); err != nil {
			return err
		}
	}
	database := "SQLite " + cfg.SQLitePath()
	if cfg.Database.DSN != "" {
		database = "PostgreSQL"
	}
	if role == app.RoleWorker {
		log.Info("paymux worker running the background work; serving /healthz and /metrics", "url", baseURL, "database", database, "version", versionString())
	} else {
		log.Info("paymux serving gRPC, gRPC-Web, Connect and REST", "url", baseURL, "role", string(role), "database", database, "version", versionString())
	}
	if err := paymux.Serve(ctx, ln); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("paymux stopped")
	return nil
}

// printConsoleLink shows, once, a one-time link for the first owner of the
// console to set their password (console.Service.FirstOwnerLink says when).
// Lost, the admin token can invite an owner (POST /v1/console/users).
func printConsoleLink(ctx context.Context, out io.Writer, c *console.Service, baseURL string) error {
	token, ok, err := c.FirstOwnerLink(ctx)
	if err != nil || !ok {
		return err
	}
	fmt.Fprintf(out, "Web console: set the first owner's password with this one-time link (valid 7 days):\n  %s%s%s\n\n",
		baseURL, console.SetupPath, token)
	return nil
}

// printFirstRun shows, once, what the first run created, with calls to
// paste.
func printFirstRun(out io.Writer, f account.FirstRun, baseURL, hostPort string, plaintext bool) {
	if f.AdminToken == "" && f.ClientKey == "" {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	p("")
	p("paymux first run. These secrets are shown only now: store them.")
	p("")
	if f.AdminToken != "" {
		p("  platform admin token: %s", f.AdminToken)
	}
	if f.ClientKey != "" {
		basic := base64.StdEncoding.EncodeToString([]byte(f.ClientKey + ":" + f.SecretKey))
		h2 := "--http2-prior-knowledge "
		grpcurlTLS := "-plaintext "
		if !plaintext {
			h2, grpcurlTLS = "", ""
		}
		p("  store:                %s", f.StoreID)
		p("  TEST client key:      %s", f.ClientKey)
		p("  TEST secret key:      %s", f.SecretKey)
		p("  sandbox channel:      %s (TEST default: test cards, no PG contract)", f.ChannelID)
		p("")
		p("Try it:")
		p("  curl -u %s:%s %s/v1/keys", f.ClientKey, f.SecretKey, baseURL)
		p("  buf curl %s-H 'Authorization: Basic %s' %s/paymux.v1.KeyService/ListKeys", h2, basic, baseURL)
		p("  grpcurl %s-H 'Authorization: Basic %s' %s paymux.v1.KeyService/ListKeys", grpcurlTLS, basic, hostPort)
	}
	if f.AdminToken != "" {
		p("  curl -H 'Authorization: Bearer %s' %s/v1/stores", f.AdminToken, baseURL)
	}
	if f.ClientKey != "" {
		p("")
		p("Take a sandbox payment (open the checkoutUrl it answers in a browser):")
		p(`  curl -u %s:%s %s/v1/payments -d '{"merchantPaymentId":"order-1","orderName":"T-shirt","amount":{"total":30000}}'`, f.ClientKey, f.SecretKey, baseURL)
	}
	p("")
}
