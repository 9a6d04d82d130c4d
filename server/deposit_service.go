package server

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/deposit"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/bankaccount"
	"github.com/paymux/paymux/ent/bankmessage"
	entdeposit "github.com/paymux/paymux/ent/deposit"
	"github.com/paymux/paymux/ent/depositsetting"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
)

// depositService serves DepositService: reads straight from ent, writes
// through deposit.Service (s.deposits).
type depositService struct{ *Server }

func (s *depositService) CreateBankAccount(ctx context.Context, req *connect.Request[paymuxv1.CreateBankAccountRequest]) (*connect.Response[paymuxv1.CreateBankAccountResponse], error) {
	m := req.Msg
	ctx, storeID, err := s.actingStore(ctx, m.GetStoreId())
	if err != nil {
		return nil, err
	}
	mode := ""
	if m.GetMode() != paymuxv1.Mode_MODE_UNSPECIFIED {
		mode = m.GetMode().String()[len("MODE_"):]
	}
	a, err := s.deposits.CreateAccount(ctx, deposit.AccountInput{
		StoreID: storeID, Mode: mode, Bank: m.GetBank(), Number: m.GetAccountNumber(), Holder: m.GetHolder(),
		Description: m.GetDescription(), CashReceiptChannelID: m.GetCashReceiptChannelId(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.CreateBankAccountResponse{BankAccount: toBankAccountPB(a)}), nil
}

func (s *depositService) ListBankAccounts(ctx context.Context, req *connect.Request[paymuxv1.ListBankAccountsRequest]) (*connect.Response[paymuxv1.ListBankAccountsResponse], error) {
	ctx, _, err := s.actingStore(ctx, req.Msg.GetStoreId())
	if err != nil {
		return nil, err
	}
	q := s.db.BankAccount.Query().Order(ent.Asc(bankaccount.FieldCreatedAt), ent.Asc(bankaccount.FieldID))
	if testKey(ctx) {
		q.Where(bankaccount.ModeEQ(bankaccount.ModeTEST))
	}
	if !req.Msg.GetIncludeArchived() {
		q.Where(bankaccount.ArchivedAtIsNil())
	}
	rows, err := q.All(ctx)
	if err != nil {
		return nil, err
	}
	res := &paymuxv1.ListBankAccountsResponse{}
	for _, a := range rows {
		res.BankAccounts = append(res.BankAccounts, toBankAccountPB(a))
	}
	return connect.NewResponse(res), nil
}

func (s *depositService) GetBankAccount(ctx context.Context, req *connect.Request[paymuxv1.GetBankAccountRequest]) (*connect.Response[paymuxv1.GetBankAccountResponse], error) {
	a, err := s.deposits.Account(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.GetBankAccountResponse{BankAccount: toBankAccountPB(a)}), nil
}

func (s *depositService) DeleteBankAccount(ctx context.Context, req *connect.Request[paymuxv1.DeleteBankAccountRequest]) (*connect.Response[paymuxv1.DeleteBankAccountResponse], error) {
	archived, err := s.deposits.DeleteAccount(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.DeleteBankAccountResponse{Archived: archived}), nil
}

func (s *depositService) RecordDeposits(ctx context.Context, req *connect.Request[paymuxv1.RecordDepositsRequest]) (*connect.Response[paymuxv1.RecordDepositsResponse], error) {
	ctx, _, err := s.actingStore(ctx, req.Msg.GetStoreId())
	if err != nil {
		return nil, err
	}
	var in []deposit.TransactionInput
	for _, t := range req.Msg.GetTransactions() {
		in = append(in, deposit.TransactionInput{
			BankAccountID: t.GetBankAccountId(), Withdrawal: t.GetType() == paymuxv1.DepositType_DEPOSIT_TYPE_WITHDRAWAL,
			Amount: t.GetAmount(), DepositorName: t.GetDepositorName(), At: t.GetTransactionTime().AsTime(),
			Balance: t.Balance, SourceID: t.GetSourceId(), Note: t.GetNote(),
		})
	}
	results, err := s.deposits.Record(ctx, in)
	if err != nil {
		return nil, err
	}
	res := &paymuxv1.RecordDepositsResponse{}
	for _, r := range results {
		res.Results = append(res.Results, &paymuxv1.DepositResult{Deposit: toDepositPB(r.Deposit), Duplicate: r.Duplicate})
	}
	return connect.NewResponse(res), nil
}

func (s *depositService) RecordBankMessages(ctx context.Context, req *connect.Request[paymuxv1.RecordBankMessagesRequest]) (*connect.Response[paymuxv1.RecordBankMessagesResponse], error) {
	ctx, storeID, err := s.actingStore(ctx, req.Msg.GetStoreId())
	if err != nil {
		return nil, err
	}
	var in []deposit.MessageInput
	for _, m := range req.Msg.GetMessages() {
		mi := deposit.MessageInput{Text: m.GetText(), BankAccountID: m.GetBankAccountId(), SourceID: m.GetSourceId()}
		if m.GetReceiveTime() != nil {
			mi.ReceivedAt = m.GetReceiveTime().AsTime()
		}
		in = append(in, mi)
	}
	results, err := s.deposits.RecordMessages(ctx, storeID, in)
	if err != nil {
		return nil, err
	}
	res := &paymuxv1.RecordBankMessagesResponse{}
	for _, r := range results {
		msg, err := s.bankMessagePB(r.Message, r.Deposit)
		if err != nil {
			return nil, err
		}
		res.Messages = append(res.Messages, msg)
	}
	return connect.NewResponse(res), nil
}

func (s *depositService) ImportStatement(ctx context.Context, req *connect.Request[paymuxv1.ImportStatementRequest]) (*connect.Response[paymuxv1.ImportStatementResponse], error) {
	ctx, _, err := s.actingStore(ctx, req.Msg.GetStoreId())
	if err != nil {
		return nil, err
	}
	r, err := s.deposits.ImportStatement(ctx, req.Msg.GetBankAccountId(), req.Msg.GetContent())
	if err != nil {
		return nil, err
	}
	res := &paymuxv1.ImportStatementResponse{Recorded: int32(r.Recorded), Duplicates: int32(r.Duplicates), Matched: int32(r.Matched)}
	for _, d := range r.Unmatched {
		res.Unmatched = append(res.Unmatched, toDepositPB(d))
	}
	return connect.NewResponse(res), nil
}

func (s *depositService) ListDeposits(ctx context.Context, req *connect.Request[paymuxv1.ListDepositsRequest]) (*connect.Response[paymuxv1.ListDepositsResponse], error) {
	m := req.Msg
	ctx, _, err := s.actingStore(ctx, m.GetStoreId())
	if err != nil {
		return nil, err
	}
	cur, after, err := decodeCursor(m.GetPageToken())
	if err != nil {
		return nil, err
	}
	q := s.deposits.Query(ctx).Order(ent.Desc(entdeposit.FieldTransactionAt), ent.Desc(entdeposit.FieldID))
	if id := m.GetBankAccountId(); id != "" {
		q.Where(entdeposit.BankAccountID(id))
	}
	if len(m.GetStatuses()) > 0 {
		var sts []entdeposit.Status
		for _, st := range m.GetStatuses() {
			sts = append(sts, entdeposit.Status(st.String()[len("DEPOSIT_STATUS_"):]))
		}
		q.Where(entdeposit.StatusIn(sts...))
	}
	if t := m.GetStartTime(); t != nil {
		q.Where(entdeposit.TransactionAtGTE(t.AsTime()))
	}
	if t := m.GetEndTime(); t != nil {
		q.Where(entdeposit.TransactionAtLT(t.AsTime()))
	}
	if after {
		q.Where(entdeposit.Or(entdeposit.TransactionAtLT(cur.time()),
			entdeposit.And(entdeposit.TransactionAt(cur.time()), entdeposit.IDLT(cur.ID))))
	}
	size := pageSize(m.GetPageSize())
	rows, err := q.Limit(size + 1).All(ctx)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, size, func(d *ent.Deposit) (time.Time, string) { return d.TransactionAt, d.ID })
	res := &paymuxv1.ListDepositsResponse{NextPageToken: next}
	for _, d := range rows {
		res.Deposits = append(res.Deposits, toDepositPB(d))
	}
	return connect.NewResponse(res), nil
}

func (s *depositService) GetDeposit(ctx context.Context, req *connect.Request[paymuxv1.GetDepositRequest]) (*connect.Response[paymuxv1.GetDepositResponse], error) {
	d, err := s.deposits.Get(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.GetDepositResponse{Deposit: toDepositPB(d)}), nil
}

func (s *depositService) MatchDeposit(ctx context.Context, req *connect.Request[paymuxv1.MatchDepositRequest]) (*connect.Response[paymuxv1.MatchDepositResponse], error) {
	d, p, err := s.deposits.Match(ctx, req.Msg.GetId(), req.Msg.GetPaymentId())
	if err != nil {
		return nil, err
	}
	full, err := s.paymentPB(context.WithoutCancel(ctx), p)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.MatchDepositResponse{Deposit: toDepositPB(d), Payment: full}), nil
}

func (s *depositService) UnmatchDeposit(ctx context.Context, req *connect.Request[paymuxv1.UnmatchDepositRequest]) (*connect.Response[paymuxv1.UnmatchDepositResponse], error) {
	d, p, err := s.deposits.Unmatch(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	full, err := s.paymentPB(context.WithoutCancel(ctx), p)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.UnmatchDepositResponse{Deposit: toDepositPB(d), Payment: full}), nil
}

func (s *depositService) ListBankMessages(ctx context.Context, req *connect.Request[paymuxv1.ListBankMessagesRequest]) (*connect.Response[paymuxv1.ListBankMessagesResponse], error) {
	m := req.Msg
	ctx, _, err := s.actingStore(ctx, m.GetStoreId())
	if err != nil {
		return nil, err
	}
	cur, after, err := decodeCursor(m.GetPageToken())
	if err != nil {
		return nil, err
	}
	q := s.deposits.Messages(ctx).Order(ent.Desc(bankmessage.FieldCreatedAt), ent.Desc(bankmessage.FieldID))
	if len(m.GetStatuses()) > 0 {
		var sts []bankmessage.Status
		for _, st := range m.GetStatuses() {
			sts = append(sts, bankmessage.Status(st.String()[len("BANK_MESSAGE_STATUS_"):]))
		}
		q.Where(bankmessage.StatusIn(sts...))
	}
	if after {
		q.Where(bankmessage.Or(bankmessage.CreatedAtLT(cur.time()),
			bankmessage.And(bankmessage.CreatedAt(cur.time()), bankmessage.IDLT(cur.ID))))
	}
	size := pageSize(m.GetPageSize())
	rows, err := q.Limit(size + 1).All(ctx)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, size, func(b *ent.BankMessage) (time.Time, string) { return b.CreatedAt, b.ID })
	res := &paymuxv1.ListBankMessagesResponse{NextPageToken: next}
	for _, b := range rows {
		var d *ent.Deposit
		if b.DepositID != "" {
			if d, err = s.db.Deposit.Get(ctx, b.DepositID); err != nil && !ent.IsNotFound(err) {
				return nil, err
			}
		}
		msg, err := s.bankMessagePB(b, d)
		if err != nil {
			return nil, err
		}
		res.Messages = append(res.Messages, msg)
	}
	return connect.NewResponse(res), nil
}

func (s *depositService) GetDepositSettings(ctx context.Context, req *connect.Request[paymuxv1.GetDepositSettingsRequest]) (*connect.Response[paymuxv1.GetDepositSettingsResponse], error) {
	ctx, storeID, err := s.actingStore(ctx, req.Msg.GetStoreId())
	if err != nil {
		return nil, err
	}
	set, err := s.deposits.Settings(ctx, storeID)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.GetDepositSettingsResponse{Settings: toDepositSettingsPB(set)}), nil
}

func (s *depositService) UpdateDepositSettings(ctx context.Context, req *connect.Request[paymuxv1.UpdateDepositSettingsRequest]) (*connect.Response[paymuxv1.UpdateDepositSettingsResponse], error) {
	m := req.Msg
	ctx, storeID, err := s.actingStore(ctx, m.GetStoreId())
	if err != nil {
		return nil, err
	}
	in := deposit.SettingsInput{MatchLateOrders: m.MatchLateOrders, ReportBankTransactions: m.ReportBankTransactions}
	if sm := m.GetSmartMatching(); sm != paymuxv1.SmartMatching_SMART_MATCHING_UNSPECIFIED {
		v := depositsetting.SmartMatching(sm.String()[len("SMART_MATCHING_"):])
		in.SmartMatching = &v
	}
	set, err := s.deposits.UpdateSettings(ctx, storeID, in)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.UpdateDepositSettingsResponse{Settings: toDepositSettingsPB(set)}), nil
}

// ---- mapping ---------------------------------------------------------------

func toBankAccountPB(a *ent.BankAccount) *paymuxv1.BankAccount {
	return &paymuxv1.BankAccount{
		Id: a.ID, StoreId: a.StoreID, Mode: modePB(string(a.Mode)), Bank: a.Bank, AccountNumber: a.NumberMasked,
		Holder: a.Holder, Description: a.Description, CashReceiptChannelId: a.CashReceiptChannelID,
		CreateTime: timestamppb.New(a.CreatedAt), Archived: a.ArchivedAt != nil, ArchiveTime: optTime(a.ArchivedAt),
	}
}

func toDepositPB(d *ent.Deposit) *paymuxv1.Deposit {
	if d == nil {
		return nil
	}
	out := &paymuxv1.Deposit{
		Id: d.ID, StoreId: d.StoreID, Mode: modePB(string(d.Mode)), BankAccountId: d.BankAccountID,
		Type:   paymuxv1.DepositType(paymuxv1.DepositType_value["DEPOSIT_TYPE_"+string(d.Type)]),
		Status: paymuxv1.DepositStatus(paymuxv1.DepositStatus_value["DEPOSIT_STATUS_"+string(d.Status)]),
		Amount: d.Amount, DepositorName: d.DepositorName, Balance: d.Balance,
		TransactionTime: timestamppb.New(d.TransactionAt),
		Source:          paymuxv1.DepositSource(paymuxv1.DepositSource_value["DEPOSIT_SOURCE_"+string(d.Source)]),
		UnmatchedReason: d.UnmatchedReason, Candidates: int32(d.Candidates),
		PaymentId: d.PaymentID, MerchantPaymentId: d.MerchantPaymentID, MatchTime: optTime(d.MatchedAt),
		Note: d.Note, CreateTime: timestamppb.New(d.CreatedAt),
	}
	if d.SourceID != nil {
		out.SourceId = *d.SourceID
	}
	if d.MatchType != nil {
		out.MatchType = paymuxv1.MatchType(paymuxv1.MatchType_value["MATCH_TYPE_"+string(*d.MatchType)])
	}
	return out
}

func (s *Server) bankMessagePB(b *ent.BankMessage, d *ent.Deposit) (*paymuxv1.BankMessage, error) {
	text, err := s.deposits.MessageText(b)
	if err != nil {
		return nil, err
	}
	out := &paymuxv1.BankMessage{
		Id: b.ID, StoreId: b.StoreID, Mode: modePB(string(b.Mode)), BankAccountId: b.BankAccountID,
		Status: paymuxv1.BankMessageStatus(paymuxv1.BankMessageStatus_value["BANK_MESSAGE_STATUS_"+string(b.Status)]),
		Reason: b.Reason, Shape: b.Shape, Deposit: toDepositPB(d), Text: text,
		ReceiveTime: timestamppb.New(b.ReceivedAt), CreateTime: timestamppb.New(b.CreatedAt),
	}
	if b.SourceID != nil {
		out.SourceId = *b.SourceID
	}
	return out, nil
}

func toDepositSettingsPB(set *ent.DepositSetting) *paymuxv1.DepositSettings {
	out := &paymuxv1.DepositSettings{
		StoreId:                set.StoreID,
		SmartMatching:          paymuxv1.SmartMatching(paymuxv1.SmartMatching_value["SMART_MATCHING_"+string(set.SmartMatching)]),
		MatchLateOrders:        set.MatchLateOrders,
		ReportBankTransactions: set.ReportBankTransactions,
	}
	if !set.UpdatedAt.IsZero() {
		out.UpdateTime = timestamppb.New(set.UpdatedAt)
	}
	return out
}

// DepositEventData is a deposit as its events carry it.
func DepositEventData(d *ent.Deposit) ([]byte, error) {
	return protojson.Marshal(toDepositPB(d))
}
