import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

// A long answer in long words: 1,500 words of 60 characters ≈ 22,500 tokens by the 4-characters rule, ≈ $0.34 of
// claude-sonnet-4-5 output — far more than the budgets below allow.
const LONG_TEXT = Array.from({ length: 1500 }, (_, i) => `w${i}`.padEnd(60, "x")).join(" ");
const CENT = 10_000_000;

describe("budgets on running streams: lowered max_tokens, top-ups, a clean cut", () => {
  let mock: MockUpstream;
  let gw: TestGateway;

  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gw.url}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const keyWithBudget = async (name: string, limitUsd: string) => {
    const key = await admin("POST", "/virtual-keys", { name, budgets: [{ name: "daily", limitUsd, period: "1d" }] });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    return { id: String(key.body.id), secret: String(key.body.secret) };
  };
  const sentMaxTokens = () => Number((mock.requests.at(-1)?.json as { max_tokens?: number } | undefined)?.max_tokens);
  const committed = async (keyId: string) =>
    (await gw.logs()).filter((r) => r.virtualKeyId === keyId).reduce((sum, r) => sum + (r.costNanoUsd ?? 0), 0);

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  it("Anthropic SDK: a stream the budget cannot pay for ends with an error event naming the budget", async () => {
    const key = await keyWithBudget("cut-anthropic", "0.05");
    const client = new Anthropic({
      apiKey: key.secret,
      baseURL: `${gw.url}/anthropic`,
      maxRetries: 0,
    });
    mock.enqueue({ scenario: "text", text: LONG_TEXT });
    let text = "";
    const stream = client.messages.stream({
      model: "claude-sonnet-4-5",
      max_tokens: 64_000,
      messages: [{ role: "user", content: "write a lot" }],
    });
    await assert.rejects(
      (async () => {
        for await (const event of stream) {
          if (event.type === "content_block_delta" && event.delta.type === "text_delta") text += event.delta.text;
        }
      })(),
      (err: Error) => {
        assert.match(
          err.message,
          /billing_error.*Budget \\?"daily\\?" of key \\?"cut-anthropic\\?" is exhausted.*cut short/s,
        );
        return true;
      },
    );
    assert.ok(text.length > 1000 && text.length < LONG_TEXT.length, `got ${text.length} of ${LONG_TEXT.length} chars`);
    // The upstream was asked for no more than the budget buys, and the cut stayed within one top-up step.
    assert.ok(sentMaxTokens() < 64_000, `max_tokens sent upstream: ${sentMaxTokens()}`);
    const spent = await committed(key.id);
    assert.ok(spent <= 5 * CENT + CENT, `committed ${spent} > limit + one step`);
    assert.ok(spent >= 4 * CENT, `the budget was used, not refused early: ${spent}`);
    const row = (await gw.logs()).filter((r) => r.virtualKeyId === key.id).at(-1);
    assert.equal(row?.errorCode, "TG_BUDGET_EXHAUSTED");
    assert.equal(row?.status, 200);
    // The last cents stay usable: the next request is admitted with max_tokens lowered to what is left.
    const left = 5 * CENT - spent;
    await client.messages
      .stream({ model: "claude-sonnet-4-5", max_tokens: 64_000, messages: [{ role: "user", content: "x" }] })
      .finalMessage();
    const lowered = sentMaxTokens();
    assert.ok(lowered * 15_000 <= left, `max_tokens ${lowered} costs at most the ${left} nano-USD left`);
    assert.ok((await committed(key.id)) <= 5 * CENT + CENT);
  });

  it("OpenAI SDK: a cut chat stream ends with an error chunk the SDK raises", async () => {
    const key = await keyWithBudget("cut-openai", "0.05");
    const client = new OpenAI({
      apiKey: key.secret,
      baseURL: `${gw.url}/openai/v1`,
      maxRetries: 0,
    });
    mock.enqueue({ scenario: "text", text: LONG_TEXT });
    let text = "";
    await assert.rejects(
      (async () => {
        const stream = await client.chat.completions.create({
          model: "gpt-4.1",
          stream: true,
          messages: [{ role: "user", content: "write a lot" }],
        });
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
      })(),
      /Budget "daily" of key "cut-openai" is exhausted/,
    );
    assert.ok(text.length > 1000 && text.length < LONG_TEXT.length, `got ${text.length} chars`);
    const spent = await committed(key.id);
    assert.ok(spent <= 5 * CENT + CENT, `committed ${spent} > limit + one step`);
  });

  it("a budget with room lets the stream finish untouched (no cap added, no cut)", async () => {
    const key = await keyWithBudget("roomy", "50");
    mock.enqueue({ scenario: "text", text: LONG_TEXT });
    const res = await fetch(`${gw.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "x-api-key": key.secret,
      },
      body: JSON.stringify({
        model: "claude-sonnet-4-5",
        max_tokens: 64_000,
        stream: true,
        messages: [{ role: "user", content: "write a lot" }],
      }),
    });
    const body = await res.text();
    assert.ok(body.includes("event: message_stop"));
    assert.ok(!body.includes("event: error"));
    assert.equal(sentMaxTokens(), 64_000);
  });
});

describe("strict budget enforcement", () => {
  let mock: MockUpstream;
  let gw: TestGateway;

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url, env: { TOLLGATE_BUDGET_STRICT: "true" } });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  it("reserves the worst case: 20 parallel streams never commit a nano-dollar over the limit", async () => {
    const res = await fetch(`${gw.url}/api/virtual-keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "strict", budgets: [{ name: "daily", limitUsd: "0.05", period: "1d" }] }),
    });
    const key = (await res.json()) as { id: string; secret: string };
    const client = new Anthropic({
      apiKey: key.secret,
      baseURL: `${gw.url}/anthropic`,
      maxRetries: 0,
      defaultHeaders: { "x-mock-script": JSON.stringify({ scenario: "text", text: "word ".repeat(400) }) },
    });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        client.messages.create({
          model: "claude-sonnet-4-5",
          max_tokens: 500,
          stream: false,
          messages: [{ role: "user", content: "hello" }],
        }),
      ),
    );
    const ok = outcomes.filter((o) => o.status === "fulfilled").length;
    assert.ok(ok >= 1, "something was admitted");
    const rows = (await gw.logs()).filter((r) => r.virtualKeyId === key.id);
    const spent = rows.reduce((sum, r) => sum + (r.costNanoUsd ?? 0), 0);
    assert.ok(spent <= 5 * CENT, `strict: committed ${spent} ≤ limit`);
    for (const o of outcomes)
      if (o.status === "rejected") assert.equal((o.reason as { status?: number }).status, 402, String(o.reason));
  });
});
