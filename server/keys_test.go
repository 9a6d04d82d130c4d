package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/ent"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/tenant"
)

// TestKeySecretShownOnce: the secret is in CreateKeyResponse (and a
// reissue's answer) only; lists and gets show its prefix; the database keeps
// a keyed hash and no column, nor the SQLite files, hold the secret.
func TestKeySecretShownOnce(t *testing.T) {
	for _, d := range databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			var db *ent.Client
			var files []string
			if d.Name == "sqlite" {
				path := filepath.Join(t.TempDir(), "paymux.db")
				db = openMigrated(t, "", path)
				files = []string{path, path + "-wal"}
			} else {
				db = d.Open(t)
			}
			ts := startServer(t, db)
			admin := headers("Authorization", ts.adminAuth())

			cases := []struct {
				name                   string
				via                    surface
				mode                   paymuxv1.Mode
				method                 paymuxv1.AuthMethod
				clientPrefix, skPrefix string
			}{
				{"test basic over connect", surfaces[1], paymuxv1.Mode_MODE_TEST, paymuxv1.AuthMethod_AUTH_METHOD_BASIC, "ck_test_", "sk_test_"},
				{"live bearer over rest", surfaces[4], paymuxv1.Mode_MODE_LIVE, paymuxv1.AuthMethod_AUTH_METHOD_BEARER, "ck_live_", "sk_live_"},
				{"test bearer over grpc", surfaces[0], paymuxv1.Mode_MODE_TEST, paymuxv1.AuthMethod_AUTH_METHOD_BEARER, "ck_test_", "sk_test_"},
			}
			// Every secret ever shown, with the key it belongs to.
			shown := map[string]string{ts.First.SecretKey: ts.First.KeyID}
			var clientKeys []string
			for _, c := range cases {
				req := keyRequest(ts.First.StoreID, c.name, c.mode, c.method)
				req.ApprovalModel = paymuxv1.ApprovalModel_APPROVAL_MODEL_CLIENT
				res := mustOK[*paymuxv1.CreateKeyResponse](t, c.via.call(t, ts, createKey(req), admin))
				k, secret := res.GetKey(), res.GetSecretKey()
				if !strings.HasPrefix(secret, c.skPrefix) || len(secret) < len(c.skPrefix)+20 {
					t.Fatalf("%s: secret %q, want %q and at least 20 random characters", c.name, secret, c.skPrefix)
				}
				if !strings.HasPrefix(k.GetClientKey(), c.clientPrefix) || len(k.GetClientKey()) < len(c.clientPrefix)+16 {
					t.Fatalf("%s: client key %q, want %q...", c.name, k.GetClientKey(), c.clientPrefix)
				}
				p := k.GetSecretKeyPrefix()
				if !strings.HasPrefix(p, c.skPrefix) || !strings.HasPrefix(secret, p) || len(p) >= len(secret)/2 {
					t.Fatalf("%s: secret_key_prefix %q is not a short prefix of the secret %q", c.name, p, secret)
				}
				if !strings.HasPrefix(k.GetId(), "key_") || k.GetStoreId() != ts.First.StoreID || k.GetName() != c.name ||
					k.GetMode() != c.mode || k.GetAuthMethod() != c.method ||
					k.GetApprovalModel() != paymuxv1.ApprovalModel_APPROVAL_MODEL_CLIENT ||
					k.GetCreateTime() == nil || k.GetSecretIssueTime() == nil || k.GetExpireTime() != nil ||
					k.GetLastUsedTime() != nil || k.GetLastUsedIp() != "" {
					t.Fatalf("%s: created key %v", c.name, k)
				}
				shown[secret] = k.GetId()
				clientKeys = append(clientKeys, k.GetClientKey())
			}
			// A reissue shows a new secret once too; the old one must not
			// linger either.
			var reissueID string
			for _, id := range shown {
				if id != ts.First.KeyID {
					reissueID = id
					break
				}
			}
			re := mustOK[*paymuxv1.ReissueKeySecretResponse](t, callConnect(t, ts, reissueKey(reissueID), admin))
			if !strings.HasPrefix(re.GetSecretKey(), re.GetKey().GetSecretKeyPrefix()) || re.GetSecretKey() == "" {
				t.Fatalf("reissue: secret %q, prefix %q", re.GetSecretKey(), re.GetKey().GetSecretKeyPrefix())
			}
			current := map[string]string{} // key id -> current secret
			for s, id := range shown {
				current[id] = s
			}
			current[reissueID] = re.GetSecretKey()
			shown[re.GetSecretKey()] = reissueID

			// Reads never carry a secret: as admin and as the store's key,
			// on every surface.
			firstKey := headers("Authorization", ts.firstKeyAuth())
			for _, sf := range surfaces {
				var msgs []proto.Message
				for _, cred := range []struct {
					h       http.Header
					storeID string
				}{{admin, ts.First.StoreID}, {firstKey, ""}} {
					list := mustOK[*paymuxv1.ListKeysResponse](t, sf.call(t, ts, listKeys(cred.storeID), cred.h))
					if len(list.GetKeys()) != len(current) {
						t.Fatalf("%s: %d keys listed, want %d", sf.name, len(list.GetKeys()), len(current))
					}
					for _, k := range list.GetKeys() {
						if s := current[k.GetId()]; k.GetSecretKeyPrefix() == "" || !strings.HasPrefix(s, k.GetSecretKeyPrefix()) {
							t.Fatalf("%s: listed prefix %q is not a prefix of the current secret of %s", sf.name, k.GetSecretKeyPrefix(), k.GetId())
						}
					}
					msgs = append(msgs, list)
					for id := range current {
						msgs = append(msgs, mustOK[*paymuxv1.GetKeyResponse](t, sf.call(t, ts, getKey(id), cred.h)))
					}
				}
				for _, m := range msgs {
					b, err := protojson.Marshal(m)
					if err != nil {
						t.Fatal(err)
					}
					for s := range shown {
						if strings.Contains(string(b), s) {
							t.Fatalf("%s: %s shows a secret: %s", sf.name, m.ProtoReflect().Descriptor().Name(), b)
						}
					}
				}
			}

			// The database keeps the keyed hash, and no column the secret.
			ctx := tenant.System(context.Background())
			rows, err := ts.DB.APIKey.Query().All(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(current) {
				t.Fatalf("%d key rows, want %d", len(rows), len(current))
			}
			for _, row := range rows {
				secret := current[row.ID]
				if bytes.Equal(row.SecretHash, []byte(secret)) || !bytes.Equal(row.SecretHash, ts.Keyring.HashSecret(secret)) {
					t.Fatalf("key %s: secret_hash is not the keyed hash of its secret", row.ID)
				}
				for s := range shown {
					if cols := ksColumnsHolding(row, s); len(cols) > 0 {
						t.Fatalf("key %s: columns %v hold a secret", row.ID, cols)
					}
				}
			}
			if row, err := ts.DB.APIKey.Get(ctx, reissueID); err != nil || row.PreviousSecretHash == nil {
				t.Fatalf("reissued key: previous_secret_hash not kept: %v", err)
			}

			// Nor do the SQLite files (main database and write-ahead log).
			if files == nil {
				return
			}
			var content []byte
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil && !errors.Is(err, os.ErrNotExist) {
					t.Fatal(err)
				}
				content = append(content, b...)
			}
			for _, ck := range clientKeys { // the files do hold what was written
				if !bytes.Contains(content, []byte(ck)) {
					t.Fatalf("client key %s not found in %v: the files read are not the database", ck, files)
				}
			}
			for s := range shown {
				if bytes.Contains(content, []byte(s)) {
					t.Fatalf("the SQLite files hold the secret of key %s in plain", shown[s])
				}
			}
			if bytes.Contains(content, []byte(ts.AdminToken)) {
				t.Fatal("the SQLite files hold the admin token in plain")
			}
		})
	}
}

// ksColumnsHolding names the exported fields of an ent entity whose value
// contains s.
func ksColumnsHolding(entity any, s string) []string {
	v := reflect.ValueOf(entity).Elem()
	var cols []string
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() || f.Name == "Edges" {
			continue
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				continue
			}
			fv = fv.Elem()
		}
		var text string
		if b, ok := fv.Interface().([]byte); ok {
			text = string(b)
		} else {
			text = fmt.Sprint(fv.Interface())
		}
		if strings.Contains(text, s) {
			cols = append(cols, f.Name)
		}
	}
	return cols
}

// TestKeyLimit: five key pairs per store, for the administrator and the
// store's own key alike; deleting one makes room for one.
func TestKeyLimit(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		admin := headers("Authorization", ts.adminAuth())
		ids := []string{ts.First.KeyID}
		for i := 2; i <= 5; i++ {
			ids = append(ids, newKey(t, ts, fmt.Sprintf("key %d", i), paymuxv1.AuthMethod_AUTH_METHOD_BASIC, paymuxv1.Mode_MODE_TEST, nil).GetKey().GetId())
		}
		sixth := createKey(keyRequest(ts.First.StoreID, "sixth", paymuxv1.Mode_MODE_TEST, paymuxv1.AuthMethod_AUTH_METHOD_BASIC))
		ownSixth := createKey(keyRequest("", "sixth", paymuxv1.Mode_MODE_TEST, paymuxv1.AuthMethod_AUTH_METHOD_BASIC))
		for _, sf := range surfaces {
			wantRefusal(t, sf.call(t, ts, sixth, admin), connect.CodeFailedPrecondition, "KEY_LIMIT_EXCEEDED")
			wantRefusal(t, sf.call(t, ts, ownSixth, headers("Authorization", ts.firstKeyAuth())), connect.CodeFailedPrecondition, "KEY_LIMIT_EXCEEDED")
		}
		if got := keyIDs(t, ts, ts.First.StoreID); !slices.Equal(got, sorted(ids...)) {
			t.Fatalf("after refused creates: keys %v, want %v", got, sorted(ids...))
		}

		mustOK[*paymuxv1.DeleteKeyResponse](t, callConnect(t, ts, deleteKey(ids[2]), admin))
		replacement := mustOK[*paymuxv1.CreateKeyResponse](t, callREST(t, ts, ownSixth, headers("Authorization", ts.firstKeyAuth())))
		wantRefusal(t, callConnect(t, ts, sixth, admin), connect.CodeFailedPrecondition, "KEY_LIMIT_EXCEEDED")
		ids[2] = replacement.GetKey().GetId()
		if got := keyIDs(t, ts, ts.First.StoreID); !slices.Equal(got, sorted(ids...)) {
			t.Fatalf("after delete and create: keys %v, want %v", got, sorted(ids...))
		}
	})
}

// TestKeyLimitConcurrent: ten simultaneous creates on a store with one key
// leave exactly five keys.
func TestKeyLimitConcurrent(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		const n = 10
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			// Half as the administrator, half as the store's own key.
			h, storeID := headers("Authorization", ts.adminAuth()), ts.First.StoreID
			if i%2 == 1 {
				h, storeID = headers("Authorization", ts.firstKeyAuth()), ""
			}
			r := createKey(keyRequest(storeID, fmt.Sprintf("concurrent %d", i), paymuxv1.Mode_MODE_TEST, paymuxv1.AuthMethod_AUTH_METHOD_BASIC))
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				<-start
				_, errs[i] = r.connect(ctx, http.DefaultClient, ts.URL, h)
			})
		}
		close(start)
		wg.Wait()
		created, limited := 0, 0
		for i, err := range errs {
			switch {
			case err == nil:
				created++
			case connect.CodeOf(err) == connect.CodeFailedPrecondition && reasonOf(err) == "KEY_LIMIT_EXCEEDED":
				limited++
			default:
				t.Errorf("create %d: %v (reason %q)", i, err, reasonOf(err))
			}
		}
		if created != 4 || limited != 6 {
			t.Fatalf("%d created, %d refused for the limit; want 4 and 6", created, limited)
		}
		if got := keyIDs(t, ts, ts.First.StoreID); len(got) != 5 {
			t.Fatalf("store lists %d keys, want 5", len(got))
		}
		st, err := ts.DB.Store.Get(tenant.System(context.Background()), ts.First.StoreID)
		if err != nil {
			t.Fatal(err)
		}
		if st.KeyCount != 5 {
			t.Fatalf("key_count %d, want 5", st.KeyCount)
		}
	})
}

// TestKeyReissue: a reissue replaces the secret at once, for the
// administrator and for the key itself; the old secret is told it was
// revoked; a BEARER key's access tokens die with it.
func TestKeyReissue(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		admin := headers("Authorization", ts.adminAuth())
		k := newKey(t, ts, "rotate", paymuxv1.AuthMethod_AUTH_METHOD_BASIC, paymuxv1.Mode_MODE_TEST, nil)
		secret := k.GetSecretKey()
		auth := func(s string) http.Header { return headers("Authorization", basicAuth(k.GetKey().GetClientKey(), s)) }
		mustOK[*paymuxv1.ListKeysResponse](t, callConnect(t, ts, listKeys(""), auth(secret))) // cached now

		rounds := []struct {
			name string
			by   func(current string) http.Header
			via  surface
		}{
			{"by admin over connect", func(string) http.Header { return admin }, surfaces[1]},
			{"by the key itself over rest", auth, surfaces[4]},
			{"by the key itself over grpc", auth, surfaces[0]},
		}
		for _, round := range rounds {
			// No clock moves here: the old secret must be refused at once,
			// not when the auth cache happens to expire.
			before := readKey(t, ts, k.GetKey().GetId())
			res := mustOK[*paymuxv1.ReissueKeySecretResponse](t, round.via.call(t, ts, reissueKey(k.GetKey().GetId()), round.by(secret)))
			newSecret, got := res.GetSecretKey(), res.GetKey()
			if newSecret == secret || !strings.HasPrefix(newSecret, "sk_test_") || !strings.HasPrefix(newSecret, got.GetSecretKeyPrefix()) {
				t.Fatalf("%s: new secret %q (old %q), prefix %q", round.name, newSecret, secret, got.GetSecretKeyPrefix())
			}
			if got.GetId() != before.GetId() || got.GetClientKey() != before.GetClientKey() || got.GetName() != before.GetName() ||
				!got.GetCreateTime().AsTime().Equal(before.GetCreateTime().AsTime()) {
				t.Fatalf("%s: reissue changed more than the secret: %v -> %v", round.name, before, got)
			}
			if !got.GetSecretIssueTime().AsTime().After(before.GetSecretIssueTime().AsTime()) {
				t.Fatalf("%s: secret_issue_time %v did not move past %v", round.name, got.GetSecretIssueTime().AsTime(), before.GetSecretIssueTime().AsTime())
			}
			if after := readKey(t, ts, k.GetKey().GetId()); !proto.Equal(after, got) {
				t.Fatalf("%s: GetKey after reissue %v, reissue answered %v", round.name, after, got)
			}
			for _, sf := range surfaces {
				mustOK[*paymuxv1.ListKeysResponse](t, sf.call(t, ts, listKeys(""), auth(newSecret)))
				wantRefusal(t, sf.call(t, ts, listKeys(""), auth(secret)), connect.CodeUnauthenticated, "SECRET_REVOKED")
			}
			secret = newSecret
		}

		// A BEARER key: its access token stops working with the reissue.
		b := newKey(t, ts, "bearer", paymuxv1.AuthMethod_AUTH_METHOD_BEARER, paymuxv1.Mode_MODE_TEST, nil)
		bBasic := headers("Authorization", keyAuth(b))
		tok := mustOK[*paymuxv1.CreateAccessTokenResponse](t, callConnect(t, ts, createAccessToken(), bBasic)).GetAccessToken()
		withToken := headers("Authorization", bearer(tok))
		mustOK[*paymuxv1.ListKeysResponse](t, callConnect(t, ts, listKeys(""), withToken))
		// The key reissues its own secret with its token.
		re := mustOK[*paymuxv1.ReissueKeySecretResponse](t, callConnect(t, ts, reissueKey(b.GetKey().GetId()), withToken))
		for _, sf := range surfaces {
			wantRefusal(t, sf.call(t, ts, listKeys(""), withToken), connect.CodeUnauthenticated, "TOKEN_REVOKED")
			wantRefusal(t, sf.call(t, ts, createAccessToken(), bBasic), connect.CodeUnauthenticated, "SECRET_REVOKED")
		}
		fresh := mustOK[*paymuxv1.CreateAccessTokenResponse](t, callConnect(t, ts, createAccessToken(),
			headers("Authorization", basicAuth(b.GetKey().GetClientKey(), re.GetSecretKey())))).GetAccessToken()
		if fresh == tok {
			t.Fatal("the new secret was handed the revoked token")
		}
		for _, sf := range surfaces {
			mustOK[*paymuxv1.ListKeysResponse](t, sf.call(t, ts, listKeys(""), headers("Authorization", bearer(fresh))))
		}
	})
}

// TestKeyDelete: a deleted key is refused as deleted, with its tokens, and
// is gone from reads; deleting it again is NotFound.
func TestKeyDelete(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		admin := headers("Authorization", ts.adminAuth())
		k := newKey(t, ts, "doomed", paymuxv1.AuthMethod_AUTH_METHOD_BASIC, paymuxv1.Mode_MODE_TEST, nil)
		b := newKey(t, ts, "doomed bearer", paymuxv1.AuthMethod_AUTH_METHOD_BEARER, paymuxv1.Mode_MODE_TEST, nil)
		tok := mustOK[*paymuxv1.CreateAccessTokenResponse](t, callConnect(t, ts, createAccessToken(), headers("Authorization", keyAuth(b)))).GetAccessToken()
		withToken := headers("Authorization", bearer(tok))
		// Both are cached before they are deleted.
		mustOK[*paymuxv1.ListKeysResponse](t, callConnect(t, ts, listKeys(""), headers("Authorization", keyAuth(k))))
		mustOK[*paymuxv1.ListKeysResponse](t, callConnect(t, ts, listKeys(""), withToken))

		mustOK[*paymuxv1.DeleteKeyResponse](t, callREST(t, ts, deleteKey(k.GetKey().GetId()), admin))
		// A key may delete itself.
		mustOK[*paymuxv1.DeleteKeyResponse](t, callConnect(t, ts, deleteKey(b.GetKey().GetId()), withToken))

		for _, sf := range surfaces {
			wantRefusal(t, sf.call(t, ts, listKeys(""), headers("Authorization", keyAuth(k))), connect.CodeUnauthenticated, "KEY_DELETED")
			wantRefusal(t, sf.call(t, ts, listKeys(""), withToken), connect.CodeUnauthenticated, "KEY_DELETED")
			wantRefusal(t, sf.call(t, ts, createAccessToken(), headers("Authorization", keyAuth(b))), connect.CodeUnauthenticated, "KEY_DELETED")
			for _, id := range []string{k.GetKey().GetId(), b.GetKey().GetId()} {
				for _, r := range []rpc{getKey(id), deleteKey(id), reissueKey(id)} {
					wantRefusal(t, sf.call(t, ts, r, admin), connect.CodeNotFound, "KEY_NOT_FOUND")
					wantRefusal(t, sf.call(t, ts, r, headers("Authorization", ts.firstKeyAuth())), connect.CodeNotFound, "KEY_NOT_FOUND")
				}
			}
		}
		if got := keyIDs(t, ts, ts.First.StoreID); !slices.Equal(got, []string{ts.First.KeyID}) {
			t.Fatalf("after deletes: keys %v, want only the first", got)
		}
		st, err := ts.DB.Store.Get(tenant.System(context.Background()), ts.First.StoreID)
		if err != nil || st.KeyCount != 1 {
			t.Fatalf("key_count after deleting twice: %v, %v; want 1", st, err)
		}
	})
}

// TestAccessToken: Basic credentials of a BEARER key buy a 30-minute token;
// the same token while it is valid; a new one after it expired; every other
// credential is refused.
func TestAccessToken(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		b := newKey(t, ts, "bearer", paymuxv1.AuthMethod_AUTH_METHOD_BEARER, paymuxv1.Mode_MODE_TEST, nil)
		bBasic := headers("Authorization", keyAuth(b))

		var first *paymuxv1.CreateAccessTokenResponse
		for _, sf := range surfaces {
			now := ts.Clock.Now()
			got := mustOK[*paymuxv1.CreateAccessTokenResponse](t, sf.call(t, ts, createAccessToken(), bBasic))
			if got.GetTokenType() != "Bearer" || !strings.HasPrefix(got.GetAccessToken(), "at_") {
				t.Fatalf("%s: token %v", sf.name, got)
			}
			if first == nil {
				first = got
				if got.GetExpiresIn() < 1790 || got.GetExpiresIn() > 1800 {
					t.Fatalf("%s: expires_in %d, want about 1800", sf.name, got.GetExpiresIn())
				}
				if d := got.GetExpireTime().AsTime().Sub(now); d < 29*time.Minute+50*time.Second || d > 30*time.Minute+time.Second {
					t.Fatalf("%s: expire_time %v is %v from now, want 30m", sf.name, got.GetExpireTime().AsTime(), d)
				}
				continue
			}
			if got.GetAccessToken() != first.GetAccessToken() || !got.GetExpireTime().AsTime().Equal(first.GetExpireTime().AsTime()) {
				t.Fatalf("%s: asking again gave %v, want the token in force %v", sf.name, got, first)
			}
			if left := int32(first.GetExpireTime().AsTime().Sub(now).Seconds()); got.GetExpiresIn() > left+1 || got.GetExpiresIn() < left-2 {
				t.Fatalf("%s: expires_in %d, want the %d seconds left", sf.name, got.GetExpiresIn(), left)
			}
		}
		old := headers("Authorization", bearer(first.GetAccessToken()))
		for _, sf := range surfaces {
			list := mustOK[*paymuxv1.ListKeysResponse](t, sf.call(t, ts, listKeys(""), old))
			if len(list.GetKeys()) != 2 {
				t.Fatalf("%s: bearer token lists %d keys, want 2", sf.name, len(list.GetKeys()))
			}
		}

		ts.Clock.Advance(31 * time.Minute)
		for _, sf := range surfaces {
			wantRefusal(t, sf.call(t, ts, listKeys(""), old), connect.CodeUnauthenticated, "TOKEN_EXPIRED")
		}
		again := mustOK[*paymuxv1.CreateAccessTokenResponse](t, callREST(t, ts, createAccessToken(), bBasic))
		if again.GetAccessToken() == first.GetAccessToken() || !again.GetExpireTime().AsTime().After(first.GetExpireTime().AsTime()) {
			t.Fatalf("after expiry: got %v, want a new token expiring after %v", again, first.GetExpireTime().AsTime())
		}
		if again.GetExpiresIn() < 1790 || again.GetExpiresIn() > 1800 {
			t.Fatalf("after expiry: expires_in %d, want about 1800", again.GetExpiresIn())
		}
		fresh := headers("Authorization", bearer(again.GetAccessToken()))
		for _, sf := range surfaces {
			mustOK[*paymuxv1.ListKeysResponse](t, sf.call(t, ts, listKeys(""), fresh))
		}

		// The token with its expiry pushed a year out, signature kept.
		payload, sig, _ := strings.Cut(strings.TrimPrefix(again.GetAccessToken(), "at_"), ".")
		claims, err := base64.RawURLEncoding.DecodeString(payload)
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(string(claims), "|")
		if len(parts) != 3 {
			t.Fatalf("token payload %q", claims)
		}
		parts[2] = strconv.FormatInt(again.GetExpireTime().AsTime().Add(365*24*time.Hour).Unix(), 10)
		tampered := "at_" + base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, "|"))) + "." + sig
		refusals := []struct {
			name   string
			h      http.Header
			reason string
		}{
			{"basic key", headers("Authorization", ts.firstKeyAuth()), "AUTH_METHOD_MISMATCH"},
			{"bearer token", fresh, "AUTH_METHOD_MISMATCH"},
			{"admin token", headers("Authorization", ts.adminAuth()), "AUTH_METHOD_MISMATCH"},
			{"garbage token", headers("Authorization", bearer("at_garbage.garbage")), "TOKEN_INVALID"},
			{"tampered token", headers("Authorization", bearer(tampered)), "TOKEN_INVALID"},
		}
		for _, c := range refusals {
			for _, sf := range surfaces {
				t.Run(c.name+"/"+sf.name, func(t *testing.T) {
					wantRefusal(t, sf.call(t, ts, createAccessToken(), c.h), connect.CodeUnauthenticated, c.reason)
				})
			}
		}
		// Asking with the wrong credentials changed nothing.
		still := mustOK[*paymuxv1.CreateAccessTokenResponse](t, callConnect(t, ts, createAccessToken(), bBasic))
		if still.GetAccessToken() != again.GetAccessToken() {
			t.Fatal("the token in force changed")
		}
	})
}

// TestKeyExpiry: a key with an expire_time works until then, by the
// server's clock; an expire_time in the past is refused at creation.
func TestKeyExpiry(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		expire := time.Now().Add(time.Hour).Truncate(time.Second)
		k := newKey(t, ts, "expiring", paymuxv1.AuthMethod_AUTH_METHOD_BASIC, paymuxv1.Mode_MODE_TEST, timestamppb.New(expire))
		if !k.GetKey().GetExpireTime().AsTime().Equal(expire) {
			t.Fatalf("expire_time %v, want %v", k.GetKey().GetExpireTime().AsTime(), expire)
		}
		if got := readKey(t, ts, k.GetKey().GetId()); !got.GetExpireTime().AsTime().Equal(expire) {
			t.Fatalf("GetKey: expire_time %v, want %v", got.GetExpireTime().AsTime(), expire)
		}
		for _, sf := range surfaces {
			mustOK[*paymuxv1.ListKeysResponse](t, sf.call(t, ts, listKeys(""), headers("Authorization", keyAuth(k))))
		}
		ts.Clock.Advance(2 * time.Hour)
		for _, sf := range surfaces {
			wantRefusal(t, sf.call(t, ts, listKeys(""), headers("Authorization", keyAuth(k))), connect.CodeUnauthenticated, "KEY_EXPIRED")
			mustOK[*paymuxv1.ListKeysResponse](t, sf.call(t, ts, listKeys(""), headers("Authorization", ts.firstKeyAuth())))
		}

		past := keyRequest(ts.First.StoreID, "past", paymuxv1.Mode_MODE_TEST, paymuxv1.AuthMethod_AUTH_METHOD_BASIC)
		past.ExpireTime = timestamppb.New(time.Now().Add(-time.Minute))
		wantInvalidEverywhere(t, ts, createKey(past), headers("Authorization", ts.adminAuth()), "expire_time")
		if got := keyIDs(t, ts, ts.First.StoreID); len(got) != 2 {
			t.Fatalf("%d keys after the refused create, want 2", len(got))
		}
	})
}

// TestKeyExpireTimeRoundTrip: the expire_time CreateKey answers is the one
// stored, the one GetKey and ListKeys show and the one authentication
// enforces, also for a time finer than the database keeps (PostgreSQL keeps
// microseconds; every other stored time is truncated to them before it is
// written for this reason).
func TestKeyExpireTimeRoundTrip(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		expire := time.Now().Add(time.Hour).Truncate(time.Second).Add(123456789 * time.Nanosecond)
		created := newKey(t, ts, "fine expiry", paymuxv1.AuthMethod_AUTH_METHOD_BASIC, paymuxv1.Mode_MODE_TEST, timestamppb.New(expire)).GetKey()
		got := readKey(t, ts, created.GetId())
		list := mustOK[*paymuxv1.ListKeysResponse](t, callConnect(t, ts, listKeys(ts.First.StoreID), headers("Authorization", ts.adminAuth())))
		i := slices.IndexFunc(list.GetKeys(), func(k *paymuxv1.Key) bool { return k.GetId() == created.GetId() })
		if i < 0 {
			t.Fatal("created key not listed")
		}
		c, g, l := created.GetExpireTime().AsTime(), got.GetExpireTime().AsTime(), list.GetKeys()[i].GetExpireTime().AsTime()
		if !c.Equal(g) || !c.Equal(l) {
			t.Fatalf("expire_time: CreateKey answered %v, GetKey shows %v, ListKeys %v", c, g, l)
		}
		if !proto.Equal(created, got) {
			t.Fatalf("CreateKey answered %v, GetKey shows %v", created, got)
		}
	})
}

// TestKeyMode: a TEST key manages TEST keys only; the administrator and a
// LIVE key may make LIVE keys.
func TestKeyMode(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		testKey := headers("Authorization", ts.firstKeyAuth())
		liveOwn := createKey(keyRequest("", "live", paymuxv1.Mode_MODE_LIVE, paymuxv1.AuthMethod_AUTH_METHOD_BASIC))
		liveNamed := createKey(keyRequest(ts.First.StoreID, "live", paymuxv1.Mode_MODE_LIVE, paymuxv1.AuthMethod_AUTH_METHOD_BASIC))
		for _, sf := range surfaces {
			wantRefusal(t, sf.call(t, ts, liveOwn, testKey), connect.CodePermissionDenied, "KEY_MODE_NOT_ALLOWED")
			wantRefusal(t, sf.call(t, ts, liveNamed, testKey), connect.CodePermissionDenied, "KEY_MODE_NOT_ALLOWED")
		}
		if got := keyIDs(t, ts, ts.First.StoreID); len(got) != 1 {
			t.Fatalf("refused LIVE creates left %d keys, want 1", len(got))
		}

		tk := mustOK[*paymuxv1.CreateKeyResponse](t, callConnect(t, ts, createKey(keyRequest("", "test", paymuxv1.Mode_MODE_TEST, paymuxv1.AuthMethod_AUTH_METHOD_BASIC)), testKey))
		if tk.GetKey().GetMode() != paymuxv1.Mode_MODE_TEST || !strings.HasPrefix(tk.GetSecretKey(), "sk_test_") {
			t.Fatalf("TEST key made %v", tk)
		}
		live := mustOK[*paymuxv1.CreateKeyResponse](t, callConnect(t, ts, liveNamed, headers("Authorization", ts.adminAuth())))
		if live.GetKey().GetMode() != paymuxv1.Mode_MODE_LIVE || !strings.HasPrefix(live.GetSecretKey(), "sk_live_") ||
			!strings.HasPrefix(live.GetKey().GetClientKey(), "ck_live_") || !strings.HasPrefix(live.GetKey().GetSecretKeyPrefix(), "sk_live_") {
			t.Fatalf("admin made %v", live)
		}
		liveID := live.GetKey().GetId()
		for _, sf := range surfaces {
			wantRefusal(t, sf.call(t, ts, reissueKey(liveID), testKey), connect.CodePermissionDenied, "KEY_MODE_NOT_ALLOWED")
			wantRefusal(t, sf.call(t, ts, deleteKey(liveID), testKey), connect.CodePermissionDenied, "KEY_MODE_NOT_ALLOWED")
		}
		// Neither happened: the LIVE secret still works and the key is listed.
		mustOK[*paymuxv1.ListKeysResponse](t, callConnect(t, ts, listKeys(""), headers("Authorization", keyAuth(live))))
		if got := readKey(t, ts, liveID); !proto.Equal(got, live.GetKey()) {
			t.Fatalf("LIVE key changed: %v -> %v", live.GetKey(), got)
		}
		// A LIVE key may make both kinds.
		for _, mode := range []paymuxv1.Mode{paymuxv1.Mode_MODE_TEST, paymuxv1.Mode_MODE_LIVE} {
			got := mustOK[*paymuxv1.CreateKeyResponse](t, callConnect(t, ts, createKey(keyRequest("", "by live", mode, paymuxv1.AuthMethod_AUTH_METHOD_BASIC)), headers("Authorization", keyAuth(live))))
			if got.GetKey().GetMode() != mode {
				t.Fatalf("LIVE key asked for %v, made %v", mode, got.GetKey().GetMode())
			}
		}
	})
}

// TestKeyLastUsed: a call with a key shows, within the flush interval, as
// last_used_time and last_used_ip, here the loopback address the REST
// client called from (not the gateway hop's).
func TestKeyLastUsed(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		t.Parallel() // each waits for the 5 s usage flush
		ts := startServer(t, db)
		before := readKey(t, ts, ts.First.KeyID)
		if before.GetLastUsedTime() != nil || before.GetLastUsedIp() != "" {
			t.Fatalf("unused key shows a use: %v", before)
		}
		start := ts.Clock.Now().Add(-time.Millisecond)
		mustOK[*paymuxv1.ListKeysResponse](t, callREST(t, ts, listKeys(""), headers("Authorization", ts.firstKeyAuth())))
		end := ts.Clock.Now().Add(time.Millisecond)

		deadline := time.Now().Add(8 * time.Second)
		var got *paymuxv1.Key
		for {
			got = readKey(t, ts, ts.First.KeyID)
			if got.GetLastUsedTime() != nil || got.GetLastUsedIp() != "" || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if got.GetLastUsedIp() != "127.0.0.1" {
			t.Fatalf("last_used_ip %q, want 127.0.0.1", got.GetLastUsedIp())
		}
		if at := got.GetLastUsedTime().AsTime(); got.GetLastUsedTime() == nil || at.Before(start) || at.After(end) {
			t.Fatalf("last_used_time %v, want between %v and %v", got.GetLastUsedTime(), start, end)
		}
		// The administrator's calls are not a key's use.
		if other := readKey(t, ts, ts.First.KeyID); !proto.Equal(other, got) {
			t.Fatalf("key changed with admin reads: %v -> %v", got, other)
		}
	})
}

// TestCreateKeyBadInput: each invalid request names its fields, on every
// surface, and creates nothing.
func TestCreateKeyBadInput(t *testing.T) {
	ts := startServer(t, openSQLite(t))
	cases := []struct {
		name   string
		edit   func(r *paymuxv1.CreateKeyRequest)
		fields []string
	}{
		{"no name", func(r *paymuxv1.CreateKeyRequest) { r.Name = "" }, []string{"name"}},
		{"name too long", func(r *paymuxv1.CreateKeyRequest) { r.Name = strings.Repeat("n", 101) }, []string{"name"}},
		{"mode unspecified", func(r *paymuxv1.CreateKeyRequest) { r.Mode = paymuxv1.Mode_MODE_UNSPECIFIED }, []string{"mode"}},
		{"mode unknown", func(r *paymuxv1.CreateKeyRequest) { r.Mode = 99 }, []string{"mode"}},
		{"approval model unspecified", func(r *paymuxv1.CreateKeyRequest) { r.ApprovalModel = 0 }, []string{"approval_model"}},
		{"auth method unknown", func(r *paymuxv1.CreateKeyRequest) { r.AuthMethod = 7 }, []string{"auth_method"}},
		{"expire time in the past", func(r *paymuxv1.CreateKeyRequest) { r.ExpireTime = timestamppb.New(time.Now().Add(-time.Hour)) }, []string{"expire_time"}},
		{"everything missing", func(r *paymuxv1.CreateKeyRequest) { *r = paymuxv1.CreateKeyRequest{StoreId: r.StoreId} },
			[]string{"approval_model", "auth_method", "mode", "name"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := keyRequest(ts.First.StoreID, "valid", paymuxv1.Mode_MODE_TEST, paymuxv1.AuthMethod_AUTH_METHOD_BASIC)
			c.edit(req)
			wantInvalidEverywhere(t, ts, createKey(req), headers("Authorization", ts.adminAuth()), c.fields...)
			req.StoreId = ""
			wantInvalidEverywhere(t, ts, createKey(req), headers("Authorization", ts.firstKeyAuth()), c.fields...)
		})
	}
	if got := keyIDs(t, ts, ts.First.StoreID); !slices.Equal(got, []string{ts.First.KeyID}) {
		t.Fatalf("bad requests created keys: %v", got)
	}
}

// TestKeyStoreScoping: a store key acts on its own store (naming it is
// fine, naming another is STORE_MISMATCH); the administrator must name an
// existing store.
func TestKeyStoreScoping(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		admin := headers("Authorization", ts.adminAuth())
		key := headers("Authorization", ts.firstKeyAuth())
		other := newStore(t, ts, "other", "").GetId()
		valid := func(storeID string) rpc {
			return createKey(keyRequest(storeID, "scoped", paymuxv1.Mode_MODE_TEST, paymuxv1.AuthMethod_AUTH_METHOD_BASIC))
		}

		for _, sf := range surfaces {
			list := mustOK[*paymuxv1.ListKeysResponse](t, sf.call(t, ts, listKeys(ts.First.StoreID), key))
			if len(list.GetKeys()) != 1 || list.GetKeys()[0].GetId() != ts.First.KeyID {
				t.Fatalf("%s: own store_id: %v", sf.name, list)
			}
		}
		own := mustOK[*paymuxv1.CreateKeyResponse](t, callConnect(t, ts, valid(ts.First.StoreID), key))
		if own.GetKey().GetStoreId() != ts.First.StoreID {
			t.Fatalf("key made in %s", own.GetKey().GetStoreId())
		}

		for _, storeID := range []string{other, "st_doesnotexist"} {
			for _, r := range []rpc{listKeys(storeID), valid(storeID)} {
				for _, sf := range surfaces {
					wantRefusal(t, sf.call(t, ts, r, key), connect.CodePermissionDenied, "STORE_MISMATCH")
				}
			}
		}
		for _, r := range []rpc{listKeys(""), valid("")} {
			wantInvalidEverywhere(t, ts, r, admin, "store_id")
		}
		for _, r := range []rpc{listKeys("st_doesnotexist"), valid("st_doesnotexist")} {
			for _, sf := range surfaces {
				wantRefusal(t, sf.call(t, ts, r, admin), connect.CodeNotFound, "STORE_NOT_FOUND")
			}
		}
		if got := keyIDs(t, ts, other); len(got) != 0 {
			t.Fatalf("the other store got keys: %v", got)
		}
		if got := keyIDs(t, ts, ts.First.StoreID); len(got) != 2 {
			t.Fatalf("own store has %d keys, want 2", len(got))
		}
	})
}
