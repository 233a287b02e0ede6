/**
 * Finds the window holding an instant when window starts are wall-clock times in a zone.
 *
 * A grid numbers the nominal starts (local midnights, month starts, the anchor's day each month…). Each nominal
 * start becomes a boundary instant by one rule: the first instant the wall clock shows it, or, when the clock jumps
 * over it (spring forward), the instant of the jump. Grids of hours also start a window each time the clock shows
 * the start again after being set back, so the repeated hour in autumn is an hour of its own; longer units do not,
 * so a midnight shown twice (Cuba, November) still resets a day once.
 *
 * The window holding `now` runs from the latest boundary ≤ now to the earliest boundary > now. Boundaries are a
 * fixed set of instants, so stepping a clock forward crosses each exactly once, and two nominal starts the clock
 * jumps over together (Samoa skipped 30 December 2011) give a single reset, never an empty window.
 */
import type { TimeZone } from "./zone.ts";

export interface WallGrid {
  /** Index of the nominal start at or before this wall time; an estimate off by one is fine (neighbours are checked). */
  indexOfWall(wall: number): number;
  /** Wall time of nominal start `index`; strictly increasing. */
  wallOfIndex(index: number): number;
  /** Whether a start shown twice by the clock opens a window both times (hours only). */
  readonly repeatedStartsReset: boolean;
}

/** Nominal starts are checked this far either side of the estimate before giving up (only pathological zones go past 1). */
const MAX_REACH = 8;

export function windowAround(grid: WallGrid, zone: TimeZone, now: number): { start: number; end: number } {
  const estimate = grid.indexOfWall(zone.wallAt(now));
  let start = Number.NEGATIVE_INFINITY;
  let end = Number.POSITIVE_INFINITY;
  const consider = (index: number) => {
    const wall = grid.wallOfIndex(index);
    const shown = grid.repeatedStartsReset ? zone.instantsAtWall(wall) : [zone.firstInstantAtWall(wall)];
    if (shown.length === 0) shown.push(zone.jumpOver(wall));
    for (const boundary of shown) {
      if (boundary <= now) start = Math.max(start, boundary);
      else end = Math.min(end, boundary);
    }
  };
  for (let index = estimate - 1; index <= estimate + 1; index++) consider(index);
  for (let reach = 2; start === Number.NEGATIVE_INFINITY && reach <= MAX_REACH; reach++) consider(estimate - reach);
  for (let reach = 2; end === Number.POSITIVE_INFINITY && reach <= MAX_REACH; reach++) consider(estimate + reach);
  if (!Number.isFinite(start) || !Number.isFinite(end)) {
    throw new Error(`no window boundary found near ${new Date(now).toISOString()} in ${zone.name}`);
  }
  return { start, end };
}
