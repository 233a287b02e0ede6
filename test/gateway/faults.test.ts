import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, beforeEach, describe, it } from "node:test";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockScript, MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

interface DialectCase {
  name: string;
  path: (model: string) => string;
  body: (model: string, stream: boolean) => Record<string, unknown>;
  model: string;
  headers: Record<string, string>;
  /** Checks an error body is in this dialect's shape and returns its type/status word. */
  errorType: (body: unknown) => string;
}

const anthropic: DialectCase = {
  name: "anthropic",
  path: () => "/anthropic/v1/messages",
  body: (model, stream) => ({ model, max_tokens: 50, messages: [{ role: "user", content: "hi" }], stream }),
  model: "claude-sonnet-4-5",
  headers: { "anthropic-version": "2023-06-01", "x-api-key": "k" },
  errorType: (b) => {
    const body = b as { type: string; error: { type: string; message: string } };
    assert.equal(body.type, "error");
    assert.equal(typeof body.error.message, "string");
    return body.error.type;
  },
};
const openai: DialectCase = {
  name: "openai-chat",
  path: () => "/v1/chat/completions",
  body: (model, stream) => ({ model, messages: [{ role: "user", content: "hi" }], stream }),
  model: "gpt-4o",
  headers: { authorization: "Bearer k" },
  errorType: (b) => {
    const body = b as { error: { type: string; message: string } };
    assert.equal(typeof body.error.message, "string");
    return body.error.type;
  },
};
const gemini: DialectCase = {
  name: "gemini",
  path: (model) => `/genai/v1beta/models/${model}:generateContent`,
  body: () => ({ contents: [{ role: "user", parts: [{ text: "hi" }] }] }),
  model: "gemini-2.5-flash",
  headers: { "x-goog-api-key": "k" },
  errorType: (b) => {
    const body = b as { error: { code: number; status: string; message: string } };
    assert.equal(typeof body.error.code, "number");
    assert.equal(typeof body.error.message, "string");
    return body.error.status;
  },
};

describe("bad input and upstream faults", () => {
  let mock: MockUpstream;
  let gw: TestGateway;

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({
      upstreamUrl: mock.url,
      configure: (c) => {
        c.timeouts = { connectMs: 2000, firstByteMs: 400, idleMs: 400 };
      },
    });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  async function post(path: string, body: string | Buffer, headers: Record<string, string>) {
    const res = await fetch(`${gw.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  async function lastRow() {
    const rows = await gw.waitForLogs(1);
    const row = rows.at(-1);
    assert.ok(row, "a log row was written");
    return row;
  }

  for (const d of [anthropic, openai, gemini]) {
    describe(d.name, () => {
      it("malformed JSON → 400 in the dialect's shape, logged", async () => {
        const before = (await gw.logs()).length;
        const r = await post(d.path(d.model), '{"model": "x", oops', d.headers);
        assert.equal(r.status, 400);
        const type = d.errorType(r.json);
        assert.match(type, /invalid_request_error|INVALID_ARGUMENT/);
        const rows = await gw.logs();
        assert.equal(rows.length, before + 1);
        assert.equal(rows.at(-1)?.errorCode, "TG_INVALID_JSON");
        assert.equal(rows.at(-1)?.status, 400);
        assert.equal(mock.requests.length, 0);
      });

      it("unknown model → 400 naming the configured providers", async () => {
        const r = await post(d.path("nope-model"), JSON.stringify(d.body("nope-model", false)), d.headers);
        assert.equal(r.status, 400);
        d.errorType(r.json);
        assert.match(r.text, /anthropic/);
        assert.match(r.text, /openai/);
        assert.equal((await lastRow()).errorCode, "TG_UNKNOWN_MODEL");
      });

      it("a 40 MB body → 413, logged", async () => {
        const big = Buffer.alloc(40 * 1024 * 1024, 0x20);
        big.write(`{"model":"${d.model}","x":"`, 0);
        big.write('"}', big.length - 2);
        const r = await post(d.path(d.model), big, d.headers);
        assert.equal(r.status, 413);
        d.errorType(r.json);
        assert.equal((await lastRow()).errorCode, "TG_BODY_TOO_LARGE");
      });

      it("upstream 500 and 429 are forwarded unmodified", async () => {
        mock.enqueue({ scenario: "error", status: 500 });
        const r500 = await post(d.path(d.model), JSON.stringify(d.body(d.model, false)), d.headers);
        assert.equal(r500.status, 500);
        d.errorType(r500.json);
        mock.enqueue({ scenario: "error", status: 429 });
        const r429 = await post(d.path(d.model), JSON.stringify(d.body(d.model, false)), d.headers);
        assert.equal(r429.status, 429);
        assert.ok(r429.headers.get("retry-after") !== null, "retry-after forwarded");
        const row = await lastRow();
        assert.equal(row.status, 429);
        assert.ok(row.errorCode);
      });

      it("upstream timeout → 504 in the dialect's shape", async () => {
        mock.enqueue({ scenario: "hang" });
        const r = await post(d.path(d.model), JSON.stringify(d.body(d.model, false)), d.headers);
        assert.equal(r.status, 504);
        d.errorType(r.json);
        assert.equal((await lastRow()).errorCode, "TG_UPSTREAM_TIMEOUT");
      });

      it("connection reset → 502", async () => {
        mock.enqueue({ scenario: "reset" });
        const r = await post(d.path(d.model), JSON.stringify(d.body(d.model, false)), d.headers);
        assert.equal(r.status, 502);
        d.errorType(r.json);
        assert.equal((await lastRow()).errorCode, "TG_UPSTREAM_RESET");
      });

      it("missing model → 400", async () => {
        if (d.name === "gemini") return; // the model is part of the Gemini path
        const r = await post(d.path(d.model), JSON.stringify({ messages: [] }), d.headers);
        assert.equal(r.status, 400);
        d.errorType(r.json);
        assert.equal((await lastRow()).errorCode, "TG_MISSING_MODEL");
      });
    });
  }

  it("a body without content-type, or an empty one, is a 400 (not a crash)", async () => {
    const noType = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", body: new Uint8Array(0) });
    assert.equal(noType.status, 400);
    const empty = await post("/anthropic/v1/messages", "", anthropic.headers);
    assert.equal(empty.status, 400);
    anthropic.errorType(empty.json);
    assert.equal(mock.requests.length, 0);
  });

  it("wrong JSON types are rejected before the upstream", async () => {
    const r = await post("/anthropic/v1/messages", JSON.stringify({ model: 42, messages: [] }), anthropic.headers);
    assert.equal(r.status, 400);
    const r2 = await post(
      "/v1/chat/completions",
      JSON.stringify({ model: "gpt-4o", stream: "yes", messages: [] }),
      openai.headers,
    );
    assert.equal(r2.status, 400);
    const r3 = await post("/v1/chat/completions", "[1,2]", openai.headers);
    assert.equal(r3.status, 400);
    assert.equal(mock.requests.length, 0);
  });

  it("a 200-then-error stream reaches the client and is logged with the error", async () => {
    mock.enqueue({ scenario: "stream-error" });
    const r = await post(
      "/anthropic/v1/messages",
      JSON.stringify(anthropic.body(anthropic.model, true)),
      anthropic.headers,
    );
    assert.equal(r.status, 200);
    assert.match(r.text, /event: error/);
    const row = await lastRow();
    assert.equal(row.errorCode, "overloaded_error");
    assert.equal(row.stream, true);
  });

  it("a stream cut mid-way is metered from what was seen and flagged estimated", async () => {
    mock.enqueue({ scenario: "cut", text: "alpha beta gamma delta epsilon zeta eta theta", cutAfterEvents: 5 });
    const r = await post(
      "/anthropic/v1/messages",
      JSON.stringify(anthropic.body(anthropic.model, true)),
      anthropic.headers,
    ).catch((e: Error) => ({ status: 200, text: String(e), json: undefined, headers: new Headers() }));
    assert.equal(r.status, 200);
    const row = await lastRow();
    assert.equal(row.usageEstimated, true);
    assert.ok(row.inputTokens > 0, "input known from message_start");
    assert.ok(row.outputTokens > 0, "output estimated from streamed text");
    assert.ok(row.errorCode);
  });

  it("an idle stream times out with an in-stream error in the client's dialect", async () => {
    mock.enqueue({ scenario: "text", text: "a b c d", chunkDelayMs: 1500 });
    const r = await post("/v1/chat/completions", JSON.stringify(openai.body(openai.model, true)), openai.headers);
    assert.equal(r.status, 200);
    assert.match(r.text, /"error"/);
    const row = await lastRow();
    assert.equal(row.errorCode, "TG_UPSTREAM_TIMEOUT");
  });

  it("gzip-encoded upstream replies are decoded and metered", async () => {
    mock.enqueue({ scenario: "text", gzip: true, usage: { input_tokens: 10, output_tokens: 20 } });
    const r = await post(
      "/anthropic/v1/messages",
      JSON.stringify(anthropic.body(anthropic.model, false)),
      anthropic.headers,
    );
    assert.equal(r.status, 200);
    assert.equal((r.json as { type: string }).type, "message");
    const row = await lastRow();
    assert.equal(row.outputTokens, 20);
    mock.enqueue({ scenario: "text", gzip: true, usage: { input_tokens: 10, output_tokens: 21 } });
    const s = await post(
      "/anthropic/v1/messages",
      JSON.stringify(anthropic.body(anthropic.model, true)),
      anthropic.headers,
    );
    assert.match(s.text, /message_stop/);
    assert.equal((await lastRow()).outputTokens, 21);
  });

  it("a client disconnect mid-stream aborts the upstream call and logs partial usage as estimated", async () => {
    const script: MockScript = {
      scenario: "text",
      text: Array.from({ length: 40 }, (_, i) => `w${i}`).join(" "),
      chunkDelayMs: 100,
    };
    mock.enqueue(script);
    const before = (await gw.logs()).length;
    await new Promise<void>((resolve, reject) => {
      const body = JSON.stringify(anthropic.body(anthropic.model, true));
      const req = httpRequest(`${gw.url}/anthropic/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", ...anthropic.headers },
      });
      req.on("response", (res) => {
        let seen = 0;
        res.on("data", (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > 0 && chunk.toString().includes("content_block_delta")) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on("error", () => {});
      req.end(body);
      setTimeout(() => reject(new Error("no delta seen")), 5000).unref();
    });
    const rows = await gw.waitForLogs(before + 1);
    const row = rows.at(-1);
    assert.equal(row?.errorCode, "TG_CLIENT_CLOSED");
    assert.equal(row?.usageEstimated, true);
    assert.ok((row?.inputTokens ?? 0) > 0);
    assert.ok((row?.outputTokens ?? 0) > 0);
    // The upstream saw its request aborted well before the 40 words × 100 ms were sent.
    assert.ok((row?.latencyMs ?? 1e9) < 3000, `aborted early (latency ${row?.latencyMs} ms)`);
  });
});
