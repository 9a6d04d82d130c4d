// IP security rules: what a change to the rule set would do to the person
// making it. The server answers TestIPRules; these functions turn its answer
// and the rule sets into the warnings the console shows.

/** The rule set after adding cidr (trimmed) to the saved rules. */
export function rulesAfterAdd(saved: readonly string[], cidr: string): string[] {
  return [...saved, cidr.trim()];
}

/** The rule set after deleting one rule. */
export function rulesAfterDelete(saved: readonly { id: string; cidr: string }[], id: string): string[] {
  return saved.filter((r) => r.id !== id).map((r) => r.cidr);
}

export type ShutOut =
  /** The caller's address still passes. */
  | { kind: "ok" }
  /** The new set would refuse the caller's address (their own calls with the store's secret keys). */
  | { kind: "shut-out"; ip: string }
  /** The test could not be run; the change should be confirmed knowingly. */
  | { kind: "unknown" };

/**
 * shutOutCheck reads TestIPRules' answer for the caller's own address against
 * the would-be rule set. No rules at all lets every address in.
 */
export function shutOutCheck(
  answer: { ip: string; allowed: boolean; ruleCount: number } | undefined,
): ShutOut {
  if (!answer) return { kind: "unknown" };
  if (answer.ruleCount === 0 || answer.allowed) return { kind: "ok" };
  return { kind: "shut-out", ip: answer.ip };
}

/** needsExplicitConfirm: a change that would shut the caller out, or whose effect is unknown, needs a second, explicit confirmation. */
export function needsExplicitConfirm(s: ShutOut): boolean {
  return s.kind !== "ok";
}

const v4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * looksLikeCIDR is a light check before asking the server (which normalises
 * and validates): an IPv4 or IPv6 address, optionally with a prefix length.
 */
export function looksLikeCIDR(text: string): boolean {
  const t = text.trim();
  if (t === "") return false;
  const [addr, bits, ...rest] = t.split("/");
  if (rest.length > 0) return false;
  if (v4.test(addr)) return bits === undefined || (/^\d{1,2}$/.test(bits) && +bits <= 32);
  if (addr.includes(":") && /^[0-9a-fA-F:.]+$/.test(addr)) {
    return bits === undefined || (/^\d{1,3}$/.test(bits) && +bits <= 128);
  }
  return false;
}
