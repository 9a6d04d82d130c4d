// Cancelling a payment: what the cancel form sends.
import { parseAmount } from "./format";

export type CancelForm = { full: boolean; amount: string; reason: string };

export type CancelPlan =
  | { ok: true; amount: bigint | undefined; reason: string; guard: bigint }
  | { ok: false; problem: "amount" | "tooMuch" | "reason" | "nothing" };

/**
 * planCancel checks a cancel against what is still cancellable. A full cancel
 * sends no amount; every cancel sends the cancellable amount as a guard, so a
 * retried request cannot cancel twice.
 */
export function planCancel(f: CancelForm, cancellable: bigint): CancelPlan {
  if (cancellable <= 0n) return { ok: false, problem: "nothing" };
  const reason = f.reason.trim();
  if (reason === "") return { ok: false, problem: "reason" };
  if (f.full) return { ok: true, amount: undefined, reason, guard: cancellable };
  const a = parseAmount(f.amount);
  if (a === undefined) return { ok: false, problem: "amount" };
  if (a > cancellable) return { ok: false, problem: "tooMuch" };
  return { ok: true, amount: a === cancellable ? undefined : a, reason, guard: cancellable };
}
