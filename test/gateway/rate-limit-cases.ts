import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ManualClock } from "../../src/clock.ts";
import type { CounterStore } from "../../src/counters/counter-store.ts";
import { GatewayError } from "../../src/errors/catalog.ts";
import type { RateLimitSnapshot } from "../../src/governance/entities/index.ts";
import { RateGate, type RateTicket } from "../../src/governance/rate-gate.ts";
import type { CounterBackend } from "../helpers/counter-backends.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import {
  countStatuses,
  createKey,
  HOLD_MS,
  type HoldingMock,
  reloadGovernance,
  startHoldingMock,
  startPair,
  waitUntil,
} from "./limit-harness.ts";

/** Every call uses 110 tokens: 10 prompt + 100 completion. */
const TOKENS_PER_CALL = 110;

function call(
  gw: TestGateway,
  secret: string,
  tag: string,
  script: Record<string, unknown> = {},
  body: Record<string, unknown> = {},
): Promise<Response> {
  return fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${secret}`,
      "x-mock-script": JSON.stringify({
        scenario: "text",
        // The reply text tags the case, so the mock's record tells which calls reached the provider.
        text: tag,
        usage: { prompt_tokens: 10, completion_tokens: 100, total_tokens: TOKENS_PER_CALL },
        ...script,
      }),
    },
    body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], ...body }),
  });
}

const status = (res: Promise<Response>): Promise<number> =>
  res.then(async (r) => {
    await r.arrayBuffer();
    return r.status;
  });

const errorMessage = async (res: Response): Promise<string> =>
  ((await res.json()) as { error: { message: string } }).error.message;

function reachedUpstream(upstream: HoldingMock, tag: string): number {
  return upstream.mock.requests.filter((r) => r.script?.text === tag).length;
}

/** Starts `count` held calls spread over `gateways`; waits until each is either refused or parked at the mock. */
async function holdMany(
  upstream: HoldingMock,
  gateways: readonly TestGateway[],
  secret: string,
  tag: string,
  count: number,
): Promise<{ answered: Promise<number[]>; refused: Response[] }> {
  const refused: Response[] = [];
  const parkedBefore = upstream.parked();
  const answered = Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const res = await call(gateways[i % gateways.length] as TestGateway, secret, tag, {
        firstByteDelayMs: HOLD_MS,
      });
      if (res.status === 429) refused.push(res);
      else await res.arrayBuffer();
      return res.status;
    }),
  );
  await waitUntil(
    () => upstream.parked() - parkedBefore + refused.length === count,
    `${count} calls to be refused or parked (parked ${upstream.parked() - parkedBefore}, refused ${refused.length})`,
  );
  return { answered, refused };
}

/**
 * The rate-limit cases, run once per counter backend (rate-limits.test.ts: in-process; rate-limits-redis.test.ts:
 * Redis, plus two gateway processes sharing one limit). Time is a ManualClock: windows slide without sleeping.
 */
export function registerRateLimitCases(backend: CounterBackend): void {
  describe(`rate limits on the data plane (${backend.name} counters)`, { skip: backend.skip ?? false }, () => {
    const clock = new ManualClock();
    let upstream: HoldingMock;
    let gw: TestGateway;
    /** Starts a case on a fresh minute, so sliding-window boundaries (1 s buckets of a 1 m window) are exact. */
    const alignClock = () => clock.set(Math.ceil(clock.now() / 60_000) * 60_000 + 60_000);

    before(async () => {
      upstream = await startHoldingMock();
      gw = await startTestGateway({ upstreamUrl: upstream.mock.url, env: backend.env, clock });
    });
    after(async () => {
      upstream?.releaseAll();
      await gw?.close();
      await upstream?.mock.close();
      await backend.cleanup();
    });

    it("requests per window: the next one is a 429 with retry-after in the client's dialect; the window slides on", async () => {
      const { secret } = await createKey(gw, { rateLimits: [{ name: "rpm", window: "1m", maxRequests: 3 }] });
      alignClock();
      for (let i = 0; i < 3; i++) assert.equal(await status(call(gw, secret, "rpm")), 200);
      clock.advance(30_000);
      const refused = await call(gw, secret, "rpm");
      assert.equal(refused.status, 429);
      // The three hits sit in the bucket [0 s, 1 s): they leave the window at 61 s, 31 s from now.
      assert.equal(refused.headers.get("retry-after"), "31");
      const body = (await refused.json()) as { error: { type: string; message: string } };
      assert.equal(body.error.type, "rate_limit_error");
      assert.match(body.error.message, /Rate limit "rpm" .*reached \(requests per 1m\)/);
      clock.advance(31_000 - 1);
      assert.equal(await status(call(gw, secret, "rpm")), 429, "one millisecond before retry-after");
      clock.advance(1);
      for (let i = 0; i < 3; i++) assert.equal(await status(call(gw, secret, "rpm")), 200, "the window slid on");
      assert.equal(await status(call(gw, secret, "rpm")), 429);
      assert.equal(reachedUpstream(upstream, "rpm"), 6);
    });

    it("requests per window under concurrency: 50 at once against a limit of 10 admit exactly 10", async () => {
      const { secret } = await createKey(gw, { rateLimits: [{ name: "burst", window: "1m", maxRequests: 10 }] });
      alignClock();
      const statuses = await Promise.all(Array.from({ length: 50 }, () => status(call(gw, secret, "burst"))));
      assert.deepEqual(countStatuses(statuses), { 200: 10, 429: 40 });
      assert.equal(reachedUpstream(upstream, "burst"), 10, "refused calls never reach the provider");
      // A second burst in the next window: again exactly the limit.
      clock.advance(61_000);
      const again = await Promise.all(Array.from({ length: 50 }, () => status(call(gw, secret, "burst"))));
      assert.deepEqual(countStatuses(again), { 200: 10, 429: 40 });
    });

    it("tokens per window: refused once the window's tokens are used up; the window slides on", async () => {
      const { secret } = await createKey(gw, { rateLimits: [{ name: "tpm", window: "1m", maxTokens: 150 }] });
      alignClock();
      // Tokens are charged when a response ends (before the client reads it).
      assert.equal(await status(call(gw, secret, "tpm")), 200); // 110 tokens used
      assert.equal(await status(call(gw, secret, "tpm")), 200); // 110 < 150 before it, 220 after
      const refused = await call(gw, secret, "tpm");
      assert.equal(refused.status, 429);
      assert.match(await errorMessage(refused), /Rate limit "tpm" .*reached \(tokens per 1m\)/);
      assert.equal(refused.headers.get("retry-after"), "61");
      clock.advance(61_000);
      assert.equal(await status(call(gw, secret, "tpm")), 200, "the window slid on");
    });

    it("tokens per window under concurrency: admitted tokens stay within one request of the limit", async () => {
      const limit = 3 * TOKENS_PER_CALL;
      const { secret } = await createKey(gw, { rateLimits: [{ name: "tpm-burst", window: "1m", maxTokens: limit }] });
      alignClock();
      const statuses = await Promise.all(
        Array.from({ length: 30 }, () => status(call(gw, secret, "tpm-burst", {}, { max_tokens: 100 }))),
      );
      const admitted = statuses.filter((s) => s === 200).length;
      const used = `admitted ${admitted} calls = ${admitted * TOKENS_PER_CALL} tokens against a limit of ${limit}`;
      // ±1 request, both ways. Over: a request is admitted only while the window (tokens charged, plus the
      // estimates held by requests in flight) is below the limit, so at most the last one admitted crosses it.
      assert.ok(admitted * TOKENS_PER_CALL <= limit - 1 + TOKENS_PER_CALL, `too many: ${used}`);
      // Under: a refusal means the window was full, and each admitted request fills it with at most its estimate
      // (~20 prompt tokens from the body + max_tokens 100 = 120) or, once ended, its actual 110 tokens: with 30
      // requests, refusals start no earlier than one request short of the limit.
      assert.ok(admitted * TOKENS_PER_CALL >= limit - TOKENS_PER_CALL, `too few: ${used}`);
      assert.equal(statuses.filter((s) => s !== 200 && s !== 429).length, 0, "only 200s and 429s");
    });

    it("concurrent requests: never more than N in flight at the provider; slots are freed when responses end", async () => {
      const { secret } = await createKey(gw, { rateLimits: [{ name: "three-at-a-time", maxConcurrent: 3 }] });
      upstream.resetPeak();
      for (let wave = 0; wave < 2; wave++) {
        const { answered, refused } = await holdMany(upstream, [gw], secret, "conc", 9);
        assert.equal(upstream.parked(), 3, `wave ${wave}: in flight at the provider`);
        assert.equal(refused.length, 6);
        for (const res of refused) {
          assert.equal(res.headers.get("retry-after"), "1");
          assert.match(await errorMessage(res), /Rate limit "three-at-a-time" .*reached \(concurrent requests\)/);
        }
        upstream.releaseAll();
        assert.deepEqual(countStatuses(await answered), { 200: 3, 429: 6 });
      }
      assert.equal(upstream.peak(), 3, "never more than 3 at once");
      // One slot at a time: each held call frees its slot for the next as it ends.
      for (let i = 0; i < 5; i++) assert.equal(await status(call(gw, secret, "conc")), 200);
    });
  });

  describe(`the rate gate's token holds (${backend.name} counters)`, { skip: backend.skip ?? false }, () => {
    const clock = new ManualClock();
    let store: CounterStore;
    let gate: RateGate;
    let ids = 0;
    const limit = (fields: Partial<RateLimitSnapshot>): RateLimitSnapshot => ({
      id: `gate-${++ids}`,
      name: `gate-${ids}`,
      scopeType: "key",
      scopeId: "key-1",
      scopeName: "k",
      provider: null,
      model: null,
      window: "1m",
      maxRequests: null,
      maxTokens: null,
      maxConcurrent: null,
      createdAt: 0,
      updatedAt: 0,
      ...fields,
    });
    /** The ticket, or null for a 429 (in-process counters answer, or refuse, at once). */
    const admit = (limits: RateLimitSnapshot[], estimate: number): Promise<RateTicket | null> =>
      Promise.resolve()
        .then(() => gate.admit(limits, `req-${++ids}`, estimate))
        .then(
          (ticket) => {
            assert.ok(ticket);
            return ticket;
          },
          (error: unknown) => {
            if (error instanceof GatewayError && error.status === 429) return null;
            throw error;
          },
        );
    const admitMany = async (limits: RateLimitSnapshot[], estimate: number, count: number) =>
      (await Promise.all(Array.from({ length: count }, () => admit(limits, estimate)))).filter(
        (t): t is RateTicket => t !== null,
      );

    before(async () => {
      store = await backend.openStore(clock);
      gate = new RateGate(store);
    });
    after(async () => {
      await store?.close();
      await backend.cleanup();
    });

    it("parallel requests holding their estimates: a token window ends at most one request over its limit", async () => {
      const limits = [limit({ maxTokens: 3 * TOKENS_PER_CALL })];
      const admitted = await admitMany(limits, TOKENS_PER_CALL, 30);
      assert.equal(admitted.length, 3, "the holds fill the window");
      // The actual tokens replace the holds: 3 × 50 = 150 used, so the window has room again.
      await Promise.all(admitted.map((t) => gate.settle(t, 50)));
      const next = await admitMany(limits, TOKENS_PER_CALL, 30);
      assert.equal(next.length, 2, "150 → 260 → 370: refused from there");
      await Promise.all(next.map((t) => gate.settle(t, 0)));
    });

    it("an estimate above the limit is admitted into a window below it, and trued down at the end", async () => {
      const limits = [limit({ maxTokens: 100 })];
      const first = await admit(limits, 500);
      assert.ok(first);
      assert.equal(await admit(limits, 1), null, "the window holds 500 of 100");
      await gate.settle(first, 40);
      assert.ok(await admit(limits, 1), "40 used: room again");
    });

    it("a request refused for concurrency counts on no window", async () => {
      const limits = [limit({ maxRequests: 2, maxTokens: 1000, maxConcurrent: 1 })];
      const running = await admit(limits, 400);
      assert.ok(running);
      for (let i = 0; i < 5; i++) assert.equal(await admit(limits, 400), null);
      await gate.settle(running, 0);
      const second = await admit(limits, 999);
      assert.ok(second, "the refused ones used neither the second request nor any tokens");
      await gate.settle(second, 0);
      assert.equal(await admit(limits, 0), null, "two requests per window");
    });
  });

  if (!backend.sharedDatabase) return;
  const sharedSkip = backend.skip ?? backend.sharedDatabase.skip ?? false;

  describe(`rate limits shared by two gateway processes (${backend.name} counters)`, { skip: sharedSkip }, () => {
    const clock = new ManualClock();
    let upstream: HoldingMock;
    let a: TestGateway;
    let b: TestGateway;
    /** A key created through one process; the other reloads its snapshot from the shared database. */
    const sharedKey = async (rateLimits: unknown[]) => {
      const key = await createKey(a, { rateLimits });
      await reloadGovernance(b);
      return key;
    };

    before(async () => {
      upstream = await startHoldingMock();
      [a, b] = await startPair(upstream.mock.url, backend, clock);
    });
    after(async () => {
      upstream?.releaseAll();
      await a?.close();
      await b?.close();
      await upstream?.mock.close();
      await backend.cleanup();
      await backend.sharedDatabase?.drop();
    });

    it("requests per window: 50 at once over both processes against a limit of 10 admit exactly 10", async () => {
      const key = await sharedKey([{ name: "shared-rpm", window: "1m", maxRequests: 10 }]);
      const statuses = await Promise.all(
        Array.from({ length: 50 }, (_, i) => status(call(i % 2 === 0 ? a : b, key.secret, "shared-rpm"))),
      );
      assert.deepEqual(countStatuses(statuses), { 200: 10, 429: 40 });
      assert.equal(reachedUpstream(upstream, "shared-rpm"), 10);
    });

    it("tokens per window: one process's tokens fill the window for the other", async () => {
      const key = await sharedKey([{ name: "shared-tpm", window: "1m", maxTokens: 150 }]);
      assert.equal(await status(call(a, key.secret, "shared-tpm")), 200);
      assert.equal(await status(call(b, key.secret, "shared-tpm")), 200);
      assert.equal(await status(call(a, key.secret, "shared-tpm")), 429);
      assert.equal(await status(call(b, key.secret, "shared-tpm")), 429);
    });

    it("concurrent requests: N slots shared by both processes", async () => {
      const key = await sharedKey([{ name: "shared-conc", maxConcurrent: 3 }]);
      upstream.resetPeak();
      const { answered, refused } = await holdMany(upstream, [a, b], key.secret, "shared-conc", 12);
      assert.equal(upstream.parked(), 3);
      assert.equal(refused.length, 9);
      // A slot taken on one process is freed by its response and taken again from the other.
      upstream.releaseAll();
      assert.deepEqual(countStatuses(await answered), { 200: 3, 429: 9 });
      const second = await holdMany(upstream, [b, a], key.secret, "shared-conc", 12);
      assert.equal(upstream.parked(), 3);
      upstream.releaseAll();
      assert.deepEqual(countStatuses(await second.answered), { 200: 3, 429: 9 });
      assert.equal(upstream.peak(), 3);
    });
  });
}
