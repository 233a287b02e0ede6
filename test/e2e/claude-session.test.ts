import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import test from "node:test";
import type { RequestLogRecord } from "../../src/store/log-record.ts";
import { AGENT_MARKER } from "../fixtures/mock-upstream/index.ts";
import { CLI_TIMEOUT_MS, diagnostics, PROMPT } from "./support/assert-turn.ts";
import { CLAUDE_QUIET_ENV } from "./support/claude.ts";
import { cliAvailability } from "./support/cli-install.ts";
import { runCli } from "./support/run-cli.ts";
import { startStack } from "./support/stack.ts";

const clis = await cliAvailability();

const MAIN_MODEL = "claude-sonnet-4-5";
const SUBAGENT_MODEL = "claude-haiku-4-5";

interface Tokens {
  input: number;
  cacheRead: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  output: number;
  reasoning: number;
}

interface SessionDetail {
  id: string;
  agent: string | null;
  totals: { requests: number; costNanoUsd: number; tokens: Tokens };
  cacheHitRatio: number | null;
  models: { model: string; requests: number; costNanoUsd: number }[];
  subagents: { agentId: string; parentAgentId: string | null; requests: number; costNanoUsd: number }[];
  requests: { id: string; costNanoUsd: number | null; agentId: string | null }[];
}

const sum = (rows: readonly RequestLogRecord[], f: (r: RequestLogRecord) => number) =>
  rows.reduce((acc, r) => acc + f(r), 0);

/**
 * Acceptance 4, second half: one real `claude -p` session through the gateway (main turn → Agent tool → a subagent
 * on another model runs Bash → main turn answers), then `/api/sessions/{id}` must agree with the session's log rows:
 * request count, models, cost, cache-hit ratio and the subagent.
 */
test("Claude Code: a real claude -p session with a subagent shows up in /api/sessions/{id} as its log rows say", {
  skip: clis.kind === "skip" ? clis.reason : false,
  timeout: CLI_TIMEOUT_MS + 30_000,
}, async (t) => {
  if (clis.kind === "skip") return;
  const stack = await startStack();
  t.after(() => stack.close());
  const { sandbox, mock } = stack;
  await writeFile(join(sandbox.home, ".claude.json"), JSON.stringify({ hasCompletedOnboarding: true }));

  // The first model call (the main turn) delegates to a subagent; later calls play the default `agent` scenario
  // (Bash, then the tool's output). Cache counts on the first four calls make the ratio something to check.
  mock.enqueue(
    {
      scenario: "tool-call",
      toolName: "Agent",
      toolArgs: { description: "run marker", prompt: PROMPT, subagent_type: "general-purpose" },
      usage: { cache_creation_input_tokens: 4000, cache_read_input_tokens: 0 },
    },
    { scenario: "agent", usage: { cache_read_input_tokens: 3000 } },
    { scenario: "agent", usage: { cache_read_input_tokens: 7000 } },
    { scenario: "agent", usage: { cache_read_input_tokens: 11000 } },
  );

  const run = await runCli({
    command: join(clis.binDir, "claude"),
    args: ["-p", PROMPT, "--output-format", "json", "--allowedTools", "Bash,Agent"],
    cwd: sandbox.workDir,
    timeoutMs: CLI_TIMEOUT_MS,
    env: sandbox.env({
      ANTHROPIC_BASE_URL: stack.baseUrls.anthropic,
      ANTHROPIC_AUTH_TOKEN: "sk-e2e-claude-code",
      ANTHROPIC_MODEL: MAIN_MODEL,
      ANTHROPIC_DEFAULT_HAIKU_MODEL: MAIN_MODEL,
      CLAUDE_CODE_SUBAGENT_MODEL: SUBAGENT_MODEL,
      ...CLAUDE_QUIET_ENV,
    }),
  });
  const context = () => diagnostics(stack, run);
  assert.equal(run.timedOut, false, `CLI timed out\n${context()}`);
  assert.equal(run.exitCode, 0, `CLI failed\n${context()}`);
  assert.ok(run.stdout.includes(AGENT_MARKER), `CLI output lacks ${AGENT_MARKER}\n${context()}`);
  assert.deepEqual(stack.proxy.attempts, [], `the CLI tried to reach the internet\n${context()}`);

  const modelCalls = mock.requests.filter((r) => r.route === "anthropic-messages");
  const rows = await stack.logs(modelCalls.length);
  const rowsText = () => `${context()}\n--- gateway log rows ---\n${JSON.stringify(rows, null, 1)}`;
  assert.equal(rows.length, modelCalls.length, rowsText());
  // The session id is the one Claude Code sent; the subagent's calls carry it too.
  const sessionIds = new Set(rows.map((r) => r.sessionId));
  assert.equal(sessionIds.size, 1, `one session expected\n${rowsText()}`);
  const sessionId = [...sessionIds][0];
  assert.ok(typeof sessionId === "string" && sessionId.length > 0, rowsText());
  assert.equal(modelCalls[0]?.headers["x-claude-code-session-id"], sessionId);
  const session = rows.filter((r) => r.sessionId === sessionId);
  const subagentRows = session.filter((r) => r.agentId !== null);
  assert.ok(subagentRows.length >= 2, `the subagent's Bash round trip should be logged\n${rowsText()}`);
  assert.ok(
    subagentRows.every((r) => (r.servedModel ?? r.requestedModel) === SUBAGENT_MODEL),
    `subagent rows use CLAUDE_CODE_SUBAGENT_MODEL\n${rowsText()}`,
  );
  assert.ok(session.some((r) => r.cacheReadTokens > 0) && session.some((r) => r.cacheWrite5mTokens > 0), rowsText());
  for (const r of session) assert.ok(r.costNanoUsd !== null && r.costNanoUsd > 0, `every row priced\n${rowsText()}`);

  const res = await stack.admin("GET", `/sessions/${encodeURIComponent(sessionId)}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const detail = res.body as unknown as SessionDetail;
  const detailText = `${JSON.stringify(detail, null, 1)}\n${rowsText()}`;
  assert.equal(detail.id, sessionId);
  assert.equal(detail.agent, "claude-code");

  // Request count and cost: exactly the log rows'.
  assert.equal(detail.totals.requests, session.length, detailText);
  assert.equal(detail.requests.length, session.length, detailText);
  assert.deepEqual(detail.requests.map((r) => r.id).sort(), session.map((r) => r.id).sort(), detailText);
  const cost = sum(session, (r) => r.costNanoUsd ?? 0);
  assert.equal(detail.totals.costNanoUsd, cost, detailText);

  // Token buckets and the cache-hit ratio (cache reads / all input tokens) from the same rows.
  const tokens: Tokens = {
    input: sum(session, (r) => r.inputTokens),
    cacheRead: sum(session, (r) => r.cacheReadTokens),
    cacheWrite5m: sum(session, (r) => r.cacheWrite5mTokens),
    cacheWrite1h: sum(session, (r) => r.cacheWrite1hTokens),
    output: sum(session, (r) => r.outputTokens),
    reasoning: sum(session, (r) => r.reasoningTokens),
  };
  assert.deepEqual(detail.totals.tokens, tokens, detailText);
  const allInput = tokens.input + tokens.cacheRead + tokens.cacheWrite5m + tokens.cacheWrite1h;
  assert.ok(detail.cacheHitRatio !== null && detail.cacheHitRatio > 0 && detail.cacheHitRatio < 1, detailText);
  assert.ok(Math.abs(detail.cacheHitRatio - tokens.cacheRead / allInput) < 1e-12, detailText);

  // Models: both, with each one's request count and cost.
  const byModel = new Map<string, { requests: number; cost: number }>();
  for (const r of session) {
    const model = r.servedModel ?? r.requestedModel ?? "";
    const m = byModel.get(model) ?? { requests: 0, cost: 0 };
    byModel.set(model, { requests: m.requests + 1, cost: m.cost + (r.costNanoUsd ?? 0) });
  }
  assert.deepEqual([...byModel.keys()].sort(), [MAIN_MODEL, SUBAGENT_MODEL].sort(), detailText);
  assert.deepEqual(
    detail.models.map((m) => [m.model, m.requests, m.costNanoUsd]).sort(),
    [...byModel].map(([model, m]) => [model, m.requests, m.cost]).sort(),
    detailText,
  );

  // The subagent: its id as Claude Code sent it, its calls and their cost.
  const agentIds = [...new Set(subagentRows.map((r) => r.agentId))];
  assert.deepEqual(detail.subagents.map((a) => a.agentId).sort(), agentIds.sort(), detailText);
  for (const a of detail.subagents) {
    const mine = session.filter((r) => r.agentId === a.agentId);
    assert.equal(a.requests, mine.length, detailText);
    assert.equal(
      a.costNanoUsd,
      sum(mine, (r) => r.costNanoUsd ?? 0),
      detailText,
    );
  }
  const sentAgentIds = new Set(modelCalls.map((r) => r.headers["x-claude-code-agent-id"]).filter(Boolean));
  assert.deepEqual([...sentAgentIds].sort(), agentIds.sort(), `agent ids are the x-claude-code-agent-id headers`);

  // And the list finds it with the same totals.
  const list = await stack.admin("GET", "/sessions?agent=claude-code");
  assert.equal(list.status, 200);
  const items = list.body.items as { id: string; requests: number; costNanoUsd: number; models: string[] }[];
  const item = items.find((i) => i.id === sessionId);
  assert.ok(item, JSON.stringify(list.body));
  assert.equal(item.requests, session.length);
  assert.equal(item.costNanoUsd, cost);
  assert.deepEqual(item.models, [MAIN_MODEL, SUBAGENT_MODEL].sort());
});
