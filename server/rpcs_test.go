package server_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

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
