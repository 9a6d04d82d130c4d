package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
)

// TestCreateIPRuleNormalises: a rule is stored masked and as a range, on
// every surface and database, and reads back the same.
func TestCreateIPRuleNormalises(t *testing.T) {
	cases := []struct{ in, want string }{
		{"10.1.2.3/8", "10.0.0.0/8"},
		{"192.0.2.7", "192.0.2.7/32"},
		{"2001:db8::1/32", "2001:db8::/32"},
		{"2001:db8::1", "2001:db8::1/128"},
		{" 172.16.5.4/12 ", "172.16.0.0/12"},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8"},
		{"0.0.0.0/0", "0.0.0.0/0"},
	}
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		admin := headers("Authorization", ts.adminAuth())
		for _, sf := range surfaces {
			for _, c := range cases {
				t.Run(sf.name+"/"+c.in, func(t *testing.T) {
					got := mustOK[*paymuxv1.CreateIPRuleResponse](t, sf.call(t, ts, createIPRule(ts.First.StoreID, c.in, "office "+sf.name), admin))
					rule := got.GetRule()
					if rule.GetCidr() != c.want || rule.GetStoreId() != ts.First.StoreID || rule.GetDescription() != "office "+sf.name ||
						!strings.HasPrefix(rule.GetId(), "ipr_") || rule.GetCreateTime() == nil {
						t.Fatalf("CreateIPRule(%q) = %v, want cidr %q in store %s", c.in, rule, c.want, ts.First.StoreID)
					}
					list := mustOK[*paymuxv1.ListIPRulesResponse](t, sf.call(t, ts, listIPRules(ts.First.StoreID), admin))
					if len(list.GetRules()) != 1 || list.GetRules()[0].GetId() != rule.GetId() || list.GetRules()[0].GetCidr() != c.want {
						t.Fatalf("ListIPRules after creating %q: %v", c.in, list)
					}
					mustOK[*paymuxv1.DeleteIPRuleResponse](t, sf.call(t, ts, deleteIPRule(rule.GetId()), admin))
				})
			}
		}
	})
}

// TestCreateIPRuleInvalidCIDR: a CIDR paymux cannot parse is
// InvalidArgument naming "cidr", whether protovalidate or the handler
// refuses it, and nothing is stored. The store key is a LIVE one: a TEST
// key may not create rules at all.
func TestCreateIPRuleInvalidCIDR(t *testing.T) {
	ts := startServer(t, openSQLite(t))
	bad := []string{"", "10.0.0.0/33", "abc", "fe80::1%eth0", "10.0.0.0/08", "10.0.0.0/8 x", "2001:db8::/129", "10.0.0.0/-1", "10.0.0.0/"}
	for _, auth := range []struct{ name, header string }{{"admin", ts.adminAuth()}, {"live key", liveKeyAuth(t, ts)}} {
		for _, sf := range surfaces {
			for _, cidr := range bad {
				t.Run(auth.name+"/"+sf.name+"/"+cidr, func(t *testing.T) {
					wantInvalid(t, sf.call(t, ts, createIPRule(ts.First.StoreID, cidr, ""), headers("Authorization", auth.header)), "cidr")
				})
			}
		}
	}
	if cidrs := ruleCIDRs(t, ts, ts.First.StoreID); len(cidrs) != 0 {
		t.Fatalf("invalid CIDRs left rules behind: %q", cidrs)
	}
}

// TestCreateIPRuleDuplicate: the same range twice, however it is spelt, is
// AlreadyExists; another store may hold the same range.
func TestCreateIPRuleDuplicate(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		admin := headers("Authorization", ts.adminAuth())
		first := mustOK[*paymuxv1.CreateIPRuleResponse](t, callConnect(t, ts, createIPRule(ts.First.StoreID, "10.0.0.0/8", "first"), admin))
		for _, sf := range surfaces {
			for _, spelling := range []string{"10.0.0.0/8", "10.200.1.1/8", " 10.0.0.0/8", "::ffff:10.0.0.0/104"} {
				t.Run(sf.name+"/"+spelling, func(t *testing.T) {
					wantRefusal(t, sf.call(t, ts, createIPRule(ts.First.StoreID, spelling, "again"), admin), connect.CodeAlreadyExists, apierr.ReasonIPRuleAlreadyExists)
				})
			}
		}
		list := mustOK[*paymuxv1.ListIPRulesResponse](t, callConnect(t, ts, listIPRules(ts.First.StoreID), admin))
		if len(list.GetRules()) != 1 || list.GetRules()[0].GetId() != first.GetRule().GetId() || list.GetRules()[0].GetDescription() != "first" {
			t.Fatalf("after duplicates, rules = %v", list.GetRules())
		}

		other := newStore(t, ts, "other", "")
		mustOK[*paymuxv1.CreateIPRuleResponse](t, callConnect(t, ts, createIPRule(other.GetId(), "10.0.0.0/8", ""), admin))
	})
}

// TestListIPRulesOldestFirst: rules come back in creation order, not in
// address or id order, and page in that order.
func TestListIPRulesOldestFirst(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		admin := headers("Authorization", ts.adminAuth())
		cidrs := []string{"192.0.2.0/24", "10.0.0.0/8", "2001:db8::/32", "172.16.0.0/12", "127.0.0.0/8"}
		var ids []string
		for _, c := range cidrs {
			r := mustOK[*paymuxv1.CreateIPRuleResponse](t, callConnect(t, ts, createIPRule(ts.First.StoreID, c, ""), admin))
			ids = append(ids, r.GetRule().GetId())
		}
		for _, sf := range surfaces {
			// The store key works: 127.0.0.0/8 is among the rules.
			for _, h := range []http.Header{admin, headers("Authorization", ts.firstKeyAuth())} {
				list := mustOK[*paymuxv1.ListIPRulesResponse](t, sf.call(t, ts, listIPRules(ts.First.StoreID), h))
				var gotIDs, gotCIDRs []string
				for _, r := range list.GetRules() {
					gotIDs = append(gotIDs, r.GetId())
					gotCIDRs = append(gotCIDRs, r.GetCidr())
				}
				if !slices.Equal(gotIDs, ids) || !slices.Equal(gotCIDRs, cidrs) || list.GetNextPageToken() != "" {
					t.Fatalf("%s: ListIPRules = %q %q, want %q %q", sf.name, gotCIDRs, gotIDs, cidrs, ids)
				}
			}
		}

		// Pages of 2 walk the same order.
		var paged []string
		token := ""
		for range 4 {
			r := newRPC[paymuxv1.ListIPRulesRequest, paymuxv1.ListIPRulesResponse]("/paymux.v1.IPRuleService/ListIPRules", http.MethodGet, "",
				&paymuxv1.ListIPRulesRequest{StoreId: ts.First.StoreID, PageSize: 2, PageToken: token})
			page := mustOK[*paymuxv1.ListIPRulesResponse](t, callConnect(t, ts, r, admin))
			if len(page.GetRules()) > 2 {
				t.Fatalf("page of %d rules, want at most 2", len(page.GetRules()))
			}
			for _, rule := range page.GetRules() {
				paged = append(paged, rule.GetId())
			}
			if token = page.GetNextPageToken(); token == "" {
				break
			}
		}
		if !slices.Equal(paged, ids) {
			t.Fatalf("paged ids %q, want %q", paged, ids)
		}
	})
}

// TestDeleteIPRule: an unknown id, an already deleted rule and another
// store's rule are all IP_RULE_NOT_FOUND; the rule really goes. The store
// key is a LIVE one: a TEST key may not delete rules at all.
func TestDeleteIPRule(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		admin := headers("Authorization", ts.adminAuth())
		key := headers("Authorization", liveKeyAuth(t, ts))

		other := newStore(t, ts, "other", "")
		otherRule := mustOK[*paymuxv1.CreateIPRuleResponse](t, callConnect(t, ts, createIPRule(other.GetId(), "10.0.0.0/8", ""), admin))
		gone := mustOK[*paymuxv1.CreateIPRuleResponse](t, callConnect(t, ts, createIPRule("", "192.0.2.0/24", ""), key))
		// Deleted by the administrator: the rule shuts the key out.
		mustOK[*paymuxv1.DeleteIPRuleResponse](t, callConnect(t, ts, deleteIPRule(gone.GetRule().GetId()), admin))

		for _, sf := range surfaces {
			for _, c := range []struct {
				name, id string
				h        http.Header
			}{
				{"unknown/admin", "ipr_doesnotexist0000000", admin},
				{"unknown/key", "ipr_doesnotexist0000000", key},
				{"deleted", gone.GetRule().GetId(), key},
				{"other store", otherRule.GetRule().GetId(), key},
			} {
				t.Run(sf.name+"/"+c.name, func(t *testing.T) {
					wantRefusal(t, sf.call(t, ts, deleteIPRule(c.id), c.h), connect.CodeNotFound, apierr.ReasonIPRuleNotFound)
				})
			}
		}
		if cidrs := ruleCIDRs(t, ts, ts.First.StoreID); len(cidrs) != 0 {
			t.Fatalf("first store's rules after delete: %q", cidrs)
		}
		if cidrs := ruleCIDRs(t, ts, other.GetId()); len(cidrs) != 1 {
			t.Fatalf("a store key's delete reached another store's rule: %q", cidrs)
		}
	})
}

// TestCreateIPRuleCallerAllowed: CreateIPRule says whether the caller's own
// address still passes the store's rules, the new one included. The store
// key is a LIVE one: a TEST key may not create rules.
func TestCreateIPRuleCallerAllowed(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		key := headers("Authorization", liveKeyAuth(t, ts))
		for _, sf := range surfaces {
			t.Run(sf.name, func(t *testing.T) {
				setRules(t, ts)
				got := mustOK[*paymuxv1.CreateIPRuleResponse](t, sf.call(t, ts, createIPRule("", "127.0.0.0/8", "loopback"), key))
				if !got.GetCallerAllowed() || got.GetCallerIp() != "127.0.0.1" {
					t.Fatalf("adding 127.0.0.0/8 from 127.0.0.1: caller_ip %q allowed %v", got.GetCallerIp(), got.GetCallerAllowed())
				}
				// Another range next to an allowing one still lets the caller in.
				got = mustOK[*paymuxv1.CreateIPRuleResponse](t, sf.call(t, ts, createIPRule("", "10.0.0.0/8", ""), key))
				if !got.GetCallerAllowed() {
					t.Fatalf("adding 10.0.0.0/8 next to 127.0.0.0/8 reported the caller shut out: %v", got)
				}

				setRules(t, ts)
				got = mustOK[*paymuxv1.CreateIPRuleResponse](t, sf.call(t, ts, createIPRule("", "10.0.0.0/8", "office"), key))
				if got.GetCallerAllowed() || got.GetCallerIp() != "127.0.0.1" || got.GetRule().GetCidr() != "10.0.0.0/8" {
					t.Fatalf("adding only 10.0.0.0/8 from 127.0.0.1: %v", got)
				}
				// And the answer was right: the key is shut out now.
				wantError(t, sf.call(t, ts, listIPRules(""), key), connect.CodePermissionDenied, apierr.ReasonIPNotAllowed)

				// The administrator gets the same prediction for its own address.
				setRules(t, ts)
				got = mustOK[*paymuxv1.CreateIPRuleResponse](t, sf.call(t, ts, createIPRule(ts.First.StoreID, "10.0.0.0/8", ""), headers("Authorization", ts.adminAuth())))
				if got.GetCallerAllowed() || got.GetCallerIp() != "127.0.0.1" {
					t.Fatalf("admin adding only 10.0.0.0/8: %v", got)
				}
			})
		}
	})
}

// TestIPRules (IP TEST): which rule an address matches, for the saved rules
// or a candidate set, and the caller's own address by default.
func TestIPRules(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		key := headers("Authorization", ts.firstKeyAuth())
		admin := headers("Authorization", ts.adminAuth())

		// No rules: everything passes.
		for _, sf := range surfaces {
			got := mustOK[*paymuxv1.TestIPRulesResponse](t, sf.call(t, ts, testIPRules(&paymuxv1.TestIPRulesRequest{}), key))
			if !got.GetAllowed() || got.GetRuleCount() != 0 || got.GetIp() != "127.0.0.1" || got.GetMatchedRule() != nil {
				t.Fatalf("%s: IP TEST with no rules: %v", sf.name, got)
			}
		}

		setRules(t, ts, "10.0.0.0/8", "127.0.0.1/32")
		saved := mustOK[*paymuxv1.ListIPRulesResponse](t, callConnect(t, ts, listIPRules(ts.First.StoreID), admin)).GetRules()
		if len(saved) != 2 {
			t.Fatalf("saved rules: %v", saved)
		}
		ten, loop := saved[0], saved[1]

		type want struct {
			ip      string
			allowed bool
			count   int32
			matched *paymuxv1.IPRule // nil: no match
		}
		cand := func(cidrs ...string) *paymuxv1.CandidateRules { return &paymuxv1.CandidateRules{Cidrs: cidrs} }
		candRule := func(cidr string) *paymuxv1.IPRule { return &paymuxv1.IPRule{Cidr: cidr} }
		cases := []struct {
			name string
			req  *paymuxv1.TestIPRulesRequest
			want want
		}{
			{"caller", &paymuxv1.TestIPRulesRequest{}, want{"127.0.0.1", true, 2, loop}},
			{"ten", &paymuxv1.TestIPRulesRequest{Ip: "10.2.3.4"}, want{"10.2.3.4", true, 2, ten}},
			{"outside", &paymuxv1.TestIPRulesRequest{Ip: "192.0.2.1"}, want{"192.0.2.1", false, 2, nil}},
			{"mapped ipv4", &paymuxv1.TestIPRulesRequest{Ip: "::ffff:10.9.8.7"}, want{"10.9.8.7", true, 2, ten}},
			{"ipv6 outside", &paymuxv1.TestIPRulesRequest{Ip: "2001:db8::1"}, want{"2001:db8::1", false, 2, nil}},
			{"loopback neighbour", &paymuxv1.TestIPRulesRequest{Ip: "127.0.0.2"}, want{"127.0.0.2", false, 2, nil}},
			{"admin names the store", &paymuxv1.TestIPRulesRequest{StoreId: ts.First.StoreID, Ip: "10.0.0.1"}, want{"10.0.0.1", true, 2, ten}},
			// A candidate set replaces the saved rules.
			{"candidate denies caller", &paymuxv1.TestIPRulesRequest{CandidateRules: cand("192.0.2.0/24")}, want{"127.0.0.1", false, 1, nil}},
			{"candidate ipv6", &paymuxv1.TestIPRulesRequest{Ip: "2001:db8:0:1::5", CandidateRules: cand("192.0.2.0/24", "2001:db8::1/32")},
				want{"2001:db8:0:1::5", true, 2, candRule("2001:db8::/32")}},
			{"candidate first match", &paymuxv1.TestIPRulesRequest{Ip: "10.1.1.1", CandidateRules: cand("10.1.0.0/16", "10.0.0.0/8")},
				want{"10.1.1.1", true, 2, candRule("10.1.0.0/16")}},
			{"candidate normalised", &paymuxv1.TestIPRulesRequest{Ip: "10.1.1.1", CandidateRules: cand(" 10.9.9.9/8 ")},
				want{"10.1.1.1", true, 1, candRule("10.0.0.0/8")}},
			{"candidate ignores saved", &paymuxv1.TestIPRulesRequest{Ip: "10.2.3.4", CandidateRules: cand("192.0.2.0/24")}, want{"10.2.3.4", false, 1, nil}},
			// A zone is meaningless in a rule but harmless in an address: it
			// is dropped for matching.
			{"ipv6 zone", &paymuxv1.TestIPRulesRequest{Ip: "fe80::1%eth0", CandidateRules: cand("fe80::/10")},
				want{"fe80::1%eth0", true, 1, candRule("fe80::/10")}},
			{"empty candidate set", &paymuxv1.TestIPRulesRequest{Ip: "192.0.2.1", CandidateRules: cand()}, want{"192.0.2.1", true, 0, nil}},
		}
		for _, sf := range surfaces {
			for _, c := range cases {
				t.Run(sf.name+"/"+c.name, func(t *testing.T) {
					h := key
					if c.req.GetStoreId() != "" {
						h = admin
					}
					got := mustOK[*paymuxv1.TestIPRulesResponse](t, sf.call(t, ts, testIPRules(c.req), h))
					if got.GetIp() != c.want.ip || got.GetAllowed() != c.want.allowed || got.GetRuleCount() != c.want.count {
						t.Fatalf("got ip %q allowed %v rule_count %d, want %q %v %d", got.GetIp(), got.GetAllowed(), got.GetRuleCount(),
							c.want.ip, c.want.allowed, c.want.count)
					}
					m := got.GetMatchedRule()
					switch {
					case c.want.matched == nil:
						if m != nil {
							t.Fatalf("matched_rule %v, want none", m)
						}
					case c.want.matched.GetId() != "": // a saved rule: id, store and cidr
						if m.GetId() != c.want.matched.GetId() || m.GetCidr() != c.want.matched.GetCidr() || m.GetStoreId() != ts.First.StoreID {
							t.Fatalf("matched_rule %v, want saved %v", m, c.want.matched)
						}
					default: // a candidate: only the cidr
						if m.GetCidr() != c.want.matched.GetCidr() || m.GetId() != "" || m.GetStoreId() != "" {
							t.Fatalf("matched_rule %v, want candidate %s only", m, c.want.matched.GetCidr())
						}
					}
				})
			}
		}

		bad := []struct {
			name  string
			req   *paymuxv1.TestIPRulesRequest
			field string
		}{
			{"ip word", &paymuxv1.TestIPRulesRequest{Ip: "not-an-ip"}, "ip"},
			{"ip cidr", &paymuxv1.TestIPRulesRequest{Ip: "10.0.0.0/8"}, "ip"},
			{"candidate 0", &paymuxv1.TestIPRulesRequest{CandidateRules: cand("10.0.0.0/33")}, "candidate_rules.cidrs[0]"},
			{"candidate 2", &paymuxv1.TestIPRulesRequest{CandidateRules: cand("10.0.0.0/8", "192.0.2.0/24", "abc")}, "candidate_rules.cidrs[2]"},
			{"candidate empty", &paymuxv1.TestIPRulesRequest{CandidateRules: cand("10.0.0.0/8", "")}, "candidate_rules.cidrs[1]"},
		}
		for _, sf := range surfaces {
			for _, c := range bad {
				t.Run(sf.name+"/invalid/"+c.name, func(t *testing.T) {
					wantInvalid(t, sf.call(t, ts, testIPRules(c.req), key), c.field)
				})
			}
		}
	})
}

// TestAdminNotBoundByIPRules: a store's rules bind its keys, never the
// platform administrator acting on the store.
func TestAdminNotBoundByIPRules(t *testing.T) {
	ts := startServer(t, openSQLite(t))
	setRules(t, ts, "10.0.0.0/8")
	admin := headers("Authorization", ts.adminAuth())
	key := headers("Authorization", ts.firstKeyAuth())
	for _, sf := range surfaces {
		t.Run(sf.name, func(t *testing.T) {
			wantError(t, sf.call(t, ts, listKeys(""), key), connect.CodePermissionDenied, apierr.ReasonIPNotAllowed)

			keys := mustOK[*paymuxv1.ListKeysResponse](t, sf.call(t, ts, listKeys(ts.First.StoreID), admin))
			if len(keys.GetKeys()) != 1 || keys.GetKeys()[0].GetClientKey() != ts.First.ClientKey {
				t.Fatalf("admin ListKeys: %v", keys)
			}
			rules := mustOK[*paymuxv1.ListIPRulesResponse](t, sf.call(t, ts, listIPRules(ts.First.StoreID), admin))
			if len(rules.GetRules()) != 1 || rules.GetRules()[0].GetCidr() != "10.0.0.0/8" {
				t.Fatalf("admin ListIPRules: %v", rules)
			}
			mustOK[*paymuxv1.GetStoreResponse](t, sf.call(t, ts, getStore(ts.First.StoreID), admin))
			pred := mustOK[*paymuxv1.TestIPRulesResponse](t, sf.call(t, ts, testIPRules(&paymuxv1.TestIPRulesRequest{StoreId: ts.First.StoreID}), admin))
			if pred.GetAllowed() || pred.GetIp() != "127.0.0.1" {
				t.Fatalf("admin IP TEST of its own address: %v", pred)
			}
		})
	}
}

// TestIPRuleChangesNeedLiveKey: the rules guard a store's LIVE keys too, so
// a TEST key (Basic or Bearer) may not create or delete them -
// PermissionDenied/KEY_MODE_NOT_ALLOWED, and nothing changes - though it may
// still list them and run IP TEST. A LIVE key of the store (Basic or Bearer)
// and the administrator may change them. On every surface and database.
func TestIPRuleChangesNeedLiveKey(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		admin := headers("Authorization", ts.adminAuth())
		bearerToken := func(mode paymuxv1.Mode) http.Header {
			k := newKey(t, ts, "bearer "+mode.String(), paymuxv1.AuthMethod_AUTH_METHOD_BEARER, mode, nil)
			tok := mustOK[*paymuxv1.CreateAccessTokenResponse](t, callConnect(t, ts, createAccessToken(), headers("Authorization", keyAuth(k))))
			return headers("Authorization", bearer(tok.GetAccessToken()))
		}
		testCreds := []struct {
			name string
			h    http.Header
		}{
			{"test basic", headers("Authorization", ts.firstKeyAuth())},
			{"test bearer", bearerToken(paymuxv1.Mode_MODE_TEST)},
		}
		changers := []struct {
			name    string
			h       http.Header
			storeID string // the admin names the store; a key may leave it out
		}{
			{"live basic", headers("Authorization", liveKeyAuth(t, ts)), ""},
			{"live bearer", bearerToken(paymuxv1.Mode_MODE_LIVE), ""},
			{"live basic naming its store", headers("Authorization", liveKeyAuth(t, ts)), ts.First.StoreID},
			{"admin", admin, ts.First.StoreID},
		}

		for _, sf := range surfaces {
			t.Run(sf.name, func(t *testing.T) {
				// One saved rule that admits the keys from loopback.
				setRules(t, ts, "127.0.0.0/8")
				saved := mustOK[*paymuxv1.ListIPRulesResponse](t, callConnect(t, ts, listIPRules(ts.First.StoreID), admin))
				if len(saved.GetRules()) != 1 {
					t.Fatalf("saved rules: %v", saved)
				}
				rule := saved.GetRules()[0]

				for _, c := range testCreds {
					for _, r := range []struct {
						name string
						r    rpc
					}{
						{"create", createIPRule("", "10.0.0.0/8", "from a test key")},
						{"create naming its store", createIPRule(ts.First.StoreID, "10.0.0.0/8", "from a test key")},
						{"create admitting everyone", createIPRule("", "0.0.0.0/0", "from a test key")},
						{"delete", deleteIPRule(rule.GetId())},
						{"delete unknown", deleteIPRule("ipr_doesnotexist0000000")},
					} {
						got := sf.call(t, ts, r.r, c.h)
						if got.code != connect.CodePermissionDenied || got.reason != apierr.ReasonKeyModeNotAllowed {
							t.Fatalf("%s %s: got %v, want PermissionDenied/%s", c.name, r.name, got, apierr.ReasonKeyModeNotAllowed)
						}
						wantRefusal(t, got, connect.CodePermissionDenied, apierr.ReasonKeyModeNotAllowed)
					}
					// Nothing changed, as the administrator sees it.
					if after := mustOK[*paymuxv1.ListIPRulesResponse](t, callConnect(t, ts, listIPRules(ts.First.StoreID), admin)); !proto.Equal(after, saved) {
						t.Fatalf("%s: rules changed after refused calls: %v -> %v", c.name, saved, after)
					}

					// Reading and IP TEST still work.
					list := mustOK[*paymuxv1.ListIPRulesResponse](t, sf.call(t, ts, listIPRules(""), c.h))
					if len(list.GetRules()) != 1 || list.GetRules()[0].GetId() != rule.GetId() || list.GetRules()[0].GetCidr() != "127.0.0.0/8" {
						t.Fatalf("%s: ListIPRules = %v, want %v", c.name, list, rule)
					}
					pred := mustOK[*paymuxv1.TestIPRulesResponse](t, sf.call(t, ts, testIPRules(&paymuxv1.TestIPRulesRequest{}), c.h))
					if !pred.GetAllowed() || pred.GetIp() != "127.0.0.1" || pred.GetRuleCount() != 1 || pred.GetMatchedRule().GetId() != rule.GetId() {
						t.Fatalf("%s: IP TEST = %v, want 127.0.0.1 allowed by %v", c.name, pred, rule)
					}
					pred = mustOK[*paymuxv1.TestIPRulesResponse](t, sf.call(t, ts, testIPRules(&paymuxv1.TestIPRulesRequest{
						Ip: "10.1.2.3", CandidateRules: &paymuxv1.CandidateRules{Cidrs: []string{"10.0.0.0/8"}},
					}), c.h))
					if !pred.GetAllowed() || pred.GetRuleCount() != 1 || pred.GetMatchedRule().GetCidr() != "10.0.0.0/8" {
						t.Fatalf("%s: IP TEST of a candidate = %v", c.name, pred)
					}
				}

				// A LIVE key and the administrator can change them.
				for _, c := range changers {
					created := mustOK[*paymuxv1.CreateIPRuleResponse](t, sf.call(t, ts, createIPRule(c.storeID, "10.0.0.0/8", c.name), c.h))
					if created.GetRule().GetStoreId() != ts.First.StoreID || created.GetRule().GetCidr() != "10.0.0.0/8" || !created.GetCallerAllowed() {
						t.Fatalf("%s: CreateIPRule = %v", c.name, created)
					}
					if cidrs := ruleCIDRs(t, ts, ts.First.StoreID); !slices.Equal(cidrs, []string{"127.0.0.0/8", "10.0.0.0/8"}) {
						t.Fatalf("%s: rules after create: %q", c.name, cidrs)
					}
					mustOK[*paymuxv1.DeleteIPRuleResponse](t, sf.call(t, ts, deleteIPRule(created.GetRule().GetId()), c.h))
					if cidrs := ruleCIDRs(t, ts, ts.First.StoreID); !slices.Equal(cidrs, []string{"127.0.0.0/8"}) {
						t.Fatalf("%s: rules after delete: %q", c.name, cidrs)
					}
				}
				// Deleting the saved rule too: a LIVE key may lift the rules.
				mustOK[*paymuxv1.DeleteIPRuleResponse](t, sf.call(t, ts, deleteIPRule(rule.GetId()), changers[0].h))
				if cidrs := ruleCIDRs(t, ts, ts.First.StoreID); len(cidrs) != 0 {
					t.Fatalf("rules after a LIVE key deleted the last: %q", cidrs)
				}
			})
		}
	})
}
