package server_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
)

// Constructors for every method, with its REST mapping, for surface tests.

func query(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

func createStore(req *paymuxv1.CreateStoreRequest) rpc {
	return newRPC[paymuxv1.CreateStoreRequest, paymuxv1.CreateStoreResponse]("/paymux.v1.StoreService/CreateStore", http.MethodPost, "/v1/stores", req)
}

func listStores(req *paymuxv1.ListStoresRequest) rpc {
	return newRPC[paymuxv1.ListStoresRequest, paymuxv1.ListStoresResponse]("/paymux.v1.StoreService/ListStores", http.MethodGet,
		"/v1/stores"+query("pageSize", itoa(req.GetPageSize()), "pageToken", req.GetPageToken()), req)
}

func getStore(id string) rpc {
	return newRPC[paymuxv1.GetStoreRequest, paymuxv1.GetStoreResponse]("/paymux.v1.StoreService/GetStore", http.MethodGet, "/v1/stores/"+url.PathEscape(id), &paymuxv1.GetStoreRequest{Id: id})
}

// updateStore maps to PATCH /v1/stores/{id} with the store as the body and
// the mask in the query.
func updateStore(req *paymuxv1.UpdateStoreRequest) rpc {
	r := newRPC[paymuxv1.UpdateStoreRequest, paymuxv1.UpdateStoreResponse]("/paymux.v1.StoreService/UpdateStore", http.MethodPatch,
		"/v1/stores/"+url.PathEscape(req.GetStore().GetId())+query("updateMask", strings.Join(req.GetUpdateMask().GetPaths(), ",")), req)
	r.restBody = req.GetStore()
	return r
}

func createKey(req *paymuxv1.CreateKeyRequest) rpc {
	return newRPC[paymuxv1.CreateKeyRequest, paymuxv1.CreateKeyResponse]("/paymux.v1.KeyService/CreateKey", http.MethodPost, "/v1/keys", req)
}

func listKeys(storeID string) rpc {
	return newRPC[paymuxv1.ListKeysRequest, paymuxv1.ListKeysResponse]("/paymux.v1.KeyService/ListKeys", http.MethodGet, "/v1/keys"+query("storeId", storeID), &paymuxv1.ListKeysRequest{StoreId: storeID})
}

func getKey(id string) rpc {
	return newRPC[paymuxv1.GetKeyRequest, paymuxv1.GetKeyResponse]("/paymux.v1.KeyService/GetKey", http.MethodGet, "/v1/keys/"+url.PathEscape(id), &paymuxv1.GetKeyRequest{Id: id})
}

func reissueKey(id string) rpc {
	return newRPC[paymuxv1.ReissueKeySecretRequest, paymuxv1.ReissueKeySecretResponse]("/paymux.v1.KeyService/ReissueKeySecret", http.MethodPost, "/v1/keys/"+url.PathEscape(id)+"/reissue", &paymuxv1.ReissueKeySecretRequest{Id: id})
}

func deleteKey(id string) rpc {
	return newRPC[paymuxv1.DeleteKeyRequest, paymuxv1.DeleteKeyResponse]("/paymux.v1.KeyService/DeleteKey", http.MethodDelete, "/v1/keys/"+url.PathEscape(id), &paymuxv1.DeleteKeyRequest{Id: id})
}

func createAccessToken() rpc {
	return newRPC[paymuxv1.CreateAccessTokenRequest, paymuxv1.CreateAccessTokenResponse]("/paymux.v1.KeyService/CreateAccessToken", http.MethodPost, "/v1/access-token", &paymuxv1.CreateAccessTokenRequest{})
}

func createIPRule(storeID, cidr, description string) rpc {
	return newRPC[paymuxv1.CreateIPRuleRequest, paymuxv1.CreateIPRuleResponse]("/paymux.v1.IPRuleService/CreateIPRule", http.MethodPost, "/v1/ip-rules",
		&paymuxv1.CreateIPRuleRequest{StoreId: storeID, Cidr: cidr, Description: description})
}

func listIPRules(storeID string) rpc {
	return newRPC[paymuxv1.ListIPRulesRequest, paymuxv1.ListIPRulesResponse]("/paymux.v1.IPRuleService/ListIPRules", http.MethodGet, "/v1/ip-rules"+query("storeId", storeID), &paymuxv1.ListIPRulesRequest{StoreId: storeID})
}

func deleteIPRule(id string) rpc {
	return newRPC[paymuxv1.DeleteIPRuleRequest, paymuxv1.DeleteIPRuleResponse]("/paymux.v1.IPRuleService/DeleteIPRule", http.MethodDelete, "/v1/ip-rules/"+url.PathEscape(id), &paymuxv1.DeleteIPRuleRequest{Id: id})
}

func testIPRules(req *paymuxv1.TestIPRulesRequest) rpc {
	return newRPC[paymuxv1.TestIPRulesRequest, paymuxv1.TestIPRulesResponse]("/paymux.v1.IPRuleService/TestIPRules", http.MethodPost, "/v1/ip-rules/test", req)
}

func itoa(n int32) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(int(n))
}

func createChannel(req *paymuxv1.CreateChannelRequest) rpc {
	return newRPC[paymuxv1.CreateChannelRequest, paymuxv1.CreateChannelResponse]("/paymux.v1.ChannelService/CreateChannel", http.MethodPost, "/v1/channels", req)
}

func listChannels(req *paymuxv1.ListChannelsRequest) rpc {
	mode, purpose := "", ""
	if req.GetMode() != 0 {
		mode = req.GetMode().String()
	}
	if req.GetPurpose() != 0 {
		purpose = req.GetPurpose().String()
	}
	return newRPC[paymuxv1.ListChannelsRequest, paymuxv1.ListChannelsResponse]("/paymux.v1.ChannelService/ListChannels", http.MethodGet,
		"/v1/channels"+query("storeId", req.GetStoreId(), "mode", mode, "purpose", purpose), req)
}

func getChannel(id string) rpc {
	return newRPC[paymuxv1.GetChannelRequest, paymuxv1.GetChannelResponse]("/paymux.v1.ChannelService/GetChannel", http.MethodGet, "/v1/channels/"+url.PathEscape(id), &paymuxv1.GetChannelRequest{Id: id})
}

func updateChannel(req *paymuxv1.UpdateChannelRequest) rpc {
	return newRPC[paymuxv1.UpdateChannelRequest, paymuxv1.UpdateChannelResponse]("/paymux.v1.ChannelService/UpdateChannel", http.MethodPatch, "/v1/channels/"+url.PathEscape(req.GetId()), req)
}

func deleteChannel(id string) rpc {
	return newRPC[paymuxv1.DeleteChannelRequest, paymuxv1.DeleteChannelResponse]("/paymux.v1.ChannelService/DeleteChannel", http.MethodDelete, "/v1/channels/"+url.PathEscape(id), &paymuxv1.DeleteChannelRequest{Id: id})
}

func preRegister(req *paymuxv1.PreRegisterPaymentRequest) rpc {
	return newRPC[paymuxv1.PreRegisterPaymentRequest, paymuxv1.PreRegisterPaymentResponse]("/paymux.v1.PaymentService/PreRegisterPayment", http.MethodPost, "/v1/payments/pre-register", req)
}

func createPayment(req *paymuxv1.CreatePaymentRequest) rpc {
	return newRPC[paymuxv1.CreatePaymentRequest, paymuxv1.CreatePaymentResponse]("/paymux.v1.PaymentService/CreatePayment", http.MethodPost, "/v1/payments", req)
}

func confirmPayment(req *paymuxv1.ConfirmPaymentRequest) rpc {
	return newRPC[paymuxv1.ConfirmPaymentRequest, paymuxv1.ConfirmPaymentResponse]("/paymux.v1.PaymentService/ConfirmPayment", http.MethodPost, "/v1/payments/"+url.PathEscape(req.GetId())+"/confirm", req)
}

func instantPayment(req *paymuxv1.CreateInstantPaymentRequest) rpc {
	return newRPC[paymuxv1.CreateInstantPaymentRequest, paymuxv1.CreateInstantPaymentResponse]("/paymux.v1.PaymentService/CreateInstantPayment", http.MethodPost, "/v1/payments/instant", req)
}

func getPayment(id string) rpc {
	return newRPC[paymuxv1.GetPaymentRequest, paymuxv1.GetPaymentResponse]("/paymux.v1.PaymentService/GetPayment", http.MethodGet, "/v1/payments/"+url.PathEscape(id), &paymuxv1.GetPaymentRequest{Id: id})
}

func getPaymentByMerchantID(storeID, merchantID string) rpc {
	return newRPC[paymuxv1.GetPaymentRequest, paymuxv1.GetPaymentResponse]("/paymux.v1.PaymentService/GetPayment", http.MethodGet,
		"/v1/payments/by-merchant-id/"+url.PathEscape(merchantID)+query("storeId", storeID), &paymuxv1.GetPaymentRequest{MerchantPaymentId: merchantID, StoreId: storeID})
}

func listPayments(req *paymuxv1.ListPaymentsRequest) rpc {
	v := url.Values{}
	for _, s := range req.GetStatuses() {
		v.Add("statuses", s.String())
	}
	for _, m := range req.GetMethods() {
		v.Add("methods", m.String())
	}
	for k, val := range map[string]string{"storeId": req.GetStoreId(), "channelId": req.GetChannelId(), "query": req.GetQuery(), "pageToken": req.GetPageToken()} {
		if val != "" {
			v.Set(k, val)
		}
	}
	if req.GetPageSize() != 0 {
		v.Set("pageSize", itoa(req.GetPageSize()))
	}
	if t := req.GetStartTime(); t != nil {
		v.Set("startTime", t.AsTime().Format(time.RFC3339Nano))
	}
	if t := req.GetEndTime(); t != nil {
		v.Set("endTime", t.AsTime().Format(time.RFC3339Nano))
	}
	path := "/v1/payments"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	return newRPC[paymuxv1.ListPaymentsRequest, paymuxv1.ListPaymentsResponse]("/paymux.v1.PaymentService/ListPayments", http.MethodGet, path, req)
}

func cancelPayment(req *paymuxv1.CancelPaymentRequest) rpc {
	return newRPC[paymuxv1.CancelPaymentRequest, paymuxv1.CancelPaymentResponse]("/paymux.v1.PaymentService/CancelPayment", http.MethodPost, "/v1/payments/"+url.PathEscape(req.GetId())+"/cancel", req)
}

func closeVirtualAccount(id string) rpc {
	return newRPC[paymuxv1.CloseVirtualAccountRequest, paymuxv1.CloseVirtualAccountResponse]("/paymux.v1.PaymentService/CloseVirtualAccount", http.MethodPost, "/v1/payments/"+url.PathEscape(id)+"/close-virtual-account", &paymuxv1.CloseVirtualAccountRequest{Id: id, Reason: "order changed"})
}

func issueCashReceipt(paymentID string, in *paymuxv1.CashReceiptInput) rpc {
	return newRPC[paymuxv1.IssueCashReceiptRequest, paymuxv1.IssueCashReceiptResponse]("/paymux.v1.PaymentService/IssueCashReceipt", http.MethodPost, "/v1/payments/"+url.PathEscape(paymentID)+"/cash-receipt", &paymuxv1.IssueCashReceiptRequest{PaymentId: paymentID, Receipt: in})
}

func getCashReceipt(paymentID string) rpc {
	return newRPC[paymuxv1.GetCashReceiptRequest, paymuxv1.GetCashReceiptResponse]("/paymux.v1.PaymentService/GetCashReceipt", http.MethodGet, "/v1/payments/"+url.PathEscape(paymentID)+"/cash-receipt", &paymuxv1.GetCashReceiptRequest{PaymentId: paymentID})
}

func cancelCashReceipt(paymentID string) rpc {
	return newRPC[paymuxv1.CancelCashReceiptRequest, paymuxv1.CancelCashReceiptResponse]("/paymux.v1.PaymentService/CancelCashReceipt", http.MethodPost, "/v1/payments/"+url.PathEscape(paymentID)+"/cash-receipt/cancel", &paymuxv1.CancelCashReceiptRequest{PaymentId: paymentID, Reason: "refund"})
}

func simulateDeposit(paymentID string, amount *int64, depositor string) rpc {
	return newRPC[paymuxv1.SimulateDepositRequest, paymuxv1.SimulateDepositResponse]("/paymux.v1.SandboxService/SimulateDeposit", http.MethodPost, "/v1/sandbox/payments/"+url.PathEscape(paymentID)+"/deposit", &paymuxv1.SimulateDepositRequest{PaymentId: paymentID, Amount: amount, DepositorName: depositor})
}

func createWebhookEndpoint(req *paymuxv1.CreateWebhookEndpointRequest) rpc {
	return newRPC[paymuxv1.CreateWebhookEndpointRequest, paymuxv1.CreateWebhookEndpointResponse]("/paymux.v1.WebhookService/CreateWebhookEndpoint", http.MethodPost, "/v1/webhook-endpoints", req)
}

func listWebhookEndpoints(storeID string) rpc {
	return newRPC[paymuxv1.ListWebhookEndpointsRequest, paymuxv1.ListWebhookEndpointsResponse]("/paymux.v1.WebhookService/ListWebhookEndpoints", http.MethodGet, "/v1/webhook-endpoints"+query("storeId", storeID), &paymuxv1.ListWebhookEndpointsRequest{StoreId: storeID})
}

func getWebhookEndpoint(id string) rpc {
	return newRPC[paymuxv1.GetWebhookEndpointRequest, paymuxv1.GetWebhookEndpointResponse]("/paymux.v1.WebhookService/GetWebhookEndpoint", http.MethodGet, "/v1/webhook-endpoints/"+url.PathEscape(id), &paymuxv1.GetWebhookEndpointRequest{Id: id})
}

func updateWebhookEndpoint(req *paymuxv1.UpdateWebhookEndpointRequest) rpc {
	return newRPC[paymuxv1.UpdateWebhookEndpointRequest, paymuxv1.UpdateWebhookEndpointResponse]("/paymux.v1.WebhookService/UpdateWebhookEndpoint", http.MethodPatch, "/v1/webhook-endpoints/"+url.PathEscape(req.GetId()), req)
}

func deleteWebhookEndpoint(id string) rpc {
	return newRPC[paymuxv1.DeleteWebhookEndpointRequest, paymuxv1.DeleteWebhookEndpointResponse]("/paymux.v1.WebhookService/DeleteWebhookEndpoint", http.MethodDelete, "/v1/webhook-endpoints/"+url.PathEscape(id), &paymuxv1.DeleteWebhookEndpointRequest{Id: id})
}

func rotateWebhookSecret(req *paymuxv1.RotateWebhookSecretRequest) rpc {
	return newRPC[paymuxv1.RotateWebhookSecretRequest, paymuxv1.RotateWebhookSecretResponse]("/paymux.v1.WebhookService/RotateWebhookSecret", http.MethodPost, "/v1/webhook-endpoints/"+url.PathEscape(req.GetId())+"/rotate-secret", req)
}

func testWebhookEndpoint(id, eventType string) rpc {
	return newRPC[paymuxv1.TestWebhookEndpointRequest, paymuxv1.TestWebhookEndpointResponse]("/paymux.v1.WebhookService/TestWebhookEndpoint", http.MethodPost, "/v1/webhook-endpoints/"+url.PathEscape(id)+"/test", &paymuxv1.TestWebhookEndpointRequest{Id: id, EventType: eventType})
}

func listWebhookDeliveries(req *paymuxv1.ListWebhookDeliveriesRequest) rpc {
	v := url.Values{}
	for _, s := range req.GetStatuses() {
		v.Add("statuses", s.String())
	}
	for k, val := range map[string]string{"storeId": req.GetStoreId(), "endpointId": req.GetEndpointId(), "eventType": req.GetEventType(),
		"merchantPaymentId": req.GetMerchantPaymentId(), "pageToken": req.GetPageToken()} {
		if val != "" {
			v.Set(k, val)
		}
	}
	if req.GetPageSize() != 0 {
		v.Set("pageSize", itoa(req.GetPageSize()))
	}
	if t := req.GetStartTime(); t != nil {
		v.Set("startTime", t.AsTime().Format(time.RFC3339Nano))
	}
	if t := req.GetEndTime(); t != nil {
		v.Set("endTime", t.AsTime().Format(time.RFC3339Nano))
	}
	path := "/v1/webhook-deliveries"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	return newRPC[paymuxv1.ListWebhookDeliveriesRequest, paymuxv1.ListWebhookDeliveriesResponse]("/paymux.v1.WebhookService/ListWebhookDeliveries", http.MethodGet, path, req)
}

func getWebhookDelivery(id string) rpc {
	return newRPC[paymuxv1.GetWebhookDeliveryRequest, paymuxv1.GetWebhookDeliveryResponse]("/paymux.v1.WebhookService/GetWebhookDelivery", http.MethodGet, "/v1/webhook-deliveries/"+url.PathEscape(id), &paymuxv1.GetWebhookDeliveryRequest{Id: id})
}

func resendWebhooks(req *paymuxv1.ResendWebhooksRequest) rpc {
	return newRPC[paymuxv1.ResendWebhooksRequest, paymuxv1.ResendWebhooksResponse]("/paymux.v1.WebhookService/ResendWebhooks", http.MethodPost, "/v1/webhook-deliveries/resend", req)
}
