package server

import (
	"context"
	"net/netip"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/console"
)

// call is what the policy chain learns about one request, filled in step by
// step: request id, then client address, then who is calling.
type call struct {
	RequestID  string
	ClientIP   netip.Addr
	ViaGateway bool // arrived over REST through the in-process gateway hop
	Principal  account.Principal
	// ConsoleSession is the web console session a console call came with,
	// as the chain found it.
	ConsoleSession *console.Session
	// ActingStoreID is the store an administrator's call named (actingStore),
	// so its log record belongs to that store.
	ActingStoreID string
}

type callKey struct{}

func withCall(ctx context.Context, c *call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

// callFrom returns the request's call state. Every handler runs behind the
// chain, so it is always there; the zero value keeps a misuse harmless.
func callFrom(ctx context.Context) *call {
	if c, ok := ctx.Value(callKey{}).(*call); ok {
		return c
	}
	return &call{}
}

// gatewayHopKey marks connections accepted on the in-process listener that
// the REST gateway dials.
type gatewayHopKey struct{}

func viaGatewayHop(ctx context.Context) bool {
	v, _ := ctx.Value(gatewayHopKey{}).(bool)
	return v
}
