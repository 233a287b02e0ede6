import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ManualClock } from "../../src/clock.ts";
import type { CounterBackend } from "../helpers/counter-backends.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import {
  type CreatedKey,
  countStatuses,
  createKey,
  type HoldingMock,
  reloadGovernance,
  startHoldingMock,
  startPair,
} from "./limit-harness.ts";

function call(gw: TestGateway, secret: string, session: string | null, content = `hi ${Math.random()}`) {
  return fetch(`${gw.url}/anthropic/v1/messages`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "anthropic-version": "2023-06-01",
      "x-api-key": secret,
      ...(session ? { "x-claude-code-session-id": session } : {}),
      "x-mock-script": JSON.stringify({ scenario: "text", usage: { input_tokens: 10, output_tokens: 100 } }),
    },
    body: JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 100, messages: [{ role: "user", content }] }),
  });
}

const status = (res: Promise<Response>): Promise<number> =>
  res.then(async (r) => {
    await r.arrayBuffer();
    return r.status;
  });

const errorMessage = async (res: Response): Promise<string> =>
  ((await res.json()) as { error: { message: string } }).error.message;

/** `count` calls at once, spread over `gateways`; their statuses. */
function parallel(
  gateways: readonly TestGateway[],
  count: number,
  send: (gw: TestGateway, i: number) => Promise<Response>,
): Promise<number[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => status(send(gateways[i % gateways.length] as TestGateway, i))),
  );
}

/**
 * The session-cap cases, run once per counter backend (session-caps.test.ts: in-process; session-caps-redis.test.ts:
 * Redis, plus two gateway processes sharing the caps). Each call costs $0.00153 on claude-sonnet-4-5 (10 input +
 * 100 output tokens). Time is a ManualClock: the loop guard's window slides without sleeping.
 */
export function registerSessionCapCases(backend: CounterBackend): void {
  describe(`session caps for runaway agents (${backend.name} counters)`, { skip: backend.skip ?? false }, () => {
    const clock = new ManualClock();
    let upstream: HoldingMock;
    let gw: TestGateway;
    const newKey = async (sessionCaps: unknown) => (await createKey(gw, { sessionCaps })).secret;

    before(async () => {
      upstream = await startHoldingMock();
      gw = await startTestGateway({ upstreamUrl: upstream.mock.url, env: backend.env, clock });
    });
    after(async () => {
      await gw?.close();
      await upstream?.mock.close();
      await backend.cleanup();
    });

    it("the loop guard refuses the same body seen `repeats` times in a session, until the window slides on", async () => {
      const secret = await newKey({ loopGuard: { repeats: 3, window: "1m" } });
      clock.set(Math.ceil(clock.now() / 60_000) * 60_000 + 60_000);
      assert.equal(await status(call(gw, secret, "s-loop", "same")), 200);
      assert.equal(await status(call(gw, secret, "s-loop", "same")), 200);
      const refused = await call(gw, secret, "s-loop", "same");
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get("retry-after"), "61");
      assert.match(
        await errorMessage(refused),
        /sent 3 times in session s-loop within 1m: refused as a probable agent loop/,
      );
      assert.equal(await status(call(gw, secret, "s-loop", "different")), 200, "other requests go on");
      assert.equal(await status(call(gw, secret, "s-other", "same")), 200, "other sessions are not affected");
      clock.advance(61_000 - 1);
      assert.equal(await status(call(gw, secret, "s-loop", "same")), 429);
      clock.advance(1);
      assert.equal(await status(call(gw, secret, "s-loop", "same")), 200, "the window slid on");
    });

    it("the loop guard under parallel identical requests: exactly `repeats` − 1 get through", async () => {
      const secret = await newKey({ loopGuard: { repeats: 4, window: "10m" } });
      const statuses = await parallel([gw], 20, (g) => call(g, secret, "s-loop-burst", "same"));
      assert.deepEqual(countStatuses(statuses), { 200: 3, 429: 17 });
    });

    it("caps the requests of one session; other sessions and session-less requests are not capped", async () => {
      const secret = await newKey({ maxRequests: 3 });
      for (let i = 0; i < 3; i++) assert.equal(await status(call(gw, secret, "s-count")), 200);
      const refused = await call(gw, secret, "s-count");
      assert.equal(refused.status, 429);
      const body = (await refused.json()) as { error: { type: string; message: string } };
      assert.equal(body.error.type, "rate_limit_error");
      assert.match(body.error.message, /Session s-count of key "k-\w+" reached its cap of 3 requests/);
      assert.equal(await status(call(gw, secret, "s-next")), 200);
      assert.equal(await status(call(gw, secret, null)), 200);
    });

    it("the request cap under concurrency: 30 parallel requests of one session admit exactly the cap", async () => {
      const secret = await newKey({ maxRequests: 7 });
      // Two sessions interleaved: each gets exactly its own cap.
      const statuses = await parallel([gw], 60, (g, i) => call(g, secret, i % 2 === 0 ? "s-burst-a" : "s-burst-b"));
      assert.deepEqual(countStatuses(statuses.filter((_, i) => i % 2 === 0)), { 200: 7, 429: 23 });
      assert.deepEqual(countStatuses(statuses.filter((_, i) => i % 2 === 1)), { 200: 7, 429: 23 });
    });

    it("caps the spend of one session, also under concurrency", async () => {
      const secret = await newKey({ maxUsd: "0.004" });
      assert.equal(await status(call(gw, secret, "s-spend")), 200);
      assert.equal(await status(call(gw, secret, "s-spend")), 200);
      const refused = await call(gw, secret, "s-spend");
      assert.equal(refused.status, 429);
      assert.match(await errorMessage(refused), /reached its \$0\.004000000 cap \(\$0\.003060000 spent\)/);
      const statuses = await parallel([gw], 10, (g) => call(g, secret, "s-parallel"));
      const rows = (await gw.logs()).filter((r) => r.sessionId === "s-parallel" && r.status === 200);
      const spent = rows.reduce((sum, r) => sum + (r.costNanoUsd ?? 0), 0);
      assert.ok(spent <= 4_000_000, `spent ${spent} nano-USD; ${statuses.join(",")}`);
      assert.ok(rows.length >= 1, "the empty session admits");
    });

    it("requests refused later in admission (a budget's 402) use up neither the request cap nor the loop guard", async () => {
      const created = (await createKey(gw, {
        sessionCaps: { maxRequests: 2, loopGuard: { repeats: 2, window: "10m" } },
        budgets: [{ name: "tiny", limitUsd: "0.000001", period: "never" }],
      })) as CreatedKey & { budgets: { id: string }[] };
      const budgetId = created.budgets[0]?.id;
      assert.ok(budgetId);
      // Past the session gate, refused by the budget: five times the same body, more than both caps allow.
      for (let i = 0; i < 5; i++) {
        const refused = await call(gw, created.secret, "s-refused", "same");
        assert.equal(refused.status, 402, `attempt ${i}`);
        assert.match(await errorMessage(refused), /Budget "tiny" .*is exhausted/);
      }
      const patched = await fetch(`${gw.url}/api/budgets/${budgetId}`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
        body: JSON.stringify({ limitUsd: "10" }),
      });
      assert.equal(patched.status, 200, await patched.text());
      // The session starts afresh: the loop guard lets the body through once, the cap counts two requests.
      assert.equal(await status(call(gw, created.secret, "s-refused", "same")), 200, "first served request");
      const loop = await call(gw, created.secret, "s-refused", "same");
      assert.equal(loop.status, 429);
      assert.match(await errorMessage(loop), /sent 2 times in session s-refused/);
      assert.equal(await status(call(gw, created.secret, "s-refused", "other")), 200, "second served request");
      const capped = await call(gw, created.secret, "s-refused", "third");
      assert.equal(capped.status, 429);
      assert.match(await errorMessage(capped), /reached its cap of 2 requests/);
    });

    it("a request refused by the session's own spend cap gives back its request count", async () => {
      // Each call costs $0.00153: the $0.002 cap admits one, then refuses on spend (not on the request count).
      const secret = await newKey({ maxRequests: 2, maxUsd: "0.002" });
      assert.equal(await status(call(gw, secret, "s-spent")), 200);
      for (let i = 0; i < 3; i++) {
        const refused = await call(gw, secret, "s-spent");
        assert.equal(refused.status, 429);
        assert.match(await errorMessage(refused), /reached its \$0\.002000000 cap/, `attempt ${i}`);
      }
    });

    it("rejects invalid caps with a field-level 400", async () => {
      const res = await fetch(`${gw.url}/api/virtual-keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
        body: JSON.stringify({
          name: "bad-caps",
          sessionCaps: { maxRequests: 0, loopGuard: { repeats: 1, window: "1mo" } },
        }),
      });
      assert.equal(res.status, 400);
      const text = await res.text();
      assert.match(text, /sessionCaps\.maxRequests/);
      assert.match(text, /sessionCaps\.loopGuard/);
    });
  });

  if (!backend.sharedDatabase) return;
  const sharedSkip = backend.skip ?? backend.sharedDatabase.skip ?? false;

  describe(`session caps shared by two gateway processes (${backend.name} counters)`, { skip: sharedSkip }, () => {
    const clock = new ManualClock();
    let upstream: HoldingMock;
    let a: TestGateway;
    let b: TestGateway;
    /** A key created through one process; the other reloads its snapshot from the shared database. */
    const sharedKey = async (sessionCaps: unknown) => {
      const key = await createKey(a, { sessionCaps });
      await reloadGovernance(b);
      return key.secret;
    };

    before(async () => {
      upstream = await startHoldingMock();
      [a, b] = await startPair(upstream.mock.url, backend, clock);
    });
    after(async () => {
      await a?.close();
      await b?.close();
      await upstream?.mock.close();
      await backend.cleanup();
      await backend.sharedDatabase?.drop();
    });

    it("the request cap holds over both processes: 30 parallel requests of one session admit exactly the cap", async () => {
      const secret = await sharedKey({ maxRequests: 10 });
      const statuses = await parallel([a, b], 30, (g) => call(g, secret, "s-shared"));
      assert.deepEqual(countStatuses(statuses), { 200: 10, 429: 20 });
    });

    it("the loop guard counts a body sent through either process", async () => {
      const secret = await sharedKey({ loopGuard: { repeats: 3, window: "10m" } });
      const statuses = await parallel([a, b], 12, (g) => call(g, secret, "s-shared-loop", "same"));
      assert.deepEqual(countStatuses(statuses), { 200: 2, 429: 10 });
    });

    it("the spend cap holds over both processes", async () => {
      const secret = await sharedKey({ maxUsd: "0.004" });
      const statuses = await parallel([a, b], 12, (g) => call(g, secret, "s-shared-spend"));
      await b.logs(); // flushes b's writer into the shared database
      const rows = (await a.logs()).filter((r) => r.sessionId === "s-shared-spend" && r.status === 200);
      const spent = rows.reduce((sum, r) => sum + (r.costNanoUsd ?? 0), 0);
      assert.ok(spent <= 4_000_000, `spent ${spent} nano-USD; ${statuses.join(",")}`);
      assert.equal(rows.length, statuses.filter((s) => s === 200).length, "one shared request log");
    });
  });
}
