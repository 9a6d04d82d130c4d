package server_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/channel"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/tenant"
)

const channelSecret = "site-key-Vq93kLm2"

func sandboxChannel(storeID, name string) *paymuxv1.CreateChannelRequest {
	return &paymuxv1.CreateChannelRequest{
		StoreId: storeID, Provider: paymuxv1.Provider_PROVIDER_SANDBOX, Mode: paymuxv1.Mode_MODE_TEST,
		Name: name, Purpose: paymuxv1.ChannelPurpose_CHANNEL_PURPOSE_PAYMENT, MerchantId: "sandbox-mid",
		TaxType: paymuxv1.TaxType_TAX_TYPE_TAXABLE, Secrets: map[string]string{"site_key": channelSecret},
	}
}

// TestChannelLifecycle: create, list, get, update and delete on every
// surface; the first channel of a mode and purpose is its default; the
// default moves and guards deletion; secrets are never returned.
func TestChannelLifecycle(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		dropFirstChannel(t, ts)
		key := headers("Authorization", ts.firstKeyAuth())
		for _, sf := range surfaces {
			first := mustOK[*paymuxv1.CreateChannelResponse](t, sf.call(t, ts, createChannel(sandboxChannel("", "main "+sf.name)), key)).GetChannel()
			second := mustOK[*paymuxv1.CreateChannelResponse](t, sf.call(t, ts, createChannel(sandboxChannel("", "spare "+sf.name)), key)).GetChannel()
			for _, c := range []*paymuxv1.Channel{first, second} {
				raw, _ := protojson.Marshal(c)
				if strings.Contains(string(raw), channelSecret) {
					t.Fatalf("%s: a channel shows its secret: %s", sf.name, raw)
				}
				if !slices.Equal(c.GetSecretNames(), []string{"notification_secret", "site_key"}) {
					t.Fatalf("%s: secret names %q", sf.name, c.GetSecretNames())
				}
			}
			if !first.GetDefault() || second.GetDefault() {
				t.Fatalf("%s: only the first channel is the default: %v / %v", sf.name, first.GetDefault(), second.GetDefault())
			}
			wantRefusal(t, sf.call(t, ts, deleteChannel(first.GetId()), key), connect.CodeFailedPrecondition, "CHANNEL_IS_DEFAULT")

			moved := mustOK[*paymuxv1.UpdateChannelResponse](t, sf.call(t, ts, updateChannel(&paymuxv1.UpdateChannelRequest{
				Id: second.GetId(), Default: true, Name: "now main", Secrets: map[string]string{"api_secret": "x"},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"default", "name", "secrets"}},
			}), key)).GetChannel()
			if !moved.GetDefault() || moved.GetName() != "now main" || !slices.Equal(moved.GetSecretNames(), []string{"api_secret", "notification_secret"}) {
				t.Fatalf("%s: after update: %v", sf.name, moved)
			}
			got := mustOK[*paymuxv1.GetChannelResponse](t, sf.call(t, ts, getChannel(first.GetId()), key)).GetChannel()
			if got.GetDefault() {
				t.Fatalf("%s: the old default kept its flag", sf.name)
			}
			mustOK[*paymuxv1.DeleteChannelResponse](t, sf.call(t, ts, deleteChannel(first.GetId()), key))
			mustOK[*paymuxv1.DeleteChannelResponse](t, sf.call(t, ts, deleteChannel(second.GetId()), key)) // the last one, default or not
			wantRefusal(t, sf.call(t, ts, getChannel(second.GetId()), key), connect.CodeNotFound, "CHANNEL_NOT_FOUND")
		}
	})
}

// TestChannelSecretsSealed: the secrets are stored only encrypted, bound to
// their channel, and decrypt with the master key.
func TestChannelSecretsSealed(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		dropFirstChannel(t, ts)
		key := headers("Authorization", ts.firstKeyAuth())
		a := mustOK[*paymuxv1.CreateChannelResponse](t, callConnect(t, ts, createChannel(sandboxChannel("", "a")), key)).GetChannel()
		b := mustOK[*paymuxv1.CreateChannelResponse](t, callConnect(t, ts, createChannel(sandboxChannel("", "b")), key)).GetChannel()
		sys := tenant.System(context.Background())
		rowA := db.Channel.GetX(sys, a.GetId())
		rowB := db.Channel.GetX(sys, b.GetId())
		if strings.Contains(string(rowA.SecretsSealed), channelSecret) {
			t.Fatal("the secret is stored in clear")
		}
		plain, err := ts.Keyring.Decrypt(rowA.SecretsSealed, []byte("channel:"+a.GetId()))
		if err != nil {
			t.Fatal(err)
		}
		var values map[string]string
		if err := json.Unmarshal(plain, &values); err != nil || values["site_key"] != channelSecret || len(values["notification_secret"]) < 32 {
			t.Fatalf("sealed secrets: %v, %v", values, err)
		}
		if _, err := ts.Keyring.Decrypt(rowA.SecretsSealed, []byte("channel:"+b.GetId())); err == nil {
			t.Fatal("a channel's ciphertext decrypts as another channel's")
		}
		if rowA.Default == rowB.Default {
			t.Fatal("exactly one of two channels is the default")
		}
	})
}

// TestChannelModes: the sandbox serves TEST only; a TEST key neither creates
// nor sees LIVE channels; a LIVE key sees both.
func TestChannelModes(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		dropFirstChannel(t, ts)
		testKey := headers("Authorization", ts.firstKeyAuth())
		live := sandboxChannel("", "live")
		live.Mode = paymuxv1.Mode_MODE_LIVE
		wantRefusal(t, callConnect(t, ts, createChannel(live), testKey), connect.CodePermissionDenied, "KEY_MODE_NOT_ALLOWED")
		live.StoreId = ts.First.StoreID
		wantInvalid(t, callConnect(t, ts, createChannel(live), headers("Authorization", ts.adminAuth())), "mode")

		// A LIVE channel of a future provider, put in place directly.
		liveRow := db.Channel.Create().SetStoreID(ts.First.StoreID).SetProvider(channel.ProviderSANDBOX).
			SetMode(channel.ModeLIVE).SetPurpose(channel.PurposePAYMENT).SetName("live").SetMerchantID("m").
			SetTaxType(channel.TaxTypeTAXABLE).SetCreatedAt(time.Now()).SaveX(tenant.System(context.Background()))
		testRow := mustOK[*paymuxv1.CreateChannelResponse](t, callConnect(t, ts, createChannel(sandboxChannel("", "test")), testKey)).GetChannel()
		liveKey := headers("Authorization", liveKeyAuth(t, ts))
		for _, sf := range surfaces {
			wantRefusal(t, sf.call(t, ts, getChannel(liveRow.ID), testKey), connect.CodeNotFound, "CHANNEL_NOT_FOUND")
			wantRefusal(t, sf.call(t, ts, deleteChannel(liveRow.ID), testKey), connect.CodeNotFound, "CHANNEL_NOT_FOUND")
			seen := mustOK[*paymuxv1.ListChannelsResponse](t, sf.call(t, ts, listChannels(&paymuxv1.ListChannelsRequest{}), testKey))
			if len(seen.GetChannels()) != 1 || seen.GetChannels()[0].GetId() != testRow.GetId() {
				t.Fatalf("%s: a TEST key lists %v", sf.name, seen.GetChannels())
			}
			all := mustOK[*paymuxv1.ListChannelsResponse](t, sf.call(t, ts, listChannels(&paymuxv1.ListChannelsRequest{}), liveKey))
			if len(all.GetChannels()) != 2 {
				t.Fatalf("%s: a LIVE key lists %d channels, want 2", sf.name, len(all.GetChannels()))
			}
			onlyLive := mustOK[*paymuxv1.ListChannelsResponse](t, sf.call(t, ts, listChannels(&paymuxv1.ListChannelsRequest{Mode: paymuxv1.Mode_MODE_LIVE}), liveKey))
			if len(onlyLive.GetChannels()) != 1 || onlyLive.GetChannels()[0].GetId() != liveRow.ID {
				t.Fatalf("%s: mode filter: %v", sf.name, onlyLive.GetChannels())
			}
		}
	})
}

// TestChannelIsolationAndInput: another store's channel does not exist for
// this store's keys; bad input names its fields and writes nothing.
func TestChannelIsolationAndInput(t *testing.T) {
	ts := startServer(t, openSQLite(t))
	dropFirstChannel(t, ts)
	admin := headers("Authorization", ts.adminAuth())
	other := newStore(t, ts, "other", "")
	theirs := mustOK[*paymuxv1.CreateChannelResponse](t, callConnect(t, ts, createChannel(sandboxChannel(other.GetId(), "theirs")), admin)).GetChannel()
	key := headers("Authorization", ts.firstKeyAuth())
	for _, sf := range surfaces {
		wantRefusal(t, sf.call(t, ts, getChannel(theirs.GetId()), key), connect.CodeNotFound, "CHANNEL_NOT_FOUND")
		wantRefusal(t, sf.call(t, ts, updateChannel(&paymuxv1.UpdateChannelRequest{Id: theirs.GetId(), Name: "x",
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}}), key), connect.CodeNotFound, "CHANNEL_NOT_FOUND")
		wantRefusal(t, sf.call(t, ts, deleteChannel(theirs.GetId()), key), connect.CodeNotFound, "CHANNEL_NOT_FOUND")
		wantRefusal(t, sf.call(t, ts, createChannel(sandboxChannel(other.GetId(), "into theirs")), key), connect.CodePermissionDenied, "STORE_MISMATCH")

		bad := sandboxChannel("", "")
		bad.Provider = paymuxv1.Provider_PROVIDER_UNSPECIFIED
		bad.Secrets = map[string]string{"Bad-Name": "v"}
		wantInvalid(t, sf.call(t, ts, createChannel(bad), key), "name", "provider", `secrets["Bad-Name"]`)
	}
	if n := len(mustOK[*paymuxv1.ListChannelsResponse](t, callConnect(t, ts, listChannels(&paymuxv1.ListChannelsRequest{}), key)).GetChannels()); n != 0 {
		t.Fatalf("refused creates left %d channels", n)
	}
}

// dropFirstChannel deletes the sandbox channel the first run made, for tests
// that count a store's channels from none.
func dropFirstChannel(t testing.TB, ts *testServer) {
	t.Helper()
	mustOK[*paymuxv1.DeleteChannelResponse](t, callConnect(t, ts, deleteChannel(ts.First.ChannelID), headers("Authorization", ts.adminAuth())))
}
