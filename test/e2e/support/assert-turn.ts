import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  AGENT_COMMAND,
  AGENT_MARKER,
  type RecordedRequest,
  type RouteKind,
} from "../../fixtures/mock-upstream/index.ts";
import { type CliRun, describeRun } from "./run-cli.ts";
import type { E2eStack } from "./stack.ts";

export function promptFor(command: string): string {
  return `Run the shell command \`${command}\` and tell me exactly what it printed.`;
}

/**
 * The mock's `agent` scenario makes the model run AGENT_COMMAND in the client's shell tool whatever the prompt says;
 * the prompt just keeps the conversation plausible. Only a shell that evaluated the command can produce
 * AGENT_MARKER, so the marker in a later request proves the tool really ran.
 */
export const PROMPT = promptFor(AGENT_COMMAND);

/** Hard limit for one CLI run; the child and its process group are killed after it. */
export const CLI_TIMEOUT_MS = 120_000;

const MODEL_ROUTES: ReadonlySet<RouteKind> = new Set<RouteKind>([
  "anthropic-messages",
  "openai-chat",
  "openai-responses",
  "gemini-generate",
  "gemini-stream",
  "bedrock-invoke",
  "bedrock-invoke-stream",
  "bedrock-converse",
  "bedrock-converse-stream",
]);

export interface TurnExpectation {
  /** The `agent` the gateway must log. */
  agent: string;
  /** Request header carrying the client's session id; null when the client sends none. */
  sessionHeader: string | null;
}

function header(request: RecordedRequest, name: string): string | null {
  const value = request.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

function summarize(request: RecordedRequest): string {
  const body = request.body.toString("utf8");
  return `${request.method} ${request.path} route=${request.route} scenario=${request.script?.scenario ?? "-"} ua=${JSON.stringify(header(request, "user-agent"))} body=${body.length}B`;
}

/** The CLI's output plus everything the mock, the gateway and the trap proxy saw, for failure messages. */
export function diagnostics(stack: E2eStack, run: CliRun): string {
  return [
    describeRun(run),
    "--- requests received by the mock ---",
    ...stack.mock.requests.map(summarize),
    "--- outbound attempts caught by the trap proxy ---",
    ...stack.proxy.attempts,
  ].join("\n");
}

/** TOLLGATE_E2E_DUMP_DIR=<dir> keeps every request the CLI made (headers and bodies) for studying the clients. */
async function dump(agent: string, what: string, data: unknown): Promise<void> {
  const dir = process.env.TOLLGATE_E2E_DUMP_DIR;
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${agent}.${what}.json`), JSON.stringify(data, null, 2));
}

/**
 * The shell-tool round trip through gateway and mock: the CLI succeeded and printed AGENT_MARKER; the model was called
 * at least twice and a later call carried the tool's output; the gateway logged each model call as this agent's,
 * successful and metered; nothing tried to leave the machine.
 */
export async function assertShellRoundTrip(stack: E2eStack, run: CliRun, expected: TurnExpectation): Promise<void> {
  const requests = stack.mock.requests.map((r) => ({
    method: r.method,
    path: r.path,
    headers: r.headers,
    json: r.json,
  }));
  await dump(expected.agent, "requests", { requests, outbound: stack.proxy.attempts });
  const context = () => diagnostics(stack, run);
  assert.equal(run.timedOut, false, `CLI timed out\n${context()}`);
  assert.equal(run.exitCode, 0, `CLI failed\n${context()}`);
  assert.ok(run.stdout.includes(AGENT_MARKER), `CLI output lacks ${AGENT_MARKER}\n${context()}`);

  const modelCalls = stack.mock.requests.filter((r) => MODEL_ROUTES.has(r.route));
  assert.ok(modelCalls.length >= 2, `expected >= 2 model calls, got ${modelCalls.length}\n${context()}`);
  const withToolResult = modelCalls.findIndex((r) => r.body.toString("utf8").includes(AGENT_MARKER));
  assert.ok(withToolResult >= 1, `no model call after the first carried the tool output\n${context()}`);

  assert.deepEqual(stack.proxy.attempts, [], `the CLI tried to reach the internet\n${context()}`);

  const rows = await stack.logs(modelCalls.length);
  await dump(expected.agent, "log-rows", rows);
  const rowsText = () => `${context()}\n--- gateway log rows ---\n${JSON.stringify(rows, null, 1)}`;
  assert.equal(rows.length, modelCalls.length, `one log row per model call expected\n${rowsText()}`);
  for (const row of rows) {
    assert.equal(row.status, 200, `log row status\n${rowsText()}`);
    assert.equal(row.agent, expected.agent, `log row agent\n${rowsText()}`);
    assert.ok(row.outputTokens > 0, `log row output tokens\n${rowsText()}`);
  }
  const sentSessions = modelCalls.map((r) => (expected.sessionHeader ? header(r, expected.sessionHeader) : null));
  if (expected.sessionHeader) {
    assert.ok(
      sentSessions.every((s) => s !== null),
      `every call should carry ${expected.sessionHeader}\n${rowsText()}`,
    );
  }
  assert.deepEqual(
    rows.map((r) => r.sessionId).sort(),
    sentSessions.sort(),
    `logged session ids should be the ones the client sent\n${rowsText()}`,
  );
}
