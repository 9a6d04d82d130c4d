package server

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	paymentsvc "github.com/paymux/paymux/payment"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
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
	// idempotencyLease is how long a call holds its key at least (see
	// leaseFor); a retry after it
	// ran out (the first call's process died) runs the call again.
	idempotencyLease = 5 * time.Minute
)

// withIdempotency makes every mutating method honour Idempotency-Key
// (DOMAIN §12): the same key with the same request answers the stored first
// response; with another request, IDEMPOTENCY_KEY_REUSED; while the first
// call runs, IDEMPOTENCY_KEY_IN_USE (409). Keys are kept in the database,
// per store, for payments.idempotency_ttl. Errors that say "try again"
// (unavailable, aborted, internal...) are not kept, so a retry runs again;
// except PG_OUTCOME_UNKNOWN (see storableError).
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
		// The key is the store's, but what a call does also depends on the
		// key that makes it (its mode picks TEST or LIVE channels and may
		// refuse LIVE changes; its approval model is a default): a call
		// from a key of another mode or model is another request, so a
		// TEST key is never answered what a LIVE key did.
		// A console user's key is their own, in the store they act on.
		scope, caller := "admin", "admin"
		switch p := callFrom(ctx).Principal; {
		case p.Key != nil:
			scope, caller = p.Key.StoreID, string(p.Key.Mode)+"/"+string(p.Key.ApprovalModel)
		case p.User != nil:
			scope, caller = cmp.Or(p.User.StoreID, "admin"), fmt.Sprintf("user/%s/%t", p.User.ID, p.User.TestOnly)
		}
		hash := s.idempotencyRequestHash(req.Spec().Procedure, caller, body)
		sys := tenant.System(ctx)
		rec, replay, err := s.claimIdempotencyKey(sys, scope, key, req.Spec().Procedure, hash)
		if err != nil {
			return nil, err
		}
		if replay {
			return s.replayResponse(req.Spec().Schema, rec)
		}

		res, callErr := next(ctx, req)
		// The outcome is stored whatever the client does now.
		sys = context.WithoutCancel(sys)
		if callErr == nil {
			out, err := proto.Marshal(res.Any().(proto.Message))
			if err == nil {
				out, err = s.sealIdempotent(rec, out)
			}
			if err == nil {
				err = s.db.IdempotencyRecord.UpdateOne(rec).SetState(idempotencyrecord.StateDONE).SetResponse(out).Exec(sys)
			}
			if err != nil {
				s.log.ErrorContext(ctx, "idempotency: store response", "key_scope", scope, "error", err)
			}
			return res, nil
		}
		// Mapped here, once: what is stored is exactly what the client got.
		callErr = s.toAPIError(ctx, callErr)
		keep, stored := storableError(callErr)
		if keep {
			stored, err = s.sealIdempotent(rec, stored)
			keep = err == nil
		}
		if keep {
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
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		old, err := tx.IdempotencyRecord.Query().
			Where(idempotencyrecord.Scope(scope), idempotencyrecord.Key(key)).
			Modify(database.ForUpdate).Only(ctx)
		switch {
		case ent.IsNotFound(err):
			rec, err = tx.IdempotencyRecord.Create().
				SetScope(scope).SetKey(key).SetProcedure(procedure).SetRequestHash(hash).
				SetState(idempotencyrecord.StateIN_PROGRESS).
				SetLeaseUntil(now.Add(s.idempotencyLease())).
				SetExpiresAt(now.Add(s.cfg.Payments.IdempotencyTTL)).
				Save(ctx)
			return err
		case err != nil:
			return err
		case old.ExpiresAt.Before(now):
			// Forgotten: start over under the same key.
			rec, err = old.Update().SetProcedure(procedure).SetRequestHash(hash).
				SetState(idempotencyrecord.StateIN_PROGRESS).ClearResponse().ClearError().
				SetLeaseUntil(now.Add(s.idempotencyLease())).SetExpiresAt(now.Add(s.cfg.Payments.IdempotencyTTL)).
				Save(ctx)
			return err
		case old.Procedure != procedure || !bytes.Equal(old.RequestHash, hash):
			return apierr.New(apierr.CodeInvalidArgument, reasonIdempotencyKeyReused,
				"Idempotency-Key %q was used with a different request; use a new key for a new request", key)
		case old.State == idempotencyrecord.StateDONE:
			rec, replay = old, true
			return nil
		case old.LeaseUntil.After(now):
			return apierr.New(apierr.CodeAborted, reasonIdempotencyKeyInUse,
				"a request with Idempotency-Key %q is still being processed; retry later", key)
		default:
			rec, err = old.Update().SetLeaseUntil(now.Add(s.idempotencyLease())).Save(ctx)
			return err
		}
	})
	if ent.IsConstraintError(err) {
		// Another call inserted the key between our read and insert.
		return nil, false, apierr.New(apierr.CodeAborted, reasonIdempotencyKeyInUse,
			"a request with Idempotency-Key %q is still being processed; retry later", key)
	}
	return rec, replay, err
}

// idempotencyRequestHash names a request: the method, who calls (see
// withIdempotency) and the request. Keyed (HMAC with the master key's hash
// key), as the sandbox keys its fingerprints: a request can hold a whole
// card number, which an unkeyed hash next to the payment's BIN and last 4
// digits would give away to a brute force.
func (s *Server) idempotencyRequestHash(procedure, caller string, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString("paymux idempotency\x00")
	b.WriteString(procedure)
	b.WriteByte(0)
	b.WriteString(caller)
	b.WriteByte(0)
	b.Write(body)
	return s.keyring.HashSecret(b.String())
}

// idempotencyAAD binds a sealed answer to its record.
func idempotencyAAD(rec *ent.IdempotencyRecord) []byte {
	return []byte("idempotency:" + rec.Scope + "\x00" + rec.Key)
}

// sealIdempotent encrypts an answer to store: it may carry a secret shown
// once (CreateKey's secret key, an access token), which paymux otherwise
// only keeps hashed.
func (s *Server) sealIdempotent(rec *ent.IdempotencyRecord, plain []byte) ([]byte, error) {
	return s.keyring.Encrypt(plain, idempotencyAAD(rec))
}

// openIdempotent decrypts a stored answer. (A record stored before answers
// were sealed also had an unkeyed hash: it never matches, so it is never
// opened; a retry under its key is refused as reused until it expires.)
func (s *Server) openIdempotent(rec *ent.IdempotencyRecord, stored []byte) ([]byte, error) {
	plain, err := s.keyring.Decrypt(stored, idempotencyAAD(rec))
	if err != nil {
		return nil, fmt.Errorf("idempotency: open stored answer of key scope %s: %w", rec.Scope, err)
	}
	return plain, nil
}

// replayResponse rebuilds the stored answer. The message is decoded as the
// method's output type without knowing its Go type; codecs only need a
// proto.Message.
func (s *Server) replayResponse(schema any, rec *ent.IdempotencyRecord) (connect.AnyResponse, error) {
	if rec.Error != nil {
		raw, err := s.openIdempotent(rec, rec.Error)
		if err != nil {
			return nil, err
		}
		st := &status.Status{}
		if err := proto.Unmarshal(raw, st); err != nil {
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
	raw, err := s.openIdempotent(rec, rec.Response)
	if err != nil {
		return nil, err
	}
	msg := dynamicpb.NewMessage(md.Output())
	if err := proto.Unmarshal(raw, msg); err != nil {
		return nil, fmt.Errorf("idempotency: stored response: %w", err)
	}
	return connect.NewResponse(msg), nil
}

// storableError says whether an API error is a final answer to keep, and
// encodes it.
//
// PG_OUTCOME_UNKNOWN is kept although it is Unavailable: the call reached
// the PG, which may have acted, and paymux has already done its part (a
// cancel is held against the balance, a charge is PAY_PENDING) and settles
// it later. Run again, the call would start a second one: a second partial
// cancel refunds twice. A retry is told again to read the payment.
func storableError(err error) (bool, []byte) {
	var ce *connect.Error
	if !errors.As(connectError(err), &ce) {
		return false, nil
	}
	switch ce.Code() {
	case connect.CodeInvalidArgument, connect.CodeFailedPrecondition, connect.CodeNotFound,
		connect.CodeAlreadyExists, connect.CodePermissionDenied, connect.CodeOutOfRange:
	case connect.CodeUnavailable:
		if errorReason(ce) != paymentsvc.ReasonPGOutcomeUnknown {
			return false, nil
		}
	case connect.CodeInternal, connect.CodeUnknown:
		// Part of the call may be committed (a cancel held against the
		// balance, say): running it again could do it twice. The client
		// reads the resource and retries under a new key.
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

// idempotencyLease outlives any call: one call may make a few PG calls in a
// row (charge, lookup, net-cancel), each up to payments.pg_timeout.
func (s *Server) idempotencyLease() time.Duration {
	return max(idempotencyLease, 4*s.cfg.Payments.PGTimeout)
}

// PurgeIdempotency drops the Idempotency-Key records past their time.
func PurgeIdempotency(ctx context.Context, db *ent.Client, now time.Time) error {
	_, err := db.IdempotencyRecord.Delete().Where(idempotencyrecord.ExpiresAtLT(now)).Exec(ctx)
	return err
}
