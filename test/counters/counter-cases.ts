import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { ManualClock } from "../../src/clock.ts";
import type { CounterStore, CounterValue, HitResult } from "../../src/counters/counter-store.ts";
import { bucketWidth } from "../../src/counters/sliding-window.ts";

/** One backend under test. */
export interface CounterBackend {
  name: string;
  /** Why the whole suite is skipped (e.g. Redis not reachable); undefined to run. */
  skip?: string | undefined;
  /**
   * `count` stores that share one set of counters and run on `clock`: separate clients (like separate gateway
   * processes) for Redis, the same instance for memory. Each call may share state with earlier calls: tests use
   * their own keys.
   */
  open(clock: ManualClock, count: number): Promise<CounterStore[]>;
  /** Removes what the backend created. */
  cleanup(): Promise<void>;
}

/** Buckets per window the backends are opened with (the library default). */
export const BUCKETS = 60;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
/** $0.001 in nano-dollars. */
const MILLI_USD = 1_000_000;

let namespaceCounter = 0;

/** Keys unique to one test (backends may share state between tests). */
function namespace(): (name: string) => string {
  const ns = `t${++namespaceCounter}-${Math.random().toString(36).slice(2, 8)}`;
  return (name) => `${ns}:${name}`;
}

/** A small seeded PRNG (mulberry32): concurrency tests are random but reproducible. */
function random(seed: number): (min: number, max: number) => number {
  let state = seed >>> 0;
  return (min, max) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const unit = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return min + Math.floor(unit * (max - min + 1));
  };
}

/** Lets other agents (and I/O) run: event-loop turns, not time. */
async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function value(committed: number, reserved: number): CounterValue {
  return { committed, reserved };
}

/** The cases every counter backend must pass. */
export function registerCounterCases(backend: CounterBackend): void {
  describe(`counter store conformance: ${backend.name}`, { skip: backend.skip ?? false }, () => {
    const opened: CounterStore[] = [];

    async function open(clock = new ManualClock(), count = 1): Promise<{ clock: ManualClock; stores: CounterStore[] }> {
      const stores = await backend.open(clock, count);
      opened.push(...stores);
      return { clock, stores };
    }

    async function one(clock = new ManualClock()): Promise<{ clock: ManualClock; store: CounterStore }> {
      const { stores } = await open(clock, 1);
      return { clock, store: stores[0] as CounterStore };
    }

    after(async () => {
      await Promise.all([...new Set(opened)].map((store) => store.close()));
      await backend.cleanup();
    });

    describe("reservations", () => {
      test("reserve holds the amount on every item; commit moves the actual cost to committed spend", async () => {
        const { store } = await one();
        const k = namespace();
        const reserved = await store.reserve({
          id: k("r1"),
          ttlMs: MINUTE,
          items: [
            { key: k("key"), amount: 300, limit: 1000 },
            { key: k("team"), amount: 300, limit: 5000 },
          ],
        });
        // headroom: the least any budget has left with this hold taken (the key's 1000 − 300).
        assert.deepEqual(reserved, { ok: true, headroom: 700 });
        assert.deepEqual(await store.get([k("key"), k("team"), k("unknown")]), [
          value(0, 300),
          value(0, 300),
          value(0, 0),
        ]);
        const settled = await store.commit(k("r1"), [
          { key: k("key"), amount: 120 },
          { key: k("team"), amount: 120 },
        ]);
        assert.deepEqual(settled, { found: true });
        assert.deepEqual(await store.get([k("key"), k("team")]), [value(120, 0), value(120, 0)]);
      });

      test("all or nothing: one budget that does not fit refuses the whole reservation and names itself", async () => {
        const { store } = await one();
        const k = namespace();
        await store.seed([{ key: k("team"), committed: 900 }]);
        const result = await store.reserve({
          id: k("r1"),
          ttlMs: MINUTE,
          items: [
            { key: k("key"), amount: 200, limit: 1000 },
            { key: k("team"), amount: 200, limit: 1000 },
            { key: k("global"), amount: 200, limit: 1_000_000 },
          ],
        });
        assert.deepEqual(result, {
          ok: false,
          reason: "limit",
          key: k("team"),
          index: 1,
          committed: 900,
          reserved: 0,
          limit: 1000,
          requested: 200,
        });
        assert.deepEqual(await store.get([k("key"), k("team"), k("global")]), [
          value(0, 0),
          value(900, 0),
          value(0, 0),
        ]);
        // Nothing was held under that id either.
        assert.deepEqual(await store.release(k("r1")), { found: false });
      });

      test("fits exactly up to the limit and not one nano-dollar more", async () => {
        const { store } = await one();
        const k = namespace();
        await store.seed([{ key: k("key"), committed: 400 }]);
        assert.deepEqual(
          await store.reserve({ id: k("a"), ttlMs: MINUTE, items: [{ key: k("key"), amount: 350, limit: 1000 }] }),
          { ok: true, headroom: 250 },
        );
        const over = await store.reserve({
          id: k("b"),
          ttlMs: MINUTE,
          items: [{ key: k("key"), amount: 251, limit: 1000 }],
        });
        assert.equal(over.ok, false);
        assert.deepEqual(
          await store.reserve({ id: k("c"), ttlMs: MINUTE, items: [{ key: k("key"), amount: 250, limit: 1000 }] }),
          { ok: true, headroom: 0 },
        );
        assert.deepEqual(await store.get([k("key")]), [value(400, 600)]);
      });

      test("stays exact next to 2^53 nano-dollars (the documented safe range)", async () => {
        const { store } = await one();
        const k = namespace();
        const max = Number.MAX_SAFE_INTEGER;
        await store.seed([{ key: k("big"), committed: max - 100 }]);
        const item = (amount: number) => ({ key: k("big"), amount, limit: max - 10 });
        assert.deepEqual(await store.reserve({ id: k("a"), ttlMs: MINUTE, items: [item(90)] }), {
          ok: true,
          headroom: 0,
        });
        assert.equal((await store.reserve({ id: k("b"), ttlMs: MINUTE, items: [item(1)] })).ok, false);
        assert.deepEqual(await store.get([k("big")]), [value(max - 100, 90)]);
        await store.commit(k("a"), [{ key: k("big"), amount: 90 }]);
        assert.deepEqual(await store.get([k("big")]), [value(max - 10, 0)]);
      });

      test("an id that is live cannot be reserved twice; after it expires the id is free again", async () => {
        const { store, clock } = await one();
        const k = namespace();
        const request = { id: k("r"), ttlMs: 10 * SECOND, items: [{ key: k("key"), amount: 10, limit: 100 }] };
        assert.deepEqual(await store.reserve(request), { ok: true, headroom: 90 });
        assert.deepEqual(await store.reserve(request), { ok: false, reason: "duplicate_id" });
        assert.deepEqual(await store.get([k("key")]), [value(0, 10)]);
        clock.advance(10 * SECOND);
        assert.deepEqual(await store.reserve(request), { ok: true, headroom: 90 });
        assert.deepEqual(await store.get([k("key")]), [value(0, 10)]);
      });

      test("release drops the hold without cost, once", async () => {
        const { store } = await one();
        const k = namespace();
        await store.reserve({
          id: k("r"),
          ttlMs: MINUTE,
          items: [
            { key: k("a"), amount: 40, limit: 100 },
            { key: k("b"), amount: 0, limit: 100 },
          ],
        });
        assert.deepEqual(await store.release(k("r")), { found: true });
        assert.deepEqual(await store.get([k("a"), k("b")]), [value(0, 0), value(0, 0)]);
        assert.deepEqual(await store.release(k("r")), { found: false });
        assert.deepEqual(await store.commit(k("r"), [{ key: k("a"), amount: 5 }]), { found: false });
        assert.deepEqual(await store.get([k("a")]), [value(5, 0)]);
      });

      test("commit above the reservation and above the limit is booked in full (the money is spent)", async () => {
        const { store } = await one();
        const k = namespace();
        await store.reserve({ id: k("r"), ttlMs: MINUTE, items: [{ key: k("key"), amount: 100, limit: 150 }] });
        assert.deepEqual(await store.commit(k("r"), [{ key: k("key"), amount: 170 }]), { found: true });
        assert.deepEqual(await store.get([k("key")]), [value(170, 0)]);
        const next = await store.reserve({
          id: k("r2"),
          ttlMs: MINUTE,
          items: [{ key: k("key"), amount: 0, limit: 150 }],
        });
        assert.equal(next.ok, false);
      });

      test("commit settles every counter of the reservation, also those it does not name, and may add others", async () => {
        const { store } = await one();
        const k = namespace();
        await store.reserve({
          id: k("r"),
          ttlMs: MINUTE,
          items: [
            { key: k("key"), amount: 50, limit: 1000 },
            { key: k("team"), amount: 50, limit: 1000 },
          ],
        });
        await store.commit(k("r"), [
          { key: k("key"), amount: 30 },
          { key: k("model"), amount: 30 },
        ]);
        assert.deepEqual(await store.get([k("key"), k("team"), k("model")]), [value(30, 0), value(0, 0), value(30, 0)]);
      });
    });

    describe("true-up and top-up", () => {
      test("a top-up that fits grows the hold on every item", async () => {
        const { store } = await one();
        const k = namespace();
        await store.reserve({
          id: k("r"),
          ttlMs: MINUTE,
          items: [
            { key: k("key"), amount: 100, limit: 1000 },
            { key: k("team"), amount: 100, limit: 1000 },
          ],
        });
        const topUp = await store.adjust(k("r"), [
          { key: k("key"), delta: 250, limit: 1000 },
          { key: k("team"), delta: 250, limit: 1000 },
        ]);
        assert.deepEqual(topUp, { ok: true });
        assert.deepEqual(await store.get([k("key"), k("team")]), [value(0, 350), value(0, 350)]);
      });

      test("a top-up that does not fit fails cleanly: nothing changes on any item", async () => {
        const { store } = await one();
        const k = namespace();
        await store.seed([{ key: k("team"), committed: 700 }]);
        await store.reserve({
          id: k("r"),
          ttlMs: MINUTE,
          items: [
            { key: k("key"), amount: 100, limit: 1000 },
            { key: k("team"), amount: 100, limit: 1000 },
          ],
        });
        const topUp = await store.adjust(k("r"), [
          { key: k("key"), delta: 201, limit: 1000 },
          { key: k("team"), delta: 201, limit: 1000 },
        ]);
        assert.deepEqual(topUp, {
          ok: false,
          reason: "limit",
          key: k("team"),
          index: 1,
          committed: 700,
          reserved: 100,
          limit: 1000,
          requested: 201,
        });
        assert.deepEqual(await store.get([k("key"), k("team")]), [value(0, 100), value(700, 100)]);
        // The reservation is intact: a top-up that fits still works, and so does the settlement.
        assert.deepEqual(
          await store.adjust(k("r"), [
            { key: k("key"), delta: 200, limit: 1000 },
            { key: k("team"), delta: 200, limit: 1000 },
          ]),
          { ok: true },
        );
        assert.deepEqual(await store.get([k("team")]), [value(700, 300)]);
      });

      test("a true-down frees budget at once and never takes a hold below zero", async () => {
        const { store } = await one();
        const k = namespace();
        await store.reserve({ id: k("r"), ttlMs: MINUTE, items: [{ key: k("key"), amount: 500, limit: 600 }] });
        assert.equal(
          (await store.reserve({ id: k("other"), ttlMs: MINUTE, items: [{ key: k("key"), amount: 300, limit: 600 }] }))
            .ok,
          false,
        );
        // A true-down is allowed even when the counter is over its limit.
        assert.deepEqual(await store.adjust(k("r"), [{ key: k("key"), delta: -400, limit: 0 }]), { ok: true });
        assert.deepEqual(await store.get([k("key")]), [value(0, 100)]);
        assert.deepEqual(
          await store.reserve({ id: k("other"), ttlMs: MINUTE, items: [{ key: k("key"), amount: 300, limit: 600 }] }),
          { ok: true, headroom: 200 },
        );
        assert.deepEqual(await store.adjust(k("r"), [{ key: k("key"), delta: -1000, limit: 600 }]), { ok: true });
        assert.deepEqual(await store.get([k("key")]), [value(0, 300)]);
      });

      test("adjust may enrol a new counter, which release then frees too", async () => {
        const { store } = await one();
        const k = namespace();
        await store.reserve({ id: k("r"), ttlMs: MINUTE, items: [{ key: k("key"), amount: 10, limit: 100 }] });
        assert.deepEqual(await store.adjust(k("r"), [{ key: k("provider"), delta: 25, limit: 100 }]), { ok: true });
        assert.deepEqual(await store.get([k("key"), k("provider")]), [value(0, 10), value(0, 25)]);
        await store.release(k("r"));
        assert.deepEqual(await store.get([k("key"), k("provider")]), [value(0, 0), value(0, 0)]);
      });

      test("adjust of an unknown, settled or expired reservation says so and changes nothing", async () => {
        const { store, clock } = await one();
        const k = namespace();
        const item = { key: k("key"), delta: 5, limit: 100 };
        assert.deepEqual(await store.adjust(k("nope"), [item]), { ok: false, reason: "unknown_reservation" });
        await store.reserve({ id: k("r"), ttlMs: 5 * SECOND, items: [{ key: k("key"), amount: 10, limit: 100 }] });
        clock.advance(5 * SECOND);
        assert.deepEqual(await store.adjust(k("r"), [item]), { ok: false, reason: "unknown_reservation" });
        await store.reserve({ id: k("s"), ttlMs: 5 * SECOND, items: [{ key: k("key"), amount: 10, limit: 100 }] });
        await store.commit(k("s"), [{ key: k("key"), amount: 7 }]);
        assert.deepEqual(await store.adjust(k("s"), [item]), { ok: false, reason: "unknown_reservation" });
        assert.deepEqual(await store.get([k("key")]), [value(7, 0)]);
      });

      test("adjust with ttlMs renews the whole reservation in the same step", async () => {
        const { store, clock } = await one();
        const k = namespace();
        await store.reserve({
          id: k("r"),
          ttlMs: 10 * SECOND,
          items: [
            { key: k("key"), amount: 10, limit: 100 },
            { key: k("team"), amount: 10, limit: 100 },
          ],
        });
        clock.advance(8 * SECOND);
        await store.adjust(k("r"), [{ key: k("key"), delta: 5, limit: 100 }], { ttlMs: 10 * SECOND });
        clock.advance(8 * SECOND);
        assert.deepEqual(await store.get([k("key"), k("team")]), [value(0, 15), value(0, 10)]);
        clock.advance(2 * SECOND);
        assert.deepEqual(await store.get([k("key"), k("team")]), [value(0, 0), value(0, 0)]);
      });
    });

    describe("expiry", () => {
      test("a reservation nobody renews disappears at its ttl (a crashed process frees its holds)", async () => {
        const { store, clock } = await one();
        const k = namespace();
        await store.reserve({
          id: k("r"),
          ttlMs: 30 * SECOND,
          items: [
            { key: k("key"), amount: 90, limit: 100 },
            { key: k("team"), amount: 90, limit: 100 },
          ],
        });
        clock.advance(30 * SECOND - 1);
        assert.deepEqual(await store.get([k("key"), k("team")]), [value(0, 90), value(0, 90)]);
        clock.advance(1);
        assert.deepEqual(await store.get([k("key"), k("team")]), [value(0, 0), value(0, 0)]);
        assert.deepEqual(
          await store.reserve({ id: k("r2"), ttlMs: MINUTE, items: [{ key: k("key"), amount: 100, limit: 100 }] }),
          { ok: true, headroom: 0 },
        );
        // Settling the expired one still books the money, but reports that its hold was gone.
        assert.deepEqual(await store.commit(k("r"), [{ key: k("team"), amount: 60 }]), { found: false });
        assert.deepEqual(await store.get([k("key"), k("team")]), [value(0, 100), value(60, 0)]);
      });

      test("renew keeps a long stream's reservation alive; an expired one cannot be renewed", async () => {
        const { store, clock } = await one();
        const k = namespace();
        await store.reserve({ id: k("r"), ttlMs: 10 * SECOND, items: [{ key: k("key"), amount: 50, limit: 100 }] });
        for (let i = 0; i < 5; i++) {
          clock.advance(9 * SECOND);
          assert.deepEqual(await store.renew(k("r"), 10 * SECOND), { ok: true });
        }
        assert.deepEqual(await store.get([k("key")]), [value(0, 50)]);
        clock.advance(10 * SECOND);
        assert.deepEqual(await store.renew(k("r"), 10 * SECOND), { ok: false });
        assert.deepEqual(await store.get([k("key")]), [value(0, 0)]);
        assert.deepEqual(await store.renew(k("never"), 10 * SECOND), { ok: false });
      });

      test("a counter is forgotten at its expiry; the expiry only grows", async () => {
        const { store, clock } = await one();
        const k = namespace();
        const t0 = clock.now();
        await store.commit(k("x"), [{ key: k("period"), amount: 10, expireAtMs: t0 + MINUTE }]);
        await store.commit(k("y"), [{ key: k("period"), amount: 5, expireAtMs: t0 + 2 * MINUTE }]);
        await store.commit(k("z"), [{ key: k("period"), amount: 1, expireAtMs: t0 + SECOND }]);
        await store.commit(k("w"), [{ key: k("forever"), amount: 3 }]);
        clock.advance(2 * MINUTE - 1);
        assert.deepEqual(await store.get([k("period"), k("forever")]), [value(16, 0), value(3, 0)]);
        clock.advance(1);
        assert.deepEqual(await store.get([k("period"), k("forever")]), [value(0, 0), value(3, 0)]);
        clock.advance(365 * 24 * 60 * MINUTE);
        assert.deepEqual(await store.get([k("forever")]), [value(3, 0)]);
      });

      test("a counter outlives its expiry while a live reservation holds it", async () => {
        const { store, clock } = await one();
        const k = namespace();
        const t0 = clock.now();
        await store.seed([{ key: k("day"), committed: 40, expireAtMs: t0 + SECOND }]);
        await store.reserve({
          id: k("r"),
          ttlMs: 30 * SECOND,
          items: [{ key: k("day"), amount: 20, limit: 100, expireAtMs: t0 + SECOND }],
        });
        clock.advance(20 * SECOND);
        assert.deepEqual(await store.get([k("day")]), [value(40, 20)]);
        assert.deepEqual(await store.adjust(k("r"), [{ key: k("day"), delta: 40, limit: 100 }]), { ok: true });
        assert.equal((await store.adjust(k("r"), [{ key: k("day"), delta: 1, limit: 100 }])).ok, false);
        clock.advance(10 * SECOND);
        assert.deepEqual(await store.get([k("day")]), [value(0, 0)]);
      });
    });

    describe("seeding (rebuild from the database)", () => {
      test("seed sets committed spend and keeps reservations in flight", async () => {
        const { store } = await one();
        const k = namespace();
        await store.reserve({ id: k("r"), ttlMs: MINUTE, items: [{ key: k("key"), amount: 25, limit: 1000 }] });
        await store.commit(k("old"), [{ key: k("key"), amount: 999 }]);
        await store.seed([
          { key: k("key"), committed: 300 },
          { key: k("team"), committed: 700 },
        ]);
        assert.deepEqual(await store.get([k("key"), k("team")]), [value(300, 25), value(700, 0)]);
        await store.commit(k("r"), [{ key: k("key"), amount: 20 }]);
        assert.deepEqual(await store.get([k("key")]), [value(320, 0)]);
      });

      test("onlyIfAbsent sets missing counters and leaves booked, seeded or held ones alone", async () => {
        const { store, clock } = await one();
        const k = namespace();
        const t0 = clock.now();
        await store.commit(k("c"), [{ key: k("booked"), amount: 500 }]);
        await store.commit(k("z"), [{ key: k("zero"), amount: 0 }]);
        await store.seed([{ key: k("seeded"), committed: 0 }]);
        await store.reserve({ id: k("r"), ttlMs: MINUTE, items: [{ key: k("held"), amount: 30, limit: 1000 }] });
        await store.reserve({ id: k("r0"), ttlMs: MINUTE, items: [{ key: k("held0"), amount: 0, limit: 1000 }] });
        await store.seed(
          ["booked", "zero", "seeded", "held", "held0", "missing"].map((name) => ({
            key: k(name),
            committed: 111,
            expireAtMs: t0 + MINUTE,
          })),
          { onlyIfAbsent: true },
        );
        assert.deepEqual(await store.get(["booked", "zero", "seeded", "held", "held0", "missing"].map(k)), [
          value(500, 0),
          value(0, 0),
          value(0, 0),
          value(0, 30),
          value(0, 0),
          value(111, 0),
        ]);
        // The set counter took the expiry; a left-alone one kept its own (none: never expires).
        clock.advance(MINUTE);
        assert.deepEqual(await store.get([k("missing"), k("booked")]), [value(0, 0), value(500, 0)]);
      });

      test("onlyIfAbsent treats a counter whose holds are gone, or which expired, as missing", async () => {
        const { store, clock } = await one();
        const k = namespace();
        const t0 = clock.now();
        await store.reserve({
          id: k("gone"),
          ttlMs: SECOND,
          items: [{ key: k("expired-hold"), amount: 5, limit: 100 }],
        });
        await store.reserve({ id: k("rel"), ttlMs: MINUTE, items: [{ key: k("released"), amount: 5, limit: 100 }] });
        await store.release(k("rel"));
        await store.commit(k("old"), [{ key: k("past"), amount: 70, expireAtMs: t0 + SECOND }]);
        clock.advance(SECOND);
        await store.seed(
          [
            { key: k("expired-hold"), committed: 7 },
            { key: k("released"), committed: 8 },
            { key: k("past"), committed: 9 },
          ],
          { onlyIfAbsent: true },
        );
        assert.deepEqual(await store.get([k("expired-hold"), k("released"), k("past")]), [
          value(7, 0),
          value(8, 0),
          value(9, 0),
        ]);
        // Once set, the next onlyIfAbsent seed leaves it.
        await store.seed([{ key: k("past"), committed: 1 }], { onlyIfAbsent: true });
        assert.deepEqual(await store.get([k("past")]), [value(9, 0)]);
      });

      test("a peer's onlyIfAbsent seed never replaces spend booked through another client", async () => {
        const {
          stores: [first, second],
        } = await open(new ManualClock(), 2);
        const k = namespace();
        await (first as CounterStore).commit(k("c1"), [{ key: k("shared"), amount: 250 }]);
        await (second as CounterStore).seed([{ key: k("shared"), committed: 100 }], { onlyIfAbsent: true });
        await (second as CounterStore).commit(k("c2"), [{ key: k("shared"), amount: 50 }]);
        assert.deepEqual(await (first as CounterStore).get([k("shared")]), [value(300, 0)]);
        // Without the flag, seeding replaces (a rebuild after the store lost its data).
        await (second as CounterStore).seed([{ key: k("shared"), committed: 100 }]);
        assert.deepEqual(await (first as CounterStore).get([k("shared")]), [value(100, 0)]);
      });

      test("isSeeded turns true only with markSeeded", async () => {
        const { store } = await one();
        const k = namespace();
        // Earlier tests on a shared backend may have marked it; a fresh marker is what this checks.
        const before = await store.isSeeded();
        await store.seed([{ key: k("a"), committed: 1 }]);
        assert.equal(await store.isSeeded(), before);
        await store.seed([], { markSeeded: true });
        assert.equal(await store.isSeeded(), true);
      });
    });

    describe("argument checks", () => {
      test("bad amounts, limits, ids and duplicate keys are rejected before anything changes", async () => {
        const { store } = await one();
        const k = namespace();
        const reserve = (amount: number, limit = 100, keys = [k("a")]) =>
          store.reserve({ id: k("r"), ttlMs: MINUTE, items: keys.map((key) => ({ key, amount, limit })) });
        await assert.rejects(reserve(1.5), RangeError);
        await assert.rejects(reserve(-1), RangeError);
        await assert.rejects(reserve(2 ** 53), RangeError);
        await assert.rejects(reserve(1, Number.NaN), RangeError);
        await assert.rejects(reserve(1, 100, [k("a"), k("a")]), RangeError);
        await assert.rejects(reserve(1, 100, [""]), TypeError);
        await assert.rejects(store.reserve({ id: "", ttlMs: MINUTE, items: [] }), TypeError);
        await assert.rejects(store.reserve({ id: k("r"), ttlMs: 0, items: [] }), RangeError);
        await assert.rejects(store.commit(k("r"), [{ key: k("a"), amount: -5 }]), RangeError);
        await assert.rejects(store.hit([{ key: k("h"), limit: 1, windowMs: 0 }]), RangeError);
        await assert.rejects(store.hit([{ key: k("h"), limit: 1, windowMs: 1000, cost: -1 }]), RangeError);
        assert.deepEqual(await store.get([k("a")]), [value(0, 0)]);
      });
    });

    describe("the budget invariant under concurrency", () => {
      test("200 concurrent agents with top-ups never hold more than the limits, at any moment", async () => {
        const { stores } = await open(new ManualClock(), 4);
        const k = namespace();
        const rand = random(20260101);
        const keyLimit = 600 * MILLI_USD;
        const teamLimit = 1000 * MILLI_USD;
        const keys = [k("key-a"), k("key-b")];
        const team = k("team");
        const limits = new Map([
          [keys[0] as string, keyLimit],
          [keys[1] as string, keyLimit],
          [team, teamLimit],
        ]);
        const booked = new Map<string, number>([...limits.keys()].map((key) => [key, 0]));
        let admitted = 0;
        let refused = 0;
        let cut = 0;
        let sampled = 0;
        const observer = stores[stores.length - 1] as CounterStore;

        async function checkInvariant(): Promise<void> {
          const names = [...limits.keys()];
          const values = await observer.get(names);
          for (let i = 0; i < names.length; i++) {
            const v = values[i] as CounterValue;
            const limit = limits.get(names[i] as string) as number;
            assert.ok(v.committed + v.reserved <= limit, `${names[i]}: ${v.committed} + ${v.reserved} > ${limit}`);
          }
        }

        async function agent(index: number): Promise<void> {
          const store = stores[index % stores.length] as CounterStore;
          const id = k(`req-${index}`);
          const key = keys[index % 2] as string;
          const items = (amount: number) => [
            { key, amount, limit: keyLimit },
            { key: team, amount, limit: teamLimit },
          ];
          const estimate = rand(1, 60) * MILLI_USD;
          await turns(rand(0, 30));
          const reserved = await store.reserve({ id, ttlMs: MINUTE, items: items(estimate) });
          await checkInvariant();
          if (!reserved.ok) {
            assert.equal(reserved.reason, "limit");
            refused++;
            return;
          }
          admitted++;
          let held = estimate;
          for (let step = 0; step < 3; step++) {
            const delta = rand(-10, 30) * MILLI_USD;
            await turns(rand(0, 3));
            const adjusted = await store.adjust(
              id,
              items(delta).map(({ key, amount, limit }) => ({ key, delta: amount, limit })),
            );
            await checkInvariant();
            if (!adjusted.ok) {
              assert.equal(adjusted.reason, "limit");
              cut++;
              break;
            }
            held = Math.max(0, held + delta);
          }
          if (rand(0, 9) === 0) {
            assert.deepEqual(await store.release(id), { found: true });
            return;
          }
          // The stream was cut when a top-up failed, so the actual cost never exceeds what was held.
          const actual = rand(0, held);
          const settled = await store.commit(id, [
            { key, amount: actual },
            { key: team, amount: actual },
          ]);
          assert.deepEqual(settled, { found: true });
          booked.set(key, (booked.get(key) as number) + actual);
          booked.set(team, (booked.get(team) as number) + actual);
          await checkInvariant();
        }

        let running = true;
        const sampler = (async () => {
          while (running) {
            await checkInvariant();
            sampled++;
            await turns(1);
          }
        })();
        try {
          await Promise.all(Array.from({ length: 200 }, (_, i) => agent(i)));
        } finally {
          running = false;
          await sampler;
        }

        const names = [...limits.keys()];
        const final = await observer.get(names);
        for (let i = 0; i < names.length; i++) {
          const name = names[i] as string;
          assert.deepEqual(final[i], value(booked.get(name) as number, 0), `${name} books exactly what was committed`);
          assert.ok((final[i] as CounterValue).committed <= (limits.get(name) as number));
        }
        assert.ok(admitted > 0 && refused > 0, `admitted ${admitted}, refused ${refused}: the limit must bind`);
        assert.ok(cut > 0, "some top-ups must have been refused");
        // Every agent step checks the invariant too; the sampler adds checks between steps. How often it gets a turn
        // depends on the machine's load (a Redis round trip per sample), so only its taking part is required.
        assert.ok(sampled >= 2, `the observer sampled only ${sampled} times while the agents ran`);
      });
    });

    describe("rate limits", () => {
      test("100 concurrent hits against 10 per minute admit exactly 10", async () => {
        const { stores } = await open(new ManualClock(), 4);
        const k = namespace();
        const results = await Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            (stores[i % stores.length] as CounterStore).hit([{ key: k("rpm"), limit: 10, windowMs: MINUTE }]),
          ),
        );
        assert.equal(results.filter((r) => r.ok).length, 10);
        for (const result of results) {
          if (result.ok) continue;
          assert.equal(result.key, k("rpm"));
          assert.equal(result.current, 10);
          assert.ok(result.retryAfterMs > 0 && result.retryAfterMs <= MINUTE + MINUTE / BUCKETS);
        }
      });

      test("a refused hit counts nowhere: every rate item fits or none is charged", async () => {
        const { store } = await one();
        const k = namespace();
        const team = { key: k("team-rpm"), limit: 2, windowMs: MINUTE };
        assert.deepEqual(await store.hit([team]), { ok: true });
        assert.deepEqual(await store.hit([team]), { ok: true });
        const refused = await store.hit([{ key: k("key-rpm"), limit: 5, windowMs: MINUTE }, team]);
        assert.equal(refused.ok, false);
        assert.equal(refused.ok === false && refused.index, 1);
        for (let i = 0; i < 5; i++)
          assert.deepEqual(await store.hit([{ key: k("key-rpm"), limit: 5, windowMs: MINUTE }]), { ok: true });
        assert.equal((await store.hit([{ key: k("key-rpm"), limit: 5, windowMs: MINUTE }])).ok, false);
      });

      test("the window slides: capacity returns as old hits leave, and retryAfterMs is exact", async () => {
        const { store, clock } = await one();
        const k = namespace();
        const rpm = { key: k("rpm"), limit: 3, windowMs: MINUTE };
        const bucket = bucketWidth(MINUTE, BUCKETS);
        await store.hit([rpm]);
        clock.advance(20 * SECOND);
        await store.hit([rpm]);
        clock.advance(20 * SECOND);
        await store.hit([rpm]);
        clock.advance(10 * SECOND);
        const refused = await store.hit([rpm]);
        assert.ok(!refused.ok);
        // The first hit (at 0 s) leaves the window at 60 s, counted one bucket late: retry at 61 s.
        assert.equal(refused.retryAfterMs, MINUTE + bucket - 50 * SECOND);
        clock.advance(refused.retryAfterMs - 1);
        assert.equal((await store.hit([rpm])).ok, false);
        clock.advance(1);
        assert.deepEqual(await store.hit([rpm]), { ok: true });
        assert.equal((await store.hit([rpm])).ok, false);
        clock.advance(MINUTE + bucket);
        for (let i = 0; i < 3; i++) assert.deepEqual(await store.hit([rpm]), { ok: true });
      });

      test("never more than the limit in any sliding window, and never refused more than one bucket early", async () => {
        for (const windowMs of [MINUTE, SECOND]) {
          const { store, clock } = await one();
          const k = namespace();
          const rand = random(windowMs);
          const limit = 12;
          const width = bucketWidth(windowMs, BUCKETS);
          const reach = (Math.ceil(windowMs / width) + 1) * width;
          const admitted: { at: number; cost: number }[] = [];
          const unitsIn = (from: number, to: number) =>
            admitted.filter((a) => a.at > from && a.at <= to).reduce((sum, a) => sum + a.cost, 0);
          for (let i = 0; i < 400; i++) {
            clock.advance(rand(0, Math.ceil(windowMs / 8)));
            const now = clock.now();
            const cost = rand(1, 3);
            const result: HitResult = await store.hit([{ key: k("tpm"), limit, windowMs, cost }]);
            if (result.ok) {
              admitted.push({ at: now, cost });
              assert.ok(unitsIn(now - windowMs, now) <= limit, `over the limit at step ${i}`);
            } else {
              assert.ok(unitsIn(now - reach, now) + cost > limit, `refused too early at step ${i}`);
              assert.ok(result.current >= unitsIn(now - windowMs, now) && result.current <= unitsIn(now - reach, now));
            }
          }
          assert.ok(admitted.length > 50);
        }
      });

      test("windowTotals reads what a window holds now, as the next hit would see it, without charging", async () => {
        const { stores, clock } = await open(new ManualClock(), 2);
        const [a, b] = stores as [CounterStore, CounterStore];
        const k = namespace();
        const tpm = { key: k("tpm"), windowMs: MINUTE };
        const bucket = bucketWidth(MINUTE, BUCKETS);
        assert.deepEqual(await a.windowTotals([tpm, { key: k("never-hit"), windowMs: MINUTE }]), [0, 0]);
        await a.hit([{ ...tpm, limit: 1000, cost: 300 }]);
        clock.advance(30 * SECOND);
        await b.hit([{ ...tpm, limit: 1000, cost: 200 }]);
        assert.deepEqual(await b.windowTotals([tpm]), [500], "both processes' units");
        assert.deepEqual(await a.windowTotals([tpm]), [500], "reading charged nothing");
        assert.deepEqual(await a.windowTotals([{ key: tpm.key, windowMs: SECOND }]), [0], "another length: unknown");
        // The first hit leaves the window one bucket after a minute.
        clock.advance(30 * SECOND + bucket);
        assert.deepEqual(await a.windowTotals([tpm]), [200]);
        clock.advance(MINUTE);
        assert.deepEqual(await b.windowTotals([tpm]), [0]);
        const refused = await a.hit([{ ...tpm, limit: 100, cost: 101 }]);
        assert.equal(refused.ok === false && refused.current, 0, "the read and the next hit agree");
      });

      test("a window whose length changes (config edit) starts afresh", async () => {
        const { store } = await one();
        const k = namespace();
        assert.deepEqual(await store.hit([{ key: k("r"), limit: 1, windowMs: MINUTE }]), { ok: true });
        assert.equal((await store.hit([{ key: k("r"), limit: 1, windowMs: MINUTE }])).ok, false);
        assert.deepEqual(await store.hit([{ key: k("r"), limit: 1, windowMs: MINUTE - 1 }]), { ok: true });
        assert.equal((await store.hit([{ key: k("r"), limit: 1, windowMs: MINUTE - 1 }])).ok, false);
      });

      test("token costs, forced bookings above the limit, and a cost that can never fit", async () => {
        const { store, clock } = await one();
        const k = namespace();
        const tpm = (cost: number) => ({ key: k("tpm"), limit: 1000, windowMs: MINUTE, cost });
        assert.deepEqual(await store.hit([tpm(600)]), { ok: true });
        assert.equal((await store.hit([tpm(500)])).ok, false);
        assert.deepEqual(await store.hit([tpm(400)]), { ok: true });
        // Actual usage came in higher: booked regardless, later hits wait.
        assert.deepEqual(await store.hit([tpm(300)], { force: true }), { ok: true });
        const waiting = await store.hit([tpm(1)]);
        assert.equal(waiting.ok === false && waiting.current, 1300);
        // A refund (negative forced cost) gives room back.
        assert.deepEqual(await store.hit([tpm(-301)], { force: true }), { ok: true });
        assert.deepEqual(await store.hit([tpm(1)]), { ok: true });
        const never = await store.hit([tpm(1001)]);
        assert.equal(never.ok === false && never.retryAfterMs, MINUTE);
        clock.advance(2 * MINUTE);
        assert.deepEqual(await store.hit([tpm(1000)]), { ok: true });
      });
    });

    describe("concurrency leases", () => {
      test("30 concurrent acquires against max 4 admit exactly 4; a release admits the next", async () => {
        const { stores } = await open(new ManualClock(), 4);
        const k = namespace();
        const key = k("concurrent");
        const results = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            (stores[i % stores.length] as CounterStore).acquire(key, 4, `lease-${i}`, MINUTE),
          ),
        );
        const winners = results.flatMap((r, i) => (r.ok ? [`lease-${i}`] : []));
        assert.equal(winners.length, 4);
        for (const r of results) if (!r.ok) assert.deepEqual(r, { ok: false, reason: "full", active: 4 });
        const store = stores[0] as CounterStore;
        assert.deepEqual(await store.releaseLease(key, winners[0] as string), { found: true });
        assert.deepEqual(await store.releaseLease(key, winners[0] as string), { found: false });
        assert.deepEqual(await store.acquire(key, 4, "late", MINUTE), { ok: true });
        assert.equal((await store.acquire(key, 4, "later", MINUTE)).ok, false);
      });

      test("re-acquiring a held lease renews it without taking a second slot", async () => {
        const { store } = await one();
        const k = namespace();
        assert.deepEqual(await store.acquire(k("c"), 2, "a", MINUTE), { ok: true });
        assert.deepEqual(await store.acquire(k("c"), 2, "a", MINUTE), { ok: true });
        assert.deepEqual(await store.acquire(k("c"), 2, "b", MINUTE), { ok: true });
        assert.deepEqual(await store.acquire(k("c"), 2, "c", MINUTE), { ok: false, reason: "full", active: 2 });
      });

      test("a crashed holder's lease expires; renewLease keeps a live one", async () => {
        const { store, clock } = await one();
        const k = namespace();
        await store.acquire(k("c"), 2, "crashed", 30 * SECOND);
        await store.acquire(k("c"), 2, "streaming", 30 * SECOND);
        assert.equal((await store.acquire(k("c"), 2, "new", 30 * SECOND)).ok, false);
        clock.advance(20 * SECOND);
        assert.deepEqual(await store.renewLease(k("c"), "streaming", 30 * SECOND), { ok: true });
        clock.advance(10 * SECOND);
        assert.deepEqual(await store.acquire(k("c"), 2, "new", 30 * SECOND), { ok: true });
        assert.equal((await store.acquire(k("c"), 2, "newer", 30 * SECOND)).ok, false);
        assert.deepEqual(await store.renewLease(k("c"), "crashed", 30 * SECOND), { ok: false });
        assert.deepEqual(await store.releaseLease(k("c"), "crashed"), { found: false });
        clock.advance(40 * SECOND);
        assert.deepEqual(await store.releaseLease(k("c"), "streaming"), { found: false });
        assert.deepEqual(await store.acquire(k("c"), 2, "x", 30 * SECOND), { ok: true });
        assert.deepEqual(await store.acquire(k("c"), 2, "y", 30 * SECOND), { ok: true });
      });
    });
  });
}
