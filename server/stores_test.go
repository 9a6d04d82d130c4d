package server_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/paymux/paymux/ent"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
)

// ssPatchStore is UpdateStore over REST with a body as written (the id only
// in the path) and the mask, if any, in the query. The updateStore rpc
// always puts the id in the body, so it cannot send what this is for: no
// mask, where the REST gateway takes the body's fields as the mask.
func ssPatchStore(t testing.TB, ts *testServer, id, body, mask string, h http.Header) result {
	t.Helper()
	path := "/v1/stores/" + url.PathEscape(id) + query("updateMask", mask)
	return doREST(t, ts, http.MethodPatch, path, strings.NewReader(body), h, &paymuxv1.UpdateStoreResponse{})
}

// TestStoreAdminCRUD: the administrator creates, reads, updates and lists
// stores on every surface.
func TestStoreAdminCRUD(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		admin := headers("Authorization", ts.adminAuth())
		for _, sf := range surfaces {
			t.Run(sf.name, func(t *testing.T) {
				name, email := "Shop "+sf.name, "dev+"+sf.name+"@example.com"
				created := mustOK[*paymuxv1.CreateStoreResponse](t, sf.call(t, ts,
					createStore(&paymuxv1.CreateStoreRequest{Name: name, ContactEmail: email}), admin)).GetStore()
				if !strings.HasPrefix(created.GetId(), "st_") || created.GetName() != name || created.GetContactEmail() != email ||
					created.GetState() != paymuxv1.StoreState_STORE_STATE_ACTIVE ||
					created.GetCreateTime() == nil || created.GetUpdateTime() == nil {
					t.Fatalf("created %v", created)
				}
				got := mustOK[*paymuxv1.GetStoreResponse](t, sf.call(t, ts, getStore(created.GetId()), admin)).GetStore()
				if !proto.Equal(got, created) {
					t.Fatalf("GetStore %v, created %v", got, created)
				}

				upd := mustOK[*paymuxv1.UpdateStoreResponse](t, sf.call(t, ts, updateStore(&paymuxv1.UpdateStoreRequest{
					Store:      &paymuxv1.Store{Id: created.GetId(), Name: name + " renamed"},
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}},
				}), admin)).GetStore()
				if upd.GetId() != created.GetId() || upd.GetName() != name+" renamed" || upd.GetContactEmail() != email ||
					upd.GetState() != paymuxv1.StoreState_STORE_STATE_ACTIVE ||
					!upd.GetCreateTime().AsTime().Equal(created.GetCreateTime().AsTime()) ||
					upd.GetUpdateTime().AsTime().Before(created.GetUpdateTime().AsTime()) {
					t.Fatalf("updated %v (was %v)", upd, created)
				}
				if got := mustOK[*paymuxv1.GetStoreResponse](t, sf.call(t, ts, getStore(created.GetId()), admin)).GetStore(); !proto.Equal(got, upd) {
					t.Fatalf("GetStore after update %v, update answered %v", got, upd)
				}
				list := mustOK[*paymuxv1.ListStoresResponse](t, sf.call(t, ts, listStores(&paymuxv1.ListStoresRequest{PageSize: 100}), admin))
				i := slices.IndexFunc(list.GetStores(), func(s *paymuxv1.Store) bool { return s.GetId() == created.GetId() })
				if i < 0 || !proto.Equal(list.GetStores()[i], upd) {
					t.Fatalf("ListStores does not show %v: %v", upd, list)
				}
			})
		}
		wantInvalidEverywhere(t, ts, createStore(&paymuxv1.CreateStoreRequest{}), admin, "name")
		wantInvalidEverywhere(t, ts, createStore(&paymuxv1.CreateStoreRequest{Name: strings.Repeat("n", 101)}), admin, "name")
		wantInvalidEverywhere(t, ts, createStore(&paymuxv1.CreateStoreRequest{Name: "x", ContactEmail: "not an address"}), admin, "contact_email")
		for _, sf := range surfaces {
			wantRefused := func(r rpc) {
				t.Helper()
				wantRefusal(t, sf.call(t, ts, r, admin), connect.CodeNotFound, "STORE_NOT_FOUND")
			}
			wantRefused(getStore("st_doesnotexist"))
			wantRefused(updateStore(&paymuxv1.UpdateStoreRequest{
				Store: &paymuxv1.Store{Id: "st_doesnotexist", Name: "x"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}},
			}))
		}
		// REST without a mask.
		wantRefusal(t, ssPatchStore(t, ts, "st_doesnotexist", `{"name":"x"}`, "", admin), connect.CodeNotFound, "STORE_NOT_FOUND")
	})
}

// TestListStoresPagination: pages of page_size, newest first, every store
// exactly once, an empty next_page_token on the last page.
func TestListStoresPagination(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		admin := headers("Authorization", ts.adminAuth())
		ids := []string{ts.First.StoreID}
		for i := range 7 {
			ids = append(ids, newStore(t, ts, "store "+string(rune('A'+i)), "").GetId())
		}
		slices.Reverse(ids) // newest first

		cases := []struct {
			pageSize int32
			pages    []int
		}{
			{3, []int{3, 3, 2}},
			{4, []int{4, 4}}, // an exact fit: no empty last page
			{7, []int{7, 1}},
			{8, []int{8}},
			{0, []int{8}}, // default 20
			{100, []int{8}},
		}
		for _, c := range cases {
			for _, sf := range surfaces {
				var got []string
				var sizes []int
				token := ""
				for page := 0; ; page++ {
					if page > len(ids) {
						t.Fatalf("page_size %d, %s: no end after %d pages", c.pageSize, sf.name, page)
					}
					res := mustOK[*paymuxv1.ListStoresResponse](t, sf.call(t, ts, listStores(&paymuxv1.ListStoresRequest{PageSize: c.pageSize, PageToken: token}), admin))
					sizes = append(sizes, len(res.GetStores()))
					for _, s := range res.GetStores() {
						got = append(got, s.GetId())
					}
					for i := 1; i < len(res.GetStores()); i++ {
						if res.GetStores()[i].GetCreateTime().AsTime().After(res.GetStores()[i-1].GetCreateTime().AsTime()) {
							t.Fatalf("page_size %d, %s: not newest first: %v", c.pageSize, sf.name, res.GetStores())
						}
					}
					if token = res.GetNextPageToken(); token == "" {
						break
					}
				}
				if !slices.Equal(sizes, c.pages) {
					t.Fatalf("page_size %d, %s: pages of %v, want %v", c.pageSize, sf.name, sizes, c.pages)
				}
				if !slices.Equal(got, ids) {
					t.Fatalf("page_size %d, %s: stores %v, want newest first %v", c.pageSize, sf.name, got, ids)
				}
			}
		}

		for _, token := range []string{"garbage!", "e30", strings.Repeat("A", 40)} { // e30 is {}: no id
			wantInvalidEverywhere(t, ts, listStores(&paymuxv1.ListStoresRequest{PageToken: token}), admin, "page_token")
		}
		wantInvalidEverywhere(t, ts, listStores(&paymuxv1.ListStoresRequest{PageSize: 101}), admin, "page_size")
	})
}

// TestUpdateStore: only the fields in the mask change; a bad mask or value
// is InvalidArgument and changes nothing; over REST the body's fields are
// the mask when none is given.
func TestUpdateStore(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		admin := headers("Authorization", ts.adminAuth())
		const origName, origEmail = "Original", "orig@example.com"
		active, suspended := paymuxv1.StoreState_STORE_STATE_ACTIVE, paymuxv1.StoreState_STORE_STATE_SUSPENDED

		ok := []struct {
			name  string
			in    *paymuxv1.Store
			paths []string
			want  *paymuxv1.Store // name, contact_email, state
		}{
			{"name", &paymuxv1.Store{Name: "New", ContactEmail: "ignored@example.com", State: suspended}, []string{"name"},
				&paymuxv1.Store{Name: "New", ContactEmail: origEmail, State: active}},
			{"contact_email", &paymuxv1.Store{Name: "Ignored", ContactEmail: "new@example.com"}, []string{"contact_email"},
				&paymuxv1.Store{Name: origName, ContactEmail: "new@example.com", State: active}},
			{"clear contact_email", &paymuxv1.Store{}, []string{"contact_email"},
				&paymuxv1.Store{Name: origName, State: active}},
			{"state", &paymuxv1.Store{Name: "Ignored", State: suspended}, []string{"state"},
				&paymuxv1.Store{Name: origName, ContactEmail: origEmail, State: suspended}},
			{"all three", &paymuxv1.Store{Name: "All", ContactEmail: "all@example.com", State: suspended}, []string{"name", "contact_email", "state"},
				&paymuxv1.Store{Name: "All", ContactEmail: "all@example.com", State: suspended}},
		}
		for _, c := range ok {
			for _, sf := range surfaces {
				st := newStore(t, ts, origName, origEmail)
				in := proto.Clone(c.in).(*paymuxv1.Store)
				in.Id = st.GetId()
				got := mustOK[*paymuxv1.UpdateStoreResponse](t, sf.call(t, ts, updateStore(&paymuxv1.UpdateStoreRequest{
					Store: in, UpdateMask: &fieldmaskpb.FieldMask{Paths: c.paths},
				}), admin)).GetStore()
				if got.GetId() != st.GetId() || got.GetName() != c.want.GetName() || got.GetContactEmail() != c.want.GetContactEmail() || got.GetState() != c.want.GetState() {
					t.Fatalf("%s, %s: got %v, want %v", c.name, sf.name, got, c.want)
				}
				if stored := readStore(t, ts, st.GetId()); !proto.Equal(stored, got) {
					t.Fatalf("%s, %s: stored %v, answered %v", c.name, sf.name, stored, got)
				}
			}
		}

		st := newStore(t, ts, origName, origEmail)
		bad := []struct {
			name   string
			in     *paymuxv1.Store
			mask   *fieldmaskpb.FieldMask
			fields []string
		}{
			{"unknown path", &paymuxv1.Store{Name: "X"}, &fieldmaskpb.FieldMask{Paths: []string{"key_count"}}, []string{"update_mask"}},
			{"output-only path", &paymuxv1.Store{Name: "X"}, &fieldmaskpb.FieldMask{Paths: []string{"create_time"}}, []string{"update_mask"}},
			{"id path", &paymuxv1.Store{Name: "X"}, &fieldmaskpb.FieldMask{Paths: []string{"id"}}, []string{"update_mask"}},
			{"valid and unknown path", &paymuxv1.Store{Name: "X"}, &fieldmaskpb.FieldMask{Paths: []string{"name", "bogus"}}, []string{"update_mask"}},
			{"empty name", &paymuxv1.Store{Name: ""}, &fieldmaskpb.FieldMask{Paths: []string{"name"}}, []string{"store.name"}},
			{"empty name with email", &paymuxv1.Store{ContactEmail: "x@example.com"}, &fieldmaskpb.FieldMask{Paths: []string{"contact_email", "name"}}, []string{"store.name"}},
			{"unspecified state", &paymuxv1.Store{}, &fieldmaskpb.FieldMask{Paths: []string{"state"}}, []string{"store.state"}},
			{"bad email", &paymuxv1.Store{ContactEmail: "not an address"}, &fieldmaskpb.FieldMask{Paths: []string{"contact_email"}}, []string{"store.contact_email"}},
			{"no mask", &paymuxv1.Store{Name: "X"}, nil, []string{"update_mask"}},
			{"empty mask", &paymuxv1.Store{Name: "X"}, &fieldmaskpb.FieldMask{}, []string{"update_mask"}},
		}
		for _, c := range bad {
			t.Run(c.name, func(t *testing.T) {
				in := proto.Clone(c.in).(*paymuxv1.Store)
				in.Id = st.GetId()
				req := &paymuxv1.UpdateStoreRequest{Store: in, UpdateMask: c.mask}
				for _, sf := range surfaces {
					wantInvalid(t, sf.call(t, ts, updateStore(req), admin), c.fields...)
				}
			})
		}
		if got := readStore(t, ts, st.GetId()); got.GetName() != origName || got.GetContactEmail() != origEmail || got.GetState() != active {
			t.Fatalf("refused updates changed the store: %v", got)
		}

		// REST: without a mask, the body's fields are what changes.
		restOK := []struct {
			name, body string
			want       *paymuxv1.Store
		}{
			{"name and email", `{"name":"Via REST","contactEmail":"rest@example.com"}`,
				&paymuxv1.Store{Name: "Via REST", ContactEmail: "rest@example.com", State: active}},
			{"name only", `{"name":"Only name"}`, &paymuxv1.Store{Name: "Only name", ContactEmail: origEmail, State: active}},
			{"proto field name", `{"contact_email":"snake@example.com"}`, &paymuxv1.Store{Name: origName, ContactEmail: "snake@example.com", State: active}},
			{"state", `{"state":"STORE_STATE_SUSPENDED"}`, &paymuxv1.Store{Name: origName, ContactEmail: origEmail, State: suspended}},
			{"clear email", `{"contactEmail":""}`, &paymuxv1.Store{Name: origName, State: active}},
		}
		for _, c := range restOK {
			st := newStore(t, ts, origName, origEmail)
			got := mustOK[*paymuxv1.UpdateStoreResponse](t, ssPatchStore(t, ts, st.GetId(), c.body, "", admin)).GetStore()
			if got.GetName() != c.want.GetName() || got.GetContactEmail() != c.want.GetContactEmail() || got.GetState() != c.want.GetState() {
				t.Fatalf("REST PATCH %s: got %v, want %v", c.body, got, c.want)
			}
			if stored := readStore(t, ts, st.GetId()); !proto.Equal(stored, got) {
				t.Fatalf("REST PATCH %s: stored %v, answered %v", c.body, stored, got)
			}
		}
		restBad := []struct{ body, mask string }{
			{`{"name":""}`, ""},
			{`{"name":"x"}`, "key_count"},
			{`{"state":"STORE_STATE_UNSPECIFIED"}`, ""},
			{`{}`, ""},
		}
		for _, c := range restBad {
			got := ssPatchStore(t, ts, st.GetId(), c.body, c.mask, admin)
			wantRefusal(t, got, connect.CodeInvalidArgument, "INVALID_ARGUMENT")
		}
		if got := readStore(t, ts, st.GetId()); got.GetName() != origName || got.GetContactEmail() != origEmail || got.GetState() != active {
			t.Fatalf("refused REST updates changed the store: %v", got)
		}
	})
}

// TestStoreKeyAccess: a store key may only read its own store.
func TestStoreKeyAccess(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		admin := headers("Authorization", ts.adminAuth())
		other := newStore(t, ts, "Other", "")
		b := newKey(t, ts, "bearer", paymuxv1.AuthMethod_AUTH_METHOD_BEARER, paymuxv1.Mode_MODE_TEST, nil)
		tok := mustOK[*paymuxv1.CreateAccessTokenResponse](t, callConnect(t, ts, createAccessToken(), headers("Authorization", keyAuth(b)))).GetAccessToken()
		creds := []struct {
			name string
			h    http.Header
		}{
			{"basic", headers("Authorization", ts.firstKeyAuth())},
			{"bearer", headers("Authorization", bearer(tok))},
		}
		own := readStore(t, ts, ts.First.StoreID)
		rename := &paymuxv1.UpdateStoreRequest{
			Store:      &paymuxv1.Store{Id: ts.First.StoreID, Name: "Hijacked", State: paymuxv1.StoreState_STORE_STATE_ACTIVE},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}},
		}
		for _, c := range creds {
			for _, sf := range surfaces {
				t.Run(c.name+"/"+sf.name, func(t *testing.T) {
					for _, r := range []rpc{
						createStore(&paymuxv1.CreateStoreRequest{Name: "Mine"}),
						listStores(&paymuxv1.ListStoresRequest{}),
					} {
						wantRefusal(t, sf.call(t, ts, r, c.h), connect.CodePermissionDenied, "ADMIN_ONLY")
					}
					wantRefusal(t, sf.call(t, ts, updateStore(rename), c.h), connect.CodePermissionDenied, "ADMIN_ONLY")

					got := mustOK[*paymuxv1.GetStoreResponse](t, sf.call(t, ts, getStore(ts.First.StoreID), c.h)).GetStore()
					if !proto.Equal(got, own) {
						t.Fatalf("own store %v, want %v", got, own)
					}
					for _, id := range []string{other.GetId(), "st_doesnotexist"} {
						wantRefusal(t, sf.call(t, ts, getStore(id), c.h), connect.CodeNotFound, "STORE_NOT_FOUND")
					}
				})
			}
		}
		list := mustOK[*paymuxv1.ListStoresResponse](t, callConnect(t, ts, listStores(&paymuxv1.ListStoresRequest{}), admin))
		if len(list.GetStores()) != 2 {
			t.Fatalf("refused creates made stores: %v", list)
		}
		if got := readStore(t, ts, ts.First.StoreID); !proto.Equal(got, own) {
			t.Fatalf("refused updates changed the store: %v -> %v", own, got)
		}
	})
}

// TestSuspendStore: suspension refuses the store's keys from the next call
// on (the update drops them from the auth cache); the administrator still
// manages the store; other stores are untouched; re-activation restores
// access at once.
func TestSuspendStore(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		admin := headers("Authorization", ts.adminAuth())
		b := newKey(t, ts, "bearer", paymuxv1.AuthMethod_AUTH_METHOD_BEARER, paymuxv1.Mode_MODE_TEST, nil)
		tok := mustOK[*paymuxv1.CreateAccessTokenResponse](t, callConnect(t, ts, createAccessToken(), headers("Authorization", keyAuth(b)))).GetAccessToken()
		basicH, bearerH := headers("Authorization", ts.firstKeyAuth()), headers("Authorization", bearer(tok))

		other := newStore(t, ts, "Other", "")
		otherKey := mustOK[*paymuxv1.CreateKeyResponse](t, callConnect(t, ts,
			createKey(keyRequest(other.GetId(), "other", paymuxv1.Mode_MODE_TEST, paymuxv1.AuthMethod_AUTH_METHOD_BASIC)), admin))

		// Everything is in the auth cache before the change.
		for _, h := range []http.Header{basicH, bearerH, headers("Authorization", keyAuth(otherKey))} {
			mustOK[*paymuxv1.ListKeysResponse](t, callConnect(t, ts, listKeys(""), h))
		}

		setState := func(s paymuxv1.StoreState) {
			t.Helper()
			got := mustOK[*paymuxv1.UpdateStoreResponse](t, callConnect(t, ts, updateStore(&paymuxv1.UpdateStoreRequest{
				Store: &paymuxv1.Store{Id: ts.First.StoreID, State: s}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"state"}},
			}), admin)).GetStore()
			if got.GetState() != s {
				t.Fatalf("state %v, want %v", got.GetState(), s)
			}
		}
		setState(paymuxv1.StoreState_STORE_STATE_SUSPENDED)
		for _, sf := range surfaces {
			for _, h := range []http.Header{basicH, bearerH} {
				for _, r := range []rpc{listKeys(""), getStore(ts.First.StoreID), getKey(ts.First.KeyID)} {
					wantRefusal(t, sf.call(t, ts, r, h), connect.CodePermissionDenied, "STORE_SUSPENDED")
				}
			}
			wantRefusal(t, sf.call(t, ts, createAccessToken(), headers("Authorization", keyAuth(b))), connect.CodePermissionDenied, "STORE_SUSPENDED")
			// The administrator still sees and manages the store.
			list := mustOK[*paymuxv1.ListKeysResponse](t, sf.call(t, ts, listKeys(ts.First.StoreID), admin))
			if len(list.GetKeys()) != 2 {
				t.Fatalf("%s: admin lists %d keys of the suspended store, want 2", sf.name, len(list.GetKeys()))
			}
			if st := mustOK[*paymuxv1.GetStoreResponse](t, sf.call(t, ts, getStore(ts.First.StoreID), admin)).GetStore(); st.GetState() != paymuxv1.StoreState_STORE_STATE_SUSPENDED {
				t.Fatalf("%s: admin sees state %v", sf.name, st.GetState())
			}
			// Another store's key is not affected.
			mustOK[*paymuxv1.ListKeysResponse](t, sf.call(t, ts, listKeys(""), headers("Authorization", keyAuth(otherKey))))
		}

		setState(paymuxv1.StoreState_STORE_STATE_ACTIVE)
		for _, sf := range surfaces {
			for _, h := range []http.Header{basicH, bearerH} {
				mustOK[*paymuxv1.ListKeysResponse](t, sf.call(t, ts, listKeys(""), h))
			}
			mustOK[*paymuxv1.CreateAccessTokenResponse](t, sf.call(t, ts, createAccessToken(), headers("Authorization", keyAuth(b))))
		}
	})
}

// TestInvalidAdminToken: a token that looks like the admin's but is not is
// refused as such, on admin and store methods, and changes nothing.
func TestInvalidAdminToken(t *testing.T) {
	ts := startServer(t, openSQLite(t))
	good := ts.AdminToken
	flipped := good[:len(good)-1] + "a"
	if good[len(good)-1] == 'a' {
		flipped = good[:len(good)-1] + "b"
	}
	for _, token := range []string{"pma_wrong", flipped, good + "x"} {
		h := headers("Authorization", bearer(token))
		for _, sf := range surfaces {
			for _, r := range []rpc{
				listStores(&paymuxv1.ListStoresRequest{}),
				createStore(&paymuxv1.CreateStoreRequest{Name: "sneaky"}),
				getStore(ts.First.StoreID),
				listKeys(ts.First.StoreID),
				createKey(keyRequest(ts.First.StoreID, "sneaky", paymuxv1.Mode_MODE_LIVE, paymuxv1.AuthMethod_AUTH_METHOD_BASIC)),
			} {
				wantRefusal(t, sf.call(t, ts, r, h), connect.CodeUnauthenticated, "ADMIN_TOKEN_INVALID")
			}
		}
	}
	list := mustOK[*paymuxv1.ListStoresResponse](t, callConnect(t, ts, listStores(&paymuxv1.ListStoresRequest{}), headers("Authorization", ts.adminAuth())))
	if len(list.GetStores()) != 1 {
		t.Fatalf("refused calls made stores: %v", list)
	}
	if got := keyIDs(t, ts, ts.First.StoreID); len(got) != 1 {
		t.Fatalf("refused calls made keys: %v", got)
	}
}
