package server

import (
	"context"
	"slices"
	"strings"
	"time"

	paymentsvc "github.com/paymux/paymux/payment"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/apikey"
	"github.com/paymux/paymux/ent/event"
	"github.com/paymux/paymux/ent/logrecord"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/predicate"
	"github.com/paymux/paymux/ent/webhookattempt"
	"github.com/paymux/paymux/ent/webhookdelivery"
	"github.com/paymux/paymux/ent/webhookendpoint"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/redact"
)

type logService struct{ *Server }

const (
	reasonLogNotFound      = "LOG_NOT_FOUND"
	reasonTimelineNotFound = "TIMELINE_NOT_FOUND"
	// timelineLimit bounds each source of one timeline.
	timelineLimit = 1000
)

// logScope is the store a log read acts on. The administrator may leave
// store_id empty to read every store's log, and the records of calls
// refused before anyone was identified.
func (s *Server) logScope(ctx context.Context, storeID string) (context.Context, error) {
	if p := callFrom(ctx).Principal; p.Admin && storeID == "" {
		return ctx, nil
	}
	ctx, _, err := s.actingStore(ctx, storeID)
	return ctx, err
}

// testKey reports whether the caller is a TEST key, which sees only what
// happened in TEST mode: a test key cannot read live money's logs either.
func testKey(ctx context.Context) bool {
	k := callFrom(ctx).Principal.Key
	return k != nil && k.Mode == apikey.ModeTEST
}

func (s *logService) ListLogs(ctx context.Context, req *connect.Request[paymuxv1.ListLogsRequest]) (*connect.Response[paymuxv1.ListLogsResponse], error) {
	m := req.Msg
	ctx, err := s.logScope(ctx, m.GetStoreId())
	if err != nil {
		return nil, err
	}
	cur, after, err := decodeCursor(m.GetPageToken())
	if err != nil {
		return nil, err
	}
	size := pageSize(m.GetPageSize())
	if m.GetKind() == paymuxv1.LogKind_LOG_KIND_WEBHOOK {
		return s.listWebhookLogs(ctx, m, cur, after, size)
	}
	kind := logrecord.KindAPI
	if m.GetKind() == paymuxv1.LogKind_LOG_KIND_PG {
		kind = logrecord.KindPG
	}
	q := s.db.LogRecord.Query().Where(logrecord.KindEQ(kind)).
		Order(ent.Desc(logrecord.FieldCreatedAt), ent.Desc(logrecord.FieldID))
	if testKey(ctx) {
		q = q.Where(logrecord.Mode(string(apikey.ModeTEST)))
	}
	if v := m.GetMethod(); v != "" {
		if strings.HasPrefix(v, "/") {
			q = q.Where(logrecord.Or(logrecord.Method(v), logrecord.Path(v), logrecord.PathHasPrefix(v+"?")))
		} else {
			q = q.Where(logrecord.Or(logrecord.Method(v), logrecord.MethodHasSuffix("/"+v)))
		}
	}
	switch m.GetResult() {
	case paymuxv1.LogResult_LOG_RESULT_OK:
		q = q.Where(logrecord.Ok(true))
	case paymuxv1.LogResult_LOG_RESULT_ERROR:
		q = q.Where(logrecord.Ok(false))
	}
	if v := m.GetCode(); v != "" {
		q = q.Where(logrecord.Or(logrecord.Code(v), logrecord.Reason(v)))
	}
	for v, p := range map[string]func(string) predicate.LogRecord{
		m.GetMerchantPaymentId(): logrecord.MerchantPaymentID,
		m.GetPaymentId():         logrecord.PaymentID,
		m.GetKeyId():             logrecord.KeyID,
		m.GetClientIp():          logrecord.ClientIP,
		m.GetRequestId():         logrecord.RequestID,
	} {
		if v != "" {
			q = q.Where(p(v))
		}
	}
	if t := m.GetStartTime(); t != nil {
		q = q.Where(logrecord.CreatedAtGTE(t.AsTime()))
	}
	if t := m.GetEndTime(); t != nil {
		q = q.Where(logrecord.CreatedAtLT(t.AsTime()))
	}
	if after {
		q = q.Where(logrecord.Or(logrecord.CreatedAtLT(cur.time()),
			logrecord.And(logrecord.CreatedAt(cur.time()), logrecord.IDLT(cur.ID))))
	}
	// The list shows what happened; bodies are for GetLog.
	rows, err := q.Limit(size + 1).Select(logSummaryFields...).All(ctx)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, size, func(r *ent.LogRecord) (time.Time, string) { return r.CreatedAt, r.ID })
	res := &paymuxv1.ListLogsResponse{NextPageToken: next}
	for _, r := range rows {
		res.Logs = append(res.Logs, logEntryPB(r))
	}
	return connect.NewResponse(res), nil
}

// listWebhookLogs lists webhook attempts as log entries: apart from the
// API and PG calls, as a store's log shows them.
func (s *logService) listWebhookLogs(ctx context.Context, m *paymuxv1.ListLogsRequest, cur pageCursor, after bool, size int) (*connect.Response[paymuxv1.ListLogsResponse], error) {
	q := s.db.WebhookAttempt.Query().
		Order(ent.Desc(webhookattempt.FieldCreatedAt), ent.Desc(webhookattempt.FieldID))
	if testKey(ctx) {
		ids, err := s.db.WebhookEndpoint.Query().Where(webhookendpoint.ModeEQ(webhookendpoint.ModeTEST)).IDs(ctx)
		if err != nil {
			return nil, err
		}
		q = q.Where(webhookattempt.EndpointIDIn(ids...))
	}
	// Filters on the event go through the attempts' deliveries.
	var onDelivery []predicate.WebhookDelivery
	if v := m.GetMethod(); v != "" {
		onDelivery = append(onDelivery, webhookdelivery.EventType(v))
	}
	if v := m.GetMerchantPaymentId(); v != "" {
		onDelivery = append(onDelivery, webhookdelivery.MerchantPaymentID(v))
	}
	if v := m.GetPaymentId(); v != "" {
		onDelivery = append(onDelivery, webhookdelivery.PaymentID(v))
	}
	if len(onDelivery) > 0 {
		ids, err := s.db.WebhookDelivery.Query().Where(onDelivery...).IDs(ctx)
		if err != nil {
			return nil, err
		}
		q = q.Where(webhookattempt.DeliveryIDIn(ids...))
	}
	ok := webhookattempt.And(webhookattempt.ResponseStatusGTE(200), webhookattempt.ResponseStatusLT(300), webhookattempt.Error(""))
	switch m.GetResult() {
	case paymuxv1.LogResult_LOG_RESULT_OK:
		q = q.Where(ok)
	case paymuxv1.LogResult_LOG_RESULT_ERROR:
		q = q.Where(webhookattempt.Not(ok))
	}
	switch m.GetCode() {
	case "":
	case "OK":
		q = q.Where(ok)
	case "FAILED":
		q = q.Where(webhookattempt.Not(ok))
	default:
		q = q.Where(webhookattempt.IDIn()) // no webhook attempt has another code
	}
	if m.GetKeyId() != "" || m.GetClientIp() != "" || m.GetRequestId() != "" {
		q = q.Where(webhookattempt.IDIn()) // webhook attempts have none of these
	}
	if t := m.GetStartTime(); t != nil {
		q = q.Where(webhookattempt.CreatedAtGTE(t.AsTime()))
	}
	if t := m.GetEndTime(); t != nil {
		q = q.Where(webhookattempt.CreatedAtLT(t.AsTime()))
	}
	if after {
		q = q.Where(webhookattempt.Or(webhookattempt.CreatedAtLT(cur.time()),
			webhookattempt.And(webhookattempt.CreatedAt(cur.time()), webhookattempt.IDLT(cur.ID))))
	}
	rows, err := q.Limit(size + 1).All(ctx)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, size, func(a *ent.WebhookAttempt) (time.Time, string) { return a.CreatedAt, a.ID })
	entries, err := s.webhookEntries(ctx, rows, false)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.ListLogsResponse{Logs: entries, NextPageToken: next}), nil
}

// webhookEntries turns attempts into log entries, with their deliveries'
// event and payment, and their endpoints' mode.
func (s *Server) webhookEntries(ctx context.Context, attempts []*ent.WebhookAttempt, detail bool) ([]*paymuxv1.LogEntry, error) {
	var deliveryIDs, endpointIDs []string
	for _, a := range attempts {
		deliveryIDs = append(deliveryIDs, a.DeliveryID)
		endpointIDs = append(endpointIDs, a.EndpointID)
	}
	deliveries, err := s.db.WebhookDelivery.Query().Where(webhookdelivery.IDIn(deliveryIDs...)).All(ctx)
	if err != nil {
		return nil, err
	}
	endpoints, err := s.db.WebhookEndpoint.Query().Where(webhookendpoint.IDIn(endpointIDs...)).
		Select(webhookendpoint.FieldID, webhookendpoint.FieldMode).All(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[string]*ent.WebhookDelivery{}
	for _, d := range deliveries {
		byID[d.ID] = d
	}
	modes := map[string]string{}
	for _, ep := range endpoints {
		modes[ep.ID] = string(ep.Mode)
	}
	out := make([]*paymuxv1.LogEntry, 0, len(attempts))
	for _, a := range attempts {
		out = append(out, webhookEntryPB(a, byID[a.DeliveryID], modes[a.EndpointID], detail))
	}
	return out, nil
}

func (s *logService) GetLog(ctx context.Context, req *connect.Request[paymuxv1.GetLogRequest]) (*connect.Response[paymuxv1.GetLogResponse], error) {
	id := req.Msg.GetId()
	notFound := apierr.New(apierr.CodeNotFound, reasonLogNotFound, "log %s not found", id)
	if strings.HasPrefix(id, "wha_") {
		a, err := s.db.WebhookAttempt.Get(ctx, id)
		if ent.IsNotFound(err) {
			return nil, notFound
		}
		if err != nil {
			return nil, err
		}
		entries, err := s.webhookEntries(ctx, []*ent.WebhookAttempt{a}, true)
		if err != nil {
			return nil, err
		}
		if testKey(ctx) && entries[0].GetMode() != string(apikey.ModeTEST) {
			return nil, notFound
		}
		return connect.NewResponse(&paymuxv1.GetLogResponse{Log: entries[0]}), nil
	}
	q := s.db.LogRecord.Query().Where(logrecord.ID(id))
	if testKey(ctx) {
		q = q.Where(logrecord.Mode(string(apikey.ModeTEST)))
	}
	r, err := q.Only(ctx)
	if ent.IsNotFound(err) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	e := logEntryPB(r)
	e.RequestHeaders = r.RequestHeaders
	e.RequestBody = string(r.RequestBody)
	e.ResponseBody = string(r.ResponseBody)
	return connect.NewResponse(&paymuxv1.GetLogResponse{Log: e}), nil
}

func (s *logService) GetPaymentTimeline(ctx context.Context, req *connect.Request[paymuxv1.GetPaymentTimelineRequest]) (*connect.Response[paymuxv1.GetPaymentTimelineResponse], error) {
	m := req.Msg
	storeID := m.GetStoreId()
	if callFrom(ctx).Principal.Admin && storeID == "" && m.GetMerchantPaymentId() != "" {
		return nil, apierr.InvalidField("store_id", "required with merchant_payment_id when calling with the admin token")
	}
	ctx, err := s.logScope(ctx, storeID)
	if err != nil {
		return nil, err
	}
	paymentID, merchantID := m.GetPaymentId(), m.GetMerchantPaymentId()
	pq := s.db.Payment.Query().Where(paymentsvc.Visible(ctx)...)
	if paymentID != "" {
		pq = pq.Where(payment.ID(paymentID))
	} else {
		pq = pq.Where(payment.MerchantPaymentID(merchantID))
	}
	p, err := pq.Only(ctx)
	switch {
	case ent.IsNotFound(err) && paymentID != "":
		return nil, apierr.New(apierr.CodeNotFound, paymentsvc.ReasonPaymentNotFound, "payment %s not found", paymentID)
	case ent.IsNotFound(err):
		// No payment under the order number: its calls may still have
		// been made (and failed).
	case err != nil:
		return nil, err
	default:
		paymentID, merchantID = p.ID, p.MerchantPaymentID
	}

	res := &paymuxv1.GetPaymentTimelineResponse{PaymentId: paymentID, MerchantPaymentId: merchantID}
	var entries []*paymuxv1.TimelineEntry
	add := func(t time.Time, e *paymuxv1.TimelineEntry) {
		e.Time = timestamppb.New(t)
		entries = append(entries, e)
	}

	// API and PG calls about the payment, and the PG calls those API calls
	// made under another order id (a cash receipt's, say).
	var about []predicate.LogRecord
	if paymentID != "" {
		about = append(about, logrecord.PaymentID(paymentID))
	}
	if merchantID != "" {
		about = append(about, logrecord.MerchantPaymentID(merchantID))
	}
	mode := []predicate.LogRecord{}
	if testKey(ctx) {
		mode = append(mode, logrecord.Mode(string(apikey.ModeTEST)))
	}
	records, err := s.db.LogRecord.Query().Where(append(mode, logrecord.Or(about...))...).
		Order(ent.Asc(logrecord.FieldCreatedAt), ent.Asc(logrecord.FieldID)).Limit(timelineLimit + 1).Select(logSummaryFields...).All(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var requestIDs []string
	for _, r := range records {
		seen[r.ID] = true
		if r.Kind == logrecord.KindAPI && r.RequestID != "" {
			requestIDs = append(requestIDs, r.RequestID)
		}
	}
	if len(requestIDs) > 0 {
		linked, err := s.db.LogRecord.Query().Where(append(mode, logrecord.KindEQ(logrecord.KindPG),
			logrecord.RequestIDIn(requestIDs...))...).Limit(timelineLimit + 1).Select(logSummaryFields...).All(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range linked {
			if !seen[r.ID] {
				records = append(records, r)
			}
		}
	}
	if len(records) == 0 && p == nil {
		return nil, apierr.New(apierr.CodeNotFound, reasonTimelineNotFound, "nothing is logged for merchant payment id %s", merchantID)
	}
	for _, r := range records {
		add(r.CreatedAt, &paymuxv1.TimelineEntry{Entry: &paymuxv1.TimelineEntry_Log{Log: logEntryPB(r)}})
	}

	if p != nil {
		events, err := s.db.Event.Query().Where(event.PaymentID(p.ID)).
			Order(ent.Asc(event.FieldCreatedAt), ent.Asc(event.FieldID)).
			Select(event.FieldID, event.FieldType, event.FieldFromStatus, event.FieldToStatus, event.FieldCreatedAt).
			Limit(timelineLimit + 1).All(ctx)
		if err != nil {
			return nil, err
		}
		for _, ev := range events {
			add(ev.CreatedAt, &paymuxv1.TimelineEntry{Entry: &paymuxv1.TimelineEntry_StatusChange{StatusChange: &paymuxv1.PaymentStatusChange{
				EventId: ev.ID, EventType: ev.Type, FromStatus: statusPB(ev.FromStatus), ToStatus: statusPB(ev.ToStatus),
			}}})
		}
		res.Truncated = len(events) > timelineLimit

		dq := s.db.WebhookDelivery.Query().Where(webhookdelivery.PaymentID(p.ID))
		if testKey(ctx) {
			ids, err := s.db.WebhookEndpoint.Query().Where(webhookendpoint.ModeEQ(webhookendpoint.ModeTEST)).IDs(ctx)
			if err != nil {
				return nil, err
			}
			dq = dq.Where(webhookdelivery.EndpointIDIn(ids...))
		}
		deliveryIDs, err := dq.IDs(ctx)
		if err != nil {
			return nil, err
		}
		if len(deliveryIDs) > 0 {
			attempts, err := s.db.WebhookAttempt.Query().Where(webhookattempt.DeliveryIDIn(deliveryIDs...)).
				Order(ent.Asc(webhookattempt.FieldCreatedAt)).Limit(timelineLimit + 1).All(ctx)
			if err != nil {
				return nil, err
			}
			webhookLogs, err := s.webhookEntries(ctx, attempts, false)
			if err != nil {
				return nil, err
			}
			for i, e := range webhookLogs {
				add(attempts[i].CreatedAt, &paymuxv1.TimelineEntry{Entry: &paymuxv1.TimelineEntry_Log{Log: e}})
			}
			res.Truncated = res.Truncated || len(attempts) > timelineLimit
		}
	}
	res.Truncated = res.Truncated || len(records) > timelineLimit
	slices.SortStableFunc(entries, func(a, b *paymuxv1.TimelineEntry) int { return a.GetTime().AsTime().Compare(b.GetTime().AsTime()) })
	if len(entries) > timelineLimit {
		entries, res.Truncated = entries[:timelineLimit], true
	}
	res.Entries = entries
	return connect.NewResponse(res), nil
}

// logSummaryFields are a record's columns but its headers and bodies: what
// lists and timelines show (GetLog shows the rest).
var logSummaryFields = slices.DeleteFunc(slices.Clone(logrecord.Columns), func(c string) bool {
	return c == logrecord.FieldRequestHeaders || c == logrecord.FieldRequestBody || c == logrecord.FieldResponseBody
})

func logEntryPB(r *ent.LogRecord) *paymuxv1.LogEntry {
	kind := paymuxv1.LogKind_LOG_KIND_API
	if r.Kind == logrecord.KindPG {
		kind = paymuxv1.LogKind_LOG_KIND_PG
	}
	result := paymuxv1.LogResult_LOG_RESULT_OK
	if !r.Ok {
		result = paymuxv1.LogResult_LOG_RESULT_ERROR
	}
	return &paymuxv1.LogEntry{
		Id:                r.ID,
		Kind:              kind,
		Time:              timestamppb.New(r.CreatedAt),
		StoreId:           r.StoreID,
		Mode:              r.Mode,
		RequestId:         r.RequestID,
		Surface:           r.Surface,
		Method:            r.Method,
		HttpMethod:        r.HTTPMethod,
		Path:              r.Path,
		Result:            result,
		Code:              r.Code,
		HttpStatus:        int32(r.HTTPStatus),
		Reason:            r.Reason,
		Message:           r.Message,
		KeyId:             r.KeyID,
		ClientIp:          r.ClientIP,
		PaymentId:         r.PaymentID,
		MerchantPaymentId: r.MerchantPaymentID,
		Latency:           durationpb.New(time.Duration(r.LatencyUs) * time.Microsecond),
		Truncated:         r.Truncated,
	}
}

// webhookEntryPB is a webhook attempt as a log entry. Its bodies were
// stored as sent and received (the delivery engine needs them whole), so
// they are masked here, as every log body is.
func webhookEntryPB(a *ent.WebhookAttempt, d *ent.WebhookDelivery, mode string, detail bool) *paymuxv1.LogEntry {
	ok := a.Error == "" && a.ResponseStatus >= 200 && a.ResponseStatus < 300
	e := &paymuxv1.LogEntry{
		Id:         a.ID,
		Kind:       paymuxv1.LogKind_LOG_KIND_WEBHOOK,
		Time:       timestamppb.New(a.CreatedAt),
		StoreId:    a.StoreID,
		Mode:       mode,
		Surface:    "webhook",
		HttpMethod: "POST",
		Path:       a.URL,
		Result:     paymuxv1.LogResult_LOG_RESULT_OK,
		Code:       "OK",
		HttpStatus: int32(a.ResponseStatus),
		Reason:     string(a.Trigger),
		Message:    a.Error,
		Latency:    durationpb.New(time.Duration(a.LatencyUs) * time.Microsecond),
		Truncated:  a.ResponseTruncated,
	}
	if !ok {
		e.Result, e.Code = paymuxv1.LogResult_LOG_RESULT_ERROR, "FAILED"
	}
	if d != nil {
		e.Method, e.PaymentId, e.MerchantPaymentId = d.EventType, d.PaymentID, d.MerchantPaymentID
	}
	if detail {
		e.RequestHeaders = a.RequestHeaders
		e.ResponseHeaders = redactHeaderMap(a.ResponseHeaders)
		e.RequestBody = string(redact.Body(a.RequestHeaders["Content-Type"], a.RequestBody))
		e.ResponseBody = strings.ToValidUTF8(string(redact.Body(a.ResponseHeaders["Content-Type"], a.ResponseBody)), "\uFFFD")
	}
	return e
}

func redactHeaderMap(h map[string]string) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = redact.HeaderValue(k, v)
	}
	return out
}
