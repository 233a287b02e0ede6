import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";

const url = testPostgresUrl();
const skip = await requirePostgres(url);
const schema = randomSchemaName("gateway");

describe("the gateway with its request log in PostgreSQL", { skip: skip ?? false }, () => {
  let mock: MockUpstream;
  let gw: TestGateway;

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url, databaseUrl: url, databaseSchema: schema });
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
    await dropSchema(url, schema);
  });

  it("logs streamed and non-streamed calls with exact cost, queryable over /api/logs", async () => {
    assert.equal(gw.gateway.database.kind, "postgres");
    const anthropic = new Anthropic({ apiKey: "x", baseURL: `${gw.url}/anthropic`, maxRetries: 0 });
    mock.enqueue({ scenario: "text", usage: { input_tokens: 1000, output_tokens: 100 } });
    await anthropic.messages.create({
      model: "claude-sonnet-4-5",
      max_tokens: 50,
      messages: [{ role: "user", content: "hi" }],
    });
    const openai = new OpenAI({ apiKey: "x", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    mock.enqueue({ scenario: "text", usage: { prompt_tokens: 1000, completion_tokens: 100, total_tokens: 1100 } });
    const stream = await openai.chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    });
    for await (const _ of stream) {
      // drain
    }
    const rows = await gw.waitForLogs(2);
    assert.equal(rows.length, 2);
    // 1000 × $3/M + 100 × $15/M = $0.0045; 1000 × $2.50/M + 100 × $10/M = $0.0035.
    assert.deepEqual(
      rows.map((r) => [r.provider, r.stream, r.costNanoUsd]),
      [
        ["anthropic", false, 4_500_000],
        ["openai", true, 3_500_000],
      ],
    );
    const res = await fetch(`${gw.url}/api/logs?provider=openai`, {
      headers: { authorization: `Bearer ${gw.adminToken}` },
    });
    const page = (await res.json()) as { items: { provider: string }[] };
    assert.deepEqual(
      page.items.map((i) => i.provider),
      ["openai"],
    );
  });
});
