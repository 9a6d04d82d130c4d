package nicepay

import (
	"slices"

	"github.com/paymux/paymux/providers"
)

// ResultCode is how the adapter reads one NicePay result code.
type ResultCode struct {
	// Code is NicePay's resultCode, or a family pattern in which 'x' stands
	// for any character ("3xxx": the card family).
	Code string
	// Ops are the adapter operations (Provider method names) this meaning
	// applies to; nil: every operation. NicePay's code table gives some
	// codes two meanings (2011, 2012, 2032): the operation decides.
	Ops []string
	// OK marks a success code of Ops.
	OK      bool
	Kind    providers.Kind
	Decline providers.DeclineReason // with KindDeclined
	Meaning string                  // the manual's meaning, in English
}

// Operation groups.
var (
	opsCharge     = []string{"Approve", "ChargeBillingKey"}
	opsCancel     = []string{"Cancel", "CloseVirtualAccount", "NetCancel"}
	opsReceipt    = []string{"IssueCashReceipt", "CancelCashReceipt", "LookupCashReceipt"}
	opsBillingKey = []string{"IssueBillingKey"}
)

const (
	kDeclined = providers.KindDeclined
	kInvalid  = providers.KindInvalidRequest
	kUnauth   = providers.KindUnauthorized
	kNotFound = providers.KindNotFound
	kDone     = providers.KindAlreadyDone
	kUnavail  = providers.KindUnavailable
	kTimeout  = providers.KindTimeout
	kUnknown  = providers.KindUnknown
)

func success(code string, ops []string, meaning string) ResultCode {
	return ResultCode{Code: code, Ops: ops, OK: true, Meaning: meaning}
}

func fail(code string, ops []string, kind providers.Kind, meaning string) ResultCode {
	return ResultCode{Code: code, Ops: ops, Kind: kind, Meaning: meaning}
}

func decline(code string, reason providers.DeclineReason, meaning string) ResultCode {
	return ResultCode{Code: code, Kind: kDeclined, Decline: reason, Meaning: meaning}
}

// ResultCodes is the one table of NicePay result codes the adapter knows
// (common/code.md of NicePay's manual). Classify reads it: the exact code
// for the operation first, then the exact code, then a family pattern.
// A code in none of them is KindUnknown: paymux looks up.
var ResultCodes = []ResultCode{
	success("0000", nil, "success"),
	success("3001", opsCharge, "card payment succeeded"),
	success("4000", []string{"Approve"}, "bank transfer succeeded"),
	success("4100", []string{"Approve"}, "virtual account issued"),
	success("A000", []string{"Approve"}, "mobile payment succeeded"),
	success("F200", []string{"ChargeBillingKey"}, "billing charge approved"),
	success("F100", opsBillingKey, "billing key created"),
	success("F101", []string{"DeleteBillingKey"}, "billing key deleted"),
	success("2001", opsCancel, "cancel succeeded"),
	success("2211", opsCancel, "refund succeeded"),
	success("7001", opsReceipt, "cash receipt processed"),

	// Cards.
	decline("3011", providers.DeclineInvalidCard, "bad card number"),
	fail("3012", nil, kInvalid, "card merchant information not confirmed"),
	fail("3013", nil, kInvalid, "card merchant not opened"),
	fail("3014", nil, kInvalid, "card merchant information error"),
	decline("3021", providers.DeclineExpiredCard, "bad expiry"),
	decline("3022", providers.DeclineInvalidInstallment, "bad installment months"),
	decline("3023", providers.DeclineInvalidInstallment, "installment months over the limit"),
	decline("3024", providers.DeclineInvalidInstallment, "installments need at least 50,000 KRW"),
	decline("3031", providers.DeclineInvalidInstallment, "not an interest-free installment card"),
	decline("3032", providers.DeclineInvalidInstallment, "interest-free installments not allowed for these months"),
	fail("3041", nil, kInvalid, "card payments under 1,000 KRW are not allowed"),
	decline("3053", providers.DeclineInvalidCard, "foreign card cannot be verified"),
	decline("3057", providers.DeclineAuthentication, "card cannot be authenticated"),
	decline("3095", providers.DeclineOther, "the card company refused"),
	decline("3xxx", providers.DeclineOther, "card payment failed"),

	// Bank transfer and virtual accounts.
	fail("4101", nil, kInvalid, "virtual account amount over the maximum"),
	fail("4102", nil, kInvalid, "bad virtual account due date"),
	fail("4103", nil, kInvalid, "bad virtual account due time"),
	decline("4117", providers.DeclineOther, "virtual account issue failed"),
	fail("4122", nil, kInvalid, "deposit amount mismatch"),
	decline("4xxx", providers.DeclineOther, "bank transfer or virtual account failed"),

	// Mobile.
	decline("A001", providers.DeclineOther, "mobile payment failed"),

	// Cash receipts.
	fail("7003", nil, kDone, "cash receipt already issued"),
	fail("7010", nil, kUnavail, "no answer from the VAN"),
	fail("7xxx", nil, kInvalid, "cash receipt refused"),

	// Cancels. 2011, 2012 and 2032 mean other things outside cancels.
	fail("1534", nil, kInvalid, "partial cancel not possible for this transaction"),
	fail("1615", nil, kInvalid, "supply, VAT, service and tax-free amounts do not add up to the amount"),
	fail("2000", nil, kUnavail, "NicePay database error"),
	fail("2003", opsCancel, kInvalid, "cancel failed"),
	fail("2010", opsCancel, kInvalid, "cancel amount is zero or less"),
	fail("2011", opsCancel, kInvalid, "cancel amount mismatch"),
	fail("2011", nil, kInvalid, "CINO does not exist"),
	fail("2012", opsCancel, kNotFound, "no transaction to cancel"),
	fail("2012", nil, kNotFound, "no such order number"),
	fail("2013", nil, kDone, "already cancelled"),
	fail("2014", nil, kInvalid, "transaction cannot be cancelled"),
	fail("2015", nil, kDone, "cancel already requested"),
	fail("2016", nil, kInvalid, "cancel period over"),
	fail("2020", nil, kInvalid, "net-cancel time limit (1 hour) passed"),
	fail("2023", nil, kInvalid, "cancel limit exceeded"),
	fail("2026", nil, kInvalid, "cancel amount over the deposited amount"),
	fail("2028", nil, kInvalid, "partial cancel not allowed for this merchant"),
	fail("2029", nil, kInvalid, "partial cancel not allowed for this payment method"),
	fail("2030", nil, kInvalid, "partial cancel not allowed for this payment method"),
	fail("2031", nil, kInvalid, "full cancel not allowed"),
	fail("2032", opsCancel, kInvalid, "cancel amount over the cancellable amount"),
	fail("2032", nil, kInvalid, "merchant order number too long"),
	fail("2033", nil, kInvalid, "partial cancel not possible: cancel everything"),
	fail("2151", nil, kInvalid, "merchant suspended"),
	fail("2152", nil, kInvalid, "merchant not registered"),
	fail("2156", nil, kDone, "duplicate transaction request"),
	fail("2201", nil, kDone, "already approved"),
	fail("2xxx", nil, kInvalid, "refused"),

	// Billing.
	decline("F112", providers.DeclineInvalidCard, "invalid card number"),
	decline("F113", providers.DeclineAuthentication, "card owner verification failed"),
	fail("F115", nil, kInvalid, "merchant may not issue billing keys (suspended)"),
	fail("F116", nil, kInvalid, "merchant may not issue billing keys (terminated)"),
	fail("F117", nil, kInvalid, "merchant does not use billing"),
	decline("F118", providers.DeclineOther, "this card cannot be used; use another card"),
	fail("F201", nil, kInvalid, "card already registered"),

	// Generic.
	fail("A101", nil, kUnauth, "signData verification failed"),
	fail("A102", nil, kInvalid, "parameter of the wrong type"),
	fail("A106", nil, kInvalid, "bad date format"),
	fail("A107", nil, kInvalid, "deposit due date passed"),
	fail("A108", nil, kInvalid, "deposit due date before today"),
	fail("A109", nil, kInvalid, "no settings for this MID"),
	decline("A110", providers.DeclineOther, "the external partner refused"),
	fail("A112", nil, kInvalid, "abnormal access path"),
	fail("A113", nil, kInvalid, "amount below the minimum"),
	fail("A114", nil, kUnauth, "invalid merchant MID"),
	fail("A115", nil, kNotFound, "invalid TID"),
	fail("A116", nil, kInvalid, "bad amount"),
	fail("A117", nil, kInvalid, "required field missing"),
	fail("A118", nil, kNotFound, "no data"),
	fail("A122", nil, kInvalid, "another merchant's transaction (MID mismatch)"),
	fail("A123", nil, kInvalid, "amount differs from the authenticated amount"),
	fail("A124", nil, kNotFound, "no such BID"),
	fail("A125", nil, kNotFound, "invalid BID"),
	fail("A126", nil, kNotFound, "BID already deleted or unknown"),
	fail("A127", nil, kDone, "duplicate order id"),
	fail("A128", nil, kInvalid, "not a key-in merchant"),
	fail("A147", nil, kInvalid, "field too long"),
	fail("A148", nil, kInvalid, "billing charges use the billing API"),
	fail("A149", nil, kInvalid, "this API is for billing charges only"),
	fail("A210", nil, kNotFound, "no such authentication request"),
	fail("A211", nil, kUnauth, "hash verification failed"),
	fail("A212", nil, kInvalid, "bad data format"),
	fail("A214", nil, kNotFound, "no such card transaction"),
	fail("A215", nil, kNotFound, "no such mobile transaction"),
	fail("A216", nil, kNotFound, "no such bank transfer transaction"),
	fail("A217", nil, kNotFound, "no such virtual account transaction"),
	fail("A223", nil, kNotFound, "billKey not found"),
	fail("A224", nil, kUnauth, "IP address not allowed"),
	fail("A225", nil, kDone, "duplicate TID"),
	fail("A226", nil, kUnavail, "communication error"),
	decline("A241", providers.DeclineInvalidCard, "card cannot use VISA 3D"),
	fail("A242", nil, kInvalid, "unknown payment method"),
	fail("A243", nil, kNotFound, "no such order"),
	fail("A245", nil, kInvalid, "authentication timed out"),
	fail("A246", nil, kUnavail, "too many requests"),
	fail("A251", nil, kNotFound, "no such transaction"),
	fail("A255", nil, kInvalid, "another merchant's BID"),
	fail("A299", nil, kTimeout, "API processing delayed"),
	fail("A401", nil, kUnavail, "communication error with an external institution"),
	fail("A402", nil, kUnavail, "database transaction failed"),
	fail("A403", nil, kUnavail, "bad answer from an external institution"),
	fail("9000", nil, kInvalid, "field missing"),
	fail("9001", nil, kInvalid, "bad field length"),

	// Start API (P, U) codes.
	fail("P007", nil, kInvalid, "required parameter missing"),
	fail("P013", nil, kInvalid, "amount is not the sum of supply, VAT, service and tax-free amounts"),
	fail("P015", nil, kDone, "order id already exists"),
	fail("P017", nil, kInvalid, "zero amount"),
	fail("P034", nil, kInvalid, "requested amount differs from the recorded amount"),
	fail("P035", nil, kInvalid, "net-cancel request error"),
	fail("P036", nil, kInvalid, "tax-free amount over the amount"),
	decline("P037", providers.DeclineInvalidInstallment, "no installments under 50,000 KRW"),
	fail("P091", nil, kInvalid, "the buyer cancelled the payment"),
	fail("U100", nil, kInvalid, "required field missing"),
	fail("U101", nil, kUnauth, "BASE64 decoding failed"),
	fail("U102", nil, kUnauth, "no credentials"),
	fail("U103", nil, kUnauth, "wrong authentication type"),
	fail("U104", nil, kUnauth, "authentication failed"),
	fail("U107", nil, kNotFound, "no such transaction"),
	fail("U108", nil, kUnauth, "request not permitted"),
	fail("U111", nil, kNotFound, "nothing found"),
	fail("U112", nil, kDone, "order id already used"),
	fail("U113", nil, kInvalid, "billing charge amount mismatch"),
	fail("U114", nil, kDone, "TID already used"),
	fail("U115", nil, kNotFound, "BID deleted"),
	fail("U121", nil, kNotFound, "no such authentication request"),
	fail("U122", nil, kNotFound, "no transaction to cancel"),
	fail("U123", nil, kInvalid, "cancel amount over the cancellable amount"),
	fail("U126", nil, kNotFound, "no such order id"),
	fail("U127", nil, kInvalid, "bad amount"),
	fail("U128", nil, kInvalid, "partial cancel is not offered in the sandbox"),
	fail("U303", nil, kTimeout, "API processing delayed"),
	fail("U304", nil, kUnauth, "Basic authentication failed"),
	fail("U305", nil, kUnauth, "Bearer authentication failed"),
	fail("U309", nil, kNotFound, "BID not issued"),
	decline("U311", providers.DeclineAuthentication, "authentication cancelled or failed"),
	fail("U312", nil, kUnauth, "signData verification failed"),
	fail("U313", nil, kUnauth, "invalid merchant MID"),
	fail("U315", nil, kUnauth, "IP address not allowed"),
	fail("U318", nil, kInvalid, "cancel amount mismatch"),
	fail("U319", nil, kInvalid, "tax-free cancel over the cancellable tax-free amount"),
	fail("U321", nil, kInvalid, "tax-free amount over the amount"),
	fail("U501", nil, kUnavail, "communication error with an external institution"),
	decline("U504", providers.DeclineOther, "payment failed (net-cancelled)"),
	decline("C001", providers.DeclineAuthentication, "ISP authentication cancelled or failed"),
	decline("C002", providers.DeclineAuthentication, "card company authentication failed"),
	fail("I002", nil, kInvalid, "the buyer cancelled the payment"),
}

// Classify returns how ResultCodes reads code for op: the exact code for
// op, else the exact code for every operation, else its family, else
// KindUnknown.
func Classify(op, code string) ResultCode {
	var exact, family *ResultCode
	for i := range ResultCodes {
		rc := &ResultCodes[i]
		applies := rc.Ops == nil || slices.Contains(rc.Ops, op)
		if !applies {
			continue
		}
		if rc.Code == code {
			if rc.Ops != nil {
				return *rc
			}
			if exact == nil {
				exact = rc
			}
		} else if family == nil && matchFamily(rc.Code, code) {
			family = rc
		}
	}
	switch {
	case exact != nil:
		return *exact
	case family != nil:
		return *family
	}
	return ResultCode{Code: code, Kind: kUnknown, Meaning: "unknown result code"}
}

func matchFamily(pattern, code string) bool {
	if len(pattern) != len(code) || !slices.Contains([]byte(pattern), 'x') {
		return false
	}
	for i := range len(pattern) {
		if pattern[i] != 'x' && pattern[i] != code[i] {
			return false
		}
	}
	return true
}

// resultError is the *providers.Error of a failure code: NicePay's code
// and message kept.
func resultError(op, code, msg string) *providers.Error {
	rc := Classify(op, code)
	kind := rc.Kind
	if rc.OK {
		kind = kUnknown // a success code where a failure was expected
	}
	e := &providers.Error{Kind: kind, Provider: Name, Op: op, Code: code, Message: msg}
	if e.Message == "" {
		e.Message = rc.Meaning
	}
	if kind == kDeclined {
		e.Decline = rc.Decline
		if e.Decline == "" {
			e.Decline = providers.DeclineOther
		}
	}
	return e
}

// cardCompanies maps NicePay's card codes onto paymux's.
var cardCompanies = map[string]providers.CardCompany{
	"01": providers.CardBC,
	"02": providers.CardKB,
	"03": providers.CardHana, // 하나(외환)
	"04": providers.CardSamsung,
	"06": providers.CardShinhan,
	"07": providers.CardHyundai,
	"08": providers.CardLotte,
	"12": providers.CardNH,
	"15": providers.CardWoori,
	"16": providers.CardHana,
}

// CardCompany returns paymux's card company for a NicePay card code, or ""
// when paymux has none (the raw code stays in CardInfo).
func CardCompany(code string) providers.CardCompany { return cardCompanies[code] }
