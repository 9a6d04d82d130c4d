import { describe, expect, it } from "vitest";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  dateToKSTInput,
  daysUntil,
  enumLabel,
  formatKST,
  formatMoney,
  groupDigits,
  kstInputToDate,
  parseAmount,
  prettyJSON,
  toBigInt,
} from "./format";

describe("formatMoney", () => {
  it("formats won in Korean and English", () => {
    expect(formatMoney(129000n, "ko")).toBe("129,000원");
    expect(formatMoney(129000n, "en")).toBe("₩129,000");
    expect(formatMoney(0n, "ko")).toBe("0원");
    expect(formatMoney(999n, "en")).toBe("₩999");
    expect(formatMoney(1000n, "ko")).toBe("1,000원");
  });
  it("keeps precision beyond 2^53 (formats from bigint, not float)", () => {
    expect(formatMoney(9007199254740993n, "ko")).toBe("9,007,199,254,740,993원");
    expect(formatMoney("12345678901234567890", "en")).toBe("₩12,345,678,901,234,567,890");
  });
  it("formats negatives and other currencies", () => {
    expect(formatMoney(-5000n, "ko")).toBe("-5,000원");
    expect(formatMoney(-5000n, "en")).toBe("-₩5,000");
    expect(formatMoney(100n, "en", "USD")).toBe("100 USD");
  });
  it("accepts safe numbers and decimal strings only", () => {
    expect(formatMoney(1500, "ko")).toBe("1,500원");
    expect(formatMoney("1,500", "ko")).toBe("1,500원");
    expect(() => toBigInt(1.5)).toThrow();
    expect(() => toBigInt("1e3")).toThrow();
  });
  it("groups digits", () => {
    expect(groupDigits("1")).toBe("1");
    expect(groupDigits("123")).toBe("123");
    expect(groupDigits("1234")).toBe("1,234");
    expect(groupDigits("-1234567")).toBe("-1,234,567");
  });
});

describe("parseAmount", () => {
  it("reads what people type", () => {
    expect(parseAmount("12,000")).toBe(12000n);
    expect(parseAmount(" 12000원 ")).toBe(12000n);
    expect(parseAmount("₩5,000")).toBe(5000n);
  });
  it("refuses what is not a positive whole amount", () => {
    expect(parseAmount("")).toBeUndefined();
    expect(parseAmount("0")).toBeUndefined();
    expect(parseAmount("-1")).toBeUndefined();
    expect(parseAmount("1.5")).toBeUndefined();
    expect(parseAmount("abc")).toBeUndefined();
  });
});

describe("KST", () => {
  it("formats times in Asia/Seoul with the zone marked", () => {
    const d = new Date("2025-03-01T05:05:09Z");
    expect(formatKST(d)).toBe("2025-03-01 14:05:09 KST");
    expect(formatKST(timestampFromDate(d))).toBe("2025-03-01 14:05:09 KST");
    expect(formatKST(d, false)).toBe("2025-03-01 14:05 KST");
  });
  it("crosses the date line into KST", () => {
    expect(formatKST(new Date("2024-12-31T15:00:00Z"))).toBe("2025-01-01 00:00:00 KST");
  });
  it("is empty for no time", () => {
    expect(formatKST(undefined)).toBe("");
  });
  it("reads datetime-local values as KST and back", () => {
    expect(kstInputToDate("2025-01-01T00:00")?.toISOString()).toBe("2024-12-31T15:00:00.000Z");
    expect(kstInputToDate("2025-01-01T09:30:15")?.toISOString()).toBe("2025-01-01T00:30:15.000Z");
    expect(kstInputToDate("")).toBeUndefined();
    expect(kstInputToDate("yesterday")).toBeUndefined();
    expect(dateToKSTInput(new Date("2024-12-31T15:00:00Z"))).toBe("2025-01-01T00:00");
  });
  it("counts days until a time", () => {
    const now = new Date("2025-01-01T00:00:00Z");
    expect(daysUntil(new Date("2025-01-11T00:00:00Z"), now)).toBe(10);
    expect(daysUntil(new Date("2024-12-31T00:00:00Z"), now)).toBe(-1);
    expect(daysUntil(undefined, now)).toBeUndefined();
  });
});

describe("text helpers", () => {
  it("shortens enum names", () => {
    expect(enumLabel("PAYMENT_STATUS_PAID", "PAYMENT_STATUS_")).toBe("PAID");
    expect(enumLabel(undefined, "X_")).toBe("");
  });
  it("pretty-prints JSON and leaves other text", () => {
    expect(prettyJSON('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(prettyJSON("a=1&b=2")).toBe("a=1&b=2");
    expect(prettyJSON("{broken")).toBe("{broken");
  });
});
