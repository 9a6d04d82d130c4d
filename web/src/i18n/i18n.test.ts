import { describe, expect, it } from "vitest";
import { en } from "./en";
import { ko } from "./ko";
import { initialLang } from "./index";

const sources = import.meta.glob(["../**/*.ts", "../**/*.tsx", "!../**/*.test.ts", "!../**/*.test.tsx"], {
  query: "?raw",
  import: "default",
  eager: true,
}) as Record<string, string>;

function lookup(dict: unknown, key: string): unknown {
  return key.split(".").reduce<unknown>((d, k) => (d && typeof d === "object" ? (d as Record<string, unknown>)[k] : undefined), dict);
}

function keys(obj: unknown, prefix = ""): string[] {
  if (typeof obj !== "object" || obj === null) return [prefix];
  return Object.entries(obj).flatMap(([k, v]) => keys(v, prefix ? `${prefix}.${k}` : k));
}

describe("translations", () => {
  it("has every key the code uses, in both languages", () => {
    const used = new Set<string>();
    for (const text of Object.values(sources)) {
      for (const m of text.matchAll(/\bt\(\s*"([a-zA-Z0-9_.]+)"/g)) used.add(m[1]);
    }
    expect(used.size).toBeGreaterThan(100);
    const missing = [...used].filter((k) => typeof lookup(ko, k) !== "string" || typeof lookup(en, k) !== "string");
    expect(missing).toEqual([]);
  });
  it("has the same keys in Korean and English, none empty", () => {
    expect(keys(en).sort()).toEqual(keys(ko).sort());
    for (const k of keys(ko)) {
      expect(lookup(ko, k), k).not.toBe("");
      expect(lookup(en, k), k).not.toBe("");
    }
  });
  it("uses the same placeholders in both languages", () => {
    for (const k of keys(ko)) {
      const vars = (s: unknown) => [...String(s).matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();
      expect(vars(lookup(en, k)), k).toEqual(vars(lookup(ko, k)));
    }
  });
  it("starts in Korean unless English was chosen", () => {
    expect(initialLang(null)).toBe("ko");
    expect(initialLang("ko")).toBe("ko");
    expect(initialLang("en")).toBe("en");
    expect(initialLang("fr")).toBe("ko");
  });
});

describe("no raw HTML", () => {
  it("never uses dangerouslySetInnerHTML or innerHTML", () => {
    for (const [file, text] of Object.entries(sources)) {
      expect(text.includes("dangerouslySetInner" + "HTML"), file).toBe(false);
      expect(/\.innerHTML\s*=/.test(text), file).toBe(false);
    }
  });
});
