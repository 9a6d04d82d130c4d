package server

import (
	"context"
	"fmt"
	"strings"
	"time"

	paymentsvc "github.com/paymux/paymux/payment"

	"google.golang.org/protobuf/proto"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/apikey"
	"github.com/paymux/paymux/ent/billingkey"
	"github.com/paymux/paymux/ent/event"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/predicate"
	"github.com/paymux/paymux/ent/schedule"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/money"
	"github.com/paymux/paymux/paystate"
	"github.com/paymux/paymux/providers"
)

type billingService struct{ *Server }

const (
	reasonBillingKeyNotFound     = "BILLING_KEY_NOT_FOUND"
	reasonBillingKeyExists       = "BILLING_KEY_EXISTS"
	reasonBillingKeyDeleted      = "BILLING_KEY_DELETED"
	reasonBillingKeyPending      = "BILLING_KEY_PENDING"
	reasonBillingKeyAmbiguous    = "BILLING_KEY_AMBIGUOUS"
	reasonBillingKeyHasSchedules = "BILLING_KEY_HAS_SCHEDULES"
	reasonScheduleNotFound       = "SCHEDULE_NOT_FOUND"
	reasonScheduleExists         = "SCHEDULE_EXISTS"
	reasonScheduleNotScheduled   = "SCHEDULE_NOT_SCHEDULED"
)

// visibleBillingKeys hides LIVE keys from TEST keys, as for payments.
func visibleBillingKeys(ctx context.Context) []predicate.BillingKey {
	if k := callFrom(ctx).Principal.Key; k != nil && k.Mode == apikey.ModeTEST {
		return []predicate.BillingKey{billingkey.ModeEQ(billingkey.ModeTEST)}
	}
	return nil
}

func visibleSchedules(ctx context.Context) []predicate.Schedule {
	if k := callFrom(ctx).Principal.Key; k != nil && k.Mode == apikey.ModeTEST {
		return []predicate.Schedule{schedule.ModeEQ(schedule.ModeTEST)}
	}
	return nil
}

// loadBillingKey finds a billing key by the id the API shows: its bk_ id or
// the merchant's name for it. A name finds the ACTIVE key of that name, or
// else the last deleted one.
func (s *Server) loadBillingKey(ctx context.Context, ref string) (*ent.BillingKey, error) {
	q := s.db.BillingKey.Query().Where(visibleBillingKeys(ctx)...)
	if strings.HasPrefix(ref, "bk_") {
		q = q.Where(billingkey.ID(ref))
	} else {
		q = q.Where(billingkey.Name(ref)).Order(ent.Asc(billingkey.FieldStatus), ent.Desc(billingkey.FieldCreatedAt))
	}
	rows, err := q.All(ctx)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, apierr.New(apierr.CodeNotFound, reasonBillingKeyNotFound, "billing key %s not found", ref)
	}
	// Names are a store's own: the administrator, who sees every store,
	// may meet one name in several.
	for _, k := range rows[1:] {
		if k.StoreID != rows[0].StoreID {
			return nil, apierr.New(apierr.CodeFailedPrecondition, reasonBillingKeyAmbiguous,
				"billing key name %s is used by several stores: call with that store's key", ref)
		}
	}
	return rows[0], nil
}

func activeBillingKey(k *ent.BillingKey) error {
	switch k.Status {
	case billingkey.StatusPENDING:
		return apierr.New(apierr.CodeFailedPrecondition, reasonBillingKeyPending, "billing key %s waits for its window", k.Name)
	case billingkey.StatusDELETED:
		return apierr.New(apierr.CodeFailedPrecondition, reasonBillingKeyDeleted, "billing key %s was deleted", k.Name)
	}
	return nil
}

func (s *Server) sealBillingKey(id, pgKey string) ([]byte, error) {
	return s.keyring.Encrypt([]byte(pgKey), []byte("billing-key:"+id))
}

func (s *Server) openBillingKey(k *ent.BillingKey) (string, error) {
	plain, err := s.keyring.Decrypt(k.PgKeySealed, []byte("billing-key:"+k.ID))
	if err != nil {
		return "", fmt.Errorf("billing key %s: %w", k.ID, err)
	}
	return string(plain), nil
}

func (s *billingService) IssueBillingKey(ctx context.Context, req *connect.Request[paymuxv1.IssueBillingKeyRequest]) (*connect.Response[paymuxv1.IssueBillingKeyResponse], error) {
	m := req.Msg
	ctx, storeID, err := s.actingStore(ctx, m.GetStoreId())
	if err != nil {
		return nil, err
	}
	id, name, ch, err := s.newBillingKey(ctx, m.GetId(), m.GetChannelId(), providers.CapBillingKeyFromCard)
	if err != nil {
		return nil, err
	}
	card := cardDataOf(m.GetCard())
	pgctx, cancel := s.payments.PGContext(ctx)
	defer cancel()
	issued, err := ch.API.IssueBillingKey(pgctx, ch.PG, providers.IssueBillingKeyRequest{
		CustomerKey:    name,
		OrderID:        id,
		Card:           &card,
		Buyer:          buyerOf(m.GetCustomer()),
		IdempotencyKey: id,
	})
	if err != nil {
		return nil, paymentsvc.PGError(nil, err)
	}
	sealed, err := s.sealBillingKey(id, issued.Key)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	var k *ent.BillingKey
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		k, err = tx.BillingKey.Create().
			SetID(id).
			SetStoreID(storeID).
			SetName(name).
			SetActiveName(name).
			SetChannelID(ch.Row.ID).
			SetProvider(string(ch.Row.Provider)).
			SetMode(billingkey.Mode(ch.Row.Mode)).
			SetStatus(billingkey.StatusACTIVE).
			SetPgKeySealed(sealed).
			SetCard(paymentsvc.CardOf(&issued.Card)).
			SetCustomerName(m.GetCustomer().GetName()).
			SetCustomerEmail(m.GetCustomer().GetEmail()).
			SetCustomerPhone(m.GetCustomer().GetPhone()).
			SetKeyID(keyIDOf(callFrom(ctx).Principal)).
			SetCreatedAt(now).
			SetUpdatedAt(now).
			Save(ctx)
		if err != nil {
			return err
		}
		return s.recordBillingKeyEvent(ctx, tx, k, "billing_key.issued")
	})
	if ent.IsConstraintError(err) {
		// Issued twice at once under one name: the other call won. The
		// card this call registered is removed from the PG again.
		_ = s.deletePGBillingKey(ctx, ch, id, name, issued.Key, "issued twice under one name") // logged there
		return nil, errBillingKeyExists(name)
	}
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.IssueBillingKeyResponse{BillingKey: toBillingKeyPB(k, 0)}), nil
}

// deletePGBillingKey deletes a billing key at the PG; a key the PG no longer
// has is deleted already.
func (s *Server) deletePGBillingKey(ctx context.Context, ch *paymentsvc.Channel, id, name, pgKey, reason string) error {
	if !ch.API.Capabilities().Has(providers.CapBillingKeyDelete) {
		return nil // the PG keeps it; it is never charged again
	}
	pgctx, cancel := s.payments.PGContext(ctx)
	defer cancel()
	_, err := ch.API.DeleteBillingKey(pgctx, ch.PG, providers.DeleteBillingKeyRequest{
		BillingKey: pgKey, CustomerKey: name, OrderID: id + "-delete", Reason: reason,
	})
	if err != nil && !providers.IsKind(err, providers.KindNotFound) && !providers.IsKind(err, providers.KindAlreadyDone) {
		s.log.WarnContext(ctx, "delete billing key at the PG", "billing_key", id, "error", err)
		return err
	}
	return nil
}

// recordBillingKeyEvent writes billing_key.issued or .deleted.
func (s *Server) recordBillingKeyEvent(ctx context.Context, tx *ent.Tx, k *ent.BillingKey, typ string) error {
	return s.recordBillingEvent(ctx, tx, typ, k.StoreID, string(k.Mode), "", "", toBillingKeyPB(k, 0))
}

// recordBillingEvent writes one of billing's events (billingEventTypes),
// its data the billing key or schedule as the API shows it, and queues its
// deliveries. Billing charges cards: endpoints filtered by pay method take
// them as CARD.
func (s *Server) recordBillingEvent(ctx context.Context, tx *ent.Tx, typ, storeID, mode, paymentID, merchantPaymentID string, data proto.Message) error {
	raw, err := protojson.Marshal(data)
	if err != nil {
		return fmt.Errorf("event data: %w", err)
	}
	ev, err := tx.Event.Create().
		SetStoreID(storeID).
		SetMode(event.Mode(mode)).
		SetType(typ).
		SetPaymentID(paymentID).
		SetMerchantPaymentID(merchantPaymentID).
		SetData(raw).
		SetCreatedAt(s.clock()).
		Save(ctx)
	if err != nil {
		return err
	}
	return s.outbox.Enqueue(ctx, tx, ev, string(payment.MethodCARD))
}

func (s *billingService) GetBillingKey(ctx context.Context, req *connect.Request[paymuxv1.GetBillingKeyRequest]) (*connect.Response[paymuxv1.GetBillingKeyResponse], error) {
	k, err := s.loadBillingKey(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	pending, err := s.pendingSchedules(ctx, k.ID)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.GetBillingKeyResponse{BillingKey: toBillingKeyPB(k, pending[k.ID])}), nil
}

// pendingSchedules counts the SCHEDULED and STARTED schedules of keys.
func (s *Server) pendingSchedules(ctx context.Context, keyIDs ...string) (map[string]int, error) {
	rows, err := s.db.Schedule.Query().
		Where(schedule.BillingKeyIDIn(keyIDs...), schedule.StatusIn(schedule.StatusSCHEDULED, schedule.StatusSTARTED)).
		Select(schedule.FieldBillingKeyID).Strings(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, id := range rows {
		out[id]++
	}
	return out, nil
}

func (s *billingService) ListBillingKeys(ctx context.Context, req *connect.Request[paymuxv1.ListBillingKeysRequest]) (*connect.Response[paymuxv1.ListBillingKeysResponse], error) {
	m := req.Msg
	ctx, _, err := s.actingStore(ctx, m.GetStoreId())
	if err != nil {
		return nil, err
	}
	cur, after, err := decodeCursor(m.GetPageToken())
	if err != nil {
		return nil, err
	}
	q := s.db.BillingKey.Query().Where(visibleBillingKeys(ctx)...).
		Order(ent.Desc(billingkey.FieldCreatedAt), ent.Desc(billingkey.FieldID))
	if len(m.GetStatuses()) > 0 {
		var in []billingkey.Status
		for _, st := range m.GetStatuses() {
			in = append(in, billingkey.Status(strings.TrimPrefix(st.String(), "BILLING_KEY_STATUS_")))
		}
		q = q.Where(billingkey.StatusIn(in...))
	}
	if id := m.GetChannelId(); id != "" {
		q = q.Where(billingkey.ChannelID(id))
	}
	if t := m.GetQuery(); t != "" {
		q = q.Where(billingkey.Or(billingkey.NameContainsFold(t), billingkey.CustomerNameContainsFold(t),
			billingkey.CustomerEmailContainsFold(t), billingkey.CustomerPhoneContainsFold(t)))
	}
	if t := m.GetStartTime(); t != nil {
		q = q.Where(billingkey.CreatedAtGTE(t.AsTime()))
	}
	if t := m.GetEndTime(); t != nil {
		q = q.Where(billingkey.CreatedAtLT(t.AsTime()))
	}
	if after {
		q = q.Where(billingkey.Or(billingkey.CreatedAtLT(cur.time()),
			billingkey.And(billingkey.CreatedAt(cur.time()), billingkey.IDLT(cur.ID))))
	}
	size := pageSize(m.GetPageSize())
	rows, err := q.Limit(size + 1).All(ctx)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, size, func(k *ent.BillingKey) (time.Time, string) { return k.CreatedAt, k.ID })
	ids := make([]string, len(rows))
	for i, k := range rows {
		ids[i] = k.ID
	}
	pending, err := s.pendingSchedules(ctx, ids...)
	if err != nil {
		return nil, err
	}
	res := &paymuxv1.ListBillingKeysResponse{NextPageToken: next}
	for _, k := range rows {
		res.BillingKeys = append(res.BillingKeys, toBillingKeyPB(k, pending[k.ID]))
	}
	return connect.NewResponse(res), nil
}

func (s *billingService) DeleteBillingKey(ctx context.Context, req *connect.Request[paymuxv1.DeleteBillingKeyRequest]) (*connect.Response[paymuxv1.DeleteBillingKeyResponse], error) {
	m := req.Msg
	k, err := s.loadBillingKey(ctx, m.GetId())
	if err != nil {
		return nil, err
	}
	switch k.Status {
	case billingkey.StatusDELETED:
		return connect.NewResponse(&paymuxv1.DeleteBillingKeyResponse{BillingKey: toBillingKeyPB(k, 0)}), nil
	case billingkey.StatusPENDING:
		// Its window never returned: the PG holds nothing yet.
		now := s.clock()
		if err := s.db.BillingKey.Update().Where(billingkey.ID(k.ID), billingkey.StatusEQ(billingkey.StatusPENDING)).
			SetStatus(billingkey.StatusDELETED).ClearActiveName().SetDeletedAt(now).SetUpdatedAt(now).Exec(ctx); err != nil {
			return nil, err
		}
		if k, err = s.loadBillingKey(ctx, k.ID); err != nil {
			return nil, err
		}
		return connect.NewResponse(&paymuxv1.DeleteBillingKeyResponse{BillingKey: toBillingKeyPB(k, 0)}), nil
	}
	// First the schedules: revoked if asked, and none may be left to run.
	var revoked []string
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		if m.GetRevokeSchedules() {
			if revoked, err = s.revokeWhere(ctx, tx, m.GetReason(), schedule.BillingKeyID(k.ID)); err != nil {
				return err
			}
		}
		left, err := tx.Schedule.Query().Where(schedule.BillingKeyID(k.ID),
			schedule.StatusIn(schedule.StatusSCHEDULED, schedule.StatusSTARTED)).Count(ctx)
		if err != nil {
			return err
		}
		if left > 0 {
			return apierr.WithMetadata(apierr.CodeFailedPrecondition, reasonBillingKeyHasSchedules,
				map[string]string{"pending_schedules": fmt.Sprint(left)},
				"billing key %s has %d schedules still to run: revoke them (revoke_schedules) or wait for them", k.Name, left)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Then the PG, then the record: a key the PG still had would otherwise
	// look deleted here.
	ch, err := s.payments.ChannelByID(ctx, k.ChannelID)
	if err != nil {
		return nil, err
	}
	pgKey, err := s.openBillingKey(k)
	if err != nil {
		return nil, err
	}
	if err := s.deletePGBillingKey(ctx, ch, k.ID, k.Name, pgKey, m.GetReason()); err != nil {
		return nil, paymentsvc.PGError(nil, err)
	}
	now := s.clock()
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		n, err := tx.BillingKey.Update().Where(billingkey.ID(k.ID), billingkey.StatusEQ(billingkey.StatusACTIVE)).
			SetStatus(billingkey.StatusDELETED).ClearActiveName().SetDeletedAt(now).SetUpdatedAt(now).Save(ctx)
		if err != nil || n == 0 {
			return err
		}
		if k, err = tx.BillingKey.Get(ctx, k.ID); err != nil {
			return err
		}
		return s.recordBillingKeyEvent(ctx, tx, k, "billing_key.deleted")
	})
	if err != nil {
		return nil, err
	}
	if k, err = s.loadBillingKey(ctx, k.ID); err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.DeleteBillingKeyResponse{BillingKey: toBillingKeyPB(k, 0), RevokedScheduleIds: revoked}), nil
}

func (s *billingService) ChargeBillingKey(ctx context.Context, req *connect.Request[paymuxv1.ChargeBillingKeyRequest]) (*connect.Response[paymuxv1.ChargeBillingKeyResponse], error) {
	m := req.Msg
	k, err := s.loadBillingKey(ctx, m.GetId())
	if err != nil {
		return nil, err
	}
	if err := activeBillingKey(k); err != nil {
		return nil, err
	}
	if err := money.CheckInstallment(m.GetInstallmentMonths(), m.GetAmount().GetTotal()); err != nil {
		return nil, paymentsvc.MoneyError(err, "installment_months")
	}
	customer := m.GetCustomer()
	if customer == nil {
		customer = &paymuxv1.Customer{Name: k.CustomerName, Email: k.CustomerEmail, Phone: k.CustomerPhone}
	}
	np, err := s.payments.PrepareNew(ctx, newInputOf(k.StoreID, k.ChannelID, m.GetMerchantPaymentId(), m.GetOrderName(), "", m.GetAmount(), customer),
		payment.MethodCARD, payment.ApprovalModelSERVER)
	if err != nil {
		return nil, err
	}
	np.Set(func(c *ent.PaymentCreate) { c.SetBillingKeyID(k.Name) })
	p, err := s.payments.Insert(ctx, np, func(tx *ent.Tx, p *ent.Payment) (*ent.Payment, error) {
		return s.payments.Transition(ctx, tx, p, paystate.MarkPending, nil)
	})
	if err != nil {
		return nil, err
	}
	p, err = s.chargeBillingKey(ctx, p, np.Channel, k, int(m.GetInstallmentMonths()), buyerOf(customer))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.ChargeBillingKeyResponse{Payment: toPaymentPB(p, nil, nil, nil)}), nil
}

// chargeBillingKey asks the PG to charge k for p (PAY_PENDING) and records
// the answer. The payment id is the PG's order id and idempotency key, so
// a second ask can only return the first charge.
func (s *Server) chargeBillingKey(ctx context.Context, p *ent.Payment, ch *paymentsvc.Channel, k *ent.BillingKey, months int, buyer providers.Buyer) (*ent.Payment, error) {
	res, err := s.sendBillingCharge(ctx, p, ch, k, months, buyer)
	return s.payments.SettleCharge(ctx, p, ch, res, err)
}

// sendBillingCharge asks the PG to charge k for p.
func (s *Server) sendBillingCharge(ctx context.Context, p *ent.Payment, ch *paymentsvc.Channel, k *ent.BillingKey, months int, buyer providers.Buyer) (*providers.Payment, error) {
	pgKey, err := s.openBillingKey(k)
	if err != nil {
		return nil, err
	}
	pgctx, cancel := s.payments.PGContext(ctx)
	defer cancel()
	return ch.API.ChargeBillingKey(pgctx, ch.PG, providers.ChargeBillingKeyRequest{
		BillingKey:        pgKey,
		CustomerKey:       k.Name,
		OrderID:           p.ID,
		OrderName:         p.OrderName,
		Amount:            paymentsvc.PGAmount(p),
		InstallmentMonths: months,
		Buyer:             buyer,
		IdempotencyKey:    p.ID,
	})
}

func toBillingKeyPB(k *ent.BillingKey, pending int) *paymuxv1.BillingKey {
	out := &paymuxv1.BillingKey{
		Id:               k.Name,
		StoreId:          k.StoreID,
		ChannelId:        k.ChannelID,
		Provider:         providerPB(k.Provider),
		Mode:             modePB(string(k.Mode)),
		Status:           paymuxv1.BillingKeyStatus(paymuxv1.BillingKeyStatus_value["BILLING_KEY_STATUS_"+string(k.Status)]),
		Card:             cardPB(k.Card),
		CreateTime:       timestamppb.New(k.CreatedAt),
		PendingSchedules: int32(pending),
	}
	if k.CustomerName != "" || k.CustomerEmail != "" || k.CustomerPhone != "" {
		out.Customer = &paymuxv1.Customer{Name: k.CustomerName, Email: k.CustomerEmail, Phone: k.CustomerPhone}
	}
	if k.DeletedAt != nil {
		out.DeleteTime = timestamppb.New(*k.DeletedAt)
	}
	return out
}
