import { getRandomValues } from "node:crypto";
import { type Clock, systemClock } from "../clock.ts";

/** Per-clock monotonic state, so a test's ManualClock never disturbs ids made from the system clock. */
interface Uuidv7State {
  lastMs: number;
  /** 12-bit counter in the `rand_a` field, seeded randomly each new millisecond (RFC 9562 §6.2, method 1). */
  counter: number;
}

const states = new WeakMap<Clock, Uuidv7State>();
const hex: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

// Random bytes are drawn 4 KiB at a time (as node's randomUUID does): one id per request is on the hot path.
const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let poolOffset = POOL_BYTES;

function random16(): Uint8Array {
  if (poolOffset >= POOL_BYTES) {
    getRandomValues(pool);
    poolOffset = 0;
  }
  const out = pool.slice(poolOffset, poolOffset + 16);
  poolOffset += 16;
  return out;
}

/**
 * A UUIDv7 (RFC 9562): 48-bit millisecond timestamp, then randomness. Ids made through the same clock sort
 * (as strings) in creation order, even within one millisecond or when that clock steps backwards.
 */
export function uuidv7(clock: Clock = systemClock): string {
  let state = states.get(clock);
  if (state === undefined) {
    state = { lastMs: -1, counter: 0 };
    states.set(clock, state);
  }
  const bytes = random16();
  const now = Math.max(0, Math.floor(clock.now()));
  if (now > state.lastMs) {
    state.lastMs = now;
    // Seed below 2^11 so the counter has room to grow within this millisecond.
    state.counter = (((bytes[6] ?? 0) & 0x07) << 8) | (bytes[7] ?? 0);
  } else {
    state.counter += 1;
    if (state.counter > 0xfff) {
      // Counter exhausted: borrow the next millisecond rather than break ordering.
      state.lastMs += 1;
      state.counter = 0;
    }
  }
  const ms = state.lastMs;
  // 48-bit big-endian timestamp; split because bitwise operators work on 32 bits.
  const high = Math.floor(ms / 2 ** 16);
  bytes[0] = (high >>> 24) & 0xff;
  bytes[1] = (high >>> 16) & 0xff;
  bytes[2] = (high >>> 8) & 0xff;
  bytes[3] = high & 0xff;
  bytes[4] = (ms >>> 8) & 0xff;
  bytes[5] = ms & 0xff;
  bytes[6] = 0x70 | ((state.counter >>> 8) & 0x0f);
  bytes[7] = state.counter & 0xff;
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  let out = "";
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) out += "-";
    out += hex[bytes[i] ?? 0];
  }
  return out;
}

/** The millisecond timestamp inside a UUIDv7, or null when the string is not one. */
export function uuidv7Time(id: string): number | null {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id)) return null;
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
