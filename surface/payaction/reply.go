package payaction

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/deposit"
	"github.com/paymux/paymux/payment"
)

// replyBody is PayAction's reply: {"status": "success"|"error",
// "response": {...}}.
type replyBody struct {
	Status   string        `json:"status"`
	Response replyResponse `json:"response"`
}

type replyResponse struct {
	Message string `json:"message,omitempty"`
}

// reply is what an endpoint answers.
type reply struct {
	status int
	body   replyBody
	// cause is logged for an internal error.
	cause error
}

func success() reply {
	return reply{status: http.StatusOK, body: replyBody{Status: "success"}}
}

func errorBody(message string) replyBody {
	return replyBody{Status: "error", Response: replyResponse{Message: message}}
}

// refused answers a request refused here.
func refused(err error) reply {
	var r refusal
	if errors.As(err, &r) {
		return reply{status: http.StatusOK, body: errorBody(string(r))}
	}
	return internal(err)
}

func refusedf(format string, args ...any) reply {
	return reply{status: http.StatusOK, body: errorBody(fmt.Sprintf(format, args...))}
}

func internal(err error) reply {
	return reply{status: http.StatusInternalServerError, cause: err,
		body: errorBody("요청을 처리하는 중 오류가 발생했습니다. 잠시 후 다시 시도해 주세요.")}
}

// summaries are the Korean words for paymux's refusals, by ErrorInfo
// reason. A reason not here gets the endpoint's own summary.
var summaries = map[string]string{
	apierr.ReasonInvalidArgument:         "요청 값이 올바르지 않습니다.",
	apierr.ReasonRequestTooLarge:         "요청 본문이 너무 큽니다.",
	apierr.ReasonIPNotAllowed:            "허용되지 않은 IP 주소에서 보낸 요청입니다.",
	apierr.ReasonStoreSuspended:          "이용이 정지된 상점입니다.",
	apierr.ReasonKeyModeNotAllowed:       "이 키로는 할 수 없는 요청입니다.",
	apierr.ReasonPermissionDenied:        "권한이 없는 요청입니다.",
	apierr.ReasonNotFound:                msgOrderNotFound,
	payment.ReasonPaymentNotFound:        msgOrderNotFound,
	apierr.ReasonConflict:                "다른 요청과 동시에 처리되었습니다. 잠시 후 다시 시도해 주세요.",
	apierr.ReasonAborted:                 "다른 요청과 동시에 처리되었습니다. 잠시 후 다시 시도해 주세요.",
	apierr.ReasonResourceExhausted:       "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.",
	apierr.ReasonUnavailable:             "잠시 후 다시 시도해 주세요.",
	apierr.ReasonDeadlineExceeded:        "처리 시간이 초과되었습니다. 잠시 후 다시 시도해 주세요.",
	deposit.ReasonNoBankAccount:          "입금받을 계좌가 등록되어 있지 않습니다.",
	deposit.ReasonBankAccountNotFound:    "입금받을 계좌를 찾을 수 없습니다.",
	deposit.ReasonBankAccountArchived:    "삭제된 계좌로는 주문을 받을 수 없습니다.",
	deposit.ReasonBankAccountMode:        "키의 모드(TEST/LIVE)와 계좌의 모드가 다릅니다.",
	payment.ReasonCashReceiptNotFound:    "발행된 현금영수증이 없습니다.",
	payment.ReasonCashReceiptNotIssuable: "취소할 수 있는 현금영수증이 없습니다.",
	payment.ReasonNoCashReceiptChannel:   "현금영수증을 발행할 채널이 없습니다.",
	payment.ReasonPGProvider:             "현금영수증 발행사(PG)가 요청을 거절했습니다.",
	payment.ReasonPGOutcomeUnknown:       "현금영수증 발행사(PG)의 처리 결과를 알 수 없습니다. 잠시 후 다시 시도해 주세요.",
}

// The messages of a 401: what the headers must hold.
const (
	msgHeaders = "x-mall-id에는 paymux 상점 ID(st_...)를, x-api-key에는 그 상점의 paymux 키를 " +
		"<client key>:<secret key> 형식(예: ck_test_...:sk_test_...)으로 넣어 주세요."
	msgAPIKeyForm = "x-api-key 형식이 올바르지 않습니다. paymux 키를 <client key>:<secret key> 형식" +
		"(예: ck_test_...:sk_test_...)으로 넣어 주세요. x-mall-id에는 paymux 상점 ID(st_...)를 넣어 주세요."
	msgUnauthenticated = "인증에 실패했습니다. " + msgHeaders
	msgStoreMismatch   = "인증에 실패했습니다. x-api-key의 paymux 키가 x-mall-id 상점의 키가 아닙니다. " +
		"x-mall-id에는 그 키가 속한 paymux 상점 ID(st_...)를 넣어 주세요."
)

// fromPaymux answers a paymux call's error: credentials refused, and a
// key of a store other than x-mall-id's (STORE_MISMATCH), are 401;
// internal errors 500; every other refusal 200 with status "error" and a
// Korean summary, then paymux's reason and message.
func fromPaymux(err error, summary string) reply {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return internal(err)
	}
	reason := errorReason(ce)
	switch {
	case reason == "":
		// No ErrorInfo: the call did not reach the chain (the loopback
		// failed).
		return internal(err)
	case ce.Code() == connect.CodeUnauthenticated:
		return reply{status: http.StatusUnauthorized, body: errorBody(withDetail(msgUnauthenticated, reason, ce.Message()))}
	case ce.Code() == connect.CodePermissionDenied && reason == apierr.ReasonStoreMismatch:
		return reply{status: http.StatusUnauthorized, body: errorBody(withDetail(msgStoreMismatch, reason, ce.Message()))}
	case ce.Code() == connect.CodeInternal || ce.Code() == connect.CodeUnknown || ce.Code() == connect.CodeDataLoss:
		r := internal(err)
		r.body = errorBody(withDetail(r.body.Response.Message, reason, ce.Message()))
		return r
	case reason == payment.ReasonPaymentAlreadyExists:
		return reply{status: http.StatusOK, body: errorBody(msgDuplicateOrder)}
	}
	if s, ok := summaries[reason]; ok {
		summary = s
	}
	return reply{status: http.StatusOK, body: errorBody(withDetail(summary, reason, ce.Message()))}
}

func withDetail(summary, reason, message string) string {
	return summary + " (" + reason + ": " + message + ")"
}

// errorReason is the reason of a Connect error's google.rpc.ErrorInfo, ""
// when it has none.
func errorReason(err error) string {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return ""
	}
	for _, d := range ce.Details() {
		v, derr := d.Value()
		if derr != nil {
			continue
		}
		if info, ok := v.(*errdetails.ErrorInfo); ok && info.GetReason() != "" {
			return info.GetReason()
		}
	}
	return ""
}

// writeReply writes body as JSON, Korean unescaped.
func writeReply(w http.ResponseWriter, status int, body replyBody) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil { // cannot fail: strings only
		status = http.StatusInternalServerError
		b.Reset()
		b.WriteString(`{"status":"error","response":{"message":"internal error"}}`)
	}
	out := strings.TrimSuffix(b.String(), "\n")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(out))
}
