/**
 * IANA time zones on top of `Intl.DateTimeFormat`, which in Node ships the full ICU time-zone database.
 *
 * Why not a date library: the budget code needs exactly two operations — "what does the wall clock show at instant
 * t" and "when does the wall clock show W" — and both run only when a cached window expires (once per hour, day or
 * month per schedule), never per request. Intl answers the first; the second is solved here with the usual
 * two-offset trick. A library would add a dependency and allocate a DateTime per call for no gain.
 */
import { civilMs, DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS } from "./civil.ts";
import { PeriodError } from "./errors.ts";

const MAX_CACHED_ZONES = 1_000;
const zones = new Map<string, TimeZone>();

export class TimeZone {
  /** Canonical name as Intl resolves it (`utc` → `UTC`, `US/Eastern` → `America/New_York`). */
  readonly name: string;
  /** Null for UTC, which needs no lookups. */
  readonly #format: Intl.DateTimeFormat | null;

  private constructor(name: string, format: Intl.DateTimeFormat | null) {
    this.name = name;
    this.#format = format;
  }

  /** The zone for an IANA name (or an offset like `+05:30`); cached. Throws PeriodError for an unknown name. */
  static get(name: string): TimeZone {
    const cached = zones.get(name);
    if (cached) return cached;
    let format: Intl.DateTimeFormat;
    try {
      format = new Intl.DateTimeFormat("en-US", {
        timeZone: name,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
    } catch {
      throw new PeriodError(
        `unknown time zone "${name}": use an IANA name such as "UTC", "Europe/Berlin" or "America/New_York"`,
      );
    }
    const canonical = format.resolvedOptions().timeZone;
    const zone =
      zones.get(canonical) ?? new TimeZone(canonical, canonical === "UTC" || canonical === "Etc/UTC" ? null : format);
    if (zones.size >= MAX_CACHED_ZONES) zones.clear();
    zones.set(name, zone);
    zones.set(canonical, zone);
    return zone;
  }

  static readonly UTC: TimeZone = TimeZone.get("UTC");

  /** Milliseconds to add to an instant to get its wall time. */
  offsetAt(instant: number): number {
    if (this.#format === null) return 0;
    // Zone transitions fall on whole seconds and Intl shows whole seconds, so look up the second.
    const second = Math.floor(instant / SECOND_MS) * SECOND_MS;
    let year = 0;
    let month = 0;
    let day = 0;
    let hour = 0;
    let minute = 0;
    let sec = 0;
    for (const part of this.#format.formatToParts(second)) {
      switch (part.type) {
        case "year":
          year = Number(part.value);
          break;
        case "month":
          month = Number(part.value);
          break;
        case "day":
          day = Number(part.value);
          break;
        case "hour":
          hour = Number(part.value);
          break;
        case "minute":
          minute = Number(part.value);
          break;
        case "second":
          sec = Number(part.value);
          break;
        default:
          break;
      }
    }
    return civilMs(year, month - 1, day, hour * HOUR_MS + minute * MINUTE_MS + sec * SECOND_MS) - second;
  }

  /** What the wall clock shows at an instant (see civil.ts for the representation). */
  wallAt(instant: number): number {
    return instant + this.offsetAt(instant);
  }

  /**
   * Every instant at which the wall clock shows `wall`, earliest first: one normally, two when the clock is set back
   * over it (the repeated hour in autumn), none when the clock jumps over it (the skipped hour in spring).
   */
  instantsAtWall(wall: number): number[] {
    if (this.#format === null) return [wall];
    // Offsets stay within about ±15 h, so every instant showing `wall` lies within a day of it; sampling the offset
    // a day before and after catches the zone's offsets on both sides of a transition.
    const before = this.offsetAt(wall - DAY_MS);
    const after = this.offsetAt(wall + DAY_MS);
    const found: number[] = [];
    for (const offset of before === after ? [before] : [before, after]) {
      const candidate = wall - offset;
      if (this.offsetAt(candidate) === offset) found.push(candidate);
    }
    return found.length === 2 ? found.sort((a, b) => a - b) : found;
  }

  /**
   * The first instant at which the wall clock shows `wall` — or, if the clock jumps over it, the instant of the
   * jump (the first instant showing a later time). This is how every calendar boundary is placed.
   */
  firstInstantAtWall(wall: number): number {
    const first = this.instantsAtWall(wall)[0];
    return first ?? this.jumpOver(wall);
  }

  /**
   * For a wall time the clock never shows: the instant the clock jumps over it. Binary search for the first instant
   * showing a time ≥ wall, between the two candidate instants (the offsets before and after the jump).
   */
  jumpOver(wall: number): number {
    let lo = wall - this.offsetAt(wall + DAY_MS);
    let hi = wall - this.offsetAt(wall - DAY_MS);
    if (!(this.wallAt(lo) < wall && this.wallAt(hi) >= wall)) {
      // More than one transition nearby (historical oddities): bracket wide; the answer is still a valid jump.
      lo = wall - 2 * DAY_MS;
      hi = wall + 2 * DAY_MS;
    }
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.wallAt(mid) >= wall) hi = mid;
      else lo = mid;
    }
    return hi;
  }
}
