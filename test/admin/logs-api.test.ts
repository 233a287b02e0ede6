import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

interface LogsPage {
  items: { id: string; sessionId: string | null; status: number; agent: string; labels: Record<string, string> }[];
  nextCursor: string | null;
}

describe("GET /api/logs", () => {
  let mock: MockUpstream;
  let gw: TestGateway;

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
    const send = (session: string, extra: Record<string, string> = {}, model = "gpt-4o") =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer x", "x-session-id": session, ...extra },
        body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
      }).then((r) => r.arrayBuffer());
    for (let i = 0; i < 5; i++) await send("sess-a", { "user-agent": "opencode/1.0.0" });
    for (let i = 0; i < 3; i++) await send("sess-b", { "x-tollgate-label-ticket": "T-9" });
    await send("sess-b", {}, "nope-model");
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  const get = async (query: string, token: string | null = gw.adminToken) => {
    const res = await fetch(
      `${gw.url}/api/logs${query}`,
      token ? { headers: { authorization: `Bearer ${token}` } } : {},
    );
    return { status: res.status, body: (await res.json()) as LogsPage & { error?: { message: string } } };
  };

  it("requires the admin token", async () => {
    assert.equal((await get("", null)).status, 401);
    assert.equal((await get("", "wrong-token")).status, 401);
  });

  it("filters by session, agent, status and label", async () => {
    assert.equal((await get("?session=sess-a")).body.items.length, 5);
    assert.equal((await get("?agent=opencode")).body.items.length, 5);
    const errors = (await get("?status=error")).body.items;
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.status, 400);
    assert.equal((await get("?status=400")).body.items.length, 1);
    const labelled = (await get("?label=ticket:T-9")).body.items;
    assert.equal(labelled.length, 3);
    assert.deepEqual(labelled[0]?.labels, { ticket: "T-9" });
  });

  it("paginates newest first with a cursor, without gaps or repeats", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: LogsPage } = await get(`?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.body.items.map((i) => i.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    assert.equal(seen.length, 9);
    assert.equal(new Set(seen).size, 9);
    assert.deepEqual([...seen].sort().reverse(), seen, "newest first (ids are time-ordered)");
  });

  it("filters by time range and rejects bad parameters with a 400", async () => {
    const all = (await get("")).body.items;
    assert.equal((await get(`?from=${Date.now() + 60_000}`)).body.items.length, 0);
    assert.equal((await get(`?to=${new Date(Date.now() + 60_000).toISOString()}`)).body.items.length, all.length);
    assert.equal((await get("?limit=0")).status, 400);
    assert.equal((await get("?status=maybe")).status, 400);
    assert.equal((await get("?cursor=%%%")).status, 400);
  });

  it("returns one row by id and 404 for an unknown one", async () => {
    const first = (await get("?limit=1")).body.items[0];
    assert.ok(first);
    const res = await fetch(`${gw.url}/api/logs/${first.id}`, {
      headers: { authorization: `Bearer ${gw.adminToken}` },
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { id: string }).id, first.id);
    const missing = await fetch(`${gw.url}/api/logs/nope`, { headers: { authorization: `Bearer ${gw.adminToken}` } });
    assert.equal(missing.status, 404);
  });
});
