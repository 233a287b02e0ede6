import { TimeZone } from "../../governance/time/zone.ts";

const MINUTE_MS = 60_000;

/**
 * A zone's UTC offset at an instant, remembered for the current minute: Intl lookups cost microseconds, and zone
 * transitions fall on whole minutes.
 */
export function zoneOffset(name: string): (now: number) => number {
  const zone = TimeZone.get(name);
  if (zone.name === "UTC") return () => 0;
  let minute = Number.NaN;
  let offset = 0;
  return (now) => {
    const m = Math.floor(now / MINUTE_MS);
    if (m !== minute) {
      minute = m;
      offset = zone.offsetAt(now);
    }
    return offset;
  };
}
