import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { insertLogs } from "../../src/store/logs-repo.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockScript, MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";
import { BASE_TIME } from "../store/records.ts";
import { asDirect, type DirectSession, directSessions, sessionRecords } from "../store/session-direct.ts";

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
  firstSeen: number;
  lastSeen: number;
  agent: string;
  totals: { requests: number; unpricedRequests: number; costNanoUsd: number; costUsd: string; tokens: Tokens };
  cacheHitRatio: number | null;
  wasted: { requests: number; costNanoUsd: number; costUsd: string };
  models: { provider: string; model: string; requests: number; costNanoUsd: number }[];
  subagents: { agentId: string; parentAgentId: string | null; requests: number; costNanoUsd: number }[];
  requests: {
    id: string;
    startedAt: number;
    model: string;
    status: number;
    errorCode: string | null;
    costNanoUsd: number | null;
    costUsd: string | null;
    tokens: Tokens;
    agentId: string | null;
    parentAgentId: string | null;
  }[];
  requestsTruncated: boolean;
}

interface SessionList {
  items: { id: string; requests: number; costNanoUsd: number; agent: string; models: string[]; lastSeen: number }[];
  nextCursor: string | null;
}

const MAIN = "3f2a9c1e-0000-4000-8000-000000000001";
const OTHER = "3f2a9c1e-0000-4000-8000-000000000002";

const pgUrl = testPostgresUrl();
const pgSkip = await requirePostgres(pgUrl);

for (const backend of ["SQLite", "PostgreSQL"] as const) {
  const skip = backend === "PostgreSQL" ? pgSkip : undefined;
  describe(`GET /api/sessions (${backend})`, { skip: skip ?? false }, () => {
    let mock: MockUpstream;
    let gw: TestGateway;
    const schema = randomSchemaName("sessions");

    /** One Claude Code request (streamed, as the CLI does), scripted by `script`. */
    const claude = async (session: string, model: string, script: MockScript, agentId?: string) => {
      mock.enqueue(script);
      const res = await fetch(`${gw.url}/v1/messages?beta=true`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-api-key": "x",
          "anthropic-version": "2023-06-01",
          "user-agent": "claude-cli/2.1.197 (external, sdk-cli)",
          "x-claude-code-session-id": session,
          ...(agentId ? { "x-claude-code-agent-id": agentId } : {}),
        },
        body: JSON.stringify({ model, max_tokens: 500, stream: true, messages: [{ role: "user", content: "go" }] }),
      });
      await res.text();
      return res.status;
    };
    const api = async <T>(path: string): Promise<{ status: number; body: T }> => {
      const res = await fetch(`${gw.url}/api${path}`, { headers: { authorization: `Bearer ${gw.adminToken}` } });
      return { status: res.status, body: (await res.json()) as T };
    };

    before(async () => {
      mock = await startMockUpstream();
      gw = await startTestGateway({
        upstreamUrl: mock.url,
        ...(backend === "PostgreSQL" ? { databaseUrl: pgUrl, databaseSchema: schema } : {}),
      });
      // Turn 1 writes the prompt cache, turn 2 reads it, then a subagent runs on a smaller model.
      const turn1 = {
        input_tokens: 1000,
        cache_creation_input_tokens: 2000,
        cache_creation: { ephemeral_5m_input_tokens: 2000, ephemeral_1h_input_tokens: 0 },
        output_tokens: 100,
      };
      assert.equal(await claude(MAIN, "claude-sonnet-4-5", { scenario: "text", usage: turn1 }), 200);
      const turn2 = { input_tokens: 200, cache_read_input_tokens: 2000, output_tokens: 50 };
      assert.equal(await claude(MAIN, "claude-sonnet-4-5", { scenario: "text", usage: turn2 }), 200);
      const sub = { input_tokens: 500, output_tokens: 20 };
      assert.equal(await claude(MAIN, "claude-haiku-4-5", { scenario: "text", usage: sub }, "agent-explore-1"), 200);
      // Another session: one answer, one stream cut mid-way, one overloaded error.
      assert.equal(await claude(OTHER, "claude-haiku-4-5", { scenario: "text" }), 200);
      await claude(OTHER, "claude-haiku-4-5", { scenario: "cut", text: "one two three four five six seven eight" });
      assert.equal(await claude(OTHER, "claude-haiku-4-5", { scenario: "error", status: 529 }), 529);
      await gw.waitForLogs(6);
    });
    after(async () => {
      await gw?.close();
      await mock?.close();
      if (backend === "PostgreSQL") await dropSchema(pgUrl, schema);
    });

    it("shows a session's requests, subagent, cost and cache-hit ratio", async () => {
      const { status, body } = await api<SessionDetail>(`/sessions/${MAIN}`);
      assert.equal(status, 200);
      assert.equal(body.id, MAIN);
      assert.equal(body.agent, "claude-code");
      assert.equal(body.totals.requests, 3);
      // Catalog prices per million: Sonnet 4.5 $3 in, $3.75 5-minute write, $0.30 cache read, $15 out;
      // Haiku 4.5 $1 in, $5 out. In nano-dollars per token: ×1000.
      const turn1 = 1000 * 3000 + 2000 * 3750 + 100 * 15_000;
      const turn2 = 200 * 3000 + 2000 * 300 + 50 * 15_000;
      const sub = 500 * 1000 + 20 * 5000;
      assert.equal(body.totals.costNanoUsd, turn1 + turn2 + sub);
      assert.equal(body.totals.costUsd, "0.014550000");
      assert.deepEqual(body.totals.tokens, {
        input: 1700,
        cacheRead: 2000,
        cacheWrite5m: 2000,
        cacheWrite1h: 0,
        output: 170,
        reasoning: 0,
      });
      assert.equal(body.cacheHitRatio, 2000 / 5700);
      assert.deepEqual(
        body.subagents.map((a) => ({ ...a, firstSeen: undefined, lastSeen: undefined, costUsd: undefined })),
        [
          {
            agentId: "agent-explore-1",
            parentAgentId: null,
            requests: 1,
            costNanoUsd: sub,
            firstSeen: undefined,
            lastSeen: undefined,
            costUsd: undefined,
          },
        ],
      );
      assert.deepEqual(
        body.models.map((m) => [m.provider, m.model, m.requests, m.costNanoUsd]),
        [
          ["anthropic", "claude-sonnet-4-5", 2, turn1 + turn2],
          ["anthropic", "claude-haiku-4-5", 1, sub],
        ],
      );
      assert.deepEqual(body.wasted, { requests: 0, costNanoUsd: 0, costUsd: "0.000000000" });
      assert.deepEqual(
        body.requests.map((r) => [r.model, r.status, r.costNanoUsd, r.agentId]),
        [
          ["claude-sonnet-4-5", 200, turn1, null],
          ["claude-sonnet-4-5", 200, turn2, null],
          ["claude-haiku-4-5", 200, sub, "agent-explore-1"],
        ],
      );
      assert.ok(body.requests.every((r, i) => i === 0 || r.startedAt >= (body.requests[i - 1]?.startedAt ?? 0)));
      assert.equal(body.requests[1]?.tokens.cacheRead, 2000);
      assert.equal(body.requestsTruncated, false);
      assert.equal(body.firstSeen, body.requests[0]?.startedAt);
      assert.equal(body.lastSeen, body.requests[2]?.startedAt);
    });

    it("counts failed and cut requests as wasted spend", async () => {
      const { body } = await api<SessionDetail>(`/sessions/${OTHER}`);
      assert.equal(body.totals.requests, 3);
      const wasted = body.requests.filter((r) => r.status >= 400 || r.errorCode !== null);
      assert.deepEqual(
        wasted.map((r) => r.status),
        [200, 529],
        "the cut stream (200 + error code) and the 529",
      );
      const cut = wasted[0];
      assert.ok(cut?.errorCode && (cut.costNanoUsd ?? 0) > 0, "a cut stream still bills its prompt");
      assert.equal(body.wasted.requests, 2);
      assert.equal(
        body.wasted.costNanoUsd,
        wasted.reduce((sum, r) => sum + (r.costNanoUsd ?? 0), 0),
      );
      assert.ok(body.wasted.costNanoUsd < body.totals.costNanoUsd);
      assert.deepEqual(body.subagents, []);
    });

    it("lists recent sessions, newest activity first, with a cursor", async () => {
      const { body } = await api<SessionList>("/sessions");
      assert.deepEqual(
        body.items.map((s) => [s.id, s.requests, s.agent]),
        [
          [OTHER, 3, "claude-code"],
          [MAIN, 3, "claude-code"],
        ],
      );
      assert.deepEqual(body.items[1]?.models, ["claude-haiku-4-5", "claude-sonnet-4-5"]);
      assert.equal(body.items[1]?.costNanoUsd, 14_550_000);
      const first = await api<SessionList>("/sessions?limit=1");
      assert.deepEqual(
        first.body.items.map((s) => s.id),
        [OTHER],
      );
      assert.ok(first.body.nextCursor);
      const second = await api<SessionList>(`/sessions?limit=1&cursor=${first.body.nextCursor}`);
      assert.deepEqual(
        second.body.items.map((s) => s.id),
        [MAIN],
      );
      assert.equal(second.body.nextCursor, null);
      const none = await api<SessionList>(`/sessions?from=${Date.now() + 60_000}&to=${Date.now() + 120_000}`);
      assert.deepEqual(none.body.items, []);
    });

    it("lists what a direct aggregation of the raw log gives, for ranges, filters and pages", async () => {
      // Three days of rows written by the log writer's insert (raw log + rollups), long before the other sessions.
      const db = gw.gateway.database.db;
      await insertLogs(db, sessionRecords(450));
      const H = 3_600_000;
      const cases = [
        { from: BASE_TIME, to: BASE_TIME + 72 * H },
        { from: BASE_TIME + 1_234_567, to: BASE_TIME + 50 * H + 98_765 },
        { from: BASE_TIME + 7 * H + 5, to: BASE_TIME + 7 * H + 3_000_000 },
        { from: BASE_TIME + 10 * H, to: BASE_TIME + 30 * H, agent: "codex" },
        { from: BASE_TIME + 90_000, to: BASE_TIME + 72 * H, key: "k-2" },
        { from: BASE_TIME, to: BASE_TIME + 71 * H + 1, team: "t-1", customer: "c-1" },
        { from: BASE_TIME - 24 * H, to: BASE_TIME + 40 * H - 1, developer: "d-4" },
      ];
      for (const c of cases) {
        const expected = await directSessions(db, c);
        assert.ok(expected.length > 0, JSON.stringify(c));
        const got: DirectSession[] = [];
        let cursor: string | null = null;
        do {
          const query = new URLSearchParams({
            limit: "3",
            ...Object.fromEntries(Object.entries(c).map(([k, v]) => [k, String(v)])),
          });
          if (cursor !== null) query.set("cursor", cursor);
          const { status, body } = await api<{
            from: number;
            to: number;
            items: Parameters<typeof asDirect>[0][];
            nextCursor: string | null;
          }>(`/sessions?${query}`);
          assert.equal(status, 200);
          assert.deepEqual(
            [body.from, body.to],
            [c.from, c.to],
            "the range is answered as asked, not widened to hours",
          );
          assert.ok(body.items.length <= 3);
          got.push(...body.items.map(asDirect));
          cursor = body.nextCursor;
        } while (cursor !== null);
        assert.deepEqual(got, expected, JSON.stringify(c));
      }
    });

    it("answers 404 for an unknown session and 400 for bad parameters", async () => {
      assert.equal((await api("/sessions/nope")).status, 404);
      assert.equal((await api("/sessions?limit=0")).status, 400);
      assert.equal((await api("/sessions?cursor=%%%")).status, 400);
      assert.equal((await api("/sessions?from=soon")).status, 400);
      const unauthorised = await fetch(`${gw.url}/api/sessions`);
      assert.equal(unauthorised.status, 401);
    });
  });
}
