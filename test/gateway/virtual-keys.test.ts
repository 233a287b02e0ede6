import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import { GoogleGenAI } from "@google/genai";
import OpenAI from "openai";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

describe("virtual keys on the data plane", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let api: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: Record<string, unknown> }>;
  let key: { id: string; secret: string };
  let ids: { customer: string; team: string; developer: string };

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
    api = async (method, path, body) => {
      const res = await fetch(`${gw.url}/api${path}`, {
        method,
        headers: { authorization: `Bearer ${gw.adminToken}`, ...(body ? { "content-type": "application/json" } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  const anthropicCall = (headers: Record<string, string>) =>
    fetch(`${gw.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", ...headers },
      body: JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }),
    });

  it("is anonymous until the first key exists, then requires one", async () => {
    assert.equal((await anthropicCall({})).status, 200, "zero-config: no key needed on loopback");

    const customer = await api("POST", "/customers", { name: "Acme" });
    const team = await api("POST", "/teams", { name: "Payments", customerId: customer.body.id });
    const developer = await api("POST", "/developers", { name: "Ada", email: "ada@example.com", teamId: team.body.id });
    ids = { customer: String(customer.body.id), team: String(team.body.id), developer: String(developer.body.id) };
    const created = await api("POST", "/virtual-keys", {
      name: "ada-laptop",
      teamId: ids.team,
      developerId: ids.developer,
      allowedModels: ["claude-*", "gpt-4o"],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    key = { id: String(created.body.id), secret: String(created.body.secret) };

    const res = await anthropicCall({});
    assert.equal(res.status, 401);
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(body.error.type, "authentication_error");
    assert.match(body.error.message, /Tollgate key is required/);
    const row = (await gw.logs()).at(-1);
    assert.equal(row?.status, 401);
    assert.equal(row?.errorCode, "TG_UNAUTHORIZED");
    assert.equal(mock.requests.length, 1, "only the anonymous call reached the upstream");
  });

  it("accepts the key where each SDK puts its API key, and attributes spend to key, team, customer, developer", async () => {
    const anthropic = new Anthropic({
      authToken: key.secret,
      apiKey: null,
      baseURL: `${gw.url}/anthropic`,
      maxRetries: 0,
    });
    await anthropic.messages.create({
      model: "claude-sonnet-4-5",
      max_tokens: 10,
      messages: [{ role: "user", content: "a" }],
    });
    const openai = new OpenAI({ apiKey: key.secret, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    await openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "b" }] });
    assert.equal((await anthropicCall({ "x-api-key": key.secret })).status, 200);
    assert.equal((await anthropicCall({ "x-tollgate-key": key.secret })).status, 200);

    // The virtual key never reaches the provider; the provider's own key does.
    for (const r of mock.requests) {
      assert.ok(!JSON.stringify(r.headers).includes("sk-tg-"), "no virtual key upstream");
    }
    assert.equal(mock.requests[0]?.headers["x-api-key"], "test-anthropic-key");
    const rows = (await gw.logs()).slice(-4);
    for (const row of rows) {
      assert.equal(row.status, 200);
      assert.deepEqual(
        [row.virtualKeyId, row.teamId, row.customerId, row.developerId],
        [key.id, ids.team, ids.customer, ids.developer],
      );
    }
  });

  it("refuses models the key may not use with a 403 in the client's dialect", async () => {
    const gemini = new GoogleGenAI({ apiKey: key.secret, httpOptions: { baseUrl: `${gw.url}/genai` } });
    await assert.rejects(gemini.models.generateContent({ model: "gemini-2.5-flash", contents: "x" }), (err: Error) => {
      assert.match(err.message, /PERMISSION_DENIED/);
      assert.match(err.message, /may not use model \\"gemini-2.5-flash\\"/);
      return true;
    });
    assert.equal(mock.requests.length, 0);
  });

  it("answers 401 for unknown and revoked keys, with the reason", async () => {
    const unknown = await anthropicCall({ "x-api-key": `sk-tg-${"A".repeat(43)}` });
    assert.equal(unknown.status, 401);
    assert.match(await unknown.text(), /Unknown Tollgate key/);

    const other = await api("POST", "/virtual-keys", { name: "to-revoke" });
    const secret = String(other.body.secret);
    assert.equal((await anthropicCall({ "x-api-key": secret })).status, 200);
    assert.equal((await api("POST", `/virtual-keys/${other.body.id}/revoke`)).status, 200);
    const revoked = await anthropicCall({ "x-api-key": secret });
    assert.equal(revoked.status, 401, "a revoked key is refused at once");
    assert.match(await revoked.text(), /was revoked/);
  });

  it("forwards the developer's own credential beside the key only when the key's policy allows it", async () => {
    const denied = await api("POST", "/virtual-keys", { name: "deny-own" });
    await anthropicCall({ "x-tollgate-key": String(denied.body.secret), authorization: "Bearer sk-ant-oat-own-token" });
    assert.equal(mock.requests.at(-1)?.headers["x-api-key"], "test-anthropic-key");
    assert.equal(mock.requests.at(-1)?.headers.authorization, undefined);

    const allowed = await api("POST", "/virtual-keys", { name: "own-sub", credentialPolicy: "allow-subscription" });
    const res = await anthropicCall({
      "x-tollgate-key": String(allowed.body.secret),
      authorization: "Bearer sk-ant-oat-own-token",
    });
    assert.equal(res.status, 200);
    assert.equal(mock.requests.at(-1)?.headers.authorization, "Bearer sk-ant-oat-own-token");
    const row = (await gw.logs()).at(-1);
    assert.equal(row?.virtualKeyId, allowed.body.id);
    assert.equal(row?.providerKeyId, "client");
    assert.ok((row?.costNanoUsd ?? 0) > 0, "still metered");
  });
});
