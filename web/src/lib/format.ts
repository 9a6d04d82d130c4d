// Formatting of the API's values for people: money from int64 (bigint) without
// floats, times in KST with the zone marked, enum names without their prefix.
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampDate } from "@bufbuild/protobuf/wkt";

export type Lang = "ko" | "en";

/** groupDigits puts a comma every three digits of an integer's decimal string. */
export function groupDigits(digits: string): string {
  const neg = digits.startsWith("-");
  const d = neg ? digits.slice(1) : digits;
  let out = "";
  for (let i = 0; i < d.length; i++) {
    if (i > 0 && (d.length - i) % 3 === 0) out += ",";
    out += d[i];
  }
  return (neg ? "-" : "") + out;
}

/** toBigInt reads a whole amount from a bigint, a safe integer or a decimal string. */
export function toBigInt(v: bigint | number | string | undefined | null): bigint {
  if (v === undefined || v === null || v === "") return 0n;
  if (typeof v === "bigint") return v;
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw new RangeError(`not a whole amount: ${v}`);
    return BigInt(v);
  }
  const s = v.trim().replace(/,/g, "");
  if (!/^-?\d+$/.test(s)) throw new RangeError(`not a whole amount: ${v}`);
  return BigInt(s);
}

/**
 * formatMoney formats an amount in won: "129,000원" in Korean, "₩129,000" in
 * English. Other currencies show their code.
 */
export function formatMoney(
  amount: bigint | number | string | undefined | null,
  lang: Lang,
  currency = "KRW",
): string {
  const n = toBigInt(amount);
  const neg = n < 0n;
  const digits = groupDigits((neg ? -n : n).toString());
  const sign = neg ? "-" : "";
  if (currency !== "" && currency !== "KRW") return `${sign}${digits} ${currency}`;
  return lang === "ko" ? `${sign}${digits}원` : `${sign}₩${digits}`;
}

/**
 * parseAmount reads what a person typed as an amount ("12,000", "12000원")
 * into a positive bigint, or undefined when it is not a whole number of won.
 */
export function parseAmount(text: string): bigint | undefined {
  const s = text.trim().replace(/[,\s원₩]/g, "");
  if (!/^\d{1,15}$/.test(s)) return undefined;
  const n = BigInt(s);
  return n > 0n ? n : undefined;
}

const kstParts = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Asia/Seoul",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});

function asDate(t: Timestamp | Date | undefined | null): Date | undefined {
  if (!t) return undefined;
  if (t instanceof Date) return t;
  return timestampDate(t);
}

/** formatKST shows a time in Korea Standard Time: "2025-03-01 14:05:09 KST". Empty for no time. */
export function formatKST(t: Timestamp | Date | undefined | null, withSeconds = true): string {
  const d = asDate(t);
  if (!d || Number.isNaN(d.getTime())) return "";
  const p: Record<string, string> = {};
  for (const part of kstParts.formatToParts(d)) p[part.type] = part.value;
  const time = withSeconds ? `${p.hour}:${p.minute}:${p.second}` : `${p.hour}:${p.minute}`;
  return `${p.year}-${p.month}-${p.day} ${time} KST`;
}

/**
 * kstInputToDate reads the value of an <input type="datetime-local">
 * ("2025-03-01T14:05" or with seconds) as a time in KST (UTC+9, no daylight
 * saving). Undefined for an empty or malformed value.
 */
export function kstInputToDate(value: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  const ms = Date.UTC(+y, +mo - 1, +d, +h - 9, +mi, s ? +s : 0);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/** dateToKSTInput is the datetime-local value ("2025-03-01T14:05") of a time in KST. */
export function dateToKSTInput(d: Date): string {
  const k = new Date(d.getTime() + 9 * 3600 * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${k.getUTCFullYear()}-${pad(k.getUTCMonth() + 1)}-${pad(k.getUTCDate())}T${pad(k.getUTCHours())}:${pad(k.getUTCMinutes())}`;
}

/**
 * enumLabel turns an enum value's proto name into its short form:
 * ("PAYMENT_STATUS_PAID", "PAYMENT_STATUS_") → "PAID".
 */
export function enumLabel(name: string | undefined, prefix: string): string {
  if (!name) return "";
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

/** prettyJSON indents a JSON text for reading; other text is returned as it is. */
export function prettyJSON(text: string): string {
  const t = text.trim();
  if (t === "" || (t[0] !== "{" && t[0] !== "[")) return text;
  try {
    return JSON.stringify(JSON.parse(t), null, 2);
  } catch {
    return text;
  }
}

/** daysUntil is the number of whole days from now until t (negative when past). */
export function daysUntil(t: Timestamp | Date | undefined, now = new Date()): number | undefined {
  const d = asDate(t);
  if (!d) return undefined;
  return Math.floor((d.getTime() - now.getTime()) / 86_400_000);
}

/** formatDuration shows a latency in ms ("12 ms", "1.2 s"). */
export function formatMillis(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}
