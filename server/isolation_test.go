package server_test

import (
	"net/http"
	"slices"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/paymux/paymux/ent"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
)

// isoStoreB is a second store set up by the administrator: two keys and an
// IP rule that shuts out loopback.
type isoStoreB struct {
	store       *paymuxv1.Store
	keys        []*paymuxv1.CreateKeyResponse
	rule        *paymuxv1.IPRule
	keysBefore  []*paymuxv1.Key
	rulesBefore *paymuxv1.ListIPRulesResponse
}

func isoSetUpB(t *testing.T, ts *testServer) *isoStoreB {
	t.Helper()
	admin := headers("Authorization", ts.adminAuth())
	b := &isoStoreB{store: newStore(t, ts, "Store B", "b@example.com")}
	for _, mode := range []paymuxv1.Mode{paymuxv1.Mode_MODE_TEST, paymuxv1.Mode_MODE_LIVE} {
		k := mustOK[*paymuxv1.CreateKeyResponse](t, callConnect(t, ts,
			createKey(keyRequest(b.store.GetId(), "B "+mode.String(), mode, paymuxv1.AuthMethod_AUTH_METHOD_BASIC)), admin))
		b.keys = append(b.keys, k)
	}
	b.rule = mustOK[*paymuxv1.CreateIPRuleResponse](t, callConnect(t, ts, createIPRule(b.store.GetId(), "10.0.0.0/8", "B office"), admin)).GetRule()
	for _, k := range b.keys {
		b.keysBefore = append(b.keysBefore, readKey(t, ts, k.GetKey().GetId()))
	}
	b.store = readStore(t, ts, b.store.GetId()) // after its key count moved
	b.rulesBefore = mustOK[*paymuxv1.ListIPRulesResponse](t, callConnect(t, ts, listIPRules(b.store.GetId()), admin))
	if len(b.rulesBefore.GetRules()) != 1 {
		t.Fatalf("store B rules: %v", b.rulesBefore)
	}
	return b
}

// TestStoreIsolation: store A's keys (Basic and Bearer) cannot see, change
// or use anything of store B, on any surface, and B is unchanged after the
// attempts. A's LIVE keys may change A's IP rules, so their attempts on B's
// are the isolation test; A's TEST key is refused rule changes outright.
func TestStoreIsolation(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		admin := headers("Authorization", ts.adminAuth())
		aSecond := newKey(t, ts, "A second", paymuxv1.AuthMethod_AUTH_METHOD_BASIC, paymuxv1.Mode_MODE_LIVE, nil)
		aBearer := newKey(t, ts, "A bearer", paymuxv1.AuthMethod_AUTH_METHOD_BEARER, paymuxv1.Mode_MODE_LIVE, nil)
		tok := mustOK[*paymuxv1.CreateAccessTokenResponse](t, callConnect(t, ts, createAccessToken(), headers("Authorization", keyAuth(aBearer)))).GetAccessToken()
		aKeys := sorted(ts.First.KeyID, aSecond.GetKey().GetId(), aBearer.GetKey().GetId())
		b := isoSetUpB(t, ts)
		bID, bKey, bLive := b.store.GetId(), b.keys[0].GetKey().GetId(), b.keys[1].GetKey().GetId()

		creds := []struct {
			name string
			h    http.Header
			test bool
		}{
			{"A test basic", headers("Authorization", ts.firstKeyAuth()), true},
			{"A live basic", headers("Authorization", keyAuth(aSecond)), false},
			{"A live bearer", headers("Authorization", bearer(tok)), false},
		}
		cases := []struct {
			name   string
			r      rpc
			code   connect.Code
			reason string
		}{
			{"GetKey", getKey(bKey), connect.CodeNotFound, "KEY_NOT_FOUND"},
			{"GetKey live", getKey(bLive), connect.CodeNotFound, "KEY_NOT_FOUND"},
			{"ReissueKeySecret", reissueKey(bKey), connect.CodeNotFound, "KEY_NOT_FOUND"},
			{"ReissueKeySecret live", reissueKey(bLive), connect.CodeNotFound, "KEY_NOT_FOUND"},
			{"DeleteKey", deleteKey(bKey), connect.CodeNotFound, "KEY_NOT_FOUND"},
			{"DeleteKey live", deleteKey(bLive), connect.CodeNotFound, "KEY_NOT_FOUND"},
			{"ListKeys", listKeys(bID), connect.CodePermissionDenied, "STORE_MISMATCH"},
			{"CreateKey", createKey(keyRequest(bID, "intruder", paymuxv1.Mode_MODE_TEST, paymuxv1.AuthMethod_AUTH_METHOD_BASIC)),
				connect.CodePermissionDenied, "STORE_MISMATCH"},
			{"ListIPRules", listIPRules(bID), connect.CodePermissionDenied, "STORE_MISMATCH"},
			// The store is checked before the key mode: STORE_MISMATCH for
			// every A key.
			{"CreateIPRule", createIPRule(bID, "0.0.0.0/0", "intruder"), connect.CodePermissionDenied, "STORE_MISMATCH"},
			{"TestIPRules", testIPRules(&paymuxv1.TestIPRulesRequest{StoreId: bID}), connect.CodePermissionDenied, "STORE_MISMATCH"},
			{"TestIPRules candidate", testIPRules(&paymuxv1.TestIPRulesRequest{StoreId: bID, Ip: "10.1.2.3",
				CandidateRules: &paymuxv1.CandidateRules{Cidrs: []string{"10.0.0.0/8"}}}), connect.CodePermissionDenied, "STORE_MISMATCH"},
			{"DeleteIPRule", deleteIPRule(b.rule.GetId()), connect.CodeNotFound, "IP_RULE_NOT_FOUND"},
			{"GetStore", getStore(bID), connect.CodeNotFound, "STORE_NOT_FOUND"},
		}
		// What A's TEST key gets instead: it may not delete IP rules at all,
		// which is checked before the rule is looked up.
		testRefusals := map[string]string{"DeleteIPRule": "KEY_MODE_NOT_ALLOWED"}
		for _, cred := range creds {
			for _, c := range cases {
				code, reason := c.code, c.reason
				if r, ok := testRefusals[c.name]; ok && cred.test {
					code, reason = connect.CodePermissionDenied, r
				}
				for _, sf := range surfaces {
					t.Run(cred.name+"/"+c.name+"/"+sf.name, func(t *testing.T) {
						wantRefusal(t, sf.call(t, ts, c.r, cred.h), code, reason)
					})
				}
			}
		}

		// A's own view holds only A.
		for _, cred := range creds {
			for _, sf := range surfaces {
				list := mustOK[*paymuxv1.ListKeysResponse](t, sf.call(t, ts, listKeys(""), cred.h))
				var ids []string
				for _, k := range list.GetKeys() {
					if k.GetStoreId() != ts.First.StoreID {
						t.Fatalf("%s, %s: ListKeys shows a key of store %s", cred.name, sf.name, k.GetStoreId())
					}
					ids = append(ids, k.GetId())
				}
				if !slices.Equal(sorted(ids...), aKeys) {
					t.Fatalf("%s, %s: ListKeys %v, want A's keys %v", cred.name, sf.name, ids, aKeys)
				}
				rules := mustOK[*paymuxv1.ListIPRulesResponse](t, sf.call(t, ts, listIPRules(""), cred.h))
				if len(rules.GetRules()) != 0 {
					t.Fatalf("%s, %s: ListIPRules shows %v", cred.name, sf.name, rules)
				}
			}
		}

		// B is unchanged: same keys, same secrets, same rule.
		if got := keyIDs(t, ts, bID); !slices.Equal(got, sorted(bKey, bLive)) {
			t.Fatalf("store B keys %v, want %v", got, sorted(bKey, bLive))
		}
		for i, k := range b.keys {
			if got := readKey(t, ts, k.GetKey().GetId()); !proto.Equal(got, b.keysBefore[i]) {
				t.Fatalf("B's key changed: %v -> %v", b.keysBefore[i], got)
			}
		}
		if got := mustOK[*paymuxv1.ListIPRulesResponse](t, callConnect(t, ts, listIPRules(bID), admin)); !proto.Equal(got, b.rulesBefore) {
			t.Fatalf("B's rules changed: %v -> %v", b.rulesBefore, got)
		}
		if got := readStore(t, ts, bID); !proto.Equal(got, b.store) {
			t.Fatalf("store B changed: %v -> %v", b.store, got)
		}
		// B's keys still authenticate: from loopback their own rule refuses
		// them (a revoked or deleted secret would be Unauthenticated), and
		// once the administrator lifts it they work.
		for _, k := range b.keys {
			wantRefusal(t, callConnect(t, ts, listKeys(""), headers("Authorization", keyAuth(k))), connect.CodePermissionDenied, "IP_NOT_ALLOWED")
		}
		mustOK[*paymuxv1.DeleteIPRuleResponse](t, callConnect(t, ts, deleteIPRule(b.rule.GetId()), admin))
		for _, k := range b.keys {
			list := mustOK[*paymuxv1.ListKeysResponse](t, callConnect(t, ts, listKeys(""), headers("Authorization", keyAuth(k))))
			if len(list.GetKeys()) != 2 || list.GetKeys()[0].GetStoreId() != bID || list.GetKeys()[1].GetStoreId() != bID {
				t.Fatalf("B's key lists %v", list)
			}
		}
	})
}

// TestOtherStoresIPRules: store B's rule 10.0.0.0/8 binds B's keys only;
// A's (TEST) keys keep calling from 127.0.0.1 and A's IP TEST sees no rule.
// A's own rule, added with A's LIVE key, changes nothing for B.
func TestOtherStoresIPRules(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		aLive := headers("Authorization", liveKeyAuth(t, ts))
		aBearer := newKey(t, ts, "A bearer", paymuxv1.AuthMethod_AUTH_METHOD_BEARER, paymuxv1.Mode_MODE_TEST, nil)
		tok := mustOK[*paymuxv1.CreateAccessTokenResponse](t, callConnect(t, ts, createAccessToken(), headers("Authorization", keyAuth(aBearer)))).GetAccessToken()
		aCreds := []http.Header{headers("Authorization", ts.firstKeyAuth()), headers("Authorization", bearer(tok))}
		// A's rules are cached (none) before B's rule exists.
		for _, h := range aCreds {
			mustOK[*paymuxv1.ListKeysResponse](t, callConnect(t, ts, listKeys(""), h))
		}
		b := isoSetUpB(t, ts)

		for _, sf := range surfaces {
			for _, h := range aCreds {
				mustOK[*paymuxv1.ListKeysResponse](t, sf.call(t, ts, listKeys(""), h))
				got := mustOK[*paymuxv1.TestIPRulesResponse](t, sf.call(t, ts, testIPRules(&paymuxv1.TestIPRulesRequest{}), h))
				if !got.GetAllowed() || got.GetIp() != "127.0.0.1" || got.GetRuleCount() != 0 || got.GetMatchedRule() != nil {
					t.Fatalf("%s: A's IP TEST %v, want 127.0.0.1 allowed by no rules", sf.name, got)
				}
				got = mustOK[*paymuxv1.TestIPRulesResponse](t, sf.call(t, ts, testIPRules(&paymuxv1.TestIPRulesRequest{Ip: "192.0.2.1"}), h))
				if !got.GetAllowed() || got.GetRuleCount() != 0 {
					t.Fatalf("%s: A's IP TEST of 192.0.2.1 %v, want allowed by no rules", sf.name, got)
				}
			}
			// The rule is in force for B: B's key is refused from loopback.
			wantRefusal(t, sf.call(t, ts, listKeys(""), headers("Authorization", keyAuth(b.keys[0]))), connect.CodePermissionDenied, "IP_NOT_ALLOWED")
		}
		// An A rule that admits loopback changes nothing for B, either.
		mustOK[*paymuxv1.CreateIPRuleResponse](t, callConnect(t, ts, createIPRule("", "127.0.0.0/8", "A loopback"), aLive))
		for _, sf := range surfaces {
			mustOK[*paymuxv1.ListKeysResponse](t, sf.call(t, ts, listKeys(""), aCreds[1]))
			wantRefusal(t, sf.call(t, ts, listKeys(""), headers("Authorization", keyAuth(b.keys[1]))), connect.CodePermissionDenied, "IP_NOT_ALLOWED")
		}
	})
}
