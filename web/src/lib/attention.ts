// What the start page calls out.
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { daysUntil } from "./format";

/** expiringKeys are keys whose expiry falls within `days` from now (or has passed), soonest first. */
export function expiringKeys<K extends { expireTime?: Timestamp }>(keys: readonly K[], days: number, now = new Date()): K[] {
  return keys
    .filter((k) => {
      const d = daysUntil(k.expireTime, now);
      return d !== undefined && d < days;
    })
    .sort((a, b) => Number(a.expireTime!.seconds - b.expireTime!.seconds));
}
