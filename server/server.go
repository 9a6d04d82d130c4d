// Package server is paymux's transport: one port serving gRPC, gRPC-Web,
// Connect and REST/JSON, every method behind one policy chain (chain.go),
// plus the service implementations (one file each).
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/paymux/paymux/billing"
	paymentsvc "github.com/paymux/paymux/payment"

	"buf.build/go/protovalidate"
	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/calllog"
	"github.com/paymux/paymux/clientip"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/gen/openapi"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/gen/paymux/v1/paymuxv1connect"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/webhook"
)

// Options are what a Server is built from.
type Options struct {
	Config  Config
	DB      *ent.Client
	Keyring *secrets.Keyring
	// Accounts authenticates calls and writes stores, keys and IP rules;
	// nil: a new one over DB, with AdminTokenHash and the server's clock.
	Accounts *account.Service
	// AdminTokenHash is the keyed hash of the administrator's token
	// (see Bootstrap); only used when Accounts is nil.
	AdminTokenHash []byte
	Logger         *slog.Logger
	// Now is the clock; nil means time.Now. Tests move it.
	Now func() time.Time
	// Sandbox is the sandbox PG; nil: a new one on the same clock.
	Sandbox *sandbox.Sandbox
}

// Server serves every paymux surface from one http.Handler.
type Server struct {
	cfg       Config
	db        *ent.Client
	keyring   *secrets.Keyring
	log       *slog.Logger
	now       func() time.Time
	accounts  *account.Service
	usage     *account.UsageRecorder
	resolver  *clientip.Resolver
	validator protovalidate.Validator
	access    map[string]account.Access
	// mutating lists the procedures that change something (REST verb other
	// than GET): they honour Idempotency-Key.
	mutating map[string]bool
	// providers are the PG adapters by provider name ("sandbox", ...).
	providers map[string]providers.Provider
	sandbox   *sandbox.Sandbox
	payments  *paymentsvc.Service
	sweeper   *paymentsvc.Sweeper

	// outbox queues webhooks in the transactions that write events; the
	// dispatcher sends them; webhooks is the one writer of endpoints.
	outbox     *webhook.Outbox
	dispatcher *webhook.Dispatcher
	webhooks   *webhook.Service

	metrics   *metrics
	calls     *calllog.Writer
	billing   *billing.Service
	scheduler *billing.Scheduler

	handler http.Handler
	gateway *gatewayHop

	stopBackground context.CancelFunc
	background     sync.WaitGroup
}

// serviceNames lists every paymux service served, for health and reflection.
var serviceNames = []string{
	paymuxv1connect.StoreServiceName,
	paymuxv1connect.KeyServiceName,
	paymuxv1connect.IPRuleServiceName,
	paymuxv1connect.ChannelServiceName,
	paymuxv1connect.PaymentServiceName,
	paymuxv1connect.SandboxServiceName,
	paymuxv1connect.WebhookServiceName,
	paymuxv1connect.LogServiceName,
	paymuxv1connect.BillingServiceName,
}

// New builds a Server. Close it to stop its background work.
func New(opts Options) (*Server, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	trusted, err := clientip.ParseTrustedProxies(opts.Config.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("trusted_proxies: %w", err)
	}
	validator, err := protovalidate.New()
	if err != nil {
		return nil, fmt.Errorf("protovalidate: %w", err)
	}
	access, err := accessRules(serviceNames)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:       opts.Config,
		db:        opts.DB,
		keyring:   opts.Keyring,
		log:       opts.Logger,
		now:       opts.Now,
		resolver:  clientip.NewResolver(trusted),
		validator: validator,
		access:    access,
		mutating:  mutatingMethods(serviceNames),
	}
	s.accounts = opts.Accounts
	if s.accounts == nil {
		s.accounts = account.New(account.Options{DB: opts.DB, Keyring: opts.Keyring, AdminTokenHash: opts.AdminTokenHash,
			CacheTTL: opts.Config.AuthCacheTTL, Now: opts.Now})
	}
	s.usage = account.NewUsageRecorder(opts.DB, opts.Logger, 5*time.Second)
	s.metrics = newMetrics(s)
	if s.calls, err = calllog.NewWriter(opts.DB, opts.Config.CallLog, opts.Now, opts.Logger, s.metrics.registry); err != nil {
		return nil, err
	}
	if s.dispatcher, err = webhook.NewDispatcher(opts.DB, opts.Keyring, opts.Config.Webhooks, opts.Now, opts.Logger, s.metrics.registry); err != nil {
		return nil, err
	}
	s.outbox = webhook.NewOutbox(s.dispatcher.Wake)
	s.webhooks = webhook.NewService(opts.DB, opts.Keyring, opts.Config.Webhooks, opts.Now, eventTypes(), s.dispatcher.Wake)
	s.sandbox = opts.Sandbox
	var sbState *sandboxState
	if s.sandbox == nil {
		s.sandbox = sandbox.New(sandbox.Options{
			Now:         opts.Now,
			CheckoutURL: opts.Config.BaseURL() + checkoutPath,
			// From the master key: a replay after a restart is still
			// recognised, and the saved state holds no key.
			FingerprintKey: opts.Keyring.HashSecret("sandbox-fingerprint"),
		})
		if sbState, err = openSandboxState(s.sandbox, opts.Config.DataDir); err != nil {
			return nil, err
		}
	}
	s.providers = map[string]providers.Provider{sandbox.Name: s.sandbox}
	s.payments = paymentsvc.New(paymentsvc.Deps{
		Config:          opts.Config.Payments,
		DB:              opts.DB,
		Keyring:         opts.Keyring,
		Providers:       s.providers,
		WrapProvider:    s.calls.WrapProvider,
		Outbox:          s.outbox,
		EventData:       func(p *ent.Payment) ([]byte, error) { return protojson.Marshal(toPaymentPB(p, nil, nil, nil)) },
		ReturnURL:       s.windowReturnURL,
		ChannelCacheTTL: opts.Config.AuthCacheTTL,
		Logger:          opts.Logger,
		Now:             opts.Now,
	})
	s.billing = billing.New(billing.Deps{
		Config:         opts.Config.Billing,
		DB:             opts.DB,
		Keyring:        opts.Keyring,
		Payments:       s.payments,
		Outbox:         s.outbox,
		BillingKeyData: func(k *ent.BillingKey) ([]byte, error) { return protojson.Marshal(toBillingKeyPB(k, 0)) },
		ScheduleData:   func(r *ent.Schedule) ([]byte, error) { return protojson.Marshal(toSchedulePB(r)) },
		ReturnURL:      s.billingReturnURL,
		Logger:         opts.Logger,
		Now:            opts.Now,
	})
	if s.scheduler, err = billing.NewScheduler(s.billing, billing.SchedulerDeps{
		Registerer: s.metrics.registry,
		NewJob: func(ctx context.Context) context.Context {
			return withJobRequestID(ctx, "job_schedule_"+secrets.RandomString(12))
		},
		BatchEnqueue: s.outbox.WithEndpointMemo,
	}); err != nil {
		return nil, err
	}
	s.billing.OnSchedule(s.scheduler.Wake)
	s.payments.OnTransition(s.scheduler.EndSchedule)
	s.sweeper = paymentsvc.NewSweeper(s.payments, s.scheduler.ResumeScheduledCharge, func(ctx context.Context) context.Context {
		return withJobRequestID(ctx, "job_sweep_"+secrets.RandomString(12))
	})

	api := http.NewServeMux()
	handlerOpts := []connect.HandlerOption{
		connect.WithInterceptors(chainInterceptor{steps: s.policyChain()}),
		connect.WithCodec(strictJSONCodec{}),
		connect.WithReadMaxBytes(int(opts.Config.MaxRequestBytes)),
	}
	api.Handle(paymuxv1connect.NewStoreServiceHandler(&storeService{s}, handlerOpts...))
	api.Handle(paymuxv1connect.NewKeyServiceHandler(&keyService{s}, handlerOpts...))
	api.Handle(paymuxv1connect.NewIPRuleServiceHandler(&ipRuleService{s}, handlerOpts...))
	api.Handle(paymuxv1connect.NewChannelServiceHandler(&channelService{s}, handlerOpts...))
	api.Handle(paymuxv1connect.NewPaymentServiceHandler(&paymentService{s}, handlerOpts...))
	api.Handle(paymuxv1connect.NewSandboxServiceHandler(&sandboxService{s}, handlerOpts...))
	api.Handle(paymuxv1connect.NewWebhookServiceHandler(&webhookService{s}, handlerOpts...))
	api.Handle(paymuxv1connect.NewLogServiceHandler(&logService{s}, handlerOpts...))
	api.Handle(paymuxv1connect.NewBillingServiceHandler(&billingService{s}, handlerOpts...))
	// Health and reflection are public: they say nothing about any store.
	api.Handle(grpchealth.NewHandler(grpchealth.NewStaticChecker(serviceNames...)))
	reflector := grpcreflect.NewStaticReflector(serviceNames...)
	api.Handle(grpcreflect.NewHandlerV1(reflector))
	api.Handle(grpcreflect.NewHandlerV1Alpha(reflector))

	s.gateway, err = newGatewayHop(api, opts.Config.MaxRequestBytes, opts.Logger)
	if err != nil {
		return nil, err
	}
	s.gateway.refused = s.captureRESTRefusal
	root := http.NewServeMux()
	root.Handle("/", api)
	root.Handle("/v1/", s.gateway.restHandler())
	root.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.JSON)
	})
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	root.Handle("GET /metrics", s.metrics.handler(s))
	s.mountPublicPages(root)
	s.handler = root

	ctx, cancel := context.WithCancel(context.Background())
	s.stopBackground = cancel
	s.background.Add(2)
	go func() {
		defer s.background.Done()
		_ = s.usage.Run(ctx)
	}()
	go func() {
		defer s.background.Done()
		_ = s.sweeper.Run(ctx)
	}()
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		s.housekeeping(ctx)
	}()
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		if err := s.dispatcher.Run(ctx); err != nil {
			s.log.Error("webhook dispatcher", "error", err)
		}
	}()
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		_ = s.scheduler.Run(ctx)
	}()
	if s.calls.Enabled() {
		s.background.Add(1)
		go func() {
			defer s.background.Done()
			_ = s.calls.Run(ctx) // returns nil once ctx ends and the queue is written
		}()
	}
	if sbState != nil {
		s.background.Add(1)
		go func() {
			defer s.background.Done()
			sbState.run(ctx, time.Second, func(err error) { s.log.Error("save sandbox state", "error", err) })
		}()
	}
	return s, nil
}

// clock is the server's clock, truncated to what PostgreSQL keeps.
func (s *Server) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Handler serves every surface.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the gateway hop and flushes background work.
func (s *Server) Close() error {
	s.stopBackground()
	s.background.Wait()
	return s.gateway.close()
}

// HTTPServer returns an http.Server for the handler: HTTP/1.1 and HTTP/2
// (h2c in plain text, h2 over TLS) on the same port.
func (s *Server) HTTPServer() *http.Server {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{
		Handler:           s.handler,
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// Serve serves on ln until ctx ends, then shuts down gracefully within the
// configured shutdown timeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := s.HTTPServer()
	if s.cfg.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLS.CertFile, s.cfg.TLS.KeyFile)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// accessOf is what each (paymux.v1.access) option demands of a caller.
var accessOf = map[paymuxv1.Access]account.Access{
	paymuxv1.Access_ACCESS_ADMIN:     account.AccessAdmin,
	paymuxv1.Access_ACCESS_STORE:     account.AccessStore,
	paymuxv1.Access_ACCESS_KEY_BASIC: account.AccessKeyBasic,
}

// accessRules reads each method's (paymux.v1.access) option. A method
// without one is a startup error, so none can be served unguarded.
func accessRules(services []string) (map[string]account.Access, error) {
	rules := map[string]account.Access{}
	for _, name := range services {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", name, err)
		}
		methods := d.(protoreflect.ServiceDescriptor).Methods()
		for i := range methods.Len() {
			m := methods.Get(i)
			declared, _ := proto.GetExtension(m.Options(), paymuxv1.E_Access).(paymuxv1.Access)
			if declared == paymuxv1.Access_ACCESS_UNSPECIFIED {
				return nil, fmt.Errorf("method %s declares no (paymux.v1.access) option", m.FullName())
			}
			access, ok := accessOf[declared]
			if !ok {
				return nil, fmt.Errorf("method %s declares access %v, which paymux does not know", m.FullName(), declared)
			}
			rules["/"+name+"/"+string(m.Name())] = access
		}
	}
	return rules, nil
}

// jsonMarshal is how every JSON surface writes messages: lowerCamel names,
// enums as strings, zero values present so a field never silently vanishes.
var jsonMarshal = protojson.MarshalOptions{EmitDefaultValues: true}

// jsonUnmarshal refuses unknown fields: a misspelt field must not be
// silently ignored in a payment API.
var jsonUnmarshal = protojson.UnmarshalOptions{DiscardUnknown: false}

// strictJSONCodec is Connect's JSON codec with jsonMarshal / jsonUnmarshal.
type strictJSONCodec struct{}

func (strictJSONCodec) Name() string { return "json" }

func (strictJSONCodec) Marshal(v any) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("marshal %T: not a proto message", v)
	}
	return jsonMarshal.Marshal(m)
}

func (strictJSONCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("unmarshal into %T: not a proto message", v)
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		data = []byte("{}")
	}
	return jsonUnmarshal.Unmarshal(data, m)
}

// mutatingMethods are the methods whose REST mapping is not a GET.
func mutatingMethods(services []string) map[string]bool {
	out := map[string]bool{}
	for _, name := range services {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			continue // accessRules reports it
		}
		methods := d.(protoreflect.ServiceDescriptor).Methods()
		for i := range methods.Len() {
			m := methods.Get(i)
			rule, _ := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule)
			if rule.GetGet() == "" {
				out["/"+name+"/"+string(m.Name())] = true
			}
		}
	}
	return out
}
