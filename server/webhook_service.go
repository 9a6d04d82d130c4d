package server

import (
	"context"
	"encoding/json"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	paymentsvc "github.com/paymux/paymux/payment"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/apikey"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/schema"
	"github.com/paymux/paymux/ent/webhookattempt"
	"github.com/paymux/paymux/ent/webhookdelivery"
	"github.com/paymux/paymux/ent/webhookendpoint"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/webhook"
)

const (
	reasonWebhookEndpointNotFound = "WEBHOOK_ENDPOINT_NOT_FOUND"
	reasonWebhookDeliveryNotFound = "WEBHOOK_DELIVERY_NOT_FOUND"
	reasonWebhookEndpointDisabled = "WEBHOOK_ENDPOINT_DISABLED"
	reasonWebhookTestNotResent    = "WEBHOOK_TEST_NOT_RESENT"
	defaultSecretOverlap          = 24 * time.Hour
)

type webhookService struct{ *Server }

// eventTypes are the event types an endpoint may ask for: one per payment
// status (payments.go, eventType), and billing's.
func eventTypes() []string {
	var out []string
	for _, st := range schema.PaymentStatuses {
		out = append(out, paymentsvc.EventType(payment.Status(st)))
	}
	return append(out, billingEventTypes...)
}

// billingEventTypes are billing's events (billing_service.go,
// schedule_engine.go).
var billingEventTypes = []string{
	"billing_key.issued", "billing_key.deleted", "billing.schedule.succeeded", "billing.schedule.failed",
}

// checkWebhookURL refuses what can never be delivered: another scheme, no
// host, credentials in the URL, or a literal address paymux would refuse
// to connect to. Host names are checked when connecting (after DNS).
func (s *Server) checkWebhookURL(field, raw string) error {
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
	if err := webhook.CheckAddrFor(ip, webhook.ClientOptions{AllowPrivate: s.cfg.Webhooks.AllowPrivate}); err != nil {
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

func checkEventTypes(field string, types []string) error {
	known := eventTypes()
	for _, t := range types {
		if !slices.Contains(known, t) {
			return apierr.InvalidField(field, "unknown event type %q; known: %s", t, strings.Join(known, ", "))
		}
	}
	return nil
}

func payMethodNames(in []paymuxv1.PayMethod) []string {
	var out []string
	for _, m := range in {
		out = append(out, string(methodFromPB(m)))
	}
	return out
}

func (s *webhookService) sealSecret(id, secret string) ([]byte, error) {
	return s.keyring.Encrypt([]byte(secret), []byte("webhook:"+id))
}

func (s *webhookService) CreateWebhookEndpoint(ctx context.Context, req *connect.Request[paymuxv1.CreateWebhookEndpointRequest]) (*connect.Response[paymuxv1.CreateWebhookEndpointResponse], error) {
	m := req.Msg
	ctx, storeID, err := s.actingStore(ctx, m.GetStoreId())
	if err != nil {
		return nil, err
	}
	if err := s.checkWebhookURL("url", m.GetUrl()); err != nil {
		return nil, err
	}
	if err := checkEventTypes("event_types", m.GetEventTypes()); err != nil {
		return nil, err
	}
	mode := webhookendpoint.ModeTEST
	if k := callFrom(ctx).Principal.Key; k != nil && k.Mode == apikey.ModeLIVE {
		mode = webhookendpoint.ModeLIVE
	}
	if m.GetMode() != paymuxv1.Mode_MODE_UNSPECIFIED {
		mode = webhookendpoint.Mode(modeFromPB(m.GetMode()))
	}
	if err := checkKeyMode(ctx, apikey.Mode(mode)); err != nil {
		return nil, err
	}
	contentType := webhookendpoint.ContentTypeJSON
	if m.GetContentType() == paymuxv1.WebhookContentType_WEBHOOK_CONTENT_TYPE_FORM {
		contentType = webhookendpoint.ContentTypeFORM
	}
	id := secrets.NewID("whe")
	secret := webhook.NewSecret()
	sealed, err := s.sealSecret(id, secret)
	if err != nil {
		return nil, err
	}
	ep, err := s.db.WebhookEndpoint.Create().
		SetID(id).SetStoreID(storeID).SetMode(mode).SetURL(m.GetUrl()).SetDescription(m.GetDescription()).
		SetEventTypes(m.GetEventTypes()).SetPayMethods(payMethodNames(m.GetPayMethods())).
		SetContentType(contentType).SetSecretSealed(sealed).
		Save(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.CreateWebhookEndpointResponse{Endpoint: toEndpointPB(ep), Secret: secret}), nil
}

// loadEndpoint reads an endpoint of the caller's store; a TEST key sees
// only TEST endpoints.
func (s *Server) loadEndpoint(ctx context.Context, id string) (*ent.WebhookEndpoint, error) {
	q := s.db.WebhookEndpoint.Query().Where(webhookendpoint.ID(id))
	if k := callFrom(ctx).Principal.Key; k != nil && k.Mode == apikey.ModeTEST {
		q = q.Where(webhookendpoint.ModeEQ(webhookendpoint.ModeTEST))
	}
	ep, err := q.Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.CodeNotFound, reasonWebhookEndpointNotFound, "webhook endpoint %s not found", id)
	}
	return ep, err
}

func (s *webhookService) ListWebhookEndpoints(ctx context.Context, req *connect.Request[paymuxv1.ListWebhookEndpointsRequest]) (*connect.Response[paymuxv1.ListWebhookEndpointsResponse], error) {
	ctx, _, err := s.actingStore(ctx, req.Msg.GetStoreId())
	if err != nil {
		return nil, err
	}
	cur, after, err := decodeCursor(req.Msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	q := s.db.WebhookEndpoint.Query().Order(ent.Asc(webhookendpoint.FieldCreatedAt), ent.Asc(webhookendpoint.FieldID))
	if k := callFrom(ctx).Principal.Key; k != nil && k.Mode == apikey.ModeTEST {
		q = q.Where(webhookendpoint.ModeEQ(webhookendpoint.ModeTEST))
	}
	if after {
		q = q.Where(webhookendpoint.Or(webhookendpoint.CreatedAtGT(cur.time()),
			webhookendpoint.And(webhookendpoint.CreatedAt(cur.time()), webhookendpoint.IDGT(cur.ID))))
	}
	size := pageSize(req.Msg.GetPageSize())
	rows, err := q.Limit(size + 1).All(ctx)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, size, func(e *ent.WebhookEndpoint) (time.Time, string) { return e.CreatedAt, e.ID })
	res := &paymuxv1.ListWebhookEndpointsResponse{NextPageToken: next}
	for _, e := range rows {
		res.Endpoints = append(res.Endpoints, toEndpointPB(e))
	}
	return connect.NewResponse(res), nil
}

func (s *webhookService) GetWebhookEndpoint(ctx context.Context, req *connect.Request[paymuxv1.GetWebhookEndpointRequest]) (*connect.Response[paymuxv1.GetWebhookEndpointResponse], error) {
	ep, err := s.loadEndpoint(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.GetWebhookEndpointResponse{Endpoint: toEndpointPB(ep)}), nil
}

func (s *webhookService) UpdateWebhookEndpoint(ctx context.Context, req *connect.Request[paymuxv1.UpdateWebhookEndpointRequest]) (*connect.Response[paymuxv1.UpdateWebhookEndpointResponse], error) {
	m := req.Msg
	ep, err := s.loadEndpoint(ctx, m.GetId())
	if err != nil {
		return nil, err
	}
	paths := m.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		return nil, apierr.InvalidField("update_mask", "name at least one of url, description, event_types, pay_methods, content_type, enabled")
	}
	upd := s.db.WebhookEndpoint.UpdateOne(ep)
	for _, path := range paths {
		switch path {
		case "url":
			if err := s.checkWebhookURL("url", m.GetUrl()); err != nil {
				return nil, err
			}
			upd.SetURL(m.GetUrl())
		case "description":
			upd.SetDescription(m.GetDescription())
		case "event_types":
			if err := checkEventTypes("event_types", m.GetEventTypes()); err != nil {
				return nil, err
			}
			upd.SetEventTypes(m.GetEventTypes())
		case "pay_methods":
			upd.SetPayMethods(payMethodNames(m.GetPayMethods()))
		case "content_type":
			ct := webhookendpoint.ContentTypeJSON
			if m.GetContentType() == paymuxv1.WebhookContentType_WEBHOOK_CONTENT_TYPE_FORM {
				ct = webhookendpoint.ContentTypeFORM
			}
			upd.SetContentType(ct)
		case "enabled", "disabled_reason":
			if m.GetEnabled() {
				upd.SetEnabled(true).SetDisabledReason("").ClearDisabledAt().ClearFailingSince()
			} else {
				reason := m.GetDisabledReason()
				if reason == "" {
					reason = "disabled by the merchant"
				}
				upd.SetEnabled(false).SetDisabledReason(reason).SetDisabledAt(s.clock())
			}
		default:
			return nil, apierr.InvalidField("update_mask", "unknown field %q", path)
		}
	}
	ep, err = upd.Save(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.UpdateWebhookEndpointResponse{Endpoint: toEndpointPB(ep)}), nil
}

func (s *webhookService) DeleteWebhookEndpoint(ctx context.Context, req *connect.Request[paymuxv1.DeleteWebhookEndpointRequest]) (*connect.Response[paymuxv1.DeleteWebhookEndpointResponse], error) {
	ep, err := s.loadEndpoint(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		if _, err := tx.WebhookDelivery.Update().
			Where(webhookdelivery.EndpointID(ep.ID), webhookdelivery.StatusEQ(webhookdelivery.StatusPENDING)).
			SetStatus(webhookdelivery.StatusFAILED).Save(ctx); err != nil {
			return err
		}
		return tx.WebhookEndpoint.DeleteOne(ep).Exec(ctx)
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.DeleteWebhookEndpointResponse{}), nil
}

func (s *webhookService) RotateWebhookSecret(ctx context.Context, req *connect.Request[paymuxv1.RotateWebhookSecretRequest]) (*connect.Response[paymuxv1.RotateWebhookSecretResponse], error) {
	ep, err := s.loadEndpoint(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	overlap := defaultSecretOverlap
	if req.Msg.GetOverlap() != nil {
		overlap = req.Msg.GetOverlap().AsDuration()
	}
	secret := webhook.NewSecret()
	sealed, err := s.sealSecret(ep.ID, secret)
	if err != nil {
		return nil, err
	}
	upd := s.db.WebhookEndpoint.UpdateOne(ep).SetSecretSealed(sealed)
	if overlap > 0 {
		upd.SetPreviousSecretSealed(ep.SecretSealed).SetPreviousSecretExpiresAt(s.clock().Add(overlap))
	} else {
		upd.ClearPreviousSecretSealed().ClearPreviousSecretExpiresAt()
	}
	if ep, err = upd.Save(ctx); err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.RotateWebhookSecretResponse{Endpoint: toEndpointPB(ep), Secret: secret}), nil
}

func (s *webhookService) TestWebhookEndpoint(ctx context.Context, req *connect.Request[paymuxv1.TestWebhookEndpointRequest]) (*connect.Response[paymuxv1.TestWebhookEndpointResponse], error) {
	ep, err := s.loadEndpoint(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	typ := req.Msg.GetEventType()
	if typ == "" {
		typ = paymentsvc.EventType(payment.StatusPAID)
	}
	if err := checkEventTypes("event_type", []string{typ}); err != nil {
		return nil, err
	}
	now := s.clock()
	paymentID := "pay_test_" + secrets.RandomString(12)
	sample, err := json.Marshal(map[string]any{
		"id": paymentID, "storeId": ep.StoreID, "merchantPaymentId": "test-order",
		"orderName": "TEST", "status": "PAYMENT_STATUS_" + strings.ToUpper(strings.TrimPrefix(typ, "payment.")),
		"mode": "MODE_" + string(ep.Mode), "amounts": map[string]any{"total": "1000"}, "test": true,
	})
	if err != nil {
		return nil, err
	}
	eventID := secrets.NewID("evt_test")
	r, err := s.buildRequest(ep, &ent.Event{ID: eventID, Type: typ, CreatedAt: now, Data: sample,
		PaymentID: paymentID, MerchantPaymentID: "test-order"})
	if err != nil {
		return nil, err
	}
	res := s.send(ctx, s.webhooks.client, r)
	// Kept in the delivery log like any delivery, marked TEST.
	status := webhookdelivery.StatusFAILED
	if res.err == nil && res.status >= 200 && res.status < 300 {
		status = webhookdelivery.StatusSUCCEEDED
	}
	var a *ent.WebhookAttempt
	wctx := context.WithoutCancel(ctx)
	err = database.InTx(wctx, s.db, func(tx *ent.Tx) error {
		d, err := tx.WebhookDelivery.Create().
			SetStoreID(ep.StoreID).SetEndpointID(ep.ID).SetEventID(eventID).SetEventType(typ).
			SetStatus(status).SetAttempts(1).SetNextAttemptAt(now).SetTrigger(webhookdelivery.TriggerTEST).
			SetLastStatus(res.status).Save(wctx)
		if err != nil {
			return err
		}
		a, err = s.logAttempt(wctx, tx.Client(), ep, d.ID, 1, "TEST", r, res)
		return err
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.TestWebhookEndpointResponse{Attempt: toAttemptPB(a)}), nil
}

func (s *webhookService) ListWebhookDeliveries(ctx context.Context, req *connect.Request[paymuxv1.ListWebhookDeliveriesRequest]) (*connect.Response[paymuxv1.ListWebhookDeliveriesResponse], error) {
	m := req.Msg
	ctx, _, err := s.actingStore(ctx, m.GetStoreId())
	if err != nil {
		return nil, err
	}
	cur, after, err := decodeCursor(m.GetPageToken())
	if err != nil {
		return nil, err
	}
	q := s.db.WebhookDelivery.Query().Order(ent.Desc(webhookdelivery.FieldCreatedAt), ent.Desc(webhookdelivery.FieldID))
	if k := callFrom(ctx).Principal.Key; k != nil && k.Mode == apikey.ModeTEST {
		// A TEST key sees the deliveries of TEST endpoints only.
		ids, err := s.db.WebhookEndpoint.Query().Where(webhookendpoint.ModeEQ(webhookendpoint.ModeTEST)).IDs(ctx)
		if err != nil {
			return nil, err
		}
		q = q.Where(webhookdelivery.EndpointIDIn(ids...))
	}
	if id := m.GetEndpointId(); id != "" {
		q = q.Where(webhookdelivery.EndpointID(id))
	}
	if len(m.GetStatuses()) > 0 {
		var in []webhookdelivery.Status
		for _, st := range m.GetStatuses() {
			in = append(in, webhookdelivery.Status(strings.TrimPrefix(st.String(), "WEBHOOK_DELIVERY_STATUS_")))
		}
		q = q.Where(webhookdelivery.StatusIn(in...))
	}
	if t := m.GetEventType(); t != "" {
		q = q.Where(webhookdelivery.EventType(t))
	}
	if id := m.GetMerchantPaymentId(); id != "" {
		q = q.Where(webhookdelivery.MerchantPaymentID(id))
	}
	if t := m.GetStartTime(); t != nil {
		q = q.Where(webhookdelivery.CreatedAtGTE(t.AsTime()))
	}
	if t := m.GetEndTime(); t != nil {
		q = q.Where(webhookdelivery.CreatedAtLT(t.AsTime()))
	}
	if after {
		q = q.Where(webhookdelivery.Or(webhookdelivery.CreatedAtLT(cur.time()),
			webhookdelivery.And(webhookdelivery.CreatedAt(cur.time()), webhookdelivery.IDLT(cur.ID))))
	}
	size := pageSize(m.GetPageSize())
	rows, err := q.Limit(size + 1).All(ctx)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, size, func(d *ent.WebhookDelivery) (time.Time, string) { return d.CreatedAt, d.ID })
	res := &paymuxv1.ListWebhookDeliveriesResponse{NextPageToken: next}
	for _, d := range rows {
		res.Deliveries = append(res.Deliveries, toDeliveryPB(d, nil))
	}
	return connect.NewResponse(res), nil
}

func (s *webhookService) GetWebhookDelivery(ctx context.Context, req *connect.Request[paymuxv1.GetWebhookDeliveryRequest]) (*connect.Response[paymuxv1.GetWebhookDeliveryResponse], error) {
	d, err := s.db.WebhookDelivery.Get(ctx, req.Msg.GetId())
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.CodeNotFound, reasonWebhookDeliveryNotFound, "webhook delivery %s not found", req.Msg.GetId())
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.loadEndpoint(ctx, d.EndpointID); apierr.Reason(err) == reasonWebhookEndpointNotFound {
		// A LIVE endpoint's delivery, asked for with a TEST key; or the
		// endpoint was deleted, and its log with it.
		return nil, apierr.New(apierr.CodeNotFound, reasonWebhookDeliveryNotFound, "webhook delivery %s not found", d.ID)
	} else if err != nil {
		return nil, err
	}
	attempts, err := s.db.WebhookAttempt.Query().Where(webhookattempt.DeliveryID(d.ID)).
		Order(ent.Asc(webhookattempt.FieldNumber), ent.Asc(webhookattempt.FieldCreatedAt)).All(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.GetWebhookDeliveryResponse{Delivery: toDeliveryPB(d, attempts)}), nil
}

func (s *webhookService) ResendWebhooks(ctx context.Context, req *connect.Request[paymuxv1.ResendWebhooksRequest]) (*connect.Response[paymuxv1.ResendWebhooksResponse], error) {
	m := req.Msg
	ctx, _, err := s.actingStore(ctx, m.GetStoreId())
	if err != nil {
		return nil, err
	}
	q := s.db.WebhookDelivery.Query()
	switch {
	case m.GetDeliveryId() != "":
		q = q.Where(webhookdelivery.ID(m.GetDeliveryId()))
	case m.GetEventId() != "":
		q = q.Where(webhookdelivery.EventID(m.GetEventId()))
	default:
		fs := m.GetFailedSince()
		// The endpoint is named: one the caller cannot see is not found,
		// a disabled one is refused even with nothing to resend.
		ep, err := s.loadEndpoint(ctx, fs.GetEndpointId())
		if err != nil {
			return nil, err
		}
		if err := endpointDisabled(ep); err != nil {
			return nil, err
		}
		q = q.Where(webhookdelivery.EndpointID(fs.GetEndpointId()), webhookdelivery.StatusEQ(webhookdelivery.StatusFAILED),
			webhookdelivery.CreatedAtGTE(fs.GetSince().AsTime()))
	}
	rows, err := q.Order(ent.Asc(webhookdelivery.FieldCreatedAt), ent.Asc(webhookdelivery.FieldID)).Limit(1000).All(ctx)
	if err != nil {
		return nil, err
	}
	// A TEST call's record has no event to send again: fire another TEST.
	if len(rows) == 1 && m.GetDeliveryId() != "" && rows[0].Trigger == webhookdelivery.TriggerTEST {
		return nil, apierr.New(apierr.CodeFailedPrecondition, reasonWebhookTestNotResent,
			"webhook delivery %s was a TEST call: fire another TEST call instead", rows[0].ID)
	}
	rows = slices.DeleteFunc(rows, func(d *ent.WebhookDelivery) bool { return d.Trigger == webhookdelivery.TriggerTEST })
	// Check every endpoint before changing anything: a refusal re-queues
	// nothing.
	visible := map[string]bool{}
	var todo []*ent.WebhookDelivery
	for _, d := range rows {
		ok, seen := visible[d.EndpointID]
		if !seen {
			ep, err := s.loadEndpoint(ctx, d.EndpointID)
			switch {
			case apierr.Reason(err) == reasonWebhookEndpointNotFound:
				// A TEST key and a LIVE endpoint's delivery, or a deleted
				// endpoint's: not the caller's to resend.
			case err != nil:
				return nil, err
			default:
				if err := endpointDisabled(ep); err != nil {
					return nil, err
				}
				ok = true
			}
			visible[d.EndpointID] = ok
		}
		if ok {
			todo = append(todo, d)
		}
	}
	if len(todo) == 0 && m.GetDeliveryId() != "" {
		return nil, apierr.New(apierr.CodeNotFound, reasonWebhookDeliveryNotFound, "webhook delivery %s not found", m.GetDeliveryId())
	}
	now := s.clock()
	res := &paymuxv1.ResendWebhooksResponse{}
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		for _, d := range todo {
			d, err := tx.WebhookDelivery.UpdateOne(d).SetStatus(webhookdelivery.StatusPENDING).
				SetNextAttemptAt(now).SetTrigger(webhookdelivery.TriggerRESEND).Save(ctx)
			if err != nil {
				return err
			}
			res.Deliveries = append(res.Deliveries, toDeliveryPB(d, nil))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(todo) > 0 {
		s.webhooks.wake()
	}
	return connect.NewResponse(res), nil
}

// endpointDisabled refuses sending to a disabled endpoint.
func endpointDisabled(ep *ent.WebhookEndpoint) error {
	if ep.Enabled {
		return nil
	}
	return apierr.WithMetadata(apierr.CodeFailedPrecondition, reasonWebhookEndpointDisabled,
		map[string]string{"endpoint_id": ep.ID}, "endpoint %s is disabled (%s): enable it first", ep.ID, ep.DisabledReason)
}

func toEndpointPB(e *ent.WebhookEndpoint) *paymuxv1.WebhookEndpoint {
	out := &paymuxv1.WebhookEndpoint{
		Id: e.ID, StoreId: e.StoreID, Url: e.URL, Mode: modePB(string(e.Mode)), Description: e.Description,
		EventTypes: e.EventTypes, ContentType: paymuxv1.WebhookContentType(paymuxv1.WebhookContentType_value["WEBHOOK_CONTENT_TYPE_"+string(e.ContentType)]),
		Enabled: e.Enabled, DisabledReason: e.DisabledReason, DisableTime: optTime(e.DisabledAt), FailingSince: optTime(e.FailingSince),
		CreateTime: timestamppb.New(e.CreatedAt), UpdateTime: timestamppb.New(e.UpdatedAt),
	}
	for _, m := range e.PayMethods {
		out.PayMethods = append(out.PayMethods, methodPB(payment.Method(m)))
	}
	if e.PreviousSecretExpiresAt != nil && len(e.PreviousSecretSealed) > 0 {
		out.PreviousSecretExpireTime = timestamppb.New(*e.PreviousSecretExpiresAt)
	}
	return out
}

func toDeliveryPB(d *ent.WebhookDelivery, attempts []*ent.WebhookAttempt) *paymuxv1.WebhookDelivery {
	out := &paymuxv1.WebhookDelivery{
		Id: d.ID, EndpointId: d.EndpointID, EventId: d.EventID, EventType: d.EventType, PaymentId: d.PaymentID,
		MerchantPaymentId: d.MerchantPaymentID,
		Status:            paymuxv1.WebhookDeliveryStatus(paymuxv1.WebhookDeliveryStatus_value["WEBHOOK_DELIVERY_STATUS_"+string(d.Status)]),
		AttemptCount:      int32(d.Attempts), LastResponseStatus: int32(d.LastStatus),
		CreateTime: timestamppb.New(d.CreatedAt), UpdateTime: timestamppb.New(d.UpdatedAt),
	}
	if d.Status == webhookdelivery.StatusPENDING {
		out.NextAttemptTime = timestamppb.New(d.NextAttemptAt)
	}
	for _, a := range attempts {
		out.Attempts = append(out.Attempts, toAttemptPB(a))
	}
	return out
}

func toAttemptPB(a *ent.WebhookAttempt) *paymuxv1.WebhookAttempt {
	return &paymuxv1.WebhookAttempt{
		Number:            int32(a.Number),
		Trigger:           paymuxv1.WebhookTrigger(paymuxv1.WebhookTrigger_value["WEBHOOK_TRIGGER_"+string(a.Trigger)]),
		Url:               a.URL,
		RequestTime:       timestamppb.New(a.CreatedAt),
		RequestHeaders:    a.RequestHeaders,
		RequestBody:       string(a.RequestBody),
		ResponseStatus:    int32(a.ResponseStatus),
		ResponseHeaders:   a.ResponseHeaders,
		ResponseBody:      strings.ToValidUTF8(string(a.ResponseBody), "\uFFFD"),
		ResponseTruncated: a.ResponseTruncated,
		Latency:           durationpb.New(time.Duration(a.LatencyUs) * time.Microsecond),
		Error:             a.Error,
	}
}
