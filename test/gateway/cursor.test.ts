import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

/**
 * Contract tests for Cursor's "Override OpenAI Base URL" (CLIENTS.md §5): Cursor cannot run offline, so these replay
 * the request shapes people captured between Cursor and their proxies. Sources (fields and structure; texts are ours):
 *
 * [F159298] forum.cursor.com/t/…/159298 "Override OpenAI Base URL sends Responses API payload to /chat/completions
 *   but expects Chat Completions output": POST …/chat/completions with `model: "gpt-5.5"`, `input: […]`,
 *   `stream: true`, `include: ["reasoning.encrypted_content"]`, `reasoning: {effort: "medium", summary: "auto"}`,
 *   `text: {verbosity: "low"}`, `stream_options: {include_usage: true}`; Cursor renders only `choices[].delta` chunks.
 * [F153019] forum.cursor.com/t/…/153019 "Cursor Agent sends Responses API format to /chat/completions endpoint"
 *   (Cursor 2.5.25): `input`, `store`, `include`, `prompt_cache_retention`, `previous_response_id`, `truncation`,
 *   `reasoning` as an object, flat tools `{type: "function", name, …}`, and `{type: "custom", name: "ApplyPatch"}`
 *   with a grammar `format`.
 * [F158939] forum.cursor.com/t/…/158939 (Cursor 3.1.17): 18 tools of type "function" or "custom", no `messages`.
 * [GABRII] github.com/gabrii/Cursor-Azure-GPT-5 tests/recordings/{reply_single_tool_call,context_parallel_tool_call}/
 *   downstream_request.json: the older Chat-shaped bodies Cursor sends for custom models (`temperature: 0`, `user`,
 *   `messages` with a system prompt, two user messages, assistant `tool_calls` carrying `index`, `tool` messages with
 *   `name`, nested function tools, `tool_choice: "auto"`, `stream: true`).
 * [LITELLM] docs.litellm.ai/docs/proxy/cursor: `{model: "gpt-4o", input: [{role: "user", content: "Hello"}]}`,
 *   streamed or not, answered as `chat.completion` / `chat.completion.chunk` ending with `data: [DONE]`.
 * [BRIDGE] github.com/Pil0tXia/Cursor-OpenAI-BYOK-Bridge src/byok/responses_compat.py: the same detection rule
 *   (`input` without `messages`).
 */

type Json = Record<string, unknown>;

const FUNCTION_TOOLS = [
  {
    type: "function",
    name: "read_file",
    description: "Read the contents of a file.",
    parameters: {
      type: "object",
      properties: {
        target_file: { type: "string", description: "Path of the file." },
        should_read_entire_file: { type: "boolean" },
        start_line_one_indexed: { type: "integer" },
      },
      required: ["target_file", "should_read_entire_file"],
    },
    strict: false,
  },
  {
    type: "function",
    name: "grep",
    description: "Search the workspace.",
    parameters: {
      type: "object",
      properties: {
        pattern: { type: "string" },
        output_mode: { type: "string", enum: ["content", "files_with_matches", "count"] },
        "-i": { type: "boolean" },
      },
      required: ["pattern"],
    },
    strict: false,
  },
];

/** [F153019]: the free-form patch tool with a grammar. */
const APPLY_PATCH_TOOL = {
  type: "custom",
  name: "ApplyPatch",
  description: "Apply a patch to files in the workspace.",
  format: { type: "grammar", syntax: "lark", definition: 'start: "*** Begin Patch" /(.|\\n)*/ "*** End Patch"' },
};

/** An Agent-mode turn in Cursor's Responses shape, after one tool round trip ([F159298], [F153019]). */
function agentTurn(overrides: Json = {}): Json {
  return {
    model: "gpt-5.5",
    instructions: "You are a coding agent working in Cursor.",
    input: [
      { role: "user", content: [{ type: "input_text", text: "<user_info>OS: linux</user_info>" }] },
      { role: "user", content: [{ type: "input_text", text: "Why does the login test fail?" }] },
      {
        type: "function_call",
        call_id: "call_Dke46usJNOchzqyvXSJQQMXP",
        name: "grep",
        arguments: '{"pattern":"login","output_mode":"count"}',
      },
      {
        type: "function_call_output",
        call_id: "call_Dke46usJNOchzqyvXSJQQMXP",
        output: "Found 3 matches across 2 files",
      },
    ],
    tools: [...FUNCTION_TOOLS, APPLY_PATCH_TOOL],
    tool_choice: "auto",
    parallel_tool_calls: true,
    stream: true,
    stream_options: { include_usage: true },
    include: ["reasoning.encrypted_content"],
    reasoning: { effort: "medium", summary: "auto" },
    text: { verbosity: "low" },
    store: false,
    previous_response_id: null,
    truncation: "auto",
    prompt_cache_retention: "24h",
    prompt_cache_key: "cursor-conversation-1",
    ...overrides,
  };
}

/** [GABRII] context_parallel_tool_call: a Chat-shaped Cursor body. */
function chatShapedTurn(): Json {
  return {
    model: "gpt-4.1",
    temperature: 0,
    user: "cursor-user-1",
    messages: [
      { role: "system", content: "You are a coding agent working in Cursor." },
      { role: "user", content: "<user_info>OS: linux</user_info>" },
      { role: "user", content: "Count foo and bar." },
      {
        role: "assistant",
        content: "Searching.",
        tool_calls: [
          {
            type: "function",
            id: "call_Dke46usJNOchzqyvXSJQQMXP",
            index: 0,
            function: { name: "grep", arguments: '{"pattern":"foo","output_mode":"count"}' },
          },
          {
            type: "function",
            id: "call_jefCQLGSyAUpkBE78xklruzf",
            index: 1,
            function: { name: "grep", arguments: '{"pattern":"bar","output_mode":"count"}' },
          },
        ],
      },
      { role: "tool", name: "grep", tool_call_id: "call_Dke46usJNOchzqyvXSJQQMXP", content: "README.md:1" },
      { role: "tool", name: "grep", tool_call_id: "call_jefCQLGSyAUpkBE78xklruzf", content: "README.md:1" },
    ],
    tools: FUNCTION_TOOLS.map(({ name, description, parameters }) => ({
      type: "function",
      function: { name, description, parameters },
    })),
    tool_choice: "auto",
    stream: true,
  };
}

/** The JSON of each `data:` event, and whether the stream ended with `data: [DONE]`. */
function chatChunks(sse: string): { chunks: Json[]; done: boolean } {
  const chunks: Json[] = [];
  let done = false;
  for (const event of sse.split("\n\n")) {
    const data = event
      .split("\n")
      .filter((line) => line.startsWith("data:"))
      .map((line) => line.slice(5).trim())
      .join("\n");
    if (data === "") continue;
    if (data === "[DONE]") done = true;
    else chunks.push(JSON.parse(data) as Json);
  }
  return { chunks, done };
}

function choiceOf(chunk: Json): Json | undefined {
  return (chunk.choices as Json[] | undefined)?.[0];
}

function deltaText(chunks: Json[]): string {
  return chunks.map((c) => ((choiceOf(c)?.delta as Json | undefined)?.content as string | undefined) ?? "").join("");
}

describe("Cursor: /cursor/v1/chat/completions", () => {
  let mock: MockUpstream;
  let gw: TestGateway;

  const post = (body: Json, path = "/cursor/v1/chat/completions", headers: Record<string, string> = {}) =>
    fetch(`${gw.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-cursor-byok", ...headers },
      body: JSON.stringify(body),
    });

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  it("converts an Agent-mode Responses-shaped body to Chat Completions and streams Chat chunks back", async () => {
    mock.enqueue({ scenario: "text", text: "The login test expects a redirect." });
    const res = await post(agentTurn());
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
    const { chunks, done } = chatChunks(await res.text());
    assert.ok(done, "ends with data: [DONE]");
    assert.ok(chunks.every((c) => c.object === "chat.completion.chunk"));
    assert.equal(deltaText(chunks), "The login test expects a redirect.");
    assert.equal(chunks.filter((c) => choiceOf(c)?.finish_reason === "stop").length, 1);
    const usage = chunks.at(-1);
    assert.deepEqual(usage?.choices, [], "the usage chunk Cursor asked for comes last");
    assert.ok((((usage?.usage ?? {}) as Json).prompt_tokens as number) > 0);

    // Upstream: a valid Chat Completions request (the mock validates it like the real API).
    assert.equal(mock.requests.length, 1);
    const upstream = mock.requests[0];
    assert.equal(upstream?.route, "openai-chat");
    const body = upstream?.json as Json;
    assert.equal(body.input, undefined);
    assert.equal(body.model, "gpt-5.5");
    assert.equal(body.reasoning_effort, "medium");
    assert.deepEqual(body.stream_options, { include_usage: true });
    for (const gone of ["include", "reasoning", "text", "store", "truncation", "previous_response_id"]) {
      assert.equal(body[gone], undefined, gone);
    }
    const messages = body.messages as Json[];
    assert.deepEqual(
      messages.map((m) => m.role),
      ["system", "user", "assistant", "tool"],
    );
    assert.equal(messages[0]?.content, "You are a coding agent working in Cursor.");
    assert.deepEqual(((messages[2]?.tool_calls ?? []) as Json[])[0], {
      id: "call_Dke46usJNOchzqyvXSJQQMXP",
      type: "function",
      function: { name: "grep", arguments: '{"pattern":"login","output_mode":"count"}' },
    });
    assert.equal(messages[3]?.tool_call_id, "call_Dke46usJNOchzqyvXSJQQMXP");
    const tools = body.tools as Json[];
    assert.deepEqual(
      tools.map((t) => [t.type, (t.function as Json).name]),
      [
        ["function", "read_file"],
        ["function", "grep"],
        ["function", "ApplyPatch"],
      ],
      "flat tools nested; the custom tool as a function",
    );
    const patch = ((tools[2]?.function ?? {}) as Json).parameters as {
      properties: { input: Json };
      required: string[];
    };
    assert.deepEqual(patch.required, ["input"]);
    assert.match(String(patch.properties.input.description), /lark grammar:\nstart: "\*\*\* Begin Patch"/);

    const row = (await gw.waitForLogs(1)).at(-1);
    assert.equal(row?.endpoint, "/cursor/v1/chat/completions");
    assert.equal(row?.dialect, "openai-chat");
    assert.equal(row?.agent, "cursor");
    assert.equal(row?.requestedModel, "gpt-5.5");
    assert.equal(row?.upstreamDialect, null, "Chat to an OpenAI provider: passthrough of the converted body");
    assert.ok(row?.inputTokens && row.inputTokens > 0);
    assert.ok(
      row?.warnings.some((w) => /custom/.test(w)),
      `the custom tool's conversion is on the row: ${row?.warnings}`,
    );
  });

  it("returns a tool call as Chat tool_calls deltas with the full arguments", async () => {
    mock.enqueue({ scenario: "tool-call", toolName: "read_file", toolArgs: { target_file: "src/login.ts" } });
    const res = await post(agentTurn());
    const { chunks, done } = chatChunks(await res.text());
    assert.ok(done);
    const calls = chunks.flatMap((c) => ((choiceOf(c)?.delta as Json | undefined)?.tool_calls as Json[]) ?? []);
    assert.equal(calls[0]?.index, 0);
    assert.equal(((calls[0]?.function ?? {}) as Json).name, "read_file");
    assert.ok(typeof calls[0]?.id === "string" && calls[0].id !== "");
    const args = calls.map((c) => ((c.function as Json | undefined)?.arguments as string | undefined) ?? "").join("");
    assert.deepEqual(JSON.parse(args), { target_file: "src/login.ts" });
    assert.ok(chunks.some((c) => choiceOf(c)?.finish_reason === "tool_calls"));
  });

  it("answers a non-streaming Responses-shaped body with a chat.completion ([LITELLM])", async () => {
    mock.enqueue({ scenario: "text", text: "Hello! How can I help?" });
    const res = await post({ model: "gpt-4o", input: [{ role: "user", content: "Hello" }] });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Json;
    assert.equal(body.object, "chat.completion");
    const choice = (body.choices as Json[])[0];
    const message = choice?.message as Json;
    assert.deepEqual([message.role, message.content], ["assistant", "Hello! How can I help?"]);
    assert.equal(choice?.finish_reason, "stop");
    assert.ok(((body.usage as Json).total_tokens as number) > 0);
    assert.equal(mock.requests[0]?.route, "openai-chat");
    assert.deepEqual(((mock.requests[0]?.json ?? {}) as Json).messages, [{ role: "user", content: "Hello" }]);
    assert.ok(res.headers.get("x-tollgate-cost-usd"));
  });

  it("keeps the usage chunk from a client that did not ask for it", async () => {
    mock.enqueue({ scenario: "text", text: "ok" });
    const res = await post({ model: "gpt-4o", input: "Hello", stream: true });
    const { chunks, done } = chatChunks(await res.text());
    assert.ok(done);
    assert.equal(deltaText(chunks), "ok");
    assert.ok(!chunks.some((c) => Array.isArray(c.choices) && c.choices.length === 0), "no usage chunk");
    const row = (await gw.waitForLogs(1)).at(-1);
    assert.ok(row?.inputTokens && row.inputTokens > 0, "still metered: the gateway asked the upstream for usage");
  });

  it("answers in Chat chunks when a Responses-shaped body names a model of another provider", async () => {
    mock.enqueue({ scenario: "text", text: "Claude here." });
    const res = await post(agentTurn({ model: "claude-sonnet-4-6" }));
    assert.equal(res.status, 200);
    const { chunks, done } = chatChunks(await res.text());
    assert.ok(done);
    assert.equal(deltaText(chunks), "Claude here.");
    assert.ok(chunks.every((c) => c.object === "chat.completion.chunk"));
    assert.equal(mock.requests[0]?.route, "anthropic-messages");
    const upstream = mock.requests[0]?.json as Json;
    assert.equal(upstream.system !== undefined, true);
    const row = (await gw.waitForLogs(1)).at(-1);
    assert.equal(row?.upstreamDialect, "anthropic");
  });

  it("forwards a Chat-shaped Cursor body as it is ([GABRII])", async () => {
    mock.enqueue({ scenario: "text", text: "Both appear once." });
    const sent = chatShapedTurn();
    const res = await post(sent);
    assert.equal(res.status, 200);
    const { chunks, done } = chatChunks(await res.text());
    assert.ok(done);
    assert.equal(deltaText(chunks), "Both appear once.");
    assert.ok(!chunks.some((c) => Array.isArray(c.choices) && c.choices.length === 0), "it did not ask for usage");
    const upstream = mock.requests[0];
    assert.equal(upstream?.route, "openai-chat");
    // Passthrough: the client's bytes, with only the include_usage the gateway adds for metering.
    const { stream_options, ...rest } = (upstream?.json ?? {}) as Json;
    assert.deepEqual(stream_options, { include_usage: true });
    assert.deepEqual(rest, sent);
    assert.ok(
      upstream?.body.toString("utf8").endsWith(JSON.stringify(sent).slice(1)),
      "the body bytes after the splice are the client's",
    );
  });

  it("serves /cursor as a base URL too, and lists models for Cursor's Verify", async () => {
    mock.enqueue({ scenario: "text", text: "hi" });
    const res = await post({ model: "gpt-4o", input: "Hello" }, "/cursor/chat/completions");
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as Json).object, "chat.completion");
    for (const path of ["/cursor/v1/models", "/cursor/models"]) {
      const models = await fetch(`${gw.url}${path}`, { headers: { authorization: "Bearer sk-cursor-byok" } });
      assert.equal(models.status, 200, path);
      assert.equal(((await models.json()) as Json).object, "list");
    }
  });

  it("refuses what cannot be converted with an OpenAI-shaped 400, before any upstream call", async () => {
    const res = await post(agentTurn({ previous_response_id: "resp_68af0c1d" }));
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { message: string; type: string; code: string } };
    assert.equal(body.error.type, "invalid_request_error");
    assert.match(body.error.message, /previous_response_id is not supported/);
    assert.equal(mock.requests.length, 0);

    const broken = await fetch(`${gw.url}/cursor/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"model":"gpt-4o","input":[',
    });
    assert.equal(broken.status, 400);
    assert.equal(((await broken.json()) as { error: { type: string } }).error.type, "invalid_request_error");
  });

  it("authenticates before it looks at the body", async () => {
    const created = await fetch(`${gw.url}/api/virtual-keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "cursor" }),
    });
    assert.equal(created.status, 201);
    const secret = ((await created.json()) as { secret: string }).secret;

    const anonymous = await post(agentTurn({ previous_response_id: "resp_68af0c1d" }));
    assert.equal(anonymous.status, 401, "no key: 401, not the 400 the body would get");

    mock.enqueue({ scenario: "text", text: "with a key" });
    const keyed = await post(agentTurn(), undefined, { authorization: `Bearer ${secret}` });
    assert.equal(keyed.status, 200);
    assert.equal(deltaText(chatChunks(await keyed.text()).chunks), "with a key");
    const row = (await gw.waitForLogs(1)).at(-1);
    assert.ok(row?.virtualKeyId);
  });
});
