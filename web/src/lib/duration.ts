import type { Duration } from "@bufbuild/protobuf/wkt";

/** durationMs is a Duration in milliseconds. */
export function durationMs(d: Duration | undefined): number {
  if (!d) return 0;
  return Number(d.seconds) * 1000 + d.nanos / 1e6;
}
