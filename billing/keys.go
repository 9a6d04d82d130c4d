package billing

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/billingkey"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/schedule"
	"github.com/paymux/paymux/ent/schema/details"
	"github.com/paymux/paymux/money"
	paymentsvc "github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/paystate"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/secrets"
)

// KeyInput is what every new billing key names.
type KeyInput struct {
	StoreID string
	// Name is the merchant's name for the key (its id in the API); "": the
	// key's bk_ id.
	Name      string
	ChannelID string // "": the store's default channel of the key's mode
	Customer  providers.Buyer
}

// IssueInput is a billing key issued from card data.
type IssueInput struct {
	KeyInput
	Card providers.CardData
}

// IssueBillingKey registers a card at the PG and records its key ACTIVE.
func (s *Service) IssueBillingKey(ctx context.Context, in IssueInput) (*ent.BillingKey, error) {
	id, name, ch, err := s.newBillingKey(ctx, in.Name, in.ChannelID, providers.CapBillingKeyFromCard)
	if err != nil {
		return nil, err
	}
	card := in.Card
	pgctx, cancel := s.payments.PGContext(ctx)
	defer cancel()
	issued, err := ch.API.IssueBillingKey(pgctx, ch.PG, providers.IssueBillingKeyRequest{
		CustomerKey:    name,
		OrderID:        id,
		Card:           &card,
		Buyer:          in.Customer,
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
			SetStoreID(in.StoreID).
			SetName(name).
			SetActiveName(name).
			SetChannelID(ch.Row.ID).
			SetProvider(string(ch.Row.Provider)).
			SetMode(billingkey.Mode(ch.Row.Mode)).
			SetStatus(billingkey.StatusACTIVE).
			SetPgKeySealed(sealed).
			SetCard(paymentsvc.CardOf(&issued.Card)).
			SetCustomerName(in.Customer.Name).
			SetCustomerEmail(in.Customer.Email).
			SetCustomerPhone(in.Customer.Phone).
			SetKeyID(keyIDOf(ctx)).
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
	return k, nil
}

// WindowInput is a billing key issued through the PG's billing window.
type WindowInput struct {
	KeyInput
	// ReturnURL is where the buyer goes once the window returned through
	// paymux.
	ReturnURL string
}

// CreateWindow opens the PG's billing window for a new key and records the
// key PENDING: the window returns through paymux (Deps.ReturnURL), which
// then issues it (IssueFromWindow).
func (s *Service) CreateWindow(ctx context.Context, in WindowInput) (*ent.BillingKey, *providers.PrepareWindowResult, error) {
	if err := paymentsvc.CheckReturnURL(in.ReturnURL); err != nil {
		return nil, nil, err
	}
	id, name, ch, err := s.newBillingKey(ctx, in.Name, in.ChannelID, providers.CapBillingKeyFromWindow)
	if err != nil {
		return nil, nil, err
	}
	pgctx, cancel := s.payments.PGContext(ctx)
	win, err := ch.API.PrepareWindow(pgctx, ch.PG, providers.PrepareWindowRequest{
		Purpose:     providers.WindowBillingKey,
		OrderID:     id,
		OrderName:   "billing key " + name,
		CustomerKey: name,
		ReturnURL:   s.returnURL(id),
		Buyer:       in.Customer,
	})
	cancel()
	if err != nil {
		return nil, nil, paymentsvc.PGError(nil, err)
	}
	var checkout *details.Checkout
	if win.RedirectURL == "" && win.SDKURL != "" {
		// The PG's window opens through its JS SDK, on paymux's page.
		checkout = &details.Checkout{SDKURL: win.SDKURL, Params: win.Params, Launch: win.Launch}
		win.RedirectURL = s.checkoutURL(id)
	}
	now := s.clock()
	create := s.db.BillingKey.Create()
	if checkout != nil {
		create.SetCheckout(checkout)
	}
	k, err := create.
		SetID(id).
		SetStoreID(in.StoreID).
		SetName(name).
		SetActiveName(name).
		SetChannelID(ch.Row.ID).
		SetProvider(string(ch.Row.Provider)).
		SetMode(billingkey.Mode(ch.Row.Mode)).
		SetStatus(billingkey.StatusPENDING).
		SetReturnURL(in.ReturnURL).
		SetCustomerName(in.Customer.Name).
		SetCustomerEmail(in.Customer.Email).
		SetCustomerPhone(in.Customer.Phone).
		SetKeyID(keyIDOf(ctx)).
		SetCreatedAt(now).
		SetUpdatedAt(now).
		Save(ctx)
	if ent.IsConstraintError(err) {
		return nil, nil, errBillingKeyExists(name)
	}
	if err != nil {
		return nil, nil, err
	}
	return k, win, nil
}

// IssueFromWindow issues a PENDING key from the window's result. A refusal
// deletes the PENDING key (its name is free again) and answers the error;
// the returned key is then a stand-in, DELETED, that still carries the
// buyer's way back (its name and return URL).
func (s *Service) IssueFromWindow(ctx context.Context, k *ent.BillingKey, result providers.WindowResult) (*ent.BillingKey, error) {
	ch, err := s.payments.ChannelByID(ctx, k.ChannelID)
	if err != nil {
		return k, err
	}
	pgctx, cancel := s.payments.PGContext(ctx)
	issued, err := ch.API.IssueBillingKey(pgctx, ch.PG, providers.IssueBillingKeyRequest{
		CustomerKey: k.Name, OrderID: k.ID, Window: result, IdempotencyKey: k.ID,
	})
	cancel()
	if err != nil {
		if !providers.OutcomeUnknown(err) {
			if _, derr := s.db.BillingKey.Delete().Where(billingkey.ID(k.ID), billingkey.StatusEQ(billingkey.StatusPENDING)).Exec(ctx); derr != nil {
				s.log.ErrorContext(ctx, "billing window: drop refused key", "billing_key", k.ID, "error", derr)
			}
			// Still the buyer's way back, though the key is gone.
			return &ent.BillingKey{Name: k.Name, ReturnURL: k.ReturnURL, Status: billingkey.StatusDELETED}, paymentsvc.PGError(nil, err)
		}
		return k, paymentsvc.PGError(nil, err)
	}
	sealed, err := s.sealBillingKey(k.ID, issued.Key)
	if err != nil {
		return k, err
	}
	var out *ent.BillingKey
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		n, err := tx.BillingKey.Update().Where(billingkey.ID(k.ID), billingkey.StatusEQ(billingkey.StatusPENDING)).
			SetStatus(billingkey.StatusACTIVE).SetPgKeySealed(sealed).SetCard(paymentsvc.CardOf(&issued.Card)).SetUpdatedAt(s.clock()).Save(ctx)
		if err != nil {
			return err
		}
		if out, err = tx.BillingKey.Get(ctx, k.ID); err != nil || n == 0 {
			return err
		}
		return s.recordBillingKeyEvent(ctx, tx, out, "billing_key.issued")
	})
	return out, err
}

// windowTTL is how long a billing window may take to come back.
const windowTTL = 24 * time.Hour

// DropUnfinishedWindows deletes the PENDING keys whose window did not come
// back within a day, which frees their names (housekeeping calls it).
func (s *Service) DropUnfinishedWindows(ctx context.Context) error {
	_, err := s.db.BillingKey.Delete().Where(billingkey.StatusEQ(billingkey.StatusPENDING),
		billingkey.CreatedAtLT(s.clock().Add(-windowTTL))).Exec(ctx)
	return err
}

// newBillingKey checks what issuing a key needs, by card data or by window
// (how): a free name (or a generated one), and a channel that can. It
// answers the key's row id, its name and the channel.
func (s *Service) newBillingKey(ctx context.Context, requested, channelID string, how providers.Capabilities) (id, name string, ch *paymentsvc.Channel, err error) {
	id, name = secrets.NewID("bk"), requested
	switch {
	case requested == "":
		name = id
	case strings.HasPrefix(requested, "bk_"):
		return "", "", nil, apierr.InvalidField("id", "bk_ starts the ids paymux makes; name the key otherwise")
	}
	if ch, err = s.payments.ChannelForNew(ctx, channelID); err != nil {
		return "", "", nil, err
	}
	if !ch.API.Capabilities().Has(how) {
		return "", "", nil, apierr.New(apierr.CodeFailedPrecondition, paymentsvc.ReasonNotSupported,
			"channel %s (%s) does not issue billing keys this way", ch.Row.ID, ch.Row.Provider)
	}
	taken, err := s.db.BillingKey.Query().Where(billingkey.ActiveName(name)).Exist(ctx)
	if err != nil {
		return "", "", nil, err
	}
	if taken {
		return "", "", nil, errBillingKeyExists(name)
	}
	return id, name, ch, nil
}

func errBillingKeyExists(name string) error {
	return apierr.New(apierr.CodeAlreadyExists, ReasonBillingKeyExists, "billing key %s exists; delete it first", name)
}

// BillingKey finds a billing key by the id the API shows: its bk_ id or
// the merchant's name for it. A name finds the ACTIVE key of that name, or
// else the last deleted one.
func (s *Service) BillingKey(ctx context.Context, ref string) (*ent.BillingKey, error) {
	q := s.db.BillingKey.Query().Where(VisibleBillingKeys(ctx)...)
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
		return nil, apierr.New(apierr.CodeNotFound, ReasonBillingKeyNotFound, "billing key %s not found", ref)
	}
	// Names are a store's own: the administrator, who sees every store,
	// may meet one name in several.
	for _, k := range rows[1:] {
		if k.StoreID != rows[0].StoreID {
			return nil, apierr.New(apierr.CodeFailedPrecondition, ReasonBillingKeyAmbiguous,
				"billing key name %s is used by several stores: call with that store's key", ref)
		}
	}
	return rows[0], nil
}

// Get reads a billing key (BillingKey) with how many of its schedules are
// still to run.
func (s *Service) Get(ctx context.Context, ref string) (*ent.BillingKey, int, error) {
	k, err := s.BillingKey(ctx, ref)
	if err != nil {
		return nil, 0, err
	}
	pending, err := s.PendingSchedules(ctx, k.ID)
	if err != nil {
		return nil, 0, err
	}
	return k, pending[k.ID], nil
}

// PendingSchedules counts the SCHEDULED and STARTED schedules of keys (by
// bk_ id).
func (s *Service) PendingSchedules(ctx context.Context, keyIDs ...string) (map[string]int, error) {
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

func activeBillingKey(k *ent.BillingKey) error {
	switch k.Status {
	case billingkey.StatusPENDING:
		return apierr.New(apierr.CodeFailedPrecondition, ReasonBillingKeyPending, "billing key %s waits for its window", k.Name)
	case billingkey.StatusDELETED:
		return apierr.New(apierr.CodeFailedPrecondition, ReasonBillingKeyDeleted, "billing key %s was deleted", k.Name)
	}
	return nil
}

// DeleteInput names a billing key to delete.
type DeleteInput struct {
	Ref string // its bk_ id or name
	// RevokeSchedules revokes its schedules still to run; without it, a
	// key with such schedules is not deleted.
	RevokeSchedules bool
	Reason          string
}

// Delete deletes a billing key: first its schedules (revoked if asked;
// none may be left to run), then the key at the PG, then its record. It
// answers the key and the ids of the schedules it revoked. A key deleted
// already is answered as it is.
func (s *Service) Delete(ctx context.Context, in DeleteInput) (*ent.BillingKey, []string, error) {
	k, err := s.BillingKey(ctx, in.Ref)
	if err != nil {
		return nil, nil, err
	}
	switch k.Status {
	case billingkey.StatusDELETED:
		return k, nil, nil
	case billingkey.StatusPENDING:
		// Its window never returned: the PG holds nothing yet.
		now := s.clock()
		if err := s.db.BillingKey.Update().Where(billingkey.ID(k.ID), billingkey.StatusEQ(billingkey.StatusPENDING)).
			SetStatus(billingkey.StatusDELETED).ClearActiveName().SetDeletedAt(now).SetUpdatedAt(now).Exec(ctx); err != nil {
			return nil, nil, err
		}
		if k, err = s.BillingKey(ctx, k.ID); err != nil {
			return nil, nil, err
		}
		return k, nil, nil
	}
	// First the schedules: revoked if asked, and none may be left to run.
	var revoked []string
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		if in.RevokeSchedules {
			if revoked, err = s.revokeWhere(ctx, tx, in.Reason, schedule.BillingKeyID(k.ID)); err != nil {
				return err
			}
		}
		left, err := tx.Schedule.Query().Where(schedule.BillingKeyID(k.ID),
			schedule.StatusIn(schedule.StatusSCHEDULED, schedule.StatusSTARTED)).Count(ctx)
		if err != nil {
			return err
		}
		if left > 0 {
			return apierr.WithMetadata(apierr.CodeFailedPrecondition, ReasonBillingKeyHasSchedules,
				map[string]string{"pending_schedules": fmt.Sprint(left)},
				"billing key %s has %d schedules still to run: revoke them (revoke_schedules) or wait for them", k.Name, left)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	// Then the PG, then the record: a key the PG still had would otherwise
	// look deleted here.
	ch, err := s.payments.ChannelByID(ctx, k.ChannelID)
	if err != nil {
		return nil, nil, err
	}
	pgKey, err := s.openBillingKey(k)
	if err != nil {
		return nil, nil, err
	}
	if err := s.deletePGBillingKey(ctx, ch, k.ID, k.Name, pgKey, in.Reason); err != nil {
		return nil, nil, paymentsvc.PGError(nil, err)
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
		return nil, nil, err
	}
	if k, err = s.BillingKey(ctx, k.ID); err != nil {
		return nil, nil, err
	}
	return k, revoked, nil
}

// deletePGBillingKey deletes a billing key at the PG; a key the PG no longer
// has is deleted already.
func (s *Service) deletePGBillingKey(ctx context.Context, ch *paymentsvc.Channel, id, name, pgKey, reason string) error {
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

// ChargeInput is a charge of a billing key now.
type ChargeInput struct {
	BillingKey        string // its bk_ id or name
	MerchantPaymentID string
	OrderName         string
	Amount            paymentsvc.Amount
	InstallmentMonths int
	// Customer is the buyer; nil: the key's customer.
	Customer *providers.Buyer
}

// ChargeNow charges a billing key at once through payment.Service: the
// payment is created PAY_PENDING (written ahead), then the PG's answer is
// recorded. The payment id is the PG's order id and idempotency key, so a
// second ask can only return the first charge.
func (s *Service) ChargeNow(ctx context.Context, in ChargeInput) (*ent.Payment, error) {
	k, err := s.BillingKey(ctx, in.BillingKey)
	if err != nil {
		return nil, err
	}
	if err := activeBillingKey(k); err != nil {
		return nil, err
	}
	if err := money.CheckInstallment(int32(in.InstallmentMonths), in.Amount.Total); err != nil {
		return nil, paymentsvc.MoneyError(err, "installment_months")
	}
	buyer := providers.Buyer{Name: k.CustomerName, Email: k.CustomerEmail, Phone: k.CustomerPhone}
	if in.Customer != nil {
		buyer = *in.Customer
	}
	np, err := s.payments.PrepareNew(ctx, paymentsvc.NewInput{
		StoreID: k.StoreID, ChannelID: k.ChannelID, MerchantPaymentID: in.MerchantPaymentID, OrderName: in.OrderName,
		Amount: in.Amount, Buyer: buyer, BillingKeyCharge: true,
	}, payment.MethodCARD, payment.ApprovalModelSERVER)
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
	res, err := s.sendCharge(ctx, p, np.Channel, k, in.InstallmentMonths, buyer)
	return s.payments.SettleCharge(ctx, p, np.Channel, res, err)
}

// sendCharge asks the PG to charge k for p.
func (s *Service) sendCharge(ctx context.Context, p *ent.Payment, ch *paymentsvc.Channel, k *ent.BillingKey, months int, buyer providers.Buyer) (*providers.Payment, error) {
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
