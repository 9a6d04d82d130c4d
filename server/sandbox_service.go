package server

import (
	"context"

	"connectrpc.com/connect"

	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
)

// sandboxService serves SandboxService: deposits into sandbox virtual
// accounts, for testing.
type sandboxService struct{ *Server }

func (s *sandboxService) SimulateDeposit(ctx context.Context, req *connect.Request[paymuxv1.SimulateDepositRequest]) (*connect.Response[paymuxv1.SimulateDepositResponse], error) {
	p, err := s.payments.SimulateDeposit(ctx, req.Msg.GetPaymentId(), req.Msg.GetAmount(), req.Msg.GetDepositorName())
	if err != nil {
		return nil, err
	}
	full, err := s.paymentPB(ctx, p)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.SimulateDepositResponse{Payment: full}), nil
}
