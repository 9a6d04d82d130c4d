// Webhook event types an endpoint may filter on (as paymux sends them).
export const paymentEventTypes = [
  "payment.ready",
  "payment.virtual_account_issued",
  "payment.pay_pending",
  "payment.paid",
  "payment.partial_cancelled",
  "payment.cancelled",
  "payment.failed",
  "payment.expired",
];
export const billingEventTypes = [
  "billing_key.issued",
  "billing_key.deleted",
  "billing.schedule.succeeded",
  "billing.schedule.failed",
];
export const depositEventTypes = ["deposit.received", "deposit.matched", "deposit.unmatched", "bank.transaction"];
export const allEventTypes = [...paymentEventTypes, ...billingEventTypes, ...depositEventTypes];

/** updateMaskFor lists the fields of an endpoint edit that changed. */
export function updateMaskFor<T extends Record<string, unknown>>(before: T, after: T, fields: Record<keyof T, string>): string[] {
  const out: string[] = [];
  for (const k of Object.keys(fields) as (keyof T)[]) {
    if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) out.push(fields[k]);
  }
  return out;
}
