package tossfake

import "strings"

type errInfo struct {
	status int
	ko, en string
}

// errorTable holds the HTTP status and messages of the codes the fake
// answers. Statuses marked unverified in the reference are the fake's choice
// (see the package doc).
var errorTable = map[string]errInfo{
	"UNAUTHORIZED_KEY":                  {401, "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.", "Unauthorized secret key or client key."},
	"INVALID_API_KEY":                   {400, "잘못된 시크릿키 연동 정보 입니다.", "Invalid secret key."},
	"INVALID_REQUEST":                   {400, "잘못된 요청입니다.", "Invalid request."},
	"NOT_FOUND_PAYMENT":                 {404, "존재하지 않는 결제 입니다.", "The payment does not exist."},
	"NOT_FOUND_PAYMENT_SESSION":         {404, "결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다.", "The payment session has expired or does not exist."},
	"NOT_FOUND":                         {404, "존재하지 않는 정보 입니다.", "Not found."},
	"ALREADY_PROCESSED_PAYMENT":         {400, "이미 처리된 결제 입니다.", "The payment has already been processed."},
	"ALREADY_CANCELED_PAYMENT":          {400, "이미 취소된 결제 입니다.", "The payment has already been canceled."},
	"NOT_CANCELABLE_AMOUNT":             {403, "취소 할 수 없는 금액 입니다.", "The amount cannot be canceled."},
	"NOT_CANCELABLE_PAYMENT":            {403, "취소 할 수 없는 결제 입니다.", "The payment cannot be canceled."},
	"FORBIDDEN_CONSECUTIVE_REQUEST":     {403, "반복적인 요청은 허용되지 않습니다. 잠시 후 다시 시도해주세요.", "Consecutive requests are not allowed. Try again later."},
	"DUPLICATED_ORDER_ID":               {400, "이미 승인 및 취소가 진행된 중복된 주문번호 입니다.", "The orderId has already been used."},
	"NOT_MATCHES_CUSTOMER_KEY":          {400, "빌링 인증 고객키와 결제 요청 고객키가 일치하지 않습니다.", "The customerKey does not match the one of the billing key."},
	"BELOW_MINIMUM_AMOUNT":              {400, "신용카드는 결제금액이 100원 이상, 계좌는 200원 이상부터 결제가 가능합니다.", "Card payments start at 100 KRW, account payments at 200 KRW."},
	"INVALID_CARD_EXPIRATION":           {400, "카드 정보를 다시 확인해주세요. (유효기간)", "Check the card's expiration date."},
	"INVALID_STOPPED_CARD":              {400, "정지된 카드 입니다.", "The card has been stopped."},
	"INVALID_REJECT_CARD":               {400, "카드 사용이 거절되었습니다. 카드사 문의가 필요합니다.", "The card was refused. Contact the card company."},
	"INVALID_CARD_NUMBER":               {400, "카드번호를 다시 확인해주세요.", "Check the card number."},
	"EXCEED_MAX_CARD_INSTALLMENT_PLAN":  {400, "설정 가능한 최대 할부 개월 수를 초과했습니다.", "The installment plan exceeds the maximum."},
	"NOT_ALLOWED_POINT_USE":             {400, "포인트 사용이 불가한 카드로 카드 포인트 결제에 실패했습니다.", "Card points cannot be used with this card."},
	"PROVIDER_ERROR":                    {400, "일시적인 오류가 발생했습니다. 잠시 후 다시 시도해주세요.", "A temporary error occurred. Try again later."},
	"REJECT_CARD_COMPANY":               {403, "결제 승인이 거절되었습니다.", "The card company refused the payment."},
	"FAILED_INTERNAL_SYSTEM_PROCESSING": {500, "내부 시스템 처리 작업이 실패했습니다. 잠시 후 다시 시도해주세요.", "Internal processing failed. Try again later."},
	"FAILED_DB_PROCESSING":              {500, "잘못된 요청 값으로 처리 중 DB 에러가 발생했습니다.", "A database error occurred."},
	"PAY_PROCESS_CANCELED":              {400, "사용자에 의해 결제가 취소되었습니다.", "The buyer canceled the payment."},
	"PAY_PROCESS_ABORTED":               {400, "결제 진행 중 승인에 실패하여 결제가 중단되었습니다.", "The payment was aborted."},
	"EXPIRED_PAYMENT":                   {400, "결제 유효 시간이 지나 만료되었습니다.", "The payment has expired."},
}

// statusOf is the HTTP status the fake answers code with: the table's, else
// 403 for card-company refusals (REJECT_*) and 400 for the rest.
func statusOf(code string) int {
	if e, ok := errorTable[code]; ok {
		return e.status
	}
	if strings.HasPrefix(code, "REJECT_") {
		return 403
	}
	return 400
}

// messageOf is the message of code in Korean, or English when en.
func messageOf(code string, en bool) string {
	e, ok := errorTable[code]
	switch {
	case !ok && en:
		return "Error " + code + "."
	case !ok:
		return "오류가 발생했습니다. (" + code + ")"
	case en:
		return e.en
	}
	return e.ko
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
