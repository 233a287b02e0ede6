import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { connect as connectTcp, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { ManualClock } from "../../src/clock.ts";
import { CountersUnavailableError } from "../../src/counters/errors.ts";
import { RedisCounterStore, type RedisCounterStoreOptions } from "../../src/counters/redis-store.ts";
import { requireRedis, testRedisUrl } from "../helpers/redis.ts";
import { BUCKETS, registerCounterCases } from "./counter-cases.ts";

const url = testRedisUrl();
const skip = await requireRedis(url);
/** One prefix per test-file run: parallel runs never share keys, and cleanup deletes exactly ours. */
const prefix = `tollgate-test:${randomBytes(6).toString("hex")}:`;

async function deleteKeys(match: string): Promise<void> {
  const admin = new Redis(url);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await admin.scan(cursor, "MATCH", `${match}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== "0");
  } finally {
    admin.disconnect();
  }
}

async function openStore(options: Partial<RedisCounterStoreOptions> = {}): Promise<RedisCounterStore> {
  const store = new RedisCounterStore({ url, prefix, bucketsPerWindow: BUCKETS, ...options });
  await store.connect();
  return store;
}

registerCounterCases({
  name: "Redis",
  skip,
  // Separate connections, as separate gateway processes would have.
  open: (clock, count) => Promise.all(Array.from({ length: count }, () => openStore({ clock }))),
  cleanup: () => deleteKeys(prefix),
});

interface FaultyProxy {
  url: string;
  /** Stop forwarding commands: a Redis that hangs after the handshake. */
  freeze(): void;
  /** Forward commands but swallow the replies (until cut). */
  dropReplies(): void;
  /** Drop every connection and go back to forwarding normally. */
  cut(): void;
  close(): Promise<void>;
}

/** A TCP proxy to Redis with faults on demand. */
async function faultyProxy(target: URL): Promise<FaultyProxy> {
  let frozen = false;
  let dropping = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connectTcp(Number(target.port || 6379), target.hostname);
    sockets.add(client).add(upstream);
    client.on("data", (chunk) => {
      if (!frozen) upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (!dropping) client.write(chunk);
    });
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const proxied = new URL(target.toString());
  proxied.hostname = "127.0.0.1";
  proxied.port = String(port);
  return {
    url: proxied.toString(),
    freeze: () => {
      frozen = true;
    },
    dropReplies: () => {
      dropping = true;
    },
    cut: () => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      frozen = false;
      dropping = false;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on (taken from the OS, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("Redis counter store specifics", { skip: skip ?? false }, () => {
  // Opened in before(): a client made at describe time would keep the process alive when a name filter skips
  // every test here (after() then never runs).
  let admin: Redis | undefined;
  before(() => {
    admin = new Redis(url);
  });
  after(async () => {
    admin?.disconnect();
    await deleteKeys(prefix);
  });

  test("keys live under the prefix; a period counter gets a Redis TTL, an open-ended one none", async () => {
    const clock = new ManualClock();
    const store = await openStore({ clock });
    try {
      await store.commit("ttl-a", [
        { key: "ttl:period", amount: 5, expireAtMs: clock.now() + 3_600_000 },
        { key: "ttl:forever", amount: 5 },
      ]);
      const ttl = await admin?.pttl(`${prefix}c:ttl:period`);
      assert.ok(ttl !== undefined && ttl > 3_600_000 && ttl <= 3_600_000 + 60_000, `pttl ${ttl}`);
      assert.equal(await admin?.pttl(`${prefix}c:ttl:forever`), -1);
      assert.equal(await admin?.hget(`${prefix}c:ttl:period`, "c"), "5");
    } finally {
      await store.close();
    }
  });

  test("without a clock the scripts run on Redis TIME", async () => {
    const store = await openStore();
    try {
      const before = Date.now();
      await store.reserve({ id: "redis-time", ttlMs: 60_000, items: [{ key: "time:k", amount: 1, limit: 10 }] });
      const expiry = Number(await admin?.hget(`${prefix}r:redis-time`, "e"));
      // Redis runs on this machine: its clock and ours agree to well within a few seconds.
      assert.ok(Math.abs(expiry - (before + 60_000)) < 5_000, `expiry ${expiry} vs ${before + 60_000}`);
      assert.deepEqual(await store.get(["time:k"]), [{ committed: 0, reserved: 1 }]);
      assert.deepEqual(await store.hit([{ key: "time:rpm", limit: 1, windowMs: 60_000 }]), { ok: true });
      assert.equal((await store.hit([{ key: "time:rpm", limit: 1, windowMs: 60_000 }])).ok, false);
    } finally {
      await store.close();
    }
  });

  test("losing Redis's data: isSeeded turns false, settlements still book, seed rebuilds", async () => {
    const clock = new ManualClock();
    const lossPrefix = `${prefix}loss:`;
    const store = await openStore({ clock, prefix: lossPrefix });
    try {
      await store.seed([{ key: "k", committed: 100 }], { markSeeded: true });
      await store.reserve({ id: "r", ttlMs: 60_000, items: [{ key: "k", amount: 50, limit: 1000 }] });
      assert.equal(await store.isSeeded(), true);
      await deleteKeys(lossPrefix);
      assert.equal(await store.isSeeded(), false);
      assert.deepEqual(await store.commit("r", [{ key: "k", amount: 30 }]), { found: false });
      // The rebuild sets committed spend from the database's totals (which include that request by then).
      await store.seed([{ key: "k", committed: 130 }], { markSeeded: true });
      assert.deepEqual(await store.get(["k"]), [{ committed: 130, reserved: 0 }]);
      assert.equal(await store.isSeeded(), true);
    } finally {
      await store.close();
    }
  });

  test("a script error is a bug, not unavailability: it surfaces even when failing open", async () => {
    const store = await openStore({ clock: new ManualClock(), onUnavailable: "fail-open" });
    try {
      await admin?.set(`${prefix}c:wrongtype`, "not a hash");
      await assert.rejects(
        store.reserve({ id: "wt", ttlMs: 1000, items: [{ key: "wrongtype", amount: 1, limit: 10 }] }),
        (error: unknown) => error instanceof Error && !(error instanceof CountersUnavailableError),
      );
    } finally {
      await store.close();
    }
  });

  test("a Redis that stops answering mid-connection times out per command (closed) or answers degraded (open)", async () => {
    const proxy = await faultyProxy(new URL(url));
    const closed = new RedisCounterStore({ url: proxy.url, prefix, clock: new ManualClock(), commandTimeoutMs: 100 });
    const open = new RedisCounterStore({
      url: proxy.url,
      prefix,
      clock: new ManualClock(),
      commandTimeoutMs: 100,
      onUnavailable: "fail-open",
    });
    try {
      await closed.connect();
      await open.connect();
      const request = { id: "hung", ttlMs: 1000, items: [{ key: "hung:k", amount: 1, limit: 10 }] };
      assert.deepEqual(await closed.get(["hung:k"]), [{ committed: 0, reserved: 0 }]);
      proxy.freeze();
      const started = Date.now();
      await assert.rejects(closed.reserve(request), CountersUnavailableError);
      assert.deepEqual(await open.reserve(request), { ok: true, degraded: true });
      assert.ok(Date.now() - started < 1500, "each command gives up after its timeout");
    } finally {
      await closed.close();
      await open.close();
      await proxy.close();
    }
  });

  test("a commit whose reply is lost with the connection is never sent again (booked once, not twice)", async () => {
    const proxy = await faultyProxy(new URL(url));
    const store = new RedisCounterStore({ url: proxy.url, prefix, clock: new ManualClock(), commandTimeoutMs: 5000 });
    try {
      await store.connect();
      await store.reserve({ id: "lost", ttlMs: 60_000, items: [{ key: "lost:k", amount: 10, limit: 100 }] });
      proxy.dropReplies();
      const commit = store.commit("lost", [{ key: "lost:k", amount: 7 }]);
      const outcome = commit.then(
        () => "resolved",
        (error: unknown) => error,
      );
      // Wait (on I/O, not time) until Redis has run the script, then drop the connection before its reply.
      for (let polls = 0; (await admin?.hget(`${prefix}c:lost:k`, "c")) !== "7"; polls++) {
        assert.ok(polls < 10_000, "the commit never reached Redis");
      }
      proxy.cut();
      assert.ok((await outcome) instanceof CountersUnavailableError);
      // Once the client is back, the counter shows the commit exactly once.
      let value: { committed: number; reserved: number } | undefined;
      for (let attempts = 0; value === undefined; attempts++) {
        assert.ok(attempts < 200, "the client did not reconnect");
        value = await store.get(["lost:k"]).then(
          ([v]) => v,
          () => new Promise<undefined>((r) => setTimeout(() => r(undefined), 20)),
        );
      }
      assert.deepEqual(value, { committed: 7, reserved: 0 });
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  test("a reservation's hold survives another process's view: three clients agree on one counter", async () => {
    const clock = new ManualClock();
    const [a, b, c] = await Promise.all([openStore({ clock }), openStore({ clock }), openStore({ clock })]);
    try {
      const items = [{ key: "shared:k", amount: 400, limit: 1000 }];
      assert.deepEqual(await (a as RedisCounterStore).reserve({ id: "sa", ttlMs: 60_000, items }), {
        ok: true,
        headroom: 600,
      });
      assert.deepEqual(await (b as RedisCounterStore).reserve({ id: "sb", ttlMs: 60_000, items }), {
        ok: true,
        headroom: 200,
      });
      assert.equal((await (c as RedisCounterStore).reserve({ id: "sc", ttlMs: 60_000, items })).ok, false);
      // One process settles another's reservation (the id is all it needs).
      assert.deepEqual(await (c as RedisCounterStore).commit("sa", [{ key: "shared:k", amount: 100 }]), {
        found: true,
      });
      assert.deepEqual(await (a as RedisCounterStore).get(["shared:k"]), [{ committed: 100, reserved: 400 }]);
    } finally {
      await Promise.all([a?.close(), b?.close(), c?.close()]);
    }
  });
});

describe("Redis unreachable", () => {
  test("fail-closed: connect and every operation reject with CountersUnavailableError, reported to onError", async () => {
    const errors: CountersUnavailableError[] = [];
    const store = new RedisCounterStore({
      url: `redis://127.0.0.1:${await closedPort()}`,
      prefix,
      clock: new ManualClock(),
      onError: (error) => errors.push(error),
    });
    try {
      await assert.rejects(store.connect(), CountersUnavailableError);
      const started = Date.now();
      await assert.rejects(
        store.reserve({ id: "x", ttlMs: 1000, items: [{ key: "k", amount: 1, limit: 10 }] }),
        (error: unknown) =>
          error instanceof CountersUnavailableError &&
          error.code === "COUNTERS_UNAVAILABLE" &&
          error.operation === "reserve",
      );
      await assert.rejects(store.commit("x", [{ key: "k", amount: 1 }]), CountersUnavailableError);
      await assert.rejects(store.hit([{ key: "r", limit: 1, windowMs: 1000 }]), CountersUnavailableError);
      await assert.rejects(store.acquire("c", 1, "l", 1000), CountersUnavailableError);
      assert.ok(Date.now() - started < 1000, "an unreachable Redis answers at once, it does not queue");
      assert.ok(errors.some((e) => e.operation === "reserve"));
    } finally {
      await store.close();
    }
  });

  test("fail-open: admission answers degraded, settlement is dropped, reads and seeding still reject", async () => {
    const errors: CountersUnavailableError[] = [];
    const store = new RedisCounterStore({
      url: `redis://127.0.0.1:${await closedPort()}`,
      prefix,
      clock: new ManualClock(),
      onUnavailable: "fail-open",
      onError: (error) => errors.push(error),
    });
    try {
      await assert.rejects(store.connect(), CountersUnavailableError);
      assert.deepEqual(await store.reserve({ id: "x", ttlMs: 1000, items: [{ key: "k", amount: 1, limit: 10 }] }), {
        ok: true,
        degraded: true,
      });
      assert.deepEqual(await store.adjust("x", [{ key: "k", delta: 1, limit: 10 }]), { ok: true, degraded: true });
      assert.deepEqual(await store.commit("x", [{ key: "k", amount: 1 }]), { found: false, degraded: true });
      assert.deepEqual(await store.renew("x", 1000), { ok: true, degraded: true });
      assert.deepEqual(await store.hit([{ key: "r", limit: 1, windowMs: 1000 }]), { ok: true, degraded: true });
      assert.deepEqual(await store.acquire("c", 1, "l", 1000), { ok: true, degraded: true });
      await assert.rejects(store.get(["k"]), CountersUnavailableError);
      await assert.rejects(store.seed([{ key: "k", committed: 1 }]), CountersUnavailableError);
      await assert.rejects(store.isSeeded(), CountersUnavailableError);
      assert.ok(errors.some((e) => e.operation === "reserve"));
      // Caller bugs are not swallowed by fail-open.
      await assert.rejects(
        store.reserve({ id: "x", ttlMs: 1000, items: [{ key: "k", amount: -1, limit: 10 }] }),
        RangeError,
      );
    } finally {
      await store.close();
    }
  });

  test("a server that accepts but never answers fails connect within the command timeout", async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.resume(); // reads and ignores: the handshake (HELLO) never gets an answer
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    const store = new RedisCounterStore({
      url: `redis://127.0.0.1:${port}`,
      prefix,
      connectTimeoutMs: 200,
      commandTimeoutMs: 200,
    });
    try {
      const started = Date.now();
      await assert.rejects(store.connect(), CountersUnavailableError);
      assert.ok(Date.now() - started < 1500, "the handshake is bounded by the command timeout");
    } finally {
      await store.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
