import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { type RunningChild, startNodeChild } from "./child-process.ts";

// How the bench starts the two processes under test. Both are separate node processes so /proc can tell their CPU
// time and memory apart from the load generator's.

export const mockEntry = "test/fixtures/mock-upstream/main.ts";
export const gatewayEntry = "dist/cli/main.js";

export async function startMock(root: string): Promise<RunningChild> {
  if (!existsSync(resolve(root, mockEntry))) throw new Error(`the mock upstream ${mockEntry} does not exist`);
  return startNodeChild({
    name: "mock",
    args: [mockEntry, "--port", "0", "--no-record"],
    cwd: root,
    env: { ...process.env },
    readyTimeoutMs: 20_000,
    readyUrl: (line) => {
      if (!line.startsWith("{")) return undefined;
      try {
        const parsed: unknown = JSON.parse(line);
        if (typeof parsed === "object" && parsed !== null && "url" in parsed && typeof parsed.url === "string") {
          return parsed.url;
        }
      } catch {
        // Not the ready line.
      }
      return undefined;
    },
  });
}

/** Runs `npm run build` (tsc -p tsconfig.json) so the gateway arm measures the current source. */
export function buildGateway(root: string): void {
  const result = spawnSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"], {
    cwd: root,
    encoding: "utf8",
    timeout: 300_000,
  });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim().split("\n").slice(0, 30).join("\n");
    throw new Error(
      `npm run build failed (status ${result.status}${result.error ? `, ${result.error.message}` : ""}):\n${output}`,
    );
  }
}

/**
 * Starts `tollgate start` on a free port with its data in `dataDir`. The admin token is the caller's, so the
 * management API can be used and the gateway restarted on the same data dir with the same token.
 */
export async function startGateway(
  root: string,
  mockUrl: string,
  dataDir: string,
  options: { adminToken: string; readyTimeoutMs?: number; env?: Record<string, string> },
): Promise<RunningChild> {
  if (!existsSync(resolve(root, gatewayEntry))) throw new Error(`${gatewayEntry} does not exist (was the build run?)`);
  return startNodeChild({
    name: "gateway",
    args: [gatewayEntry, "start", "--port", "0", "--data-dir", dataDir],
    cwd: root,
    env: {
      ...process.env,
      ANTHROPIC_API_KEY: "bench-key",
      OPENAI_API_KEY: "bench-key",
      TOLLGATE_ANTHROPIC_BASE_URL: mockUrl,
      TOLLGATE_OPENAI_BASE_URL: `${mockUrl}/v1`,
      TOLLGATE_ADMIN_TOKEN: options.adminToken,
      ...options.env,
    },
    readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
    readyUrl: (line) => /Tollgate listening on (http:\/\/\S+)/.exec(line)?.[1],
  });
}

/** The bare node:http server a cache hit's CPU is compared with (bench/http-floor-server.ts). */
export async function startFloorServer(root: string): Promise<RunningChild> {
  return startNodeChild({
    name: "floor",
    args: ["bench/http-floor-server.ts"],
    cwd: root,
    env: { ...process.env },
    readyTimeoutMs: 20_000,
    readyUrl: (line) => /floor listening on (http:\/\/\S+)/.exec(line)?.[1],
  });
}
