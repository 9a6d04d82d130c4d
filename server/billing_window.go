package server

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/billing"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
)

func (s *billingService) CreateBillingKeyWindow(ctx context.Context, req *connect.Request[paymuxv1.CreateBillingKeyWindowRequest]) (*connect.Response[paymuxv1.CreateBillingKeyWindowResponse], error) {
	m := req.Msg
	ctx, storeID, err := s.actingStore(ctx, m.GetStoreId())
	if err != nil {
		return nil, err
	}
	k, win, err := s.billing.CreateWindow(ctx, billing.WindowInput{
		KeyInput:  keyInputOf(storeID, m.GetId(), m.GetChannelId(), m.GetCustomer()),
		ReturnURL: m.GetReturnUrl(),
	})
	if err != nil {
		return nil, err
	}
	res := &paymuxv1.CreateBillingKeyWindowResponse{
		BillingKey: toBillingKeyPB(k, 0),
		Window:     &paymuxv1.Window{CheckoutUrl: win.RedirectURL, SdkUrl: win.SDKURL, Params: win.Params},
	}
	if !win.ExpiresAt.IsZero() {
		res.Window.ExpireTime = timestamppb.New(win.ExpiresAt)
	}
	return connect.NewResponse(res), nil
}
