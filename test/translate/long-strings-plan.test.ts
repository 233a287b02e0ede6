import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { claudeCodeRequest } from "../../bench/bodies/claude-code-body.ts";
import { normaliseCursorBody } from "../../src/http/cursor-body.ts";
import { planTranslation, type TranslationPlan } from "../../src/pipeline/translated-call.ts";
import type { ChatDialect } from "../../src/translate/canonical.ts";

// Translation sets long text aside and splices its bytes back (json/long-strings.ts). Whatever a converter does with
// text, the result must be the same JSON as translating the fully parsed body: every client dialect × every target,
// on a Claude Code turn of ~200 KB (tool cycles, thinking, edits, long tool results) carried into each dialect, plus
// the cases converters read text for (data URLs, tool arguments, blank text, the billing header).

const dialects: readonly ChatDialect[] = ["anthropic", "openai-chat", "openai-responses", "gemini", "bedrock-converse"];

const long = (seed: string, bytes = 600): string => seed.repeat(Math.ceil(bytes / seed.length)).slice(0, bytes);
const pngBase64 = long("iVBORw0KGgoAAAANSUhEUgAA", 2000);

function plan(client: ChatDialect, target: ChatDialect, raw: Buffer, parseAllStrings: boolean): TranslationPlan {
  return planTranslation({
    clientDialect: client,
    targetDialect: target,
    raw,
    clientModel: "client-model",
    upstreamModel: "upstream-model",
    stream: true,
    maxOutputTokens: null,
    provider: "test-provider",
    parseAllStrings,
  });
}

/** A Claude Code turn with the text cases converters look into. */
function anthropicBody(): Buffer {
  const body = JSON.parse(claudeCodeRequest(200_000).body) as { messages: unknown[]; system: unknown[] };
  body.system.push({ type: "text", text: `x-anthropic-billing-header: cc_version=2.1;\n${long("after the header ")}` });
  body.messages.push(
    {
      role: "user",
      content: [
        { type: "image", source: { type: "base64", media_type: "image/png", data: pngBase64 } },
        { type: "text", text: long(" ") },
        { type: "text", text: `\n\n  ${long('indented text with \\ backslashes and "quotes" ')}` },
        { type: "text", text: `caf\u00e9 \u2026 ${long("unicode text ")}` },
      ],
    },
    {
      role: "assistant",
      content: [{ type: "tool_use", id: "toolu_1", name: "Write", input: { file_path: "/a", content: long("code ") } }],
    },
    {
      role: "user",
      content: [{ type: "tool_result", tool_use_id: "toolu_1", content: `{"ok":true,"log":"${long("x")}"}` }],
    },
  );
  return Buffer.from(JSON.stringify(body));
}

/** The same turn as a client of `dialect` would send it (the fully parsed translation of the Anthropic body). */
function bodyIn(dialect: ChatDialect, anthropic: Buffer): Buffer {
  if (dialect === "anthropic") return anthropic;
  return plan("anthropic", dialect, anthropic, true).body;
}

describe("translation with long text set aside equals translation of the parsed body", () => {
  const anthropic = anthropicBody();
  for (const client of dialects) {
    const raw = bodyIn(client, anthropic);
    for (const target of dialects.filter((d) => d !== client)) {
      test(`${client} → ${target}`, () => {
        const fast = plan(client, target, raw, false);
        const parsed = plan(client, target, raw, true);
        assert.equal(fast.readAs, "set-aside", "the long text was set aside and put back");
        assert.deepEqual(JSON.parse(fast.body.toString("utf8")), JSON.parse(parsed.body.toString("utf8")));
        assert.deepEqual(fast.warnings, parsed.warnings);
        assert.equal(fast.includeUsage, parsed.includeUsage);
      });
    }
  }

  test("text a converter needs whole falls back to the parsed body (OpenAI data URLs, tool arguments)", () => {
    const raw = Buffer.from(
      JSON.stringify({
        model: "m",
        messages: [
          {
            role: "user",
            content: [
              { type: "image_url", image_url: { url: `data:image/png;base64,${pngBase64}` } },
              { type: "text", text: long("look at this ") },
            ],
          },
          {
            role: "assistant",
            content: null,
            tool_calls: [
              { id: "c1", type: "function", function: { name: "f", arguments: JSON.stringify({ a: long("y") }) } },
            ],
          },
          { role: "tool", tool_call_id: "c1", content: long("tool output ") },
        ],
      }),
    );
    const fast = plan("openai-chat", "anthropic", raw, false);
    const parsed = plan("openai-chat", "anthropic", raw, true);
    assert.deepEqual(JSON.parse(fast.body.toString("utf8")), JSON.parse(parsed.body.toString("utf8")));
    const image = (JSON.parse(fast.body.toString("utf8")) as { messages: Array<{ content: unknown[] }> }).messages[0]
      ?.content[0];
    assert.deepEqual(image, { type: "image", source: { type: "base64", media_type: "image/png", data: pngBase64 } });
  });

  test("Cursor's Responses-shaped chat bodies (http/cursor-body.ts): set aside, the same Chat body as parsed", () => {
    const responses = JSON.parse(bodyIn("openai-responses", anthropic).toString("utf8")) as Record<string, unknown>;
    responses.stream_options = { include_usage: true };
    responses.store = false;
    const raw = Buffer.from(JSON.stringify(responses));
    const fast = normaliseCursorBody(raw);
    const parsed = normaliseCursorBody(raw, { parseAllStrings: true });
    assert.ok(fast !== null && parsed !== null);
    const fastBody = JSON.parse(fast.raw.toString("utf8")) as { messages: unknown[]; stream_options?: unknown };
    assert.deepEqual(fastBody, JSON.parse(parsed.raw.toString("utf8")));
    assert.deepEqual(fast.warnings, parsed.warnings);
    assert.ok(fastBody.messages.length > 10);
    assert.deepEqual(fastBody.stream_options, { include_usage: true });
  });

  test("bodies that are not JSON get the same 400 either way", () => {
    const raw = Buffer.from(`{"model":"m","messages":[{"role":"user","content":"${long("text ")}"}`);
    assert.throws(() => plan("openai-chat", "anthropic", raw, false), /not valid JSON/);
  });
});
