package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/apikey"
	"github.com/paymux/paymux/ent/cancellation"
	"github.com/paymux/paymux/ent/channel"
	"github.com/paymux/paymux/ent/event"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/predicate"
	"github.com/paymux/paymux/ent/schema/details"
	"github.com/paymux/paymux/money"
	"github.com/paymux/paymux/paystate"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/tenant"
)

// Reasons of the payment API, beside paystate's and money's own.
const (
	reasonPaymentNotFound        = "PAYMENT_NOT_FOUND"
	reasonPaymentAlreadyExists   = "PAYMENT_ALREADY_EXISTS"
	reasonInformationMismatch    = "INFORMATION_MISMATCH"
	reasonNoDefaultChannel       = "NO_DEFAULT_CHANNEL"
	reasonChannelModeMismatch    = "CHANNEL_MODE_MISMATCH"
	reasonApprovalModelMismatch  = "APPROVAL_MODEL_MISMATCH"
	reasonWindowNotCompleted     = "WINDOW_NOT_COMPLETED"
	reasonPGProvider             = "PG_PROVIDER"
	reasonPGOutcomeUnknown       = "PG_OUTCOME_UNKNOWN"
	reasonNotSupported           = "NOT_SUPPORTED_BY_PG"
	reasonRefundAccountRequired  = "REFUND_ACCOUNT_REQUIRED"
	reasonCashReceiptNotFound    = "CASH_RECEIPT_NOT_FOUND"
	reasonCashReceiptExists      = "CASH_RECEIPT_ALREADY_EXISTS"
	reasonCashReceiptNotAllowed  = "CASH_RECEIPT_NOT_APPLICABLE"
	reasonCashReceiptNotIssuable = "CASH_RECEIPT_NOT_CANCELLABLE"
	reasonNotSandboxChannel      = "NOT_A_SANDBOX_CHANNEL"
)

// Failure reasons recorded on a payment or cancel (Failure.reason).
const (
	failDeclined         = "PG_DECLINED"
	failRefused          = "PG_REFUSED"
	failNotCharged       = "PG_TIMEOUT_NOT_CHARGED"
	failNetCancelled     = "NET_CANCELLED"
	failAmountMismatchPG = "PG_AMOUNT_MISMATCH"
)

// now is the server's clock, truncated to what PostgreSQL keeps.
func (s *Server) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// pgContext bounds one PG call. It is detached from the API call: a client
// that hangs up must not cut a charge off half-way (that would make its
// outcome unknown for no reason).
func (s *Server) pgContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Payments.PGTimeout)
}

// ---- channels --------------------------------------------------------------

// payChannel is a channel ready to call: its row, its decrypted form for the
// adapter, and the adapter.
type payChannel struct {
	row *ent.Channel
	pg  providers.Channel
	api providers.Provider
}

// channelForNewPayment picks the channel a new payment goes through: the
// one named, or the store's default payment channel of the key's mode.
func (s *Server) channelForNewPayment(ctx context.Context, id string) (*payChannel, error) {
	mode := channel.ModeTEST
	if k := callFrom(ctx).Principal.Key; k != nil && k.Mode == apikey.ModeLIVE {
		mode = channel.ModeLIVE
	}
	var row *ent.Channel
	var err error
	if id != "" {
		row, err = s.db.Channel.Query().Where(channel.ID(id)).Only(ctx)
		if ent.IsNotFound(err) {
			return nil, apierr.New(apierr.CodeNotFound, apierr.ReasonChannelNotFound, "channel %s not found", id)
		}
	} else {
		row, err = s.db.Channel.Query().
			Where(channel.ModeEQ(mode), channel.PurposeEQ(channel.PurposePAYMENT), channel.Default(true)).
			First(ctx)
		if ent.IsNotFound(err) {
			return nil, apierr.New(apierr.CodeFailedPrecondition, reasonNoDefaultChannel,
				"the store has no %s payment channel: create one with POST /v1/channels", mode)
		}
	}
	if err != nil {
		return nil, err
	}
	if row.Purpose != channel.PurposePAYMENT {
		return nil, apierr.InvalidField("channel_id", "channel %s is for %s, not payments", row.ID, row.Purpose)
	}
	if k := callFrom(ctx).Principal.Key; k != nil && string(k.Mode) != string(row.Mode) {
		return nil, apierr.New(apierr.CodePermissionDenied, reasonChannelModeMismatch,
			"a %s key pays only through %s channels; channel %s is %s", k.Mode, k.Mode, row.ID, row.Mode)
	}
	return s.openChannel(row)
}

// channelOf returns the channel a payment was made through.
func (s *Server) channelOf(ctx context.Context, p *ent.Payment) (*payChannel, error) {
	return s.channelByID(ctx, p.ChannelID)
}

// channelByID opens a channel by id (cached), for a payment's or a billing
// key's work.
func (s *Server) channelByID(ctx context.Context, id string) (*payChannel, error) {
	if ch := s.channels.get(id); ch != nil {
		return ch, nil
	}
	row, err := s.db.Channel.Get(tenant.System(ctx), id)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.CodeFailedPrecondition, apierr.ReasonChannelNotFound, "channel %s was deleted", id)
	}
	if err != nil {
		return nil, err
	}
	ch, err := s.openChannel(row)
	if err != nil {
		return nil, err
	}
	s.channels.put(ch)
	return ch, nil
}

// channelCache keeps opened channels for a short time (auth_cache_ttl):
// every charge and cancel needs its channel, which changes rarely. A change
// made through this process empties it at once; one made through another
// replica applies within the TTL, as for keys.
type channelCache struct {
	mu  sync.Mutex
	ttl time.Duration
	now func() time.Time
	m   map[string]cachedChannel
}

type cachedChannel struct {
	ch      *payChannel
	fetched time.Time
}

func newChannelCache(ttl time.Duration, now func() time.Time) *channelCache {
	return &channelCache{ttl: ttl, now: now, m: map[string]cachedChannel{}}
}

func (c *channelCache) get(id string) *payChannel {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || c.now().Sub(e.fetched) >= c.ttl {
		return nil
	}
	return e.ch
}

func (c *channelCache) put(ch *payChannel) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= 10_000 { // bounded: start over rather than grow
		clear(c.m)
	}
	c.m[ch.row.ID] = cachedChannel{ch: ch, fetched: c.now()}
}

// forget drops every cached channel; called on any channel change.
func (c *channelCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

func (s *Server) openChannel(row *ent.Channel) (*payChannel, error) {
	api, ok := s.providers[strings.ToLower(string(row.Provider))]
	if !ok {
		return nil, fmt.Errorf("channel %s: no adapter for provider %s", row.ID, row.Provider)
	}
	values := map[string]string{}
	if len(row.SecretsSealed) > 0 {
		plain, err := s.keyring.Decrypt(row.SecretsSealed, []byte("channel:"+row.ID))
		if err != nil {
			return nil, fmt.Errorf("channel %s secrets: %w", row.ID, err)
		}
		if err := json.Unmarshal(plain, &values); err != nil {
			return nil, fmt.Errorf("channel %s secrets: %w", row.ID, err)
		}
	}
	return &payChannel{
		row: row,
		api: s.calls.WrapProvider(api, row.StoreID),
		pg:  providers.Channel{ID: row.ID, MerchantID: row.MerchantID, Mode: providers.Mode(row.Mode), Secrets: values},
	}, nil
}

// ---- loading and locking ---------------------------------------------------

// visiblePayments hides LIVE payments from TEST keys, as visibleChannels
// hides LIVE channels: a test key cannot reach live money, not even to read
// it.
func visiblePayments(ctx context.Context) []predicate.Payment {
	if k := callFrom(ctx).Principal.Key; k != nil && k.Mode == apikey.ModeTEST {
		return []predicate.Payment{payment.ModeEQ(payment.ModeTEST)}
	}
	return nil
}

// loadPayment reads a payment of the caller's store by paymux id.
func (s *Server) loadPayment(ctx context.Context, id string) (*ent.Payment, error) {
	p, err := s.db.Payment.Query().Where(append(visiblePayments(ctx), payment.ID(id))...).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.CodeNotFound, reasonPaymentNotFound, "payment %s not found", id)
	}
	return p, err
}

// lockPayment reads a payment inside tx and keeps others from changing it
// until tx ends: FOR UPDATE on PostgreSQL; SQLite runs one write
// transaction at a time already.
func lockPayment(ctx context.Context, tx *ent.Tx, id string) (*ent.Payment, error) {
	p, err := tx.Payment.Query().Where(append(visiblePayments(ctx), payment.ID(id))...).
		Modify(database.ForUpdate).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.CodeNotFound, reasonPaymentNotFound, "payment %s not found", id)
	}
	return p, err
}

// ---- the state machine, recorded -------------------------------------------

// transition moves p by ev inside tx: the status (only if nobody moved it
// since p was read), whatever set adds, and an event, all in one
// transaction. A refused event is FailedPrecondition with paystate's reason.
func (s *Server) transition(ctx context.Context, tx *ent.Tx, p *ent.Payment, ev paystate.Event, set func(*ent.PaymentUpdateOne)) (*ent.Payment, error) {
	next, err := paystate.Next(paystate.State(p.Status), ev)
	if err != nil {
		return nil, transitionError(p, err)
	}
	now := s.clock()
	upd := tx.Payment.UpdateOne(p).Where(payment.StatusEQ(p.Status)).
		SetStatus(payment.Status(next)).SetStatusAt(now)
	if set != nil {
		set(upd)
	}
	updated, err := upd.Save(ctx)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.CodeAborted, apierr.ReasonConflict, "payment %s changed meanwhile; read it again", p.ID)
	}
	if err != nil {
		return nil, err
	}
	if err := s.recordEvent(ctx, tx, updated, string(p.Status)); err != nil {
		return nil, err
	}
	if updated.ScheduleID != "" {
		if err := s.endSchedule(ctx, tx, updated); err != nil {
			return nil, err
		}
	}
	return updated, nil
}

// recordEvent writes the event of p having reached its current status.
func (s *Server) recordEvent(ctx context.Context, tx *ent.Tx, p *ent.Payment, from string) error {
	data, err := protojson.Marshal(toPaymentPB(p, nil, nil, nil))
	if err != nil {
		return fmt.Errorf("event data: %w", err)
	}
	ev, err := tx.Event.Create().
		SetStoreID(p.StoreID).
		SetMode(event.Mode(p.Mode)).
		SetType(eventType(p.Status)).
		SetPaymentID(p.ID).
		SetMerchantPaymentID(p.MerchantPaymentID).
		SetFromStatus(from).
		SetToStatus(string(p.Status)).
		SetData(data).
		SetCreatedAt(p.StatusAt).
		Save(ctx)
	if err != nil {
		return err
	}
	return s.queueDeliveries(ctx, tx, ev, string(p.Method))
}

// eventType names the event of reaching status: "payment.paid", ...
func eventType(status payment.Status) string {
	return "payment." + strings.ToLower(string(status))
}

// ---- errors ----------------------------------------------------------------

func transitionError(p *ent.Payment, err error) error {
	var te *paystate.TransitionError
	if errors.As(err, &te) {
		return apierr.WithMetadata(apierr.CodeFailedPrecondition, te.Reason,
			map[string]string{"payment_id": p.ID, "status": string(p.Status)},
			"payment %s is %s: %s", p.ID, p.Status, strings.ToLower(strings.ReplaceAll(te.Reason, "_", " ")))
	}
	return err
}

// moneyError maps a refused amount: a malformed amount is InvalidArgument
// on field, one that does not fit the balance is FailedPrecondition.
func moneyError(err error, field string) error {
	var me *money.Error
	if !errors.As(err, &me) {
		return err
	}
	switch {
	case strings.HasPrefix(me.Reason, "INVALID_"):
		return apierr.InvalidField(field, "%s", me.Message)
	case me.Reason == money.ReasonInstallmentNotAllowedUnder50000:
		return apierr.InvalidBecause(me.Reason, apierr.FieldViolation{Field: field, Description: me.Message})
	}
	return apierr.New(apierr.CodeFailedPrecondition, me.Reason, "%s", me.Message)
}

// pgError is the API error for a PG's definite refusal of op.
func pgError(p *ent.Payment, err error) error {
	if errors.Is(err, providers.ErrNotSupported) {
		return apierr.New(apierr.CodeFailedPrecondition, reasonNotSupported, "%v", err)
	}
	var pe *providers.Error
	if !errors.As(err, &pe) {
		return err
	}
	md := map[string]string{"pg_code": pe.Code, "pg_message": pe.Message, "kind": pe.Kind.String()}
	if p != nil {
		md["payment_id"] = p.ID
		md["status"] = string(p.Status)
	}
	if pe.Decline != "" {
		md["decline"] = string(pe.Decline)
	}
	code := apierr.CodeFailedPrecondition
	switch pe.Kind {
	case providers.KindInvalidRequest:
		code = apierr.CodeInvalidArgument
	case providers.KindNotFound:
		code = apierr.CodeNotFound
	case providers.KindTimeout, providers.KindUnavailable, providers.KindUnknown:
		code = apierr.CodeUnavailable
	}
	return apierr.WithMetadata(code, reasonPGProvider, md, "the PG refused: [%s] %s", pe.Code, pe.Message)
}

// outcomeUnknownError tells the caller paymux does not know yet what the PG
// did, and will find out.
func outcomeUnknownError(p *ent.Payment, what string) error {
	return apierr.WithMetadata(apierr.CodeUnavailable, reasonPGOutcomeUnknown,
		map[string]string{"payment_id": p.ID, "status": string(p.Status)},
		"no answer from the PG to %s of payment %s; paymux asks the PG again and records the outcome (read the payment later)", what, p.ID)
}

// failureOf records a PG error on a payment or cancel.
func failureOf(reason string, err error) *details.Failure {
	f := &details.Failure{Reason: reason}
	var pe *providers.Error
	if errors.As(err, &pe) {
		f.PGCode, f.PGMessage, f.Decline = pe.Code, pe.Message, string(pe.Decline)
		f.Message = "the PG refused"
		if pe.Kind == providers.KindDeclined {
			f.Message = "the card company or bank declined"
		}
	} else if err != nil {
		f.Message = err.Error()
	}
	return f
}

// ---- what the PG reported, kept ---------------------------------------------

func cardOf(c *providers.CardInfo) *details.Card {
	if c == nil {
		return nil
	}
	return &details.Card{
		Issuer:            string(c.Issuer),
		Acquirer:          string(c.Acquirer),
		Number:            c.Number,
		Type:              string(c.Type),
		ApprovalNumber:    c.ApprovalNumber,
		InstallmentMonths: c.InstallmentMonths,
		InterestFree:      c.InterestFree,
	}
}

// setPaid records an approval the PG reported.
func setPaid(pg *providers.Payment, at time.Time) func(*ent.PaymentUpdateOne) {
	return func(u *ent.PaymentUpdateOne) {
		paidAt := pg.ApprovedAt
		if paidAt.IsZero() {
			paidAt = at
		}
		u.SetPaid(pg.Amounts.Total).
			SetPaidAt(paidAt.UTC().Truncate(time.Microsecond)).
			SetPgTransactionID(pg.PGTransactionID).
			SetReceiptURL(pg.ReceiptURL).
			ClearFailure()
		if c := cardOf(pg.Card); c != nil {
			u.SetCard(c)
		}
	}
}

func setFailed(f *details.Failure, at time.Time, pgTID string) func(*ent.PaymentUpdateOne) {
	return func(u *ent.PaymentUpdateOne) {
		u.SetFailure(f).SetFailedAt(at)
		if pgTID != "" {
			u.SetPgTransactionID(pgTID)
		}
	}
}

// ---- amounts -----------------------------------------------------------------

// pendingCancels sums the cancels sent to the PG and not yet answered: they
// are held against the cancellable balance.
func pendingCancels(ctx context.Context, q *ent.CancellationClient, paymentID string) (money.Amounts, error) {
	rows, err := q.Query().Where(cancellation.PaymentID(paymentID), cancellation.StatusEQ(cancellation.StatusREQUESTED)).All(ctx)
	if err != nil {
		return money.Amounts{}, err
	}
	var held money.Amounts
	for _, c := range rows {
		held.Cancelled += c.Amount
		held.CancelledTaxFree += c.TaxFree
		held.CancelledVAT += c.Vat
	}
	return held, nil
}

// amountsOf returns what p has paid and cancelled, with held counting as
// cancelled.
func amountsOf(p *ent.Payment, held money.Amounts) money.Amounts {
	return money.Amounts{
		Total:            p.Total,
		TaxFree:          p.TaxFree,
		VAT:              p.Vat,
		Cancelled:        p.Cancelled + held.Cancelled,
		CancelledTaxFree: p.CancelledTaxFree + held.CancelledTaxFree,
		CancelledVAT:     p.CancelledVat + held.CancelledVAT,
	}
}
