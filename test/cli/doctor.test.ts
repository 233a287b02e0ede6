import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { runTollgate, type TollgateRun } from "./support/run-tollgate.ts";

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

async function adminCall(gw: TestGateway, method: string, path: string, body?: unknown) {
  const res = await fetch(`${gw.url}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function createKey(gw: TestGateway, name: string, budgets: unknown[] = []) {
  const key = await adminCall(gw, "POST", "/virtual-keys", { name, budgets });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  return key.body as { id: string; secret: string; budgets: Array<{ id: string }> };
}

const doctor = (gateway: string, key: string | null, extra: string[] = []): Promise<TollgateRun> =>
  runTollgate(["doctor", "--gateway", gateway, ...(key ? ["--key", key] : []), ...extra]);

const explain = (run: TollgateRun) => `exit ${run.code}\n${run.stdout}${run.stderr}`;

describe("tollgate doctor", () => {
  let mock: MockUpstream;
  let gw: TestGateway;

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  it("passes a healthy gateway and key with a real one-token call, attributed to the key", async () => {
    const key = await createKey(gw, "healthy");
    const before = mock.requests.length;
    const run = await doctor(gw.url, key.secret, ["--model", "gpt-4o"]);
    assert.equal(run.code, 0, explain(run));
    assert.match(run.stdout, /✓ gateway .* is up/);
    assert.match(run.stdout, /✓ key "healthy" accepted/);
    assert.match(run.stdout, /✓ a test call to gpt-4o went through/);
    assert.equal(mock.requests.length, before + 1, "exactly one model call reached the provider");
    const rows = await gw.waitForLogs(1);
    assert.equal(rows.at(-1)?.virtualKeyId, key.id);
  });

  it("picks a model from the gateway's list when none is given", async () => {
    const key = await createKey(gw, "no-model");
    const run = await doctor(gw.url, key.secret);
    assert.equal(run.code, 0, explain(run));
    assert.match(run.stdout, /✓ a test call to \S+ went through/);
  });

  it("gateway down: exit 3", async () => {
    const run = await doctor(`http://127.0.0.1:${await closedPort()}`, "sk-tg-whatever");
    assert.equal(run.code, 3, explain(run));
    assert.match(run.stdout, /✗ gateway down: cannot reach http:\/\/127\.0\.0\.1:\d+ \(connection refused\)/);
  });

  it("bad key: exit 4", async () => {
    await createKey(gw, "exists"); // once a key exists, anonymous calls are refused too
    const run = await doctor(gw.url, "sk-tg-this-key-does-not-exist", ["--model", "gpt-4o"]);
    assert.equal(run.code, 4, explain(run));
    assert.match(run.stdout, /✓ gateway .* is up/);
    assert.match(run.stdout, /✗ bad key: the gateway refused it/);
  });

  it("budget exhausted: exit 5, with the budget's standing", async () => {
    const key = await createKey(gw, "spent", [{ name: "daily", limitUsd: "1", period: "1d" }]);
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key.secret}` },
      body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }),
    });
    assert.equal(res.status, 200, await res.text());
    const spent = (await gw.waitForLogs(1)).filter((r) => r.virtualKeyId === key.id)[0]?.costNanoUsd ?? 0;
    assert.ok(spent > 0);
    const budgetId = key.budgets[0]?.id;
    const patched = await adminCall(gw, "PATCH", `/budgets/${budgetId}`, { limitNanoUsd: spent });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));

    const before = mock.requests.length;
    const run = await doctor(gw.url, key.secret, ["--model", "gpt-4o"]);
    assert.equal(run.code, 5, explain(run));
    assert.match(run.stdout, /✓ key "spent" accepted/);
    assert.match(run.stdout, /budget "daily": \$0\.\d+ of \$0\.\d+ per 1d spent, \$0\.00 left, resets /);
    assert.match(run.stdout, /✗ budget exhausted: Budget "daily" of key "spent" is exhausted/);
    assert.equal(mock.requests.length, before, "nothing reached the provider");
  });

  it("upstream provider unreachable: exit 6", async () => {
    const orphan = await startTestGateway({ upstreamUrl: `http://127.0.0.1:${await closedPort()}` });
    try {
      const key = await createKey(orphan, "orphan");
      const run = await doctor(orphan.url, key.secret, ["--model", "gpt-4o"]);
      assert.equal(run.code, 6, explain(run));
      assert.match(run.stdout, /✓ gateway .* is up/);
      assert.match(run.stdout, /✓ key "orphan" accepted/);
      assert.match(run.stdout, /✗ upstream provider unreachable: .*\(TG_UPSTREAM_UNREACHABLE\)/);
    } finally {
      await orphan.close();
    }
  });

  it("something else answering at the URL is not mistaken for a gateway", async () => {
    const run = await doctor(`${mock.url}`, "sk-tg-x");
    assert.equal(run.code, 3, explain(run));
    assert.match(run.stdout, /answers, but not as a Tollgate gateway/);
  });
});
