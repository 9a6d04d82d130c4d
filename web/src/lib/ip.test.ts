import { describe, expect, it } from "vitest";
import { looksLikeCIDR, needsExplicitConfirm, rulesAfterAdd, rulesAfterDelete, shutOutCheck } from "./ip";

describe("IP rule changes", () => {
  it("builds the would-be rule sets", () => {
    expect(rulesAfterAdd(["10.0.0.0/8"], " 203.0.113.0/24 ")).toEqual(["10.0.0.0/8", "203.0.113.0/24"]);
    const saved = [
      { id: "a", cidr: "10.0.0.0/8" },
      { id: "b", cidr: "203.0.113.5/32" },
    ];
    expect(rulesAfterDelete(saved, "b")).toEqual(["10.0.0.0/8"]);
    expect(rulesAfterDelete(saved, "x")).toEqual(["10.0.0.0/8", "203.0.113.5/32"]);
  });
  it("warns when the new set shuts the caller out", () => {
    const s = shutOutCheck({ ip: "198.51.100.7", allowed: false, ruleCount: 1 });
    expect(s).toEqual({ kind: "shut-out", ip: "198.51.100.7" });
    expect(needsExplicitConfirm(s)).toBe(true);
  });
  it("does not warn when the caller still passes or no rule is left", () => {
    expect(shutOutCheck({ ip: "10.1.2.3", allowed: true, ruleCount: 2 })).toEqual({ kind: "ok" });
    expect(shutOutCheck({ ip: "10.1.2.3", allowed: false, ruleCount: 0 })).toEqual({ kind: "ok" });
    expect(needsExplicitConfirm({ kind: "ok" })).toBe(false);
  });
  it("asks for explicit confirmation when the test could not run", () => {
    expect(shutOutCheck(undefined)).toEqual({ kind: "unknown" });
    expect(needsExplicitConfirm({ kind: "unknown" })).toBe(true);
  });
  it("recognises addresses and ranges", () => {
    for (const ok of ["10.0.0.0/8", "203.0.113.5", "0.0.0.0/0", "2001:db8::/32", "::1", "fe80::1/128"]) {
      expect(looksLikeCIDR(ok), ok).toBe(true);
    }
    for (const bad of ["", "10.0.0.0/33", "256.1.1.1", "10.0.0", "example.com", "10.0.0.0/8/8", "2001:db8::/129"]) {
      expect(looksLikeCIDR(bad), bad).toBe(false);
    }
  });
});
