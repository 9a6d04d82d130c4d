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
	"time"

	"github.com/paymux/paymux/billing"
	"github.com/paymux/paymux/config"
	"github.com/paymux/paymux/console"
	"github.com/paymux/paymux/consoleui"
	"github.com/paymux/paymux/deposit"
	paymentsvc "github.com/paymux/paymux/payment"
	"github.com/prometheus/client_golang/prometheus"

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
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/webhook"
)

// Deps are what a Server serves: the domain services it maps the API onto,
// built by package app.
type Deps struct {
	Config  config.Config
	DB      *ent.Client
	Keyring *secrets.Keyring
	Logger  *slog.Logger
	// Now is the clock; nil means time.Now. Tests move it.
	Now func() time.Time
	// Registry holds every metric served at /metrics; the server adds the
	// API's own.
	Registry *prometheus.Registry

	Accounts *account.Service
	Usage    *account.UsageRecorder
	Calls    *calllog.Writer
	Payments *paymentsvc.Service
	Billing  *billing.Service
	Webhooks *webhook.Service
	Deposits *deposit.Service
	// Console signs people in to the web console; nil serves no console.
	Console *console.Service
	// Pages are the public pages mounted beside the API (surface/pages).
	Pages interface{ Mount(*http.ServeMux) }
}

// Server serves every API surface from one http.Handler.
type Server struct {
	cfg       config.Config
	db        *ent.Client
	keyring   *secrets.Keyring
	log       *slog.Logger
	now       func() time.Time
	accounts  *account.Service
	usage     *account.UsageRecorder
	resolver  *clientip.Resolver
	validator protovalidate.Validator
	access    map[string]methodRule
	console   *console.Service
	// mutating lists the procedures that change something (REST verb other
	// than GET): they honour Idempotency-Key.
	mutating map[string]bool
	payments *paymentsvc.Service
	billing  *billing.Service
	webhooks *webhook.Service
	deposits *deposit.Service
	calls    *calllog.Writer
	metrics  *metrics

	handler http.Handler
	root    *http.ServeMux
	gateway *gatewayHop
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
	paymuxv1connect.DepositServiceName,
	paymuxv1connect.ConsoleServiceName,
}

// New builds the transport over d's services. It starts nothing; Close
// stops the REST gateway hop.
func New(d Deps) (*Server, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	resolver, err := NewResolver(d.Config)
	if err != nil {
		return nil, err
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
		cfg:       d.Config,
		db:        d.DB,
		keyring:   d.Keyring,
		log:       d.Logger,
		now:       d.Now,
		accounts:  d.Accounts,
		usage:     d.Usage,
		resolver:  resolver,
		validator: validator,
		access:    access,
		console:   d.Console,
		mutating:  mutatingMethods(serviceNames),
		payments:  d.Payments,
		billing:   d.Billing,
		webhooks:  d.Webhooks,
		deposits:  d.Deposits,
		calls:     d.Calls,
		metrics:   newMetrics(d.Registry),
	}

	api := http.NewServeMux()
	handlerOpts := []connect.HandlerOption{
		connect.WithInterceptors(chainInterceptor{steps: s.policyChain()}),
		connect.WithCodec(strictJSONCodec{}),
		connect.WithReadMaxBytes(int(d.Config.MaxRequestBytes)),
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
	api.Handle(paymuxv1connect.NewDepositServiceHandler(&depositService{s}, handlerOpts...))
	api.Handle(paymuxv1connect.NewConsoleServiceHandler(&consoleService{s}, handlerOpts...))
	// Health and reflection are public: they say nothing about any store.
	api.Handle(grpchealth.NewHandler(grpchealth.NewStaticChecker(serviceNames...)))
	reflector := grpcreflect.NewStaticReflector(serviceNames...)
	api.Handle(grpcreflect.NewHandlerV1(reflector))
	api.Handle(grpcreflect.NewHandlerV1Alpha(reflector))

	s.gateway, err = newGatewayHop(api, d.Config.MaxRequestBytes, d.Logger)
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
	MountOperations(root, d.Registry, d.Accounts)
	if d.Console != nil {
		root.Handle("/console/auth/", d.Console.Handler(s.requestIP))
		root.Handle("/console/", consoleui.Handler())
		root.Handle("/console", consoleui.Handler())
	}
	if d.Pages != nil {
		d.Pages.Mount(root)
	}
	s.handler, s.root = root, root
	return s, nil
}

// NewResolver is the client-address resolver of cfg's trusted proxies.
func NewResolver(cfg config.Config) (*clientip.Resolver, error) {
	trusted, err := clientip.ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("trusted_proxies: %w", err)
	}
	return clientip.NewResolver(trusted), nil
}

// MountOperations adds what operators reach on every role: /healthz, and
// /metrics for the administrator.
func MountOperations(mux *http.ServeMux, reg *prometheus.Registry, accounts *account.Service) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", metricsHandler(reg, accounts))
}

// clock is the server's clock, truncated to what PostgreSQL keeps.
func (s *Server) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Mount adds another public surface beside the API (surface/payaction).
// Call it while wiring, before the server serves.
func (s *Server) Mount(surface interface{ Mount(*http.ServeMux) }) { surface.Mount(s.root) }

// Handler serves every surface.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the gateway hop.
func (s *Server) Close() error { return s.gateway.close() }

// HTTPServer returns an http.Server for h: HTTP/1.1 and HTTP/2 (h2c in
// plain text, h2 over TLS) on the same port.
func HTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{
		Handler:           h,
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Serve serves the API on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return Serve(ctx, ln, s.handler, s.cfg, s.log)
}

// Serve serves h on ln (over TLS when cfg has a certificate) until ctx
// ends, then shuts down gracefully within cfg's shutdown timeout.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, cfg config.Config, log *slog.Logger) error {
	srv := HTTPServer(h, log)
	if cfg.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
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
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
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
	paymuxv1.Access_ACCESS_CONSOLE:   account.AccessConsole,
}

// roleOf is each (paymux.v1.console_role) option's role.
var roleOf = map[paymuxv1.ConsoleRole]account.Role{
	paymuxv1.ConsoleRole_CONSOLE_ROLE_VIEWER:    account.RoleViewer,
	paymuxv1.ConsoleRole_CONSOLE_ROLE_DEVELOPER: account.RoleDeveloper,
	paymuxv1.ConsoleRole_CONSOLE_ROLE_ADMIN:     account.RoleAdmin,
	paymuxv1.ConsoleRole_CONSOLE_ROLE_OWNER:     account.RoleOwner,
}

// methodRule is who may call a method: the access it demands and, for a
// console user, the least role in the store.
type methodRule struct {
	access account.Access
	role   account.Role
}

// accessRules reads each method's (paymux.v1.access) and
// (paymux.v1.console_role) options. A method without an access rule, or a
// store method without a console role, is a startup error, so none can be
// served unguarded.
func accessRules(services []string) (map[string]methodRule, error) {
	rules := map[string]methodRule{}
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
			role, _ := proto.GetExtension(m.Options(), paymuxv1.E_ConsoleRole).(paymuxv1.ConsoleRole)
			rule := methodRule{access: access, role: roleOf[role]}
			if access == account.AccessStore && rule.role == account.RoleNone {
				return nil, fmt.Errorf("method %s declares no (paymux.v1.console_role) option", m.FullName())
			}
			rules["/"+name+"/"+string(m.Name())] = rule
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
