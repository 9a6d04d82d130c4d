package webhook

import (
	"context"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/webhookdelivery"
	"github.com/paymux/paymux/ent/webhookendpoint"
	"github.com/paymux/paymux/secrets"
)

// The reasons the Service's errors carry (apierr.Reason).
const (
	ReasonEndpointNotFound = "WEBHOOK_ENDPOINT_NOT_FOUND"
	ReasonDeliveryNotFound = "WEBHOOK_DELIVERY_NOT_FOUND"
	ReasonEndpointDisabled = "WEBHOOK_ENDPOINT_DISABLED"
	ReasonTestNotResent    = "WEBHOOK_TEST_NOT_RESENT"
)

// DefaultSecretOverlap is how long a rotated-out secret still signs, unless
// the rotation says otherwise.
const DefaultSecretOverlap = 24 * time.Hour

// Service is the one writer of webhook endpoints and of deliveries outside
// the Dispatcher: endpoints' creation (secret generated and sealed), change,
// deletion and secret rotation, TEST calls, and resending. Its methods act
// in the store of ctx (tenant privacy keeps stores apart); testOnly says the
// caller (a TEST key) reaches its store's TEST endpoints only, and their
// deliveries.
type Service struct {
	db         *ent.Client
	keyring    *secrets.Keyring
	cfg        Config
	sender     *sender
	eventTypes []string
	wake       func()
}

// NewService returns the Service over db. Endpoint secrets are sealed with
// keyring; now is the clock; eventTypes are the event types an endpoint may
// ask for; wake (the Dispatcher's Wake, or nil) is called after deliveries
// are queued again.
func NewService(db *ent.Client, keyring *secrets.Keyring, cfg Config, now func() time.Time, eventTypes []string, wake func()) *Service {
	return &Service{
		db:         db,
		keyring:    keyring,
		cfg:        cfg,
		sender:     newSender(keyring, cfg, now),
		eventTypes: slices.Clone(eventTypes),
		wake:       wake,
	}
}

// NewEndpoint is an endpoint to create.
type NewEndpoint struct {
	StoreID     string
	Mode        webhookendpoint.Mode
	URL         string
	Description string
	// EventTypes and PayMethods filter what is sent (empty: everything but
	// the quiet event types, for every pay method).
	EventTypes  []string
	PayMethods  []string
	ContentType webhookendpoint.ContentType
	// TestOnly is a caller that may create TEST endpoints only.
	TestOnly bool
}

// CreateEndpoint creates an endpoint with a new signing secret, returned
// in the clear this once (it is stored sealed).
func (s *Service) CreateEndpoint(ctx context.Context, in NewEndpoint) (ep *ent.WebhookEndpoint, secret string, err error) {
	if err := s.checkURL("url", in.URL); err != nil {
		return nil, "", err
	}
	if err := s.checkEventTypes("event_types", in.EventTypes); err != nil {
		return nil, "", err
	}
	if in.TestOnly && in.Mode == webhookendpoint.ModeLIVE {
		return nil, "", apierr.New(apierr.CodePermissionDenied, apierr.ReasonKeyModeNotAllowed,
			"a TEST key cannot create or change LIVE keys")
	}
	id := secrets.NewID("whe")
	secret = NewSecret()
	sealed, err := s.seal(id, secret)
	if err != nil {
		return nil, "", err
	}
	ep, err = s.db.WebhookEndpoint.Create().
		SetID(id).SetStoreID(in.StoreID).SetMode(in.Mode).SetURL(in.URL).SetDescription(in.Description).
		SetEventTypes(in.EventTypes).SetPayMethods(in.PayMethods).
		SetContentType(in.ContentType).SetSecretSealed(sealed).
		Save(ctx)
	if err != nil {
		return nil, "", err
	}
	return ep, secret, nil
}

// Endpoint reads an endpoint of the caller's store: one it cannot see is
// not found (ReasonEndpointNotFound).
func (s *Service) Endpoint(ctx context.Context, id string, testOnly bool) (*ent.WebhookEndpoint, error) {
	q := s.db.WebhookEndpoint.Query().Where(webhookendpoint.ID(id))
	if testOnly {
		q = q.Where(webhookendpoint.ModeEQ(webhookendpoint.ModeTEST))
	}
	ep, err := q.Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.CodeNotFound, ReasonEndpointNotFound, "webhook endpoint %s not found", id)
	}
	return ep, err
}

// EndpointChange is a change to an endpoint: the fields Fields names (an
// update mask: url, description, event_types, pay_methods, content_type,
// enabled or disabled_reason) take the values given here.
type EndpointChange struct {
	ID       string
	TestOnly bool
	Fields   []string

	URL         string
	Description string
	EventTypes  []string
	PayMethods  []string
	ContentType webhookendpoint.ContentType
	// Enabled turns the endpoint on (clearing why it was off and its
	// failing streak) or off, for DisabledReason ("disabled by the
	// merchant" when empty).
	Enabled        bool
	DisabledReason string
}

// UpdateEndpoint changes an endpoint.
func (s *Service) UpdateEndpoint(ctx context.Context, in EndpointChange) (*ent.WebhookEndpoint, error) {
	ep, err := s.Endpoint(ctx, in.ID, in.TestOnly)
	if err != nil {
		return nil, err
	}
	if len(in.Fields) == 0 {
		return nil, apierr.InvalidField("update_mask", "name at least one of url, description, event_types, pay_methods, content_type, enabled")
	}
	upd := s.db.WebhookEndpoint.UpdateOne(ep)
	for _, path := range in.Fields {
		switch path {
		case "url":
			if err := s.checkURL("url", in.URL); err != nil {
				return nil, err
			}
			upd.SetURL(in.URL)
		case "description":
			upd.SetDescription(in.Description)
		case "event_types":
			if err := s.checkEventTypes("event_types", in.EventTypes); err != nil {
				return nil, err
			}
			upd.SetEventTypes(in.EventTypes)
		case "pay_methods":
			upd.SetPayMethods(in.PayMethods)
		case "content_type":
			upd.SetContentType(in.ContentType)
		case "enabled", "disabled_reason":
			if in.Enabled {
				upd.SetEnabled(true).SetDisabledReason("").ClearDisabledAt().ClearFailingSince()
			} else {
				reason := in.DisabledReason
				if reason == "" {
					reason = "disabled by the merchant"
				}
				upd.SetEnabled(false).SetDisabledReason(reason).SetDisabledAt(s.sender.clock())
			}
		default:
			return nil, apierr.InvalidField("update_mask", "unknown field %q", path)
		}
	}
	return upd.Save(ctx)
}

// DeleteEndpoint deletes an endpoint, failing its pending deliveries.
func (s *Service) DeleteEndpoint(ctx context.Context, id string, testOnly bool) error {
	ep, err := s.Endpoint(ctx, id, testOnly)
	if err != nil {
		return err
	}
	return database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		if _, err := tx.WebhookDelivery.Update().
			Where(webhookdelivery.EndpointID(ep.ID), webhookdelivery.StatusEQ(webhookdelivery.StatusPENDING)).
			SetStatus(webhookdelivery.StatusFAILED).Save(ctx); err != nil {
			return err
		}
		return tx.WebhookEndpoint.DeleteOne(ep).Exec(ctx)
	})
}

// RotateSecret gives an endpoint a new signing secret, returned in the
// clear this once. The old one still signs (beside the new) for overlap;
// zero ends it at once.
func (s *Service) RotateSecret(ctx context.Context, id string, testOnly bool, overlap time.Duration) (ep *ent.WebhookEndpoint, secret string, err error) {
	ep, err = s.Endpoint(ctx, id, testOnly)
	if err != nil {
		return nil, "", err
	}
	secret = NewSecret()
	sealed, err := s.seal(ep.ID, secret)
	if err != nil {
		return nil, "", err
	}
	upd := s.db.WebhookEndpoint.UpdateOne(ep).SetSecretSealed(sealed)
	if overlap > 0 {
		upd.SetPreviousSecretSealed(ep.SecretSealed).SetPreviousSecretExpiresAt(s.sender.clock().Add(overlap))
	} else {
		upd.ClearPreviousSecretSealed().ClearPreviousSecretExpiresAt()
	}
	if ep, err = upd.Save(ctx); err != nil {
		return nil, "", err
	}
	return ep, secret, nil
}

// seal encrypts endpoint id's signing secret for storage.
func (s *Service) seal(id, secret string) ([]byte, error) {
	return s.keyring.Encrypt([]byte(secret), secretAD(id))
}

// checkURL refuses what can never be delivered: another scheme, no host,
// credentials in the URL, or a literal address paymux would refuse to
// connect to. Host names are checked when connecting (after DNS).
func (s *Service) checkURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return apierr.InvalidField(field, "must be an http or https URL")
	}
	if u.User != nil {
		return apierr.InvalidField(field, "must not carry credentials")
	}
	host := u.Hostname()
	ip, err := netip.ParseAddr(host)
	if err != nil {
		if endsInNumber(host) {
			// "2130706433", "0x7f.1", "0177.0.0.1", "127.1", "127.0.0.1.":
			// browsers and curl read these as IPv4 addresses, Go as host
			// names. Either way they only hide an address.
			return apierr.InvalidField(field, "a numeric host must be a dotted-decimal IPv4 address")
		}
		return nil
	}
	if err := CheckAddrFor(ip, ClientOptions{AllowPrivate: s.cfg.AllowPrivate}); err != nil {
		return apierr.InvalidField(field, "%v (private addresses are allowed only with webhooks.allow_private, for development; metadata addresses never)", err)
	}
	return nil
}

// endsInNumber is the WHATWG URL Standard's "ends in a number": the host's
// last label (a trailing dot aside) is decimal digits or 0x hex, which makes
// the host an IPv4 address in one of its many spellings.
func endsInNumber(host string) bool {
	labels := strings.Split(host, ".")
	if len(labels) > 1 && labels[len(labels)-1] == "" {
		labels = labels[:len(labels)-1]
	}
	last := labels[len(labels)-1]
	if last == "" {
		return false
	}
	digits := strings.TrimLeft(last, "0123456789") == ""
	hex, isHex := strings.CutPrefix(strings.ToLower(last), "0x")
	return digits || (isHex && strings.TrimLeft(hex, "0123456789abcdef") == "")
}

func (s *Service) checkEventTypes(field string, types []string) error {
	for _, t := range types {
		if !slices.Contains(s.eventTypes, t) {
			return apierr.InvalidField(field, "unknown event type %q; known: %s", t, strings.Join(s.eventTypes, ", "))
		}
	}
	return nil
}

// endpointDisabled refuses sending to a disabled endpoint.
func endpointDisabled(ep *ent.WebhookEndpoint) error {
	if ep.Enabled {
		return nil
	}
	return apierr.WithMetadata(apierr.CodeFailedPrecondition, ReasonEndpointDisabled,
		map[string]string{"endpoint_id": ep.ID}, "endpoint %s is disabled (%s): enable it first", ep.ID, ep.DisabledReason)
}
