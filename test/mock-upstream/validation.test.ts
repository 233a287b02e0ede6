import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  type ErrorReply,
  type MockUpstream,
  startMockUpstream,
  validateAnthropicMessages,
  validateGeminiGenerateContent,
  validateOpenAIChat,
  validateOpenAIEmbeddings,
  validateOpenAIResponses,
} from "../fixtures/mock-upstream/index.ts";
import { ANTHROPIC_HEADERS, GEMINI_HEADERS, OPENAI_HEADERS, rawRequest } from "./helpers.ts";

function anthropicMessage(reply: ErrorReply | null): string {
  assert.ok(reply, "expected a rejection");
  assert.equal(reply.status, 400);
  const body = reply.body as { type: string; error: { type: string; message: string } };
  assert.equal(body.type, "error");
  assert.equal(body.error.type, "invalid_request_error");
  return body.error.message;
}

function openaiError(reply: ErrorReply | null): { message: string; param: string | null; code: string | null } {
  assert.ok(reply, "expected a rejection");
  assert.equal(reply.status, 400);
  const body = reply.body as { error: { message: string; type: string; param: string | null; code: string | null } };
  assert.equal(body.error.type, "invalid_request_error");
  return body.error;
}

function geminiMessage(reply: ErrorReply | null): string {
  assert.ok(reply, "expected a rejection");
  const body = reply.body as { error: { code: number; message: string; status: string } };
  assert.deepEqual([reply.status, body.error.code, body.error.status], [400, 400, "INVALID_ARGUMENT"]);
  return body.error.message;
}

const anthropicOk = { model: "claude", max_tokens: 10, messages: [{ role: "user", content: "hi" }] };

describe("validateAnthropicMessages", () => {
  it("accepts a valid body, unknown beta fields included", () => {
    assert.equal(validateAnthropicMessages({ ...anthropicOk, context_management: { edits: [] } }, {}), null);
    assert.equal(
      validateAnthropicMessages(
        { ...anthropicOk, system: [{ type: "text", text: "x" }], stream: true, thinking: { type: "adaptive" } },
        {},
      ),
      null,
    );
  });

  it("rejects missing or malformed model, max_tokens and messages with pydantic-style messages", () => {
    assert.equal(
      anthropicMessage(validateAnthropicMessages({ ...anthropicOk, model: undefined }, {})),
      "model: Field required",
    );
    const { max_tokens: _, ...noMax } = anthropicOk;
    assert.equal(anthropicMessage(validateAnthropicMessages(noMax, {})), "max_tokens: Field required");
    assert.equal(
      anthropicMessage(validateAnthropicMessages({ ...anthropicOk, max_tokens: 0 }, {})),
      "max_tokens: Input should be greater than or equal to 1",
    );
    assert.match(anthropicMessage(validateAnthropicMessages({ ...anthropicOk, max_tokens: 1.5 }, {})), /valid integer/);
    assert.equal(
      anthropicMessage(validateAnthropicMessages({ ...anthropicOk, messages: [] }, {})),
      "messages: at least one message is required",
    );
    assert.equal(
      anthropicMessage(validateAnthropicMessages({ ...anthropicOk, messages: [{ role: "user", content: [{}] }] }, {})),
      "messages.0.content.0.type: Field required",
    );
    assert.equal(
      anthropicMessage(validateAnthropicMessages({ ...anthropicOk, messages: [{ role: "user", content: "" }] }, {})),
      "messages.0: all messages must have non-empty content except for the optional final assistant message",
    );
    assert.equal(
      anthropicMessage(validateAnthropicMessages({ ...anthropicOk, stream: "yes" }, {})),
      "stream: Input should be a valid boolean",
    );
    assert.equal(
      anthropicMessage(validateAnthropicMessages({ ...anthropicOk, system: 3 }, {})),
      "system: Input should be a valid list",
    );
    assert.equal(
      anthropicMessage(validateAnthropicMessages({ ...anthropicOk, system: [{ type: "image" }] }, {})),
      "system.0.type: Input should be 'text'",
    );
  });

  it("allows role system only with the mid-conversation-system beta", () => {
    const body = {
      ...anthropicOk,
      messages: [
        { role: "user", content: "hi" },
        { role: "system", content: "note" },
      ],
    };
    assert.equal(
      anthropicMessage(validateAnthropicMessages(body, {})),
      "messages.1.role: Input should be 'user' or 'assistant'",
    );
    const beta = { "anthropic-beta": "claude-code-20250219,mid-conversation-system-2026-04-07" };
    assert.equal(validateAnthropicMessages(body, beta), null);
  });

  it("rejects other dialects' fields as extra inputs", () => {
    for (const field of ["stream_options", "contents", "input", "max_completion_tokens", "n", "generationConfig"]) {
      assert.equal(
        anthropicMessage(validateAnthropicMessages({ ...anthropicOk, [field]: 1 }, {})),
        `${field}: Extra inputs are not permitted`,
      );
    }
  });
});

const chatOk = { model: "gpt-4o", messages: [{ role: "user", content: "hi" }] };

describe("validateOpenAIChat", () => {
  it("accepts valid bodies", () => {
    assert.equal(validateOpenAIChat(chatOk), null);
    assert.equal(validateOpenAIChat({ ...chatOk, stream: true, stream_options: { include_usage: true } }), null);
    assert.equal(
      validateOpenAIChat({
        ...chatOk,
        messages: [{ role: "tool", tool_call_id: "call_1", content: "x" }],
        max_tokens: 5,
      }),
      null,
    );
  });

  it("rejects stream_options without stream with the real message", () => {
    const error = openaiError(validateOpenAIChat({ ...chatOk, stream_options: { include_usage: true } }));
    assert.equal(error.message, "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
    assert.equal(error.param, "stream_options");
  });

  it("rejects model, messages, roles, tool_call_id and integer fields", () => {
    assert.equal(
      openaiError(validateOpenAIChat({ messages: chatOk.messages })).message,
      "you must provide a model parameter",
    );
    assert.equal(openaiError(validateOpenAIChat({ model: "m" })).code, "missing_required_parameter");
    assert.equal(openaiError(validateOpenAIChat({ model: "m", messages: [] })).code, "empty_array");
    const role = openaiError(validateOpenAIChat({ model: "m", messages: [{ role: "human", content: "x" }] }));
    assert.equal(role.param, "messages[0].role");
    assert.equal(role.code, "invalid_value");
    assert.match(
      openaiError(validateOpenAIChat({ model: "m", messages: [{ role: "tool", content: "x" }] })).message,
      /must have a 'tool_call_id'/,
    );
    const maxTokens = openaiError(validateOpenAIChat({ ...chatOk, max_tokens: "5" }));
    assert.equal(maxTokens.message, "Invalid type for 'max_tokens': expected an integer, but got a string instead.");
    assert.equal(openaiError(validateOpenAIChat({ ...chatOk, max_completion_tokens: 1.5 })).code, "invalid_type");
  });

  it("rejects Anthropic and Gemini fields as unrecognized", () => {
    for (const field of ["system", "contents", "anthropic_version"]) {
      assert.equal(
        openaiError(validateOpenAIChat({ ...chatOk, [field]: "x" })).message,
        `Unrecognized request argument supplied: ${field}`,
      );
    }
  });
});

describe("validateOpenAIResponses and validateOpenAIEmbeddings", () => {
  it("checks the Responses model, input and stream", () => {
    assert.equal(validateOpenAIResponses({ model: "gpt-5", input: "hi" }), null);
    assert.equal(
      validateOpenAIResponses({ model: "gpt-5", input: [{ role: "user", content: "hi" }], stream: true }),
      null,
    );
    assert.equal(openaiError(validateOpenAIResponses({ input: "hi" })).message, "Missing required parameter: 'model'.");
    assert.equal(openaiError(validateOpenAIResponses({ model: "m", input: 3 })).param, "input");
    assert.equal(openaiError(validateOpenAIResponses({ model: "m", input: "x", stream: "y" })).param, "stream");
    assert.equal(openaiError(validateOpenAIResponses({ model: "m", messages: [] })).code, "unknown_parameter");
  });

  it("checks the embeddings input shapes", () => {
    for (const input of ["a", ["a", "b"], [1, 2], [[1], [2, 3]]]) {
      assert.equal(validateOpenAIEmbeddings({ model: "m", input }), null, JSON.stringify(input));
    }
    for (const input of [3, [], [{}], ["a", 1]]) {
      assert.match(openaiError(validateOpenAIEmbeddings({ model: "m", input })).message, /'\$\.input' is invalid/);
    }
    assert.equal(openaiError(validateOpenAIEmbeddings({ input: "a" })).message, "you must provide a model parameter");
  });
});

describe("validateGeminiGenerateContent", () => {
  it("accepts a valid body and rejects empty contents, empty parts, bad roles and foreign fields", () => {
    const ok = { contents: [{ role: "user", parts: [{ text: "hi" }] }], generationConfig: { temperature: 0 } };
    assert.equal(validateGeminiGenerateContent(ok, "gemini-2.5-flash"), null);
    assert.equal(
      geminiMessage(validateGeminiGenerateContent({ contents: [] }, "m")),
      "* GenerateContentRequest.contents: contents is not specified\n",
    );
    assert.equal(
      geminiMessage(validateGeminiGenerateContent({ contents: [{ role: "user", parts: [] }] }, "m")),
      "* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.\n",
    );
    assert.equal(
      geminiMessage(validateGeminiGenerateContent({ contents: [{ role: "assistant", parts: [{ text: "x" }] }] }, "m")),
      "Please use a valid role: user, model.",
    );
    assert.equal(
      geminiMessage(validateGeminiGenerateContent({ ...ok, messages: [] }, "m")),
      'Invalid JSON payload received. Unknown name "messages": Cannot find field.',
    );
  });
});

describe("validation over HTTP", () => {
  let mock: MockUpstream;
  let lenient: MockUpstream;
  before(async () => {
    mock = await startMockUpstream();
    lenient = await startMockUpstream({ validate: false, record: false });
  });
  after(async () => {
    await mock.close();
    await lenient.close();
  });

  it("answers a body that is not JSON with each provider's real 400", async () => {
    const anthropic = await rawRequest(`${mock.url}/v1/messages`, { headers: ANTHROPIC_HEADERS, body: "{nope" });
    assert.equal(anthropic.status, 400);
    assert.match(JSON.parse(anthropic.body.toString()).error.message, /^The request body is not valid JSON/);
    const openai = await rawRequest(`${mock.url}/v1/chat/completions`, { headers: OPENAI_HEADERS, body: "{nope" });
    assert.equal(openai.status, 400);
    assert.match(JSON.parse(openai.body.toString()).error.message, /^We could not parse the JSON body/);
    const gemini = await rawRequest(`${mock.url}/v1beta/models/g:generateContent`, {
      headers: GEMINI_HEADERS,
      body: "{",
    });
    assert.equal(gemini.status, 400);
    assert.equal(JSON.parse(gemini.body.toString()).error.status, "INVALID_ARGUMENT");
    assert.equal(
      mock.requests.every((request) => request.json === undefined && request.script === undefined),
      true,
    );
  });

  it("rejects an invalid body over HTTP but lets it through when validate is false", async () => {
    const bad = JSON.stringify({ model: "gpt-4o", messages: [] });
    const strict = await rawRequest(`${mock.url}/v1/chat/completions`, { headers: OPENAI_HEADERS, body: bad });
    assert.equal(strict.status, 400);
    const loose = await rawRequest(`${lenient.url}/v1/chat/completions`, { headers: OPENAI_HEADERS, body: bad });
    assert.equal(loose.status, 200);
    assert.equal(lenient.requests.length, 0, "record: false keeps nothing");
  });
});
