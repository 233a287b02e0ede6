import assert from "node:assert/strict";
import type { RecordedRequest, RouteKind } from "../../fixtures/mock-upstream/types.ts";
import { type CliRun, describeRun } from "./run-cli.ts";
import type { E2eStack } from "./stack.ts";

/**
 * What the mock's `agent` scenario makes the model do: run this in the client's shell tool. Only a shell that
 * evaluated it can produce MARKER, so MARKER in a later request proves the tool really ran.
 */
export const SHELL_COMMAND = "echo tollgate-e2e-$((6*7))";
export const MARKER = "tollgate-e2e-42";
export const PROMPT = `Run the shell command \`${SHELL_COMMAND}\` and tell me exactly what it printed.`;

/** Hard limit for one CLI run; the child and its process group are killed after it. */
export const CLI_TIMEOUT_MS = 120_000;

const MODEL_ROUTES: ReadonlySet<RouteKind> = new Set<RouteKind>([
  "anthropic-messages",
  "openai-chat",
  "openai-responses",
  "gemini-generate",
  "gemini-stream",
]);

export interface TurnExpectation {
  /** The `agent` the gateway must log. */
  agent: string;
  /** Request header carrying the client's session id; null when the client sends none. */
  sessionHeader: string | null;
  /** Hosts the CLI is known to try despite the offline settings (non-fatal), e.g. opencode's plugin install. */
  toleratedOutboundHosts?: readonly string[];
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

function hostOf(attempt: string): string {
  const target = attempt.split(" ")[1] ?? "";
  try {
    return new URL(target.includes("://") ? target : `http://${target}`).hostname;
  } catch {
    return target;
  }
}

/**
 * The shell-tool round trip through gateway and mock: the CLI succeeded and printed MARKER; the model was called
 * at least twice and a later call carried the tool's output; the gateway logged each model call as this agent's,
 * successful and metered; nothing tried to leave the machine (beyond known, harmless attempts).
 */
export async function assertShellRoundTrip(stack: E2eStack, run: CliRun, expected: TurnExpectation): Promise<void> {
  const context = () => diagnostics(stack, run);
  assert.equal(run.timedOut, false, `CLI timed out\n${context()}`);
  assert.equal(run.exitCode, 0, `CLI failed\n${context()}`);
  assert.ok(run.stdout.includes(MARKER), `CLI output lacks ${MARKER}\n${context()}`);

  const modelCalls = stack.mock.requests.filter((r) => MODEL_ROUTES.has(r.route));
  assert.ok(modelCalls.length >= 2, `expected >= 2 model calls, got ${modelCalls.length}\n${context()}`);
  const withToolResult = modelCalls.findIndex((r) => r.body.toString("utf8").includes(MARKER));
  assert.ok(withToolResult >= 1, `no model call after the first carried the tool output\n${context()}`);

  const stray = stack.proxy.attempts.filter((a) => !(expected.toleratedOutboundHosts ?? []).includes(hostOf(a)));
  assert.deepEqual(stray, [], `the CLI tried to reach the internet\n${context()}`);

  if (stack.logs === null) return;
  const rows = await stack.logs();
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
