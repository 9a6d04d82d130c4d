import { describe, expect, it } from "vitest";
import { PaymentStatus, PayMethod, LogKind } from "@paymux/client";
import {
  emptyPaymentFilter,
  listLogsRequest,
  listPaymentsRequest,
  logFilterFromParams,
  logFilterToParams,
  paymentFilterFromParams,
  paymentFilterToParams,
  testOrderId,
  ts,
  endTs,
} from "./query";
import { planCancel } from "./cancel";
import { secretsToSend, providerSecrets } from "./channels";
import { expiringKeys } from "./attention";
import { Provider } from "@paymux/client";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { pickStore } from "../api/session";
import { consoleHeaders } from "../api/transport";
import { tokenFromHash } from "../api/auth";
import { passwordProblem } from "../pages/Setup";

describe("payment search", () => {
  it("round-trips through the address bar, leaving out what is empty", () => {
    const f = { ...emptyPaymentFilter, query: " order-1 ", status: String(PaymentStatus.PAID), from: "2025-01-01T00:00" };
    const p = paymentFilterToParams(f);
    expect(p.toString()).toBe("q=order-1&status=4&from=2025-01-01T00%3A00");
    expect(paymentFilterFromParams(p)).toEqual({ ...emptyPaymentFilter, query: "order-1", status: "4", from: "2025-01-01T00:00" });
  });
  it("ignores junk in the address bar", () => {
    expect(paymentFilterFromParams(new URLSearchParams("status=abc&method=-1"))).toEqual(emptyPaymentFilter);
  });
  it("builds ListPayments' request with KST times", () => {
    const r = listPaymentsRequest("st_1", {
      query: " 주문 ",
      status: String(PaymentStatus.CANCELLED),
      method: String(PayMethod.CARD),
      from: "2025-01-01T09:00",
      to: "",
    }, "tok", 20);
    expect(r.storeId).toBe("st_1");
    expect(r.query).toBe("주문");
    expect(r.statuses).toEqual([PaymentStatus.CANCELLED]);
    expect(r.methods).toEqual([PayMethod.CARD]);
    expect(r.startTime).toEqual(timestampFromDate(new Date("2025-01-01T00:00:00Z")));
    expect(r.endTime).toBeUndefined();
    expect(r.pageToken).toBe("tok");
    expect(listPaymentsRequest("st_1", emptyPaymentFilter).statuses).toEqual([]);
  });
  it("reads KST input into timestamps", () => {
    expect(ts("")).toBeUndefined();
    expect(ts("2025-06-30T23:59")).toEqual(timestampFromDate(new Date("2025-06-30T14:59:00Z")));
    // "to 23:59" includes the whole minute: the API's end time is exclusive.
    expect(endTs("2025-06-30T23:59")).toEqual(timestampFromDate(new Date("2025-06-30T15:00:00Z")));
    expect(endTs("")).toBeUndefined();
  });
});

describe("log search", () => {
  it("builds ListLogs' request", () => {
    const f = logFilterFromParams(new URLSearchParams("order=o-1&code=invalid_argument&result=2&method=CreatePayment"));
    const r = listLogsRequest("st_1", LogKind.API, f);
    expect(r.merchantPaymentId).toBe("o-1");
    expect(r.code).toBe("INVALID_ARGUMENT");
    expect(r.result).toBe(2);
    expect(r.method).toBe("CreatePayment");
    expect(r.kind).toBe(LogKind.API);
    expect(logFilterToParams(f).get("order")).toBe("o-1");
  });
});

describe("cancel", () => {
  const f = (full: boolean, amount: string, reason = "고객 요청") => ({ full, amount, reason });
  it("sends no amount for a full cancel, always the guard", () => {
    expect(planCancel(f(true, ""), 10000n)).toEqual({ ok: true, amount: undefined, reason: "고객 요청", guard: 10000n });
  });
  it("checks a partial amount", () => {
    expect(planCancel(f(false, "3,000"), 10000n)).toEqual({ ok: true, amount: 3000n, reason: "고객 요청", guard: 10000n });
    expect(planCancel(f(false, "10000"), 10000n)).toMatchObject({ ok: true, amount: undefined });
    expect(planCancel(f(false, "10001"), 10000n)).toEqual({ ok: false, problem: "tooMuch" });
    expect(planCancel(f(false, "abc"), 10000n)).toEqual({ ok: false, problem: "amount" });
  });
  it("needs a reason and something to cancel", () => {
    expect(planCancel(f(true, "", "  "), 10000n)).toEqual({ ok: false, problem: "reason" });
    expect(planCancel(f(true, ""), 0n)).toEqual({ ok: false, problem: "nothing" });
  });
});

describe("channels", () => {
  it("asks each provider for its secrets", () => {
    expect(providerSecrets(Provider.SANDBOX)).toEqual([]);
    expect(providerSecrets(Provider.TOSSPAYMENTS).map((s) => s.name)).toEqual(["client_key", "secret_key", "webhook_security_key"]);
    expect(providerSecrets(Provider.NICEPAY).filter((s) => s.required).map((s) => s.name)).toEqual(["client_id", "secret_key"]);
  });
  it("sends the filled-in secrets and reports missing ones", () => {
    expect(secretsToSend(Provider.TOSSPAYMENTS, { client_key: " ck ", secret_key: "", webhook_security_key: "" })).toEqual({
      secrets: { client_key: "ck" },
      missing: ["secret_key"],
    });
    expect(secretsToSend(Provider.SANDBOX, { stray: "x" })).toEqual({ secrets: {}, missing: [] });
  });
});

describe("start page", () => {
  it("lists keys expiring within 30 days, soonest first", () => {
    const now = new Date("2025-01-01T00:00:00Z");
    const at = (d: string) => timestampFromDate(new Date(d));
    const keys = [
      { id: "late", expireTime: at("2025-03-01T00:00:00Z") },
      { id: "soon", expireTime: at("2025-01-20T00:00:00Z") },
      { id: "never" },
      { id: "past", expireTime: at("2024-12-30T00:00:00Z") },
    ];
    expect(expiringKeys(keys, 30, now).map((k) => k.id)).toEqual(["past", "soon"]);
  });
});

describe("session plumbing", () => {
  const stores = [
    { storeId: "st_a", storeName: "A", role: 1 },
    { storeId: "st_b", storeName: "B", role: 4 },
  ] as never[];
  it("keeps the remembered store only while the user has it", () => {
    expect(pickStore(stores, "st_b")).toBe("st_b");
    expect(pickStore(stores, "st_gone")).toBe("st_a");
    expect(pickStore(stores, null)).toBe("st_a");
    expect(pickStore([], "st_a")).toBe("");
  });
  it("sends the CSRF token and the store on every call", () => {
    expect(consoleHeaders({ csrfToken: "c1", storeId: "st_a" })).toEqual({ "X-CSRF-Token": "c1", "Paymux-Store": "st_a" });
    expect(consoleHeaders({ csrfToken: "", storeId: "" })).toEqual({});
  });
  it("reads the setup token from the fragment", () => {
    expect(tokenFromHash("#token=abc.def")).toBe("abc.def");
    expect(tokenFromHash("token=x%2By")).toBe("x+y");
    expect(tokenFromHash("")).toBe("");
  });
  it("asks for a password of at least 10 characters", () => {
    expect(passwordProblem("short")).toBe("short");
    expect(passwordProblem("0123456789")).toBeUndefined();
    expect(passwordProblem("한국어비밀번호열자다")).toBeUndefined();
  });
  it("makes unique-looking test order numbers the API accepts", () => {
    const id = testOrderId(new Date("2025-01-01T00:00:00Z"), () => 0.5);
    expect(id).toMatch(/^console-test-202501010900-[0-9a-z]{4}$/);
    expect(id).toMatch(/^[A-Za-z0-9_\-.:]+$/);
  });
});
