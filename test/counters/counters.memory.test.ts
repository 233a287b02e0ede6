import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ManualClock } from "../../src/clock.ts";
import type { CounterStore } from "../../src/counters/counter-store.ts";
import { MemoryCounterStore } from "../../src/counters/memory-store.ts";
import { BUCKETS, registerCounterCases } from "./counter-cases.ts";

registerCounterCases({
  name: "memory",
  // One process: every "peer" is the same instance.
  open: async (clock, count) => {
    const store = new MemoryCounterStore({ clock, bucketsPerWindow: BUCKETS });
    return Array.from({ length: count }, () => store);
  },
  cleanup: async () => {},
});

/**
 * The same store driven through `immediate` (what the gates use per request): every shared case must give the same
 * answers whether an operation is awaited or answered at once.
 */
function throughImmediate(store: MemoryCounterStore): CounterStore {
  const now = store.immediate;
  const promised = <T>(run: () => T): Promise<T> => {
    try {
      return Promise.resolve(run());
    } catch (error) {
      return Promise.reject(error);
    }
  };
  return {
    shared: false,
    reserve: (request) => promised(() => now.reserve(request)),
    adjust: (id, items, options) => store.adjust(id, items, options),
    commit: (id, items) => promised(() => now.commit(id, items)),
    release: (id) => promised(() => now.release(id)),
    renew: (id, ttlMs) => store.renew(id, ttlMs),
    get: (keys) => store.get(keys),
    seed: (items, options) => store.seed(items, options),
    isSeeded: () => store.isSeeded(),
    hit: (items, options) => promised(() => now.hit(items, options)),
    windowTotals: (windows) => store.windowTotals(windows),
    acquire: (key, max, leaseId, ttlMs) => promised(() => now.acquire(key, max, leaseId, ttlMs)),
    renewLease: (key, leaseId, ttlMs) => store.renewLease(key, leaseId, ttlMs),
    releaseLease: (key, leaseId) => promised(() => now.releaseLease(key, leaseId)),
    close: () => store.close(),
  };
}

registerCounterCases({
  name: "memory, immediate operations",
  open: async (clock, count) => {
    const store = throughImmediate(new MemoryCounterStore({ clock, bucketsPerWindow: BUCKETS }));
    return Array.from({ length: count }, () => store);
  },
  cleanup: async () => {},
});

describe("memory counter store specifics", () => {
  test("the sweep forgets expired counters, stale windows and dead leases without being asked", async () => {
    const clock = new ManualClock();
    const store = new MemoryCounterStore({ clock, sweepIntervalMs: 60_000 });
    for (let i = 0; i < 1000; i++) {
      await store.commit(`r${i}`, [{ key: `budget:k${i}:1d`, amount: 1, expireAtMs: clock.now() + 60_000 }]);
    }
    await store.commit("keep", [{ key: "budget:never", amount: 5 }]);
    await store.hit([{ key: "rpm", limit: 10, windowMs: 1000 }]);
    await store.acquire("conc", 5, "lease", 1000);
    assert.deepEqual(store.sizes, { counters: 1001, reservations: 0, windows: 1, leaseSets: 1 });
    clock.advance(60_000);
    // The sweep runs a bounded batch per operation; a handful of cheap calls finish the pass.
    for (let i = 0; i < 10; i++) await store.get(["budget:never"]);
    assert.deepEqual(store.sizes, { counters: 1, reservations: 0, windows: 0, leaseSets: 0 });
    assert.deepEqual(await store.get(["budget:never"]), [{ committed: 5, reserved: 0 }]);
  });

  test("expired reservations leave the heap in expiry order, renewals included", async () => {
    const clock = new ManualClock();
    const start = clock.now();
    const store = new MemoryCounterStore({ clock });
    const ttls = Array.from({ length: 50 }, (_, i) => 1000 + ((i * 37) % 50) * 100);
    for (const [i, ttlMs] of ttls.entries()) {
      await store.reserve({ id: `r${i}`, ttlMs, items: [{ key: "k", amount: 1, limit: 100 }] });
    }
    await store.renew("r0", 100_000);
    ttls[0] = 100_000;
    for (let elapsed = 0; elapsed <= 6000; elapsed += 50) {
      clock.set(start + elapsed);
      const live = ttls.filter((ttl) => ttl > elapsed).length;
      assert.deepEqual(await store.get(["k"]), [{ committed: 0, reserved: live }], `at +${elapsed} ms`);
      assert.equal(store.sizes.reservations, live);
    }
  });

  test("snapshot and seed carry committed spend across a restart, expiry included", async () => {
    const clock = new ManualClock();
    const before = new MemoryCounterStore({ clock });
    await before.commit("a", [{ key: "month", amount: 123, expireAtMs: clock.now() + 1000 }]);
    await before.commit("b", [{ key: "prepaid", amount: 456 }]);
    await before.reserve({ id: "in-flight", ttlMs: 1000, items: [{ key: "month", amount: 7, limit: 1000 }] });
    const after = new MemoryCounterStore({ clock });
    await after.seed(before.snapshot(), { markSeeded: true });
    assert.deepEqual(await after.get(["month", "prepaid"]), [
      { committed: 123, reserved: 0 },
      { committed: 456, reserved: 0 },
    ]);
    assert.equal(await after.isSeeded(), true);
    clock.advance(1000);
    assert.deepEqual(await after.get(["month", "prepaid"]), [
      { committed: 0, reserved: 0 },
      { committed: 456, reserved: 0 },
    ]);
  });

  test("a successful hit answers with a shared object (no allocation on the hot path's common case)", async () => {
    const store = new MemoryCounterStore({ clock: new ManualClock() });
    const first = store.hit([{ key: "r", limit: 5, windowMs: 1000 }]);
    const second = store.hit([{ key: "r", limit: 5, windowMs: 1000 }]);
    assert.equal(first, second);
    assert.deepEqual(await first, { ok: true });
  });
});
