package server

import (
	"context"
	"strings"
	"time"

	"github.com/paymux/paymux/deposit"

	paymentsvc "github.com/paymux/paymux/payment"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/apikey"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/schema"
	"github.com/paymux/paymux/ent/webhookattempt"
	"github.com/paymux/paymux/ent/webhookdelivery"
	"github.com/paymux/paymux/ent/webhookendpoint"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/webhook"
)

// webhookService serves WebhookService: reads straight from ent, writes
// through webhook.Service (s.webhooks).
type webhookService struct{ *Server }

// EventTypes are the event types an endpoint may ask for: one per payment
// status (payments.go, eventType), and billing's.
func EventTypes() []string {
	var out []string
	for _, st := range schema.PaymentStatuses {
		out = append(out, paymentsvc.EventType(payment.Status(st)))
	}
	out = append(out, billingEventTypes...)
	return append(out, deposit.EventTypes()...)
}

// billingEventTypes are billing's events (billing_service.go,
// schedule_engine.go).
var billingEventTypes = []string{
	"billing_key.issued", "billing_key.deleted", "billing.schedule.succeeded", "billing.schedule.failed",
}

func payMethodNames(in []paymuxv1.PayMethod) []string {
	var out []string
	for _, m := range in {
		out = append(out, string(methodFromPB(m)))
	}
	return out
}

func contentTypeFromPB(ct paymuxv1.WebhookContentType) webhookendpoint.ContentType {
	switch ct {
	case paymuxv1.WebhookContentType_WEBHOOK_CONTENT_TYPE_FORM:
		return webhookendpoint.ContentTypeFORM
	case paymuxv1.WebhookContentType_WEBHOOK_CONTENT_TYPE_PAYACTION:
		return webhookendpoint.ContentTypePAYACTION
	}
	return webhookendpoint.ContentTypeJSON
}

func (s *webhookService) CreateWebhookEndpoint(ctx context.Context, req *connect.Request[paymuxv1.CreateWebhookEndpointRequest]) (*connect.Response[paymuxv1.CreateWebhookEndpointResponse], error) {
	m := req.Msg
	ctx, storeID, err := s.actingStore(ctx, m.GetStoreId())
	if err != nil {
		return nil, err
	}
	mode := webhookendpoint.ModeTEST
	if k := callFrom(ctx).Principal.Key; k != nil && k.Mode == apikey.ModeLIVE {
		mode = webhookendpoint.ModeLIVE
	}
	if m.GetMode() != paymuxv1.Mode_MODE_UNSPECIFIED {
		mode = webhookendpoint.Mode(modeFromPB(m.GetMode()))
	}
	ep, secret, err := s.webhooks.CreateEndpoint(ctx, webhook.NewEndpoint{
		StoreID: storeID, Mode: mode, URL: m.GetUrl(), Description: m.GetDescription(),
		EventTypes: m.GetEventTypes(), PayMethods: payMethodNames(m.GetPayMethods()),
		ContentType: contentTypeFromPB(m.GetContentType()), TestOnly: testKey(ctx),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.CreateWebhookEndpointResponse{Endpoint: toEndpointPB(ep), Secret: secret}), nil
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
	if testKey(ctx) {
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
	ep, err := s.webhooks.Endpoint(ctx, req.Msg.GetId(), testKey(ctx))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.GetWebhookEndpointResponse{Endpoint: toEndpointPB(ep)}), nil
}

func (s *webhookService) UpdateWebhookEndpoint(ctx context.Context, req *connect.Request[paymuxv1.UpdateWebhookEndpointRequest]) (*connect.Response[paymuxv1.UpdateWebhookEndpointResponse], error) {
	m := req.Msg
	ep, err := s.webhooks.UpdateEndpoint(ctx, webhook.EndpointChange{
		ID: m.GetId(), TestOnly: testKey(ctx), Fields: m.GetUpdateMask().GetPaths(),
		URL: m.GetUrl(), Description: m.GetDescription(), EventTypes: m.GetEventTypes(),
		PayMethods: payMethodNames(m.GetPayMethods()), ContentType: contentTypeFromPB(m.GetContentType()),
		Enabled: m.GetEnabled(), DisabledReason: m.GetDisabledReason(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.UpdateWebhookEndpointResponse{Endpoint: toEndpointPB(ep)}), nil
}

func (s *webhookService) DeleteWebhookEndpoint(ctx context.Context, req *connect.Request[paymuxv1.DeleteWebhookEndpointRequest]) (*connect.Response[paymuxv1.DeleteWebhookEndpointResponse], error) {
	if err := s.webhooks.DeleteEndpoint(ctx, req.Msg.GetId(), testKey(ctx)); err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.DeleteWebhookEndpointResponse{}), nil
}

func (s *webhookService) RotateWebhookSecret(ctx context.Context, req *connect.Request[paymuxv1.RotateWebhookSecretRequest]) (*connect.Response[paymuxv1.RotateWebhookSecretResponse], error) {
	overlap := webhook.DefaultSecretOverlap
	if req.Msg.GetOverlap() != nil {
		overlap = req.Msg.GetOverlap().AsDuration()
	}
	ep, secret, err := s.webhooks.RotateSecret(ctx, req.Msg.GetId(), testKey(ctx), overlap)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.RotateWebhookSecretResponse{Endpoint: toEndpointPB(ep), Secret: secret}), nil
}

func (s *webhookService) TestWebhookEndpoint(ctx context.Context, req *connect.Request[paymuxv1.TestWebhookEndpointRequest]) (*connect.Response[paymuxv1.TestWebhookEndpointResponse], error) {
	a, err := s.webhooks.TestEndpoint(ctx, req.Msg.GetId(), testKey(ctx), req.Msg.GetEventType())
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
	if testKey(ctx) {
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
		return nil, apierr.New(apierr.CodeNotFound, webhook.ReasonDeliveryNotFound, "webhook delivery %s not found", req.Msg.GetId())
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.webhooks.Endpoint(ctx, d.EndpointID, testKey(ctx)); apierr.Reason(err) == webhook.ReasonEndpointNotFound {
		// A LIVE endpoint's delivery, asked for with a TEST key; or the
		// endpoint was deleted, and its log with it.
		return nil, apierr.New(apierr.CodeNotFound, webhook.ReasonDeliveryNotFound, "webhook delivery %s not found", d.ID)
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
	fs := m.GetFailedSince()
	ds, err := s.webhooks.Resend(ctx, webhook.Resend{
		DeliveryID: m.GetDeliveryId(), EventID: m.GetEventId(),
		EndpointID: fs.GetEndpointId(), FailedSince: fs.GetSince().AsTime(),
		TestOnly: testKey(ctx),
	})
	if err != nil {
		return nil, err
	}
	res := &paymuxv1.ResendWebhooksResponse{}
	for _, d := range ds {
		res.Deliveries = append(res.Deliveries, toDeliveryPB(d, nil))
	}
	return connect.NewResponse(res), nil
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
