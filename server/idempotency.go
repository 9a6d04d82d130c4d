package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/idempotencyrecord"
	"github.com/paymux/paymux/tenant"
)

// idempotencyKeyHeader carries a client's key for a mutating call: the REST
// header, and the gRPC / Connect metadata of the same name.
const idempotencyKeyHeader = "Idempotency-Key"

const (
	reasonIdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED"
	reasonIdempotencyKeyInUse  = "IDEMPOTENCY_KEY_IN_USE"
	maxIdempotencyKeyLen       = 255
	// idempotencyLease is how long a call holds its key; a retry after it
	// ran out (the first call's process died) runs the call again.
	idempotencyLease = 5 * time.Minute
)

// withIdempotency makes every mutating method honour Idempotency-Key
// (DOMAIN §12): the same key with the same request answers the stored first
// response; with another request, IDEMPOTENCY_KEY_REUSED; while the first
// call runs, IDEMPOTENCY_KEY_IN_USE (409). Keys are kept in the database,
// per store, for payments.idempotency_ttl. Errors that say "try again"
// (unavailable, aborted, internal...) are not kept, so a retry runs again.
func (s *Server) withIdempotency(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		key := req.Header().Get(idempotencyKeyHeader)
		if key == "" || !s.mutating[req.Spec().Procedure] {
			return next(ctx, req)
		}
		if len(key) > maxIdempotencyKeyLen {
			return nil, apierr.InvalidField(idempotencyKeyHeader, "at most %d characters", maxIdempotencyKeyLen)
		}
		msg, ok := req.Any().(proto.Message)
		if !ok {
			return next(ctx, req)
		}
		body, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
		if err != nil {
			return nil, fmt.Errorf("idempotency: hash request: %w", err)
		}
		sum := sha256.Sum256(append([]byte(req.Spec().Procedure+"\x00"), body...))
		scope := "admin"
		if p := callFrom(ctx).Principal; p.Key != nil {
			scope = p.Key.StoreID
		}
		sys := tenant.System(ctx)
		rec, replay, err := s.claimIdempotencyKey(sys, scope, key, req.Spec().Procedure, sum[:])
		if err != nil {
			return nil, err
		}
		if replay {
			return replayResponse(req.Spec().Schema, rec)
		}

		res, callErr := next(ctx, req)
		// The outcome is stored whatever the client does now.
		sys = context.WithoutCancel(sys)
		if callErr == nil {
			out, err := proto.Marshal(res.Any().(proto.Message))
			if err == nil {
				err = s.db.IdempotencyRecord.UpdateOne(rec).SetState(idempotencyrecord.StateDONE).SetResponse(out).Exec(sys)
			}
			if err != nil {
				s.log.ErrorContext(ctx, "idempotency: store response", "key_scope", scope, "error", err)
			}
			return res, nil
		}
		if keep, stored := storableError(s.toAPIError(ctx, callErr)); keep {
			err = s.db.IdempotencyRecord.UpdateOne(rec).SetState(idempotencyrecord.StateDONE).SetError(stored).Exec(sys)
		} else {
			err = s.db.IdempotencyRecord.DeleteOne(rec).Exec(sys)
		}
		if err != nil {
			s.log.ErrorContext(ctx, "idempotency: store error", "key_scope", scope, "error", err)
		}
		return nil, callErr
	}
}

// claimIdempotencyKey takes the key for this call, or returns the record
// to replay. Its transaction makes "read, then insert or take over" one step.
func (s *Server) claimIdempotencyKey(ctx context.Context, scope, key, procedure string, hash []byte) (rec *ent.IdempotencyRecord, replay bool, err error) {
	now := s.clock()
	err = inTx(ctx, s.db, func(tx *ent.Tx) error {
		old, err := tx.IdempotencyRecord.Query().
			Where(idempotencyrecord.Scope(scope), idempotencyrecord.Key(key)).
			Modify(forUpdate).Only(ctx)
		switch {
		case ent.IsNotFound(err):
			rec, err = tx.IdempotencyRecord.Create().
				SetScope(scope).SetKey(key).SetProcedure(procedure).SetRequestHash(hash).
				SetState(idempotencyrecord.StateIN_PROGRESS).
				SetLeaseUntil(now.Add(idempotencyLease)).
				SetExpiresAt(now.Add(s.cfg.Payments.IdempotencyTTL)).
				Save(ctx)
			return err
		case err != nil:
			return err
		case old.ExpiresAt.Before(now):
			// Forgotten: start over under the same key.
			rec, err = old.Update().SetProcedure(procedure).SetRequestHash(hash).
				SetState(idempotencyrecord.StateIN_PROGRESS).ClearResponse().ClearError().
				SetLeaseUntil(now.Add(idempotencyLease)).SetExpiresAt(now.Add(s.cfg.Payments.IdempotencyTTL)).
				Save(ctx)
			return err
		case old.Procedure != procedure || !bytes.Equal(old.RequestHash, hash):
			return apierr.New(connect.CodeInvalidArgument, reasonIdempotencyKeyReused,
				"Idempotency-Key %q was used with a different request; use a new key for a new request", key)
		case old.State == idempotencyrecord.StateDONE:
			rec, replay = old, true
			return nil
		case old.LeaseUntil.After(now):
			return apierr.New(connect.CodeAborted, reasonIdempotencyKeyInUse,
				"a request with Idempotency-Key %q is still being processed; retry later", key)
		default:
			rec, err = old.Update().SetLeaseUntil(now.Add(idempotencyLease)).Save(ctx)
			return err
		}
	})
	if ent.IsConstraintError(err) {
		// Another call inserted the key between our read and insert.
		return nil, false, apierr.New(connect.CodeAborted, reasonIdempotencyKeyInUse,
			"a request with Idempotency-Key %q is still being processed; retry later", key)
	}
	return rec, replay, err
}

// replayResponse rebuilds the stored answer. The message is decoded as the
// method's output type without knowing its Go type; codecs only need a
// proto.Message.
func replayResponse(schema any, rec *ent.IdempotencyRecord) (connect.AnyResponse, error) {
	if rec.Error != nil {
		st := &status.Status{}
		if err := proto.Unmarshal(rec.Error, st); err != nil {
			return nil, fmt.Errorf("idempotency: stored error: %w", err)
		}
		ce := connect.NewError(connect.Code(st.GetCode()), errors.New(st.GetMessage()))
		for _, d := range st.GetDetails() {
			detail, err := connect.NewErrorDetail(d)
			if err != nil {
				return nil, fmt.Errorf("idempotency: stored error detail: %w", err)
			}
			ce.AddDetail(detail)
		}
		return nil, ce
	}
	md, ok := schema.(protoreflect.MethodDescriptor)
	if !ok {
		return nil, errors.New("idempotency: method has no descriptor")
	}
	msg := dynamicpb.NewMessage(md.Output())
	if err := proto.Unmarshal(rec.Response, msg); err != nil {
		return nil, fmt.Errorf("idempotency: stored response: %w", err)
	}
	return connect.NewResponse(msg), nil
}

// storableError says whether an API error is a final answer to keep, and
// encodes it.
func storableError(err error) (bool, []byte) {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return false, nil
	}
	switch ce.Code() {
	case connect.CodeInvalidArgument, connect.CodeFailedPrecondition, connect.CodeNotFound,
		connect.CodeAlreadyExists, connect.CodePermissionDenied, connect.CodeOutOfRange:
	default:
		return false, nil
	}
	st := &status.Status{Code: int32(ce.Code()), Message: ce.Message()}
	for _, d := range ce.Details() {
		st.Details = append(st.Details, &anypb.Any{TypeUrl: "type.googleapis.com/" + d.Type(), Value: d.Bytes()})
	}
	b, err := proto.Marshal(st)
	if err != nil {
		return false, nil
	}
	return true, b
}
