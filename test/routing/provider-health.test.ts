import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../../src/clock.ts";
import type { ProviderConfig, ProviderKey } from "../../src/providers/types.ts";
import { ProviderHealth } from "../../src/routing/provider-health.ts";

/** Deterministic [0, 1) numbers (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function key(id: string, extra: Partial<ProviderKey> = {}): ProviderKey {
  return { id, secret: `secret-${id}`, label: null, source: "config", ...extra };
}

function provider(name: string, keys: ProviderKey[]): ProviderConfig {
  return {
    name,
    kind: "openai",
    baseUrl: "http://127.0.0.1:1",
    auth: "bearer",
    dialects: ["openai-chat"],
    keys,
    keyOptional: false,
    models: [],
    modelPatterns: [],
    headers: {},
    pricingId: null,
    source: "config",
  };
}

function counts(n: number, pick: () => string | null | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const id = pick() ?? "null";
    out.set(id, (out.get(id) ?? 0) + 1);
  }
  return out;
}

function setup(options: { keyCooldownMs?: number; breaker?: { failureThreshold?: number; openMs?: number } } = {}) {
  const clock = new ManualClock();
  const health = new ProviderHealth({ clock, random: seeded(7), ...options });
  return { clock, health };
}

describe("ProviderHealth keys", () => {
  it("of three keys one 401 and one 429: traffic converges on the healthy one, the 401 is flagged, the 429 comes back", () => {
    const { clock, health } = setup();
    const p = provider("openai", [key("k-bad"), key("k-limited"), key("k-good")]);
    health.report("openai", "k-bad", { status: 401, latencyMs: 40 });
    health.report("openai", "k-limited", { status: 429, latencyMs: 30, retryAfterMs: null });
    health.report("openai", "k-good", { status: 200, latencyMs: 200 });

    const picks = counts(1000, () => health.pickKey(p, "gpt-4.1")?.id);
    assert.deepEqual([...picks], [["k-good", 1000]]);

    const view = health.view("openai", ["k-bad", "k-limited", "k-good"]);
    assert.equal(view.circuit, "closed");
    const [bad, limited, good] = view.keys;
    assert.equal(bad?.state, "flagged");
    assert.equal(bad?.reason, "401 Unauthorized");
    assert.equal(bad?.since, clock.now());
    assert.equal(limited?.state, "cooling");
    assert.equal(limited?.until, clock.now() + 60_000);
    assert.equal(good?.state, "ok");
    assert.equal(good?.ewmaLatencyMs, 200);
    assert.equal(good?.requests, 1);
    assert.equal(health.soonestRecovery("openai"), clock.now() + 60_000);

    clock.advance(59_999);
    assert.ok(!counts(200, () => health.pickKey(p, "gpt-4.1")?.id).has("k-limited"));
    clock.advance(1);
    assert.equal(health.view("openai", ["k-limited"]).keys[0]?.state, "ok");
    assert.equal(health.soonestRecovery("openai"), null);
    const after = counts(1000, () => health.pickKey(p, "gpt-4.1")?.id);
    assert.ok((after.get("k-limited") ?? 0) > 100, `cooled key is back: ${[...after]}`);
    assert.ok(!after.has("k-bad"), "flagged key stays out");

    // A success on the returning key brings it level again; the flag stays until reset.
    health.report("openai", "k-limited", { status: 200, latencyMs: 200 });
    clock.advance(24 * 3600_000);
    assert.equal(health.view("openai", ["k-bad"]).keys[0]?.state, "flagged");
    health.reset("openai", "k-bad");
    assert.equal(health.view("openai", ["k-bad"]).keys[0]?.state, "ok");
    assert.ok(counts(1000, () => health.pickKey(p, "gpt-4.1")?.id).has("k-bad"));
  });

  it("403 flags with its own reason; a 429's retry-after sets the cooldown", () => {
    const { clock, health } = setup({ keyCooldownMs: 5000 });
    health.report("p", "a", { status: 403, latencyMs: 1 });
    health.report("p", "b", { status: 429, latencyMs: 1, retryAfterMs: 12_000 });
    health.report("p", "c", { status: 429, latencyMs: 1 });
    const view = health.view("p");
    assert.deepEqual(
      view.keys.map((k) => [k.id, k.state, k.reason ?? k.until]),
      [
        ["a", "flagged", "403 Forbidden"],
        ["b", "cooling", clock.now() + 12_000],
        ["c", "cooling", clock.now() + 5000],
      ],
    );
  });

  it("answers null when every key is cooling, with the soonest recovery", () => {
    const { clock, health } = setup();
    const p = provider("p", [key("a"), key("b")]);
    health.report("p", "a", { status: 429, latencyMs: 1, retryAfterMs: 20_000 });
    health.report("p", "b", { status: 429, latencyMs: 1, retryAfterMs: 8_000 });
    assert.equal(health.pickKey(p, "m"), null);
    assert.equal(health.soonestRecovery("p"), clock.now() + 8_000);
    clock.advance(8_000);
    assert.equal(health.pickKey(p, "m")?.id, "b");
  });

  it("keeps the weights' proportions when all keys are healthy and equally fast", () => {
    const { health } = setup();
    const p = provider("p", [key("a", { weight: 5 }), key("b", { weight: 3 }), key("c", { weight: 2 })]);
    for (const id of ["a", "b", "c"]) health.report("p", id, { status: 200, latencyMs: 100 });
    const n = 5000;
    const picks = counts(n, () => health.pickKey(p, "m")?.id);
    for (const [id, share] of [
      ["a", 0.5],
      ["b", 0.3],
      ["c", 0.2],
    ] as const) {
      const got = (picks.get(id) ?? 0) / n;
      assert.ok(Math.abs(got - share) < 0.02, `${id}: ${got} vs ${share}`);
    }
  });

  it("keeps the weights' proportions for keys never used", () => {
    const { health } = setup();
    const p = provider("p", [key("a", { weight: 1 }), key("b", { weight: 3 })]);
    const picks = counts(5000, () => health.pickKey(p, "m")?.id);
    assert.ok(Math.abs((picks.get("b") ?? 0) / 5000 - 0.75) < 0.02, `${[...picks]}`);
  });

  it("prefers the faster key (EWMA), still probing the slower one", () => {
    const { health } = setup();
    const p = provider("p", [key("fast"), key("slow")]);
    for (let i = 0; i < 10; i++) {
      health.report("p", "fast", { status: 200, latencyMs: 100 });
      health.report("p", "slow", { status: 200, latencyMs: 900 });
    }
    const picks = counts(4000, () => health.pickKey(p, "m")?.id);
    const slow = (picks.get("slow") ?? 0) / 4000;
    // Only when drawn twice: 1/4.
    assert.ok(Math.abs(slow - 0.25) < 0.03, `slow share ${slow}`);
    // The averages move: the slow key becomes fast, the fast one slow.
    for (let i = 0; i < 30; i++) {
      health.report("p", "fast", { status: 200, latencyMs: 900 });
      health.report("p", "slow", { status: 200, latencyMs: 100 });
    }
    const flipped = counts(4000, () => health.pickKey(p, "m")?.id);
    assert.ok((flipped.get("slow") ?? 0) / 4000 > 0.7);
  });

  it("avoids a key with recent errors", () => {
    const { health } = setup();
    const p = provider("p", [key("flaky"), key("steady")]);
    health.report("p", "flaky", { status: 200, latencyMs: 100 });
    health.report("p", "steady", { status: 200, latencyMs: 150 });
    health.report("p", "flaky", { status: 503, latencyMs: 100 });
    const picks = counts(4000, () => health.pickKey(p, "m")?.id);
    assert.ok((picks.get("steady") ?? 0) / 4000 > 0.7, `${[...picks]}`);
  });

  it("serves a model only from keys whose model list matches it (globs)", () => {
    const { health } = setup();
    const p = provider("p", [
      key("mini", { models: ["gpt-4.1-mini", "o4-*"] }),
      key("big", { models: ["gpt-4.1"] }),
      key("any"),
      key("none", { models: [] }),
    ]);
    const ids = (model: string) => [...counts(500, () => health.pickKey(p, model)?.id).keys()].sort();
    assert.deepEqual(ids("gpt-4.1-mini"), ["any", "mini"]);
    assert.deepEqual(ids("o4-mini"), ["any", "mini"]);
    assert.deepEqual(ids("gpt-4.1"), ["any", "big"]);
    assert.deepEqual(ids("gpt-5"), ["any"]);
    const only = provider("q", [key("mini", { models: ["gpt-4.1-mini"] })]);
    assert.equal(health.pickKey(only, "gpt-5"), null);
  });

  it("honours the session's preferred key while it is usable", () => {
    const { health } = setup();
    const p = provider("p", [key("a"), key("b"), key("c")]);
    assert.ok([...counts(200, () => health.pickKey(p, "m", { prefer: "b" })?.id).keys()].every((id) => id === "b"));
    health.report("p", "b", { status: 429, latencyMs: 1 });
    const picks = counts(200, () => health.pickKey(p, "m", { prefer: "b" })?.id);
    assert.ok(!picks.has("b") && picks.size === 2);
    assert.ok(health.pickKey(p, "m", { prefer: "gone" }) !== null);
  });

  it("ignores the client's own 4xx", () => {
    const { health } = setup();
    for (let i = 0; i < 10; i++) health.report("p", "a", { status: 400, latencyMs: 5 });
    const [a] = health.view("p").keys;
    assert.equal(a?.state, "ok");
    assert.equal(a?.errorRate, 0);
    assert.equal(a?.requests, 10);
    assert.equal(health.view("p").circuit, "closed");
  });
});

describe("ProviderHealth circuit breaker", () => {
  it("opens after consecutive failures, half-opens for one probe, closes on its success", () => {
    const { clock, health } = setup({ breaker: { failureThreshold: 3, openMs: 10_000 } });
    health.report("p", "a", { status: 502, latencyMs: 1 });
    health.report("p", "a", { status: null, latencyMs: 1 });
    assert.ok(health.allows("p"));
    health.report("p", "a", { status: 503, latencyMs: 1 });
    assert.equal(health.view("p").circuit, "open");
    assert.equal(health.view("p").openUntil, clock.now() + 10_000);
    assert.ok(!health.allows("p"));
    clock.advance(10_000);
    assert.equal(health.view("p").circuit, "half-open");
    assert.ok(health.allows("p"), "one probe");
    assert.ok(!health.allows("p"), "only one");
    health.report("p", "a", { status: 200, latencyMs: 50 });
    assert.equal(health.view("p").circuit, "closed");
    assert.ok(health.allows("p") && health.allows("p"));
  });

  it("a failed probe opens it again; a probe that never reports is given up after openMs", () => {
    const { clock, health } = setup({ breaker: { failureThreshold: 1, openMs: 5000 } });
    health.report("p", null, { status: 500, latencyMs: 1 });
    clock.advance(5000);
    assert.ok(health.allows("p"));
    health.report("p", null, { status: 500, latencyMs: 1 });
    assert.equal(health.view("p").circuit, "open");
    assert.ok(!health.allows("p"));
    clock.advance(5000);
    assert.ok(health.allows("p"));
    clock.advance(4999);
    assert.ok(!health.allows("p"));
    clock.advance(1);
    assert.ok(health.allows("p"), "lost probe replaced");
  });

  it("successes and 4xx in between: only consecutive 5xx count; a 4xx answers a probe", () => {
    const { clock, health } = setup({ breaker: { failureThreshold: 3, openMs: 1000 } });
    for (let i = 0; i < 10; i++) {
      health.report("p", "a", { status: 500, latencyMs: 1 });
      health.report("p", "a", { status: 500, latencyMs: 1 });
      health.report("p", "a", { status: 200, latencyMs: 1 });
    }
    assert.equal(health.view("p").circuit, "closed");
    health.report("p", "a", { status: 500, latencyMs: 1 });
    health.report("p", "a", { status: 404, latencyMs: 1 });
    health.report("p", "a", { status: 500, latencyMs: 1 });
    health.report("p", "a", { status: 500, latencyMs: 1 });
    assert.equal(health.view("p").circuit, "open", "4xx neither counts nor resets");
    clock.advance(1000);
    assert.ok(health.allows("p"));
    health.report("p", "a", { status: 429, latencyMs: 1 });
    assert.equal(health.view("p").circuit, "closed");
  });

  it("pickTarget skips providers whose circuit is open and weighs the others", () => {
    const { clock, health } = setup({ breaker: { failureThreshold: 1, openMs: 1000 } });
    const targets = [
      { provider: "a", model: "m1", weight: 1 },
      { provider: "b", model: "m2", weight: 3 },
    ];
    const picks = counts(4000, () => health.pickTarget(targets)?.provider);
    assert.ok(Math.abs((picks.get("b") ?? 0) / 4000 - 0.75) < 0.03, `${[...picks]}`);
    health.report("b", null, { status: 503, latencyMs: 1 });
    assert.deepEqual([...counts(100, () => health.pickTarget(targets)?.provider)], [["a", 100]]);
    health.report("a", null, { status: 503, latencyMs: 1 });
    assert.equal(health.pickTarget(targets), null);
    clock.advance(1000);
    // Both half-open: the first pick takes one probe, the second the other, then none until they report.
    const first = health.pickTarget(targets)?.provider;
    const second = health.pickTarget(targets)?.provider;
    assert.deepEqual([first, second].sort(), ["a", "b"]);
    assert.equal(health.pickTarget(targets), null);
    health.report("a", null, { status: 200, latencyMs: 10 });
    assert.equal(health.pickTarget(targets)?.provider, "a");
  });

  it("pickTarget prefers the provider with the better record", () => {
    const { health } = setup();
    const targets = [
      { provider: "a", weight: 1 },
      { provider: "b", weight: 1 },
    ];
    for (let i = 0; i < 5; i++) {
      health.report("a", "k", { status: 200, latencyMs: 800 });
      health.report("b", "k", { status: 200, latencyMs: 100 });
    }
    const picks = counts(4000, () => health.pickTarget(targets)?.provider);
    assert.ok(Math.abs((picks.get("b") ?? 0) / 4000 - 0.75) < 0.03, `${[...picks]}`);
  });
});
