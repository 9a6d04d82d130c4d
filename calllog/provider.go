package calllog

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/paymux/paymux/ent/logrecord"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/redact"
)

// WrapProvider returns p recording every call paymux makes to the PG
// through one store's channels: in the call log (masked, linked by the
// context's request id to the API call or job that made it) and in the PG
// latency metric, paymux_pg_call_duration_seconds. Every adapter a channel
// calls is wrapped, so no PG call goes unrecorded. A disabled writer still
// times the calls.
func (w *Writer) WrapProvider(p providers.Provider, storeID string) providers.Provider {
	return loggedProvider{Provider: p, w: w, storeID: storeID}
}

// loggedProvider is a PG adapter that records its calls.
type loggedProvider struct {
	providers.Provider
	w       *Writer
	storeID string
}

// logPG runs call and records it as operation op.
func logPG[T any](ctx context.Context, p loggedProvider, op string, ch providers.Channel, req any, orderID string, call func() (T, error)) (T, error) {
	start, at := time.Now(), p.w.clock()
	res, err := call()
	p.record(ctx, op, ch, req, res, err, orderID, at, time.Since(start))
	return res, err
}

func (p loggedProvider) record(ctx context.Context, op string, ch providers.Channel, req, res any, err error, orderID string, at time.Time, latency time.Duration) {
	code, reason, message := "OK", "", ""
	if err != nil {
		code, message = "UNKNOWN", err.Error()
		var pe *providers.Error
		switch {
		case errors.As(err, &pe):
			code, reason, message = pe.Kind.String(), pe.Code, pe.Message
			if pe.Err != nil {
				message = strings.TrimSpace(message + " (" + pe.Err.Error() + ")")
			}
		case errors.Is(err, providers.ErrNotSupported):
			code = "NOT_SUPPORTED"
		}
		res = nil
	}
	p.w.pgLatency.WithLabelValues(p.Name(), op, code).Observe(latency.Seconds())
	requestID := RequestID(ctx)
	p.w.log.DebugContext(ctx, "pg call", "request_id", requestID, "provider", p.Name(), "op", op,
		"channel", ch.ID, "code", code, "reason", reason, "duration", latency)
	r := &Record{
		Kind:      logrecord.KindPG,
		At:        at,
		StoreID:   p.storeID,
		Mode:      string(ch.Mode),
		RequestID: requestID,
		Surface:   p.Name(),
		Method:    p.Name() + "/" + op,
		Code:      code,
		Reason:    reason,
		Message:   message,
		Latency:   latency,
		// Marshalled now, not when the writer gets to it: the caller goes on
		// to use (and may change) what the adapter returned.
		RequestValue:  json.RawMessage(valueJSON(withoutBillingKey(req))),
		ResponseValue: json.RawMessage(valueJSON(withoutBillingKey(res))),
	}
	// paymux sends its payment id as the PG's order id.
	if strings.HasPrefix(orderID, "pay_") {
		r.PaymentID = orderID
	}
	p.w.Add(r)
}

// withoutBillingKey masks the PG's billing key in a request or result: with
// the channel's credentials it charges the card, so it is a secret, which
// paymux keeps only sealed. Its field names are too common ("Key",
// "BillingKey", also the name of paymux's own resource) for package redact
// to mask them by name, so they are masked here, by type.
func withoutBillingKey(v any) any {
	switch x := v.(type) {
	case providers.ChargeBillingKeyRequest:
		x.BillingKey = redact.Redacted
		return x
	case providers.DeleteBillingKeyRequest:
		x.BillingKey = redact.Redacted
		return x
	case *providers.BillingKey:
		if x == nil {
			return x
		}
		c := *x
		c.Key = redact.Redacted
		return &c
	case *providers.Payment:
		if x == nil || x.BillingKey == "" {
			return x
		}
		c := *x
		c.BillingKey = redact.Redacted
		return &c
	case *providers.Event:
		if x == nil || x.Payment == nil {
			return x
		}
		c := *x
		c.Payment, _ = withoutBillingKey(x.Payment).(*providers.Payment)
		return &c
	}
	return v
}

func (p loggedProvider) PrepareWindow(ctx context.Context, ch providers.Channel, req providers.PrepareWindowRequest) (*providers.PrepareWindowResult, error) {
	return logPG(ctx, p, "PrepareWindow", ch, req, req.OrderID, func() (*providers.PrepareWindowResult, error) {
		return p.Provider.PrepareWindow(ctx, ch, req)
	})
}

func (p loggedProvider) Approve(ctx context.Context, ch providers.Channel, req providers.ApproveRequest) (*providers.Payment, error) {
	return logPG(ctx, p, "Approve", ch, req, req.OrderID, func() (*providers.Payment, error) {
		return p.Provider.Approve(ctx, ch, req)
	})
}

func (p loggedProvider) Lookup(ctx context.Context, ch providers.Channel, req providers.LookupRequest) (*providers.Payment, error) {
	return logPG(ctx, p, "Lookup", ch, req, req.OrderID, func() (*providers.Payment, error) {
		return p.Provider.Lookup(ctx, ch, req)
	})
}

func (p loggedProvider) Cancel(ctx context.Context, ch providers.Channel, req providers.CancelRequest) (*providers.CancelResult, error) {
	return logPG(ctx, p, "Cancel", ch, req, req.OrderID, func() (*providers.CancelResult, error) {
		return p.Provider.Cancel(ctx, ch, req)
	})
}

func (p loggedProvider) NetCancel(ctx context.Context, ch providers.Channel, req providers.NetCancelRequest) (*providers.Payment, error) {
	return logPG(ctx, p, "NetCancel", ch, req, req.OrderID, func() (*providers.Payment, error) {
		return p.Provider.NetCancel(ctx, ch, req)
	})
}

func (p loggedProvider) ChargeKeyIn(ctx context.Context, ch providers.Channel, req providers.KeyInRequest) (*providers.Payment, error) {
	return logPG(ctx, p, "ChargeKeyIn", ch, req, req.OrderID, func() (*providers.Payment, error) {
		return p.Provider.ChargeKeyIn(ctx, ch, req)
	})
}

func (p loggedProvider) IssueBillingKey(ctx context.Context, ch providers.Channel, req providers.IssueBillingKeyRequest) (*providers.BillingKey, error) {
	return logPG(ctx, p, "IssueBillingKey", ch, req, req.OrderID, func() (*providers.BillingKey, error) {
		return p.Provider.IssueBillingKey(ctx, ch, req)
	})
}

func (p loggedProvider) ChargeBillingKey(ctx context.Context, ch providers.Channel, req providers.ChargeBillingKeyRequest) (*providers.Payment, error) {
	return logPG(ctx, p, "ChargeBillingKey", ch, req, req.OrderID, func() (*providers.Payment, error) {
		return p.Provider.ChargeBillingKey(ctx, ch, req)
	})
}

func (p loggedProvider) DeleteBillingKey(ctx context.Context, ch providers.Channel, req providers.DeleteBillingKeyRequest) (*providers.BillingKey, error) {
	return logPG(ctx, p, "DeleteBillingKey", ch, req, req.OrderID, func() (*providers.BillingKey, error) {
		return p.Provider.DeleteBillingKey(ctx, ch, req)
	})
}

func (p loggedProvider) IssueVirtualAccount(ctx context.Context, ch providers.Channel, req providers.IssueVirtualAccountRequest) (*providers.Payment, error) {
	return logPG(ctx, p, "IssueVirtualAccount", ch, req, req.OrderID, func() (*providers.Payment, error) {
		return p.Provider.IssueVirtualAccount(ctx, ch, req)
	})
}

func (p loggedProvider) CloseVirtualAccount(ctx context.Context, ch providers.Channel, req providers.CloseVirtualAccountRequest) (*providers.Payment, error) {
	return logPG(ctx, p, "CloseVirtualAccount", ch, req, req.OrderID, func() (*providers.Payment, error) {
		return p.Provider.CloseVirtualAccount(ctx, ch, req)
	})
}

func (p loggedProvider) IssueCashReceipt(ctx context.Context, ch providers.Channel, req providers.IssueCashReceiptRequest) (*providers.CashReceipt, error) {
	return logPG(ctx, p, "IssueCashReceipt", ch, req, req.OrderID, func() (*providers.CashReceipt, error) {
		return p.Provider.IssueCashReceipt(ctx, ch, req)
	})
}

func (p loggedProvider) CancelCashReceipt(ctx context.Context, ch providers.Channel, req providers.CancelCashReceiptRequest) (*providers.CashReceipt, error) {
	return logPG(ctx, p, "CancelCashReceipt", ch, req, req.OrderID, func() (*providers.CashReceipt, error) {
		return p.Provider.CancelCashReceipt(ctx, ch, req)
	})
}

func (p loggedProvider) LookupCashReceipt(ctx context.Context, ch providers.Channel, req providers.LookupCashReceiptRequest) (*providers.CashReceipt, error) {
	return logPG(ctx, p, "LookupCashReceipt", ch, req, req.OrderID, func() (*providers.CashReceipt, error) {
		return p.Provider.LookupCashReceipt(ctx, ch, req)
	})
}

// ParseNotification records the PG's inbound notification: its path,
// headers and body as received (masked), and what paymux read from it.
func (p loggedProvider) ParseNotification(ctx context.Context, ch providers.Channel, n providers.Notification) (*providers.Event, error) {
	received := map[string]any{
		"method":  n.Method,
		"path":    n.Path,
		"headers": redact.Headers(n.Header),
		"body":    string(n.Body),
		"from":    n.RemoteAddr.String(),
	}
	start, at := time.Now(), p.w.clock()
	ev, err := p.Provider.ParseNotification(ctx, ch, n)
	orderID := ""
	if ev != nil {
		orderID = ev.OrderID
	}
	p.record(ctx, "ParseNotification", ch, received, ev, err, orderID, at, time.Since(start))
	return ev, err
}
