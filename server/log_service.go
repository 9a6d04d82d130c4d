package server

import (
	"context"
	"strings"
	"time"

	paymentsvc "github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/tenant"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/calllog"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/logrecord"
	"github.com/paymux/paymux/ent/payment"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/redact"
)

// logService serves the Log API over package calllog's queries.
type logService struct{ *Server }

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

// testKey reports whether the caller reaches TEST mode only (a TEST key,
// or a console user below ADMIN making a change), which sees only what
// happened in TEST mode: a test key cannot read live money's logs either.
func testKey(ctx context.Context) bool {
	v, _ := tenant.FromContext(ctx)
	return v.TestOnly()
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
	f := calllog.Filter{
		Kind:              logrecord.KindAPI,
		TestOnly:          testKey(ctx),
		Method:            m.GetMethod(),
		Code:              m.GetCode(),
		PaymentID:         m.GetPaymentId(),
		MerchantPaymentID: m.GetMerchantPaymentId(),
		KeyID:             m.GetKeyId(),
		ClientIP:          m.GetClientIp(),
		RequestID:         m.GetRequestId(),
		Size:              pageSize(m.GetPageSize()),
	}
	if m.GetKind() == paymuxv1.LogKind_LOG_KIND_PG {
		f.Kind = logrecord.KindPG
	}
	switch m.GetResult() {
	case paymuxv1.LogResult_LOG_RESULT_OK:
		f.Result = calllog.OnlyOK
	case paymuxv1.LogResult_LOG_RESULT_ERROR:
		f.Result = calllog.OnlyErrors
	}
	if t := m.GetStartTime(); t != nil {
		f.Start = t.AsTime()
	}
	if t := m.GetEndTime(); t != nil {
		f.End = t.AsTime()
	}
	if after {
		f.After = &calllog.Cursor{Time: cur.time(), ID: cur.ID}
	}
	res := &paymuxv1.ListLogsResponse{}
	var next *calllog.Cursor
	if m.GetKind() == paymuxv1.LogKind_LOG_KIND_WEBHOOK {
		var attempts []calllog.WebhookAttempt
		if attempts, next, err = calllog.ListWebhookAttempts(ctx, s.db, f); err != nil {
			return nil, err
		}
		for _, a := range attempts {
			res.Logs = append(res.Logs, webhookEntryPB(a, false))
		}
	} else {
		var records []*ent.LogRecord
		if records, next, err = calllog.ListCalls(ctx, s.db, f); err != nil {
			return nil, err
		}
		for _, r := range records {
			res.Logs = append(res.Logs, logEntryPB(r))
		}
	}
	if next != nil {
		res.NextPageToken = encodeCursor(next.Time, next.ID)
	}
	return connect.NewResponse(res), nil
}

func (s *logService) GetLog(ctx context.Context, req *connect.Request[paymuxv1.GetLogRequest]) (*connect.Response[paymuxv1.GetLogResponse], error) {
	e, err := calllog.Get(ctx, s.db, req.Msg.GetId(), testKey(ctx))
	if err != nil {
		return nil, err
	}
	if e.Webhook != nil {
		return connect.NewResponse(&paymuxv1.GetLogResponse{Log: webhookEntryPB(*e.Webhook, true)}), nil
	}
	r := e.Call
	pb := logEntryPB(r)
	pb.RequestHeaders = r.RequestHeaders
	pb.RequestBody = string(r.RequestBody)
	pb.ResponseBody = string(r.ResponseBody)
	return connect.NewResponse(&paymuxv1.GetLogResponse{Log: pb}), nil
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
	paymentID := m.GetPaymentId()
	pq := s.db.Payment.Query().Where(paymentsvc.Visible(ctx)...)
	if paymentID != "" {
		pq = pq.Where(payment.ID(paymentID))
	} else {
		pq = pq.Where(payment.MerchantPaymentID(m.GetMerchantPaymentId()))
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
	}
	tl, err := calllog.PaymentTimeline(ctx, s.db, calllog.TimelineQuery{
		Payment: p, MerchantPaymentID: m.GetMerchantPaymentId(), TestOnly: testKey(ctx),
	})
	if err != nil {
		return nil, err
	}
	res := &paymuxv1.GetPaymentTimelineResponse{
		PaymentId: tl.PaymentID, MerchantPaymentId: tl.MerchantPaymentID, Truncated: tl.Truncated,
	}
	for _, e := range tl.Entries {
		pb := &paymuxv1.TimelineEntry{Time: timestamppb.New(e.Time)}
		switch {
		case e.Call != nil:
			pb.Entry = &paymuxv1.TimelineEntry_Log{Log: logEntryPB(e.Call)}
		case e.Webhook != nil:
			pb.Entry = &paymuxv1.TimelineEntry_Log{Log: webhookEntryPB(*e.Webhook, false)}
		case e.StatusChange != nil:
			ev := e.StatusChange
			pb.Entry = &paymuxv1.TimelineEntry_StatusChange{StatusChange: &paymuxv1.PaymentStatusChange{
				EventId: ev.ID, EventType: ev.Type, FromStatus: statusPB(ev.FromStatus), ToStatus: statusPB(ev.ToStatus),
			}}
		}
		res.Entries = append(res.Entries, pb)
	}
	return connect.NewResponse(res), nil
}

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
		UserId:            r.UserID,
		UserEmail:         r.UserEmail,
		ClientIp:          r.ClientIP,
		PaymentId:         r.PaymentID,
		MerchantPaymentId: r.MerchantPaymentID,
		Latency:           durationpb.New(time.Duration(r.LatencyUs) * time.Microsecond),
		Truncated:         r.Truncated,
	}
}

// webhookEntryPB is a webhook attempt as a log entry; detail adds its
// headers and bodies. They were stored as sent and received (the delivery
// engine needs them whole), so they are masked here, as every log body is.
func webhookEntryPB(w calllog.WebhookAttempt, detail bool) *paymuxv1.LogEntry {
	a, d := w.Attempt, w.Delivery
	e := &paymuxv1.LogEntry{
		Id:         a.ID,
		Kind:       paymuxv1.LogKind_LOG_KIND_WEBHOOK,
		Time:       timestamppb.New(a.CreatedAt),
		StoreId:    a.StoreID,
		Mode:       w.Mode,
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
	if !w.OK() {
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
