package payment

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/channel"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/tenant"
)

// Channel is a channel ready to call: its row, its decrypted form for the
// adapter, and the adapter.
type Channel struct {
	Row *ent.Channel
	PG  providers.Channel
	API providers.Provider
}

// ChannelForNew picks the channel a new payment goes through: the one
// named, or the store's default payment channel of the acting key's mode.
func (s *Service) ChannelForNew(ctx context.Context, id string) (*Channel, error) {
	return s.channelForNew(ctx, id, false)
}

// channelForNew is ChannelForNew; keepArchived lets an archived channel
// through, for the charges of a billing key it issued.
func (s *Service) channelForNew(ctx context.Context, id string, keepArchived bool) (*Channel, error) {
	v, _ := tenant.FromContext(ctx)
	mode := channel.ModeTEST
	if v.KeyMode == string(channel.ModeLIVE) {
		mode = channel.ModeLIVE
	}
	var row *ent.Channel
	var err error
	if id != "" {
		row, err = s.db.Channel.Query().Where(channel.ID(id)).Only(ctx)
		if ent.IsNotFound(err) {
			return nil, apierr.New(apierr.CodeNotFound, apierr.ReasonChannelNotFound, "channel %s not found", id)
		}
	} else {
		row, err = s.db.Channel.Query().
			Where(channel.ModeEQ(mode), channel.PurposeEQ(channel.PurposePAYMENT), channel.Default(true)).
			First(ctx)
		if ent.IsNotFound(err) {
			return nil, apierr.New(apierr.CodeFailedPrecondition, ReasonNoDefaultChannel,
				"the store has no %s payment channel: create one with POST /v1/channels", mode)
		}
	}
	if err != nil {
		return nil, err
	}
	if row.ArchivedAt != nil && !keepArchived {
		return nil, apierr.New(apierr.CodeFailedPrecondition, ReasonChannelArchived,
			"channel %s was deleted and is archived: it serves only what it made; pay through another channel", row.ID)
	}
	if row.Purpose != channel.PurposePAYMENT {
		return nil, apierr.InvalidField("channel_id", "channel %s is for %s, not payments", row.ID, row.Purpose)
	}
	if v.KeyMode != "" && v.KeyMode != string(row.Mode) {
		return nil, apierr.New(apierr.CodePermissionDenied, ReasonChannelModeMismatch,
			"a %s key pays only through %s channels; channel %s is %s", v.KeyMode, v.KeyMode, row.ID, row.Mode)
	}
	return s.OpenChannel(row)
}

// channelOf returns the channel a payment was made through.
// A bank transfer has none: its cash receipts go through receiptChannel.
func (s *Service) channelOf(ctx context.Context, p *ent.Payment) (*Channel, error) {
	if p.Method == payment.MethodBANK_TRANSFER {
		return s.receiptChannel(ctx, p)
	}
	return s.ChannelByID(ctx, p.ChannelID)
}

// ChannelByID opens a channel by id (cached), for a payment's or a billing
// key's work.
func (s *Service) ChannelByID(ctx context.Context, id string) (*Channel, error) {
	if ch := s.channels.get(id); ch != nil {
		return ch, nil
	}
	row, err := s.db.Channel.Get(tenant.System(ctx), id)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.CodeFailedPrecondition, apierr.ReasonChannelNotFound, "channel %s was deleted", id)
	}
	if err != nil {
		return nil, err
	}
	ch, err := s.OpenChannel(row)
	if err != nil {
		return nil, err
	}
	s.channels.put(ch)
	return ch, nil
}

// ForgetChannels drops every cached channel; called on any channel change.
func (s *Service) ForgetChannels() { s.channels.forget() }

// OpenChannel makes a channel row ready to call: its secrets decrypted and
// its adapter wrapped for the call log.
func (s *Service) OpenChannel(row *ent.Channel) (*Channel, error) {
	api, ok := s.providers[strings.ToLower(string(row.Provider))]
	if !ok {
		return nil, fmt.Errorf("channel %s: no adapter for provider %s", row.ID, row.Provider)
	}
	values := map[string]string{}
	if len(row.SecretsSealed) > 0 {
		plain, err := s.keyring.Decrypt(row.SecretsSealed, []byte("channel:"+row.ID))
		if err != nil {
			return nil, fmt.Errorf("channel %s secrets: %w", row.ID, err)
		}
		if err := json.Unmarshal(plain, &values); err != nil {
			return nil, fmt.Errorf("channel %s secrets: %w", row.ID, err)
		}
	}
	if s.wrap != nil {
		api = s.wrap(api, row.StoreID)
	}
	return &Channel{
		Row: row,
		API: api,
		PG:  providers.Channel{ID: row.ID, MerchantID: row.MerchantID, Mode: providers.Mode(row.Mode), Secrets: values},
	}, nil
}

// channelCache keeps opened channels for a short time (auth_cache_ttl):
// every charge and cancel needs its channel, which changes rarely. A change
// made through this process empties it at once; one made through another
// replica applies within the TTL, as for keys.
type channelCache struct {
	mu  sync.Mutex
	ttl time.Duration
	now func() time.Time
	m   map[string]cachedChannel
}

type cachedChannel struct {
	ch      *Channel
	fetched time.Time
}

func newChannelCache(ttl time.Duration, now func() time.Time) *channelCache {
	return &channelCache{ttl: ttl, now: now, m: map[string]cachedChannel{}}
}

func (c *channelCache) get(id string) *Channel {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || c.now().Sub(e.fetched) >= c.ttl {
		return nil
	}
	return e.ch
}

func (c *channelCache) put(ch *Channel) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= 10_000 { // bounded: start over rather than grow
		clear(c.m)
	}
	c.m[ch.Row.ID] = cachedChannel{ch: ch, fetched: c.now()}
}

func (c *channelCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}
