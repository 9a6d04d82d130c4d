package calllog

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/apikey"
	"github.com/paymux/paymux/ent/event"
	"github.com/paymux/paymux/ent/logrecord"
	"github.com/paymux/paymux/ent/predicate"
	"github.com/paymux/paymux/ent/webhookattempt"
	"github.com/paymux/paymux/ent/webhookdelivery"
	"github.com/paymux/paymux/ent/webhookendpoint"
)

// The queries behind the Log API. They read through ent, so the context's
// tenant viewer decides which stores' entries they see; TEST keys see only
// what happened in TEST mode (Filter.TestOnly and the like), which the
// caller says.

// Reasons the Log API answers with.
const (
	ReasonLogNotFound      = "LOG_NOT_FOUND"
	ReasonTimelineNotFound = "TIMELINE_NOT_FOUND"
)

// timelineLimit bounds each source of one timeline, and the timeline.
const timelineLimit = 1000

// modeTEST is the mode of what a TEST key did, or a TEST channel's PG did.
const modeTEST = string(apikey.ModeTEST)

// Result selects entries by outcome.
type Result int

const (
	AnyResult  Result = iota
	OnlyOK            // calls that succeeded, attempts answered 2xx
	OnlyErrors        // the rest
)

// Cursor is where a page ends: the sort key of its last entry. Pages run
// newest first.
type Cursor struct {
	Time time.Time
	ID   string
}

// Filter selects log entries for a page. Empty fields select everything.
type Filter struct {
	// Kind is logrecord.KindAPI or logrecord.KindPG (ListCalls).
	Kind logrecord.Kind
	// TestOnly keeps to what happened in TEST mode: what a TEST key sees.
	TestOnly bool
	// Method: a procedure (/paymux.v1.PaymentService/GetPayment) or its
	// name (GetPayment), a REST path (/v1/payments/pay_...), a PG
	// operation (sandbox/Approve); for webhook attempts, the event type.
	Method string
	Result Result
	// Code: a code or a reason; for webhook attempts, OK or FAILED.
	Code              string
	PaymentID         string
	MerchantPaymentID string
	// KeyID, ClientIP and RequestID select calls; no webhook attempt has
	// them.
	KeyID     string
	ClientIP  string
	RequestID string
	// Start and End bound the time, End excluded; zero: unbounded.
	Start, End time.Time
	// After is where the previous page ended; nil for the first page.
	After *Cursor
	// Size is the page's size.
	Size int
}

// WebhookAttempt is a webhook attempt as the log shows it, with its
// delivery (the event type and the payment) and its endpoint's mode.
type WebhookAttempt struct {
	Attempt  *ent.WebhookAttempt
	Delivery *ent.WebhookDelivery // nil when it is gone
	Mode     string
}

// OK reports whether the endpoint took the webhook: a 2xx answer.
func (a WebhookAttempt) OK() bool {
	return a.Attempt.Error == "" && a.Attempt.ResponseStatus >= 200 && a.Attempt.ResponseStatus < 300
}

// summaryFields are a record's columns but its headers and bodies: what
// lists and timelines show (Get shows the rest).
var summaryFields = slices.DeleteFunc(slices.Clone(logrecord.Columns), func(c string) bool {
	return c == logrecord.FieldRequestHeaders || c == logrecord.FieldRequestBody || c == logrecord.FieldResponseBody
})

// ListCalls lists API or PG calls (f.Kind), newest first, a page at a
// time: the records without headers and bodies, and where the next page
// starts (nil on the last).
func ListCalls(ctx context.Context, db *ent.Client, f Filter) ([]*ent.LogRecord, *Cursor, error) {
	q := db.LogRecord.Query().Where(logrecord.KindEQ(f.Kind)).
		Order(ent.Desc(logrecord.FieldCreatedAt), ent.Desc(logrecord.FieldID))
	if f.TestOnly {
		q = q.Where(logrecord.Mode(modeTEST))
	}
	if v := f.Method; v != "" {
		if strings.HasPrefix(v, "/") {
			q = q.Where(logrecord.Or(logrecord.Method(v), logrecord.Path(v), logrecord.PathHasPrefix(v+"?")))
		} else {
			q = q.Where(logrecord.Or(logrecord.Method(v), logrecord.MethodHasSuffix("/"+v)))
		}
	}
	switch f.Result {
	case OnlyOK:
		q = q.Where(logrecord.Ok(true))
	case OnlyErrors:
		q = q.Where(logrecord.Ok(false))
	}
	if v := f.Code; v != "" {
		q = q.Where(logrecord.Or(logrecord.Code(v), logrecord.Reason(v)))
	}
	for v, p := range map[string]func(string) predicate.LogRecord{
		f.MerchantPaymentID: logrecord.MerchantPaymentID,
		f.PaymentID:         logrecord.PaymentID,
		f.KeyID:             logrecord.KeyID,
		f.ClientIP:          logrecord.ClientIP,
		f.RequestID:         logrecord.RequestID,
	} {
		if v != "" {
			q = q.Where(p(v))
		}
	}
	if !f.Start.IsZero() {
		q = q.Where(logrecord.CreatedAtGTE(f.Start))
	}
	if !f.End.IsZero() {
		q = q.Where(logrecord.CreatedAtLT(f.End))
	}
	if c := f.After; c != nil {
		q = q.Where(logrecord.Or(logrecord.CreatedAtLT(c.Time),
			logrecord.And(logrecord.CreatedAt(c.Time), logrecord.IDLT(c.ID))))
	}
	// The list shows what happened; bodies are for Get.
	rows, err := q.Limit(f.Size + 1).Select(summaryFields...).All(ctx)
	if err != nil {
		return nil, nil, err
	}
	rows, next := page(rows, f.Size, func(r *ent.LogRecord) Cursor { return Cursor{r.CreatedAt, r.ID} })
	return rows, next, nil
}

// ListWebhookAttempts lists webhook attempts as log entries, newest first,
// a page at a time: apart from the API and PG calls, as a store's log
// shows them. f.Kind is not used.
func ListWebhookAttempts(ctx context.Context, db *ent.Client, f Filter) ([]WebhookAttempt, *Cursor, error) {
	q := db.WebhookAttempt.Query().
		Order(ent.Desc(webhookattempt.FieldCreatedAt), ent.Desc(webhookattempt.FieldID))
	if f.TestOnly {
		ids, err := testEndpoints(ctx, db)
		if err != nil {
			return nil, nil, err
		}
		q = q.Where(webhookattempt.EndpointIDIn(ids...))
	}
	// Filters on the event go through the attempts' deliveries.
	var onDelivery []predicate.WebhookDelivery
	if v := f.Method; v != "" {
		onDelivery = append(onDelivery, webhookdelivery.EventType(v))
	}
	if v := f.MerchantPaymentID; v != "" {
		onDelivery = append(onDelivery, webhookdelivery.MerchantPaymentID(v))
	}
	if v := f.PaymentID; v != "" {
		onDelivery = append(onDelivery, webhookdelivery.PaymentID(v))
	}
	if len(onDelivery) > 0 {
		ids, err := db.WebhookDelivery.Query().Where(onDelivery...).IDs(ctx)
		if err != nil {
			return nil, nil, err
		}
		q = q.Where(webhookattempt.DeliveryIDIn(ids...))
	}
	ok := webhookattempt.And(webhookattempt.ResponseStatusGTE(200), webhookattempt.ResponseStatusLT(300), webhookattempt.Error(""))
	switch f.Result {
	case OnlyOK:
		q = q.Where(ok)
	case OnlyErrors:
		q = q.Where(webhookattempt.Not(ok))
	}
	switch f.Code {
	case "":
	case "OK":
		q = q.Where(ok)
	case "FAILED":
		q = q.Where(webhookattempt.Not(ok))
	default:
		q = q.Where(webhookattempt.IDIn()) // no webhook attempt has another code
	}
	if f.KeyID != "" || f.ClientIP != "" || f.RequestID != "" {
		q = q.Where(webhookattempt.IDIn()) // webhook attempts have none of these
	}
	if !f.Start.IsZero() {
		q = q.Where(webhookattempt.CreatedAtGTE(f.Start))
	}
	if !f.End.IsZero() {
		q = q.Where(webhookattempt.CreatedAtLT(f.End))
	}
	if c := f.After; c != nil {
		q = q.Where(webhookattempt.Or(webhookattempt.CreatedAtLT(c.Time),
			webhookattempt.And(webhookattempt.CreatedAt(c.Time), webhookattempt.IDLT(c.ID))))
	}
	rows, err := q.Limit(f.Size + 1).All(ctx)
	if err != nil {
		return nil, nil, err
	}
	rows, next := page(rows, f.Size, func(a *ent.WebhookAttempt) Cursor { return Cursor{a.CreatedAt, a.ID} })
	attempts, err := withDeliveries(ctx, db, rows)
	if err != nil {
		return nil, nil, err
	}
	return attempts, next, nil
}

// page trims rows fetched with a limit of size+1 to one page, and returns
// where the next page starts (nil on the last one).
func page[T any](rows []T, size int, key func(T) Cursor) ([]T, *Cursor) {
	if len(rows) <= size {
		return rows, nil
	}
	rows = rows[:size]
	next := key(rows[size-1])
	return rows, &next
}

// testEndpoints are the ids of the TEST webhook endpoints.
func testEndpoints(ctx context.Context, db *ent.Client) ([]string, error) {
	return db.WebhookEndpoint.Query().Where(webhookendpoint.ModeEQ(webhookendpoint.ModeTEST)).IDs(ctx)
}

// withDeliveries gives attempts their deliveries' event and payment, and
// their endpoints' mode.
func withDeliveries(ctx context.Context, db *ent.Client, attempts []*ent.WebhookAttempt) ([]WebhookAttempt, error) {
	var deliveryIDs, endpointIDs []string
	for _, a := range attempts {
		deliveryIDs = append(deliveryIDs, a.DeliveryID)
		endpointIDs = append(endpointIDs, a.EndpointID)
	}
	deliveries, err := db.WebhookDelivery.Query().Where(webhookdelivery.IDIn(deliveryIDs...)).All(ctx)
	if err != nil {
		return nil, err
	}
	endpoints, err := db.WebhookEndpoint.Query().Where(webhookendpoint.IDIn(endpointIDs...)).
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
	out := make([]WebhookAttempt, 0, len(attempts))
	for _, a := range attempts {
		out = append(out, WebhookAttempt{Attempt: a, Delivery: byID[a.DeliveryID], Mode: modes[a.EndpointID]})
	}
	return out, nil
}

// Entry is one log entry: a call's record or a webhook attempt.
type Entry struct {
	Call    *ent.LogRecord // with its headers and bodies
	Webhook *WebhookAttempt
}

// Get reads one log entry by id: a call's record (log_...) with its
// masked headers and bodies, or a webhook attempt (wha_...). testOnly
// keeps to TEST mode. An entry the caller cannot see is not found
// (ReasonLogNotFound).
func Get(ctx context.Context, db *ent.Client, id string, testOnly bool) (Entry, error) {
	notFound := apierr.New(apierr.CodeNotFound, ReasonLogNotFound, "log %s not found", id)
	if strings.HasPrefix(id, "wha_") {
		a, err := db.WebhookAttempt.Get(ctx, id)
		if ent.IsNotFound(err) {
			return Entry{}, notFound
		}
		if err != nil {
			return Entry{}, err
		}
		attempts, err := withDeliveries(ctx, db, []*ent.WebhookAttempt{a})
		if err != nil {
			return Entry{}, err
		}
		if testOnly && attempts[0].Mode != modeTEST {
			return Entry{}, notFound
		}
		return Entry{Webhook: &attempts[0]}, nil
	}
	q := db.LogRecord.Query().Where(logrecord.ID(id))
	if testOnly {
		q = q.Where(logrecord.Mode(modeTEST))
	}
	r, err := q.Only(ctx)
	if ent.IsNotFound(err) {
		return Entry{}, notFound
	}
	if err != nil {
		return Entry{}, err
	}
	return Entry{Call: r}, nil
}

// TimelineQuery names the payment a timeline is of.
type TimelineQuery struct {
	// Payment is the payment; nil when no payment has the order number
	// MerchantPaymentID: its calls may still have been made (and failed).
	Payment           *ent.Payment
	MerchantPaymentID string
	// TestOnly keeps to what happened in TEST mode.
	TestOnly bool
}

// Timeline is what happened to a payment, oldest first.
type Timeline struct {
	PaymentID         string
	MerchantPaymentID string
	Entries           []TimelineEntry
	// Truncated: a source had more than the timeline holds, or the
	// timeline was cut.
	Truncated bool
}

// TimelineEntry is one entry of a timeline; one of its kinds is set.
type TimelineEntry struct {
	Time         time.Time
	Call         *ent.LogRecord // an API or PG call, without headers and bodies
	Webhook      *WebhookAttempt
	StatusChange *ent.Event
}

// PaymentTimeline merges what happened to a payment, by time: the API and
// PG calls about it, the PG calls those API calls made under another order
// id (a cash receipt's, say), its status changes and its webhook attempts;
// up to 1,000 entries. With no payment and nothing logged for the order
// number it is not found (ReasonTimelineNotFound).
func PaymentTimeline(ctx context.Context, db *ent.Client, q TimelineQuery) (*Timeline, error) {
	p := q.Payment
	paymentID, merchantID := "", q.MerchantPaymentID
	if p != nil {
		paymentID, merchantID = p.ID, p.MerchantPaymentID
	}
	tl := &Timeline{PaymentID: paymentID, MerchantPaymentID: merchantID}
	add := func(e TimelineEntry) { tl.Entries = append(tl.Entries, e) }

	var about []predicate.LogRecord
	if paymentID != "" {
		about = append(about, logrecord.PaymentID(paymentID))
	}
	if merchantID != "" {
		about = append(about, logrecord.MerchantPaymentID(merchantID))
	}
	mode := []predicate.LogRecord{}
	if q.TestOnly {
		mode = append(mode, logrecord.Mode(modeTEST))
	}
	records, err := db.LogRecord.Query().Where(append(mode, logrecord.Or(about...))...).
		Order(ent.Asc(logrecord.FieldCreatedAt), ent.Asc(logrecord.FieldID)).Limit(timelineLimit + 1).Select(summaryFields...).All(ctx)
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
		linked, err := db.LogRecord.Query().Where(append(mode, logrecord.KindEQ(logrecord.KindPG),
			logrecord.RequestIDIn(requestIDs...))...).Limit(timelineLimit + 1).Select(summaryFields...).All(ctx)
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
		return nil, apierr.New(apierr.CodeNotFound, ReasonTimelineNotFound, "nothing is logged for merchant payment id %s", merchantID)
	}
	for _, r := range records {
		add(TimelineEntry{Time: r.CreatedAt, Call: r})
	}

	if p != nil {
		events, err := db.Event.Query().Where(event.PaymentID(p.ID)).
			Order(ent.Asc(event.FieldCreatedAt), ent.Asc(event.FieldID)).
			Select(event.FieldID, event.FieldType, event.FieldFromStatus, event.FieldToStatus, event.FieldCreatedAt).
			Limit(timelineLimit + 1).All(ctx)
		if err != nil {
			return nil, err
		}
		for _, ev := range events {
			add(TimelineEntry{Time: ev.CreatedAt, StatusChange: ev})
		}
		tl.Truncated = len(events) > timelineLimit

		dq := db.WebhookDelivery.Query().Where(webhookdelivery.PaymentID(p.ID))
		if q.TestOnly {
			ids, err := testEndpoints(ctx, db)
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
			rows, err := db.WebhookAttempt.Query().Where(webhookattempt.DeliveryIDIn(deliveryIDs...)).
				Order(ent.Asc(webhookattempt.FieldCreatedAt)).Limit(timelineLimit + 1).All(ctx)
			if err != nil {
				return nil, err
			}
			attempts, err := withDeliveries(ctx, db, rows)
			if err != nil {
				return nil, err
			}
			for i := range attempts {
				add(TimelineEntry{Time: attempts[i].Attempt.CreatedAt, Webhook: &attempts[i]})
			}
			tl.Truncated = tl.Truncated || len(rows) > timelineLimit
		}
	}
	tl.Truncated = tl.Truncated || len(records) > timelineLimit
	slices.SortStableFunc(tl.Entries, func(a, b TimelineEntry) int { return a.Time.Compare(b.Time) })
	if len(tl.Entries) > timelineLimit {
		tl.Entries, tl.Truncated = tl.Entries[:timelineLimit], true
	}
	return tl, nil
}
