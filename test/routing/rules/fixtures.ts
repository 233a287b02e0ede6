import type { VirtualKeySnapshot } from "../../../src/governance/entities/index.ts";
import type { RoutingInput, RoutingRule } from "../../../src/routing/rules/types.ts";

let n = 0;

/** A rule with defaults; ids sort in creation order like real ones. */
export function rule(fields: Partial<RoutingRule> & { expression: string }): RoutingRule {
  n++;
  const stamp = new Date(0).toISOString();
  return {
    id: `rr_${String(n).padStart(6, "0")}`,
    name: `rule ${n}`,
    description: null,
    scope: { type: "global", id: null },
    priority: 0,
    enabled: true,
    targets: [{ provider: "openai", model: `target-${n}`, key: null, weight: 1 }],
    fallbacks: [],
    source: "api",
    createdAt: stamp,
    updatedAt: stamp,
    ...fields,
  };
}

/** The parts of a key snapshot routing reads. */
export function keySnapshot(fields: Partial<VirtualKeySnapshot> = {}): VirtualKeySnapshot {
  return {
    id: "vk_1",
    name: "laptop",
    team: { id: "team_1", name: "Payments" },
    customer: { id: "cus_1", name: "Acme" },
    developer: { id: "dev_1", name: "Ada", email: null },
    labels: { env: "prod" },
    budgets: [],
    rateLimits: [],
    ...fields,
  } as unknown as VirtualKeySnapshot;
}

export function input(fields: Partial<RoutingInput> = {}): RoutingInput {
  return {
    model: "gpt-4o",
    provider: null,
    headers: {},
    key: null,
    agent: null,
    sessionId: null,
    estimatedInputTokens: 1000,
    hasTools: false,
    now: Date.UTC(2026, 10, 27, 12),
    ...fields,
  };
}

/** mulberry32: a small seeded PRNG, so weighted picks are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
