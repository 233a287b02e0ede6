import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createGateway, type Gateway } from "../../src/app.ts";
import type { Clock } from "../../src/clock.ts";
import { type GatewayConfig, loadConfig } from "../../src/config/load.ts";
import type { RequestLogRecord } from "../../src/store/log-record.ts";
import { queryLogs } from "../../src/store/logs-repo.ts";

export interface TestGateway {
  url: string;
  adminToken: string;
  gateway: Gateway;
  /** Operator warnings the gateway emitted. */
  warnings: string[];
  /** Flushes the log writer and returns every row, oldest first. */
  logs(): Promise<RequestLogRecord[]>;
  /** Waits until at least `n` rows exist (a stream's row is written when it ends, just after the client saw the end). */
  waitForLogs(n: number, timeoutMs?: number): Promise<RequestLogRecord[]>;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  /** The mock upstream's base URL; anthropic, openai and gemini point at it. */
  upstreamUrl: string;
  env?: Record<string, string>;
  /** Changes applied to the loaded config (timeouts, body limit …). */
  configure?: (config: GatewayConfig) => void;
  clock?: Clock;
  /** Keep the production retry and circuit-breaker defaults (else: one attempt, no breaker). */
  resilience?: boolean;
  /** Waits between upstream retries (default: real timers). */
  sleep?: (ms: number) => Promise<void>;
  /** Randomness for weighted routing, key picks and backoff jitter (default Math.random). */
  random?: () => number;
  databaseUrl?: string;
  databaseSchema?: string;
  /** Reuse a data dir (a restart); it is then left in place on close. */
  dataDir?: string;
}

export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789abcdef";

/** A real gateway on a free port with SQLite in a temp dir (or PostgreSQL in a schema), wired to the mock upstream. */
export async function startTestGateway(options: TestGatewayOptions): Promise<TestGateway> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "tollgate-test-")));
  const env: Record<string, string> = {
    ANTHROPIC_API_KEY: "test-anthropic-key",
    OPENAI_API_KEY: "test-openai-key",
    GEMINI_API_KEY: "test-gemini-key",
    TOLLGATE_ANTHROPIC_BASE_URL: options.upstreamUrl,
    TOLLGATE_OPENAI_BASE_URL: `${options.upstreamUrl}/v1`,
    TOLLGATE_GEMINI_BASE_URL: options.upstreamUrl,
    // Registers nothing by itself: the Bedrock provider appears only with AWS credentials in `env`.
    TOLLGATE_BEDROCK_BASE_URL: options.upstreamUrl,
    TOLLGATE_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    ...(options.databaseUrl ? { TOLLGATE_DATABASE_URL: options.databaseUrl } : {}),
    ...options.env,
  };
  const config = await loadConfig({ env, flags: { port: 0, host: "127.0.0.1", dataDir } });
  if (options.resilience !== true) {
    // Tests of other features see each upstream fault as it is: one attempt, and a breaker that never opens.
    // Routing tests pass `resilience: true` and get the production defaults (retries, breaker).
    config.routing.retries.maxAttempts = 1;
    config.routing.breaker.failureThreshold = 1_000_000;
  }
  options.configure?.(config);
  const warnings: string[] = [];
  const gateway = await createGateway(config, {
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.random ? { random: options.random } : {}),
    warn: (m) => warnings.push(m),
    ...(options.databaseSchema ? { databaseSchema: options.databaseSchema } : {}),
  });
  const url = await gateway.listen();

  async function logs(): Promise<RequestLogRecord[]> {
    await gateway.logWriter.flush();
    const all: RequestLogRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await queryLogs(gateway.database.db, { limit: 1000, ...(cursor ? { cursor } : {}) });
      all.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return all.reverse();
  }

  return {
    url,
    adminToken: TEST_ADMIN_TOKEN,
    gateway,
    warnings,
    logs,
    async waitForLogs(n, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const rows = await logs();
        if (rows.length >= n || Date.now() > deadline) return rows;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      await gateway.close(1000);
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
