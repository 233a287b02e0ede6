import assert from "node:assert/strict";
import type { ManualClock } from "../../src/clock.ts";
import { loadKeySnapshot } from "../../src/governance/entities/index.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import type { CounterBackend } from "../helpers/counter-backends.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

/** A `firstByteDelayMs` that marks a reply the test releases itself (the mock's sleep hook parks it). */
export const HOLD_MS = 86_400_000;

/** The mock upstream, with replies scripted `firstByteDelayMs: HOLD_MS` parked until released: no real sleeps. */
export interface HoldingMock {
  mock: MockUpstream;
  /** Replies parked at the mock right now (requests the gateway let through and the upstream is "working on"). */
  parked(): number;
  /** The most replies ever parked at once since the last resetPeak(). */
  peak(): number;
  resetPeak(): void;
  /** Lets every parked reply go on. */
  releaseAll(): void;
}

export async function startHoldingMock(): Promise<HoldingMock> {
  const waiting: (() => void)[] = [];
  let peak = 0;
  const mock = await startMockUpstream({
    sleep: (ms) => {
      if (ms !== HOLD_MS) return Promise.resolve();
      return new Promise<void>((resolve) => {
        waiting.push(resolve);
        peak = Math.max(peak, waiting.length);
      });
    },
  });
  return {
    mock,
    parked: () => waiting.length,
    peak: () => peak,
    resetPeak: () => {
      peak = waiting.length;
    },
    releaseAll: () => {
      for (const resolve of waiting.splice(0)) resolve();
    },
  };
}

/** Polls (on I/O, not on a timer's worth of behaviour) until `done()`; fails after `timeoutMs`. */
export async function waitUntil(done: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export interface CreatedKey {
  id: string;
  secret: string;
}

export async function createKey(gw: TestGateway, body: Record<string, unknown>): Promise<CreatedKey> {
  const res = await fetch(`${gw.url}/api/virtual-keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ name: `k-${Math.random().toString(36).slice(2)}`, ...body }),
  });
  const created = (await res.json()) as CreatedKey;
  assert.equal(res.status, 201, JSON.stringify(created));
  return created;
}

/** Reloads a gateway's governance snapshot from its database (another process wrote the change there). */
export async function reloadGovernance(gw: TestGateway): Promise<void> {
  gw.gateway.runtime.governance = await loadKeySnapshot(gw.gateway.database.db, { clock: gw.gateway.runtime.clock });
}

/**
 * Two gateways as two processes of one cluster: one PostgreSQL schema, one Redis (the backend's env), one clock.
 */
export async function startPair(
  upstreamUrl: string,
  backend: CounterBackend,
  clock: ManualClock,
): Promise<[TestGateway, TestGateway]> {
  const db = backend.sharedDatabase;
  assert.ok(db, `${backend.name} counters are not shared`);
  const options = { upstreamUrl, env: backend.env, clock, databaseUrl: db.url, databaseSchema: db.schema };
  // One after the other: the first one migrates the schema.
  const a = await startTestGateway(options);
  try {
    return [a, await startTestGateway(options)];
  } catch (error) {
    await a.close();
    throw error;
  }
}

export function countStatuses(statuses: readonly number[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const s of statuses) out[s] = (out[s] ?? 0) + 1;
  return out;
}
