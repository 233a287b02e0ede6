import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * External services for tests (PostgreSQL now, Redis later).
 *
 * `requireService` probes once. Reachable → `undefined`. Unreachable → a skip reason to hand to
 * `describe(name, { skip }, …)` / `t.skip(reason)` — except in CI (`CI=true`), where a missing service is a
 * broken test environment, so it throws and the test file fails loudly.
 */
export async function requireService(
  name: string,
  probe: () => Promise<void>,
  options: { target?: string; timeoutMs?: number } = {},
): Promise<string | undefined> {
  const timeoutMs = options.timeoutMs ?? 5000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const reason = `${name} not reachable${options.target === undefined ? "" : ` at ${options.target}`}: ${message}`;
    if (process.env.CI === "true") throw new Error(`${reason} (CI=true: required services must be up)`);
    return reason;
  } finally {
    clearTimeout(timer);
  }
}

export const DEFAULT_TEST_PG_URL = "postgres://postgres@127.0.0.1:5432/test";

export function testPostgresUrl(): string {
  return process.env.TOLLGATE_TEST_PG_URL || DEFAULT_TEST_PG_URL;
}

/** The URL without its password, fit for test output. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparsable URL)";
  }
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

export async function probePostgres(url: string): Promise<void> {
  await withClient(url, async (client) => {
    await client.query("select 1");
  });
}

/** Skip reason when the test PostgreSQL is unreachable (throws in CI); undefined when it is up. */
export function requirePostgres(url: string = testPostgresUrl()): Promise<string | undefined> {
  return requireService("PostgreSQL", () => probePostgres(url), { target: redactedUrl(url) });
}

/** A fresh schema name, unique per test file run, so parallel test files never share tables. */
export function randomSchemaName(prefix = "test"): string {
  return `${prefix}_${randomBytes(6).toString("hex")}`;
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`refusing to drop odd schema name ${schema}`);
  await withClient(url, async (client) => {
    await client.query(`drop schema if exists "${schema}" cascade`);
  });
}
