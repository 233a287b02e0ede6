import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { capOutputTokens } from "../../src/pipeline/output-cap.ts";
import { eventBoundary } from "../../src/pipeline/relay-stream.ts";

const cap = (dialect: Parameters<typeof capOutputTokens>[0], body: unknown, tokens: number) =>
  JSON.parse(capOutputTokens(dialect, Buffer.from(JSON.stringify(body)), tokens).toString("utf8"));

describe("capOutputTokens (a budget's remainder lowers max_tokens)", () => {
  test("Anthropic: replaces max_tokens in place, the rest byte for byte", () => {
    const body = Buffer.from('{"model":"m","max_tokens":64000,"messages":[{"role":"user","content":"hi"}]}');
    assert.equal(
      capOutputTokens("anthropic", body, 3800).toString(),
      '{"model":"m","max_tokens":3800,"messages":[{"role":"user","content":"hi"}]}',
    );
  });

  test("OpenAI chat: keeps the client's field; adds max_completion_tokens when there is none", () => {
    assert.deepEqual(cap("openai-chat", { model: "m", max_tokens: 9000 }, 100), { model: "m", max_tokens: 100 });
    assert.deepEqual(cap("openai-chat", { model: "m", max_completion_tokens: 9000 }, 100), {
      model: "m",
      max_completion_tokens: 100,
    });
    assert.deepEqual(cap("openai-chat", { model: "m" }, 100), { max_completion_tokens: 100, model: "m" });
  });

  test("Responses: max_output_tokens", () => {
    assert.deepEqual(cap("openai-responses", { model: "m", input: "x" }, 50), {
      max_output_tokens: 50,
      model: "m",
      input: "x",
    });
  });

  test("Gemini: generationConfig.maxOutputTokens, keeping the other settings", () => {
    assert.deepEqual(
      cap("gemini", { contents: [], generationConfig: { temperature: 0.2, maxOutputTokens: 8192 } }, 10),
      {
        contents: [],
        generationConfig: { temperature: 0.2, maxOutputTokens: 10 },
      },
    );
    assert.deepEqual(cap("gemini", { contents: [] }, 10), { generationConfig: { maxOutputTokens: 10 }, contents: [] });
    assert.deepEqual(cap("gemini", {}, 10), { generationConfig: { maxOutputTokens: 10 } });
  });

  test("embeddings have no output to cap; a body that is not an object is left alone", () => {
    const body = Buffer.from('{"model":"e","input":"x"}');
    assert.equal(capOutputTokens("openai-embeddings", body, 5), body);
    const broken = Buffer.from('{"model":"m",');
    assert.equal(capOutputTokens("anthropic", broken, 5), broken);
  });
});

describe("eventBoundary (a stream is cut between events, never inside one)", () => {
  test("finds the end of the last complete event, LF or CRLF", () => {
    assert.equal(eventBoundary(Buffer.from("data: a\n\ndata: b")), 9);
    assert.equal(eventBoundary(Buffer.from("event: x\ndata: a\n\n")), 18);
    assert.equal(eventBoundary(Buffer.from("data: a\r\n\r\ndata: b\r\n")), 11);
    assert.equal(eventBoundary(Buffer.from("data: a\n")), 0);
    assert.equal(eventBoundary(Buffer.alloc(0)), 0);
  });
});
