// Building list requests from filter forms and the address bar, so a search
// can be linked and reloaded.
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { dateToKSTInput, kstInputToDate } from "./format";

/**
 * endTs is the end of a "to" filter: a datetime-local value names a minute,
 * and the API's end time is exclusive, so the whole minute is included.
 */
export function endTs(kstInput: string | undefined): Timestamp | undefined {
  if (!kstInput) return undefined;
  const d = kstInputToDate(kstInput);
  return d ? timestampFromDate(new Date(d.getTime() + 60_000)) : undefined;
}

/** ts turns a datetime-local value in KST into a Timestamp, or undefined. */
export function ts(kstInput: string | undefined): Timestamp | undefined {
  if (!kstInput) return undefined;
  const d = kstInputToDate(kstInput);
  return d ? timestampFromDate(d) : undefined;
}

export interface PaymentFilter {
  /** order number (merchant payment id), order name or customer name */
  query: string;
  status: string; // PaymentStatus number, "" for any
  method: string; // PayMethod number, "" for any
  from: string; // datetime-local, KST
  to: string;
}

export const emptyPaymentFilter: PaymentFilter = { query: "", status: "", method: "", from: "", to: "" };

function num(s: string): number | undefined {
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n > 0 ? n : undefined;
}

/** paymentFilterFromParams reads a payment search from the address bar. */
export function paymentFilterFromParams(p: URLSearchParams): PaymentFilter {
  return {
    query: p.get("q") ?? "",
    status: num(p.get("status") ?? "")?.toString() ?? "",
    method: num(p.get("method") ?? "")?.toString() ?? "",
    from: p.get("from") ?? "",
    to: p.get("to") ?? "",
  };
}

/** filterToParams writes a filter into the address bar, leaving out what is empty. */
export function filterToParams(f: Record<string, string>): URLSearchParams {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v.trim() !== "") p.set(k, v.trim());
  return p;
}

export function paymentFilterToParams(f: PaymentFilter): URLSearchParams {
  return filterToParams({ q: f.query, status: f.status, method: f.method, from: f.from, to: f.to });
}

/** listPaymentsRequest is ListPayments' request for a filter. */
export function listPaymentsRequest(storeId: string, f: PaymentFilter, pageToken = "", pageSize = 20) {
  const status = num(f.status);
  const method = num(f.method);
  return {
    storeId,
    query: f.query.trim(),
    statuses: status !== undefined ? [status] : [],
    methods: method !== undefined ? [method] : [],
    startTime: ts(f.from),
    endTime: endTs(f.to),
    pageSize,
    pageToken,
  };
}

export interface LogFilter {
  order: string; // merchant payment id
  code: string; // result code or reason
  method: string;
  result: string; // LogResult number
  from: string;
  to: string;
  paymentId: string;
}

export const emptyLogFilter: LogFilter = { order: "", code: "", method: "", result: "", from: "", to: "", paymentId: "" };

export function logFilterFromParams(p: URLSearchParams): LogFilter {
  return {
    order: p.get("order") ?? "",
    code: p.get("code") ?? "",
    method: p.get("method") ?? "",
    result: num(p.get("result") ?? "")?.toString() ?? "",
    from: p.get("from") ?? "",
    to: p.get("to") ?? "",
    paymentId: p.get("payment") ?? "",
  };
}

export function logFilterToParams(f: LogFilter): URLSearchParams {
  return filterToParams({
    order: f.order,
    code: f.code,
    method: f.method,
    result: f.result,
    from: f.from,
    to: f.to,
    payment: f.paymentId,
  });
}

/** listLogsRequest is ListLogs' request for a filter and log kind. */
export function listLogsRequest(storeId: string, kind: number, f: LogFilter, pageToken = "", pageSize = 50) {
  return {
    storeId,
    kind,
    merchantPaymentId: f.order.trim(),
    code: f.code.trim().toUpperCase(),
    method: f.method.trim(),
    result: num(f.result) ?? 0,
    paymentId: f.paymentId.trim(),
    startTime: ts(f.from),
    endTime: endTs(f.to),
    pageSize,
    pageToken,
  };
}

/** daysAgoInput is the datetime-local value (KST) of a time some days back. */
export function daysAgoInput(days: number, now = new Date()): string {
  return dateToKSTInput(new Date(now.getTime() - days * 86_400_000));
}

/** testOrderId makes a merchant payment id for a console test payment. */
export function testOrderId(now = new Date(), rand = Math.random): string {
  const d = dateToKSTInput(now).replace(/[-T:]/g, "");
  const r = Math.floor(rand() * 36 ** 4)
    .toString(36)
    .padStart(4, "0");
  return `console-test-${d}-${r}`;
}
