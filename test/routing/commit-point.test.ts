import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Dialect } from "../../src/dialects/dialect.ts";
import { CommitDetector } from "../../src/routing/commit-point.ts";

/** Feeds SSE text (optionally split into chunks at arbitrary byte offsets) and returns each verdict's kind. */
function verdicts(dialect: Dialect, chunks: string[]): string[] {
  const detector = new CommitDetector(dialect);
  return chunks.map((chunk) => {
    const v = detector.push(Buffer.from(chunk));
    return v.kind === "failed" ? `failed:${v.reason}` : v.kind;
  });
}

const sse = (event: string | null, data: unknown) =>
  `${event ? `event: ${event}\n` : ""}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;

describe("the commit point of a stream", () => {
  it("Anthropic: message_start and ping are preamble; content_block_start commits; error before it fails", () => {
    assert.deepEqual(
      verdicts("anthropic", [
        sse("message_start", { type: "message_start" }),
        sse("ping", { type: "ping" }),
        sse("content_block_start", { type: "content_block_start" }),
        sse("error", { type: "error", error: { type: "overloaded_error" } }),
      ]),
      ["pending", "pending", "content", "content"],
    );
    assert.deepEqual(
      verdicts("anthropic", [
        sse("message_start", { type: "message_start" }),
        sse("error", { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }),
      ]),
      ["pending", "failed:overloaded_error"],
    );
  });

  it("an event split across chunks is judged once whole", () => {
    const text = sse("message_start", { type: "message_start" }) + sse("content_block_start", { index: 0 });
    const cut = text.length - 7;
    assert.deepEqual(verdicts("anthropic", [text.slice(0, cut), text.slice(cut)]), ["pending", "content"]);
  });

  it("Chat Completions: the role-only first chunk is preamble; text, tool calls or a finish reason commit", () => {
    const role = sse(null, { choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] });
    const text = sse(null, { choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: null }] });
    const azureFilter = sse(null, { id: "", choices: [], prompt_filter_results: [] });
    assert.deepEqual(verdicts("openai-chat", [azureFilter, role, text]), ["pending", "pending", "content"]);
    const error = sse(null, { error: { message: "boom", type: "server_error" } });
    assert.deepEqual(verdicts("openai-chat", [role, error]), ["pending", "failed:server_error"]);
    const tool = sse(null, { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: "c" }] } }] });
    assert.deepEqual(verdicts("openai-chat", [tool]), ["content"]);
  });

  it("Responses: created / in_progress are preamble; response.failed before output fails", () => {
    assert.deepEqual(
      verdicts("openai-responses", [
        sse("response.created", { type: "response.created" }),
        sse("response.in_progress", { type: "response.in_progress" }),
        sse("response.failed", { type: "response.failed", response: { error: { code: "server_error" } } }),
      ]),
      ["pending", "pending", "failed:server_error"],
    );
    assert.deepEqual(
      verdicts("openai-responses", [sse("response.output_item.added", { type: "response.output_item.added" })]),
      ["content"],
    );
  });

  it("Gemini: an error object fails, a candidate commits", () => {
    assert.deepEqual(verdicts("gemini", [sse(null, { error: { code: 503, status: "UNAVAILABLE" } })]), [
      "failed:UNAVAILABLE",
    ]);
    assert.deepEqual(verdicts("gemini", [sse(null, { candidates: [{ content: { parts: [{ text: "x" }] } }] })]), [
      "content",
    ]);
  });

  it("a stream that ends before content fails; a huge preamble commits rather than buffering forever", () => {
    const detector = new CommitDetector("anthropic");
    detector.push(Buffer.from(sse("message_start", {})));
    assert.deepEqual(detector.end(), { kind: "failed", reason: "ended_before_content" });
    const big = new CommitDetector("anthropic");
    assert.equal(big.push(Buffer.from(`event: ping\ndata: ${"x".repeat(70 * 1024)}`)).kind, "content");
  });
});
