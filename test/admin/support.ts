/** A real gateway on port 0 with SQLite in a temp dir, a management-API client, and a fake provider. */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createGateway, type Gateway } from "../../src/app.ts";
import { loadConfig } from "../../src/config/load.ts";

export const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";

/** `body` is the parsed JSON, typed as the caller expects it (the assertions check it). */
export interface ApiResponse<T> {
  status: number;
  contentType: string;
  body: T;
  text: string;
}

export interface ErrorBody {
  error: { type: string; message: string; details?: Array<{ path: string[]; message: string }> };
}

export interface KeyView {
  id: string;
  label: string | null;
  fingerprint: string;
  source: string;
  disabled: boolean;
}

export interface ProviderView {
  name: string;
  kind: string;
  baseUrl: string;
  dialects: string[];
  models: string[];
  source: string;
  preset: string | null;
  pricingId: string | null;
  keyOptional: boolean;
  headers: string[];
  keys: KeyView[];
  overrides?: string;
  notice?: string;
  unavailable?: string;
}

export interface TestGateway {
  gateway: Gateway;
  url: string;
  warnings: string[];
  /** Every response text the API produced, for "no secret ever leaves" checks. */
  responses: string[];
  api<T = unknown>(method: string, path: string, body?: unknown, token?: string | null): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

/** A temp dir removed by `remove()`; the gateway's data dir is `<dir>/data`. */
export async function tempDir(
  prefix = "tollgate-admin-",
): Promise<{ dir: string; dataDir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, dataDir: join(dir, "data"), remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface StartOptions {
  dataDir: string;
  /** Added to TOLLGATE_ADMIN_TOKEN; nothing from the real environment leaks in. */
  env?: Record<string, string>;
  /** Written to `<dataDir>/../config.json` and passed as --config. */
  configFile?: unknown;
}

export async function startGateway({ dataDir, env = {}, configFile }: StartOptions): Promise<TestGateway> {
  let config: string | undefined;
  if (configFile !== undefined) {
    config = join(dataDir, "..", "config.json");
    await writeFile(config, JSON.stringify(configFile));
  }
  const gatewayConfig = await loadConfig({
    env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN, ...env },
    flags: { port: 0, dataDir, ...(config ? { config } : {}) },
  });
  const warnings: string[] = [];
  const gateway = await createGateway(gatewayConfig, { warn: (m) => warnings.push(m) });
  const url = await gateway.listen();
  const responses: string[] = [];
  return {
    gateway,
    url,
    warnings,
    responses,
    async api<T>(method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN) {
      const headers: Record<string, string> = {};
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let payload: string | undefined;
      if (body !== undefined) {
        headers["content-type"] = "application/json";
        payload = typeof body === "string" ? body : JSON.stringify(body);
      }
      const res = await fetch(`${url}/api${path}`, {
        method,
        headers,
        ...(payload === undefined ? {} : { body: payload }),
      });
      const text = await res.text();
      responses.push(text);
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
      return { status: res.status, contentType: res.headers.get("content-type") ?? "", body: parsed as T, text };
    },
    close: () => gateway.close(1000),
  };
}

/** Asserts that none of `secrets` appears in any response the gateway gave. */
export function assertNoSecretIn(responses: readonly string[], secrets: readonly string[]): void {
  for (const text of responses) {
    for (const secret of secrets)
      assert.ok(!text.includes(secret), `a response contains the secret ${secret.slice(0, 6)}…`);
  }
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/**
 * A fake provider: `/openai/v1/models` (Bearer) and `/anthropic/v1/models` (x-api-key + anthropic-version) answer
 * 200 for `goodKey` and 401 with the provider's real error shape otherwise. The OpenAI error echoes the key it got
 * (the real one echoes a masked form), so redaction is exercised.
 */
export async function startFakeProvider(
  goodKey: string,
): Promise<{ url: string; seen: SeenRequest[]; close(): Promise<void> }> {
  const seen: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.url === "/openai/v1/models") {
      const given = (req.headers.authorization ?? "").replace(/^Bearer /, "");
      if (given === goodKey) return json(200, { object: "list", data: [{ id: "acme-large", object: "model" }] });
      return json(401, {
        error: {
          message: `Incorrect API key provided: ${given}. You can find your API key at https://platform.openai.com/account/api-keys.`,
          type: "invalid_request_error",
          param: null,
          code: "invalid_api_key",
        },
      });
    }
    if (req.url === "/anthropic/v1/models") {
      if (req.headers["anthropic-version"] !== "2023-06-01") {
        return json(400, {
          type: "error",
          error: { type: "invalid_request_error", message: "anthropic-version: header is required" },
        });
      }
      if (req.headers["x-api-key"] === goodKey)
        return json(200, { data: [{ id: "claude-test", type: "model" }], has_more: false });
      return json(401, {
        type: "error",
        error: { type: "authentication_error", message: "invalid x-api-key" },
        request_id: "req_1",
      });
    }
    json(404, { error: { message: "not found" } });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
