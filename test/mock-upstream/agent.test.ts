import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, beforeEach, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import { GoogleGenAI, Type } from "@google/genai";
import OpenAI from "openai";
import { findShellTool, jsonReplyFor, shellArguments } from "../fixtures/mock-upstream/agent.ts";
import {
  AGENT_COMMAND,
  AGENT_JSON_REPLY,
  AGENT_MARKER,
  DEFAULT_TEXT,
  type MockUpstream,
  startMockUpstream,
} from "../fixtures/mock-upstream/index.ts";
import { OPENAI_HEADERS, parseSse, rawRequest } from "./helpers.ts";

let mock: MockUpstream;
let anthropic: Anthropic;
let openai: OpenAI;
let gemini: GoogleGenAI;

before(async () => {
  mock = await startMockUpstream();
  anthropic = new Anthropic({ apiKey: "k", baseURL: mock.url, maxRetries: 0 });
  openai = new OpenAI({ apiKey: "k", baseURL: `${mock.url}/v1`, maxRetries: 0 });
  gemini = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: mock.url } });
});
after(() => mock.close());
beforeEach(() => mock.reset());

const TOOL_OUTPUT = `${AGENT_MARKER}\n`;
const EXPECTED_FINAL = `Tool said: ${AGENT_MARKER}`;

describe("mock upstream: agent scenario", () => {
  it("uses a command that prints the marker in a real shell", () => {
    assert.equal(execFileSync("bash", ["-lc", AGENT_COMMAND]).toString().trim(), AGENT_MARKER);
  });

  it("Claude Code: calls Bash, then reports the tool_result", async () => {
    const tools = [
      {
        name: "Bash",
        input_schema: {
          type: "object" as const,
          properties: { command: { type: "string" }, description: { type: "string" }, timeout: { type: "number" } },
          required: ["command"],
        },
      },
      { name: "Read", input_schema: { type: "object" as const, properties: { file_path: { type: "string" } } } },
    ];
    const first = await anthropic.messages
      .stream({
        model: "claude-mock",
        max_tokens: 64000,
        tools,
        messages: [{ role: "user", content: "run it" }],
      })
      .finalMessage();
    assert.equal(first.stop_reason, "tool_use");
    const call = first.content.find((block) => block.type === "tool_use");
    assert.ok(call?.type === "tool_use");
    assert.equal(call.name, "Bash");
    assert.deepEqual(call.input, { command: AGENT_COMMAND });

    const second = await anthropic.messages
      .stream({
        model: "claude-mock",
        max_tokens: 64000,
        tools,
        messages: [
          { role: "user", content: "run it" },
          { role: "assistant", content: first.content },
          {
            role: "user",
            content: [{ type: "tool_result", tool_use_id: call.id, content: [{ type: "text", text: TOOL_OUTPUT }] }],
          },
        ],
      })
      .finalMessage();
    assert.equal(second.stop_reason, "end_turn");
    assert.deepEqual(second.content, [{ type: "text", text: EXPECTED_FINAL }]);
  });

  it("opencode (chat): adds the description its bash schema requires, then reports the tool message", async () => {
    const tools = [
      {
        type: "function" as const,
        function: {
          name: "bash",
          parameters: {
            type: "object",
            properties: { command: { type: "string" }, description: { type: "string" } },
            required: ["command", "description"],
          },
        },
      },
    ];
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "run it" }];
    const first = await openai.chat.completions.create({ model: "gw-model", messages, tools });
    const call = first.choices[0]?.message.tool_calls?.[0];
    assert.ok(call?.type === "function");
    assert.deepEqual(JSON.parse(call.function.arguments), { command: AGENT_COMMAND, description: "run marker" });

    const second = await openai.chat.completions.create({
      model: "gw-model",
      tools,
      messages: [
        ...messages,
        { role: "assistant", content: null, tool_calls: [call] },
        { role: "tool", tool_call_id: call.id, content: TOOL_OUTPUT },
      ],
    });
    assert.equal(second.choices[0]?.message.content, EXPECTED_FINAL);
  });

  it("title generation without tools gets plain text", async () => {
    const completion = await openai.chat.completions.create({
      model: "gw-model",
      messages: [
        { role: "system", content: "You are a title generator" },
        { role: "user", content: "run it" },
      ],
    });
    assert.equal(completion.choices[0]?.message.content, DEFAULT_TEXT);
  });

  it("Codex (responses): calls exec_command with cmd, then reports the function_call_output", async () => {
    const tools = [
      { type: "function", name: "write_stdin", parameters: { type: "object", properties: {} }, strict: false },
      {
        type: "function",
        name: "exec_command",
        parameters: {
          type: "object",
          properties: { cmd: { type: "string" }, workdir: { type: "string" } },
          required: ["cmd"],
        },
        strict: false,
      },
      { type: "web_search", external_web_access: false },
    ];
    const body = { model: "gpt-5-codex", stream: true, tools, input: [{ role: "user", content: "run it" }] };
    const first = await rawRequest(`${mock.url}/v1/responses`, { headers: OPENAI_HEADERS, body: JSON.stringify(body) });
    const events = parseSse(first.body.toString()).map((event) => JSON.parse(event.data));
    const done = events.find((event) => event.type === "response.output_item.done")?.item;
    assert.equal(done.type, "function_call");
    assert.equal(done.name, "exec_command");
    assert.deepEqual(JSON.parse(done.arguments), { cmd: AGENT_COMMAND });
    assert.equal(events.at(-1)?.type, "response.completed");

    const followUp = {
      ...body,
      input: [
        ...body.input,
        { type: "function_call", call_id: done.call_id, name: done.name, arguments: done.arguments },
        {
          type: "function_call_output",
          call_id: done.call_id,
          output: `Chunk ID: 1\nProcess exited with code 0\nOutput:\n${TOOL_OUTPUT}`,
        },
      ],
    };
    const second = await rawRequest(`${mock.url}/v1/responses`, {
      headers: OPENAI_HEADERS,
      body: JSON.stringify(followUp),
    });
    const completed = parseSse(second.body.toString())
      .map((event) => JSON.parse(event.data))
      .at(-1);
    assert.equal(completed.type, "response.completed");
    assert.match(completed.response.output[0].content[0].text, /^Tool said: Chunk ID: 1[\s\S]*tollgate-e2e-42$/);
  });

  it("Codex: finds a shell tool inside a namespace tool and passes an argv for an array command", async () => {
    const tools = [
      {
        type: "namespace",
        name: "shell_tools",
        description: "shell",
        tools: [
          {
            type: "function",
            name: "shell",
            parameters: { type: "object", properties: { command: { type: "array", items: { type: "string" } } } },
          },
        ],
      },
    ];
    const response = await openai.responses.create({ model: "gpt-5-codex", input: "run it", tools: tools as never });
    const call = response.output[0];
    assert.ok(call?.type === "function_call");
    assert.equal(call.namespace, "shell_tools");
    assert.deepEqual(JSON.parse(call.arguments), { command: ["bash", "-lc", AGENT_COMMAND] });
  });

  it("answers the built-in local_shell tool with a local_shell_call item", async () => {
    const response = await openai.responses.create({
      model: "codex-mini",
      input: "run it",
      tools: [{ type: "local_shell" }],
    });
    const call = response.output[0];
    assert.ok(call?.type === "local_shell_call");
    assert.deepEqual(call.action.command, ["bash", "-lc", AGENT_COMMAND]);
  });

  it("Gemini CLI: calls run_shell_command, then reports the functionResponse; router calls get JSON", async () => {
    const tools = [
      {
        functionDeclarations: [
          {
            name: "run_shell_command",
            parameters: {
              type: Type.OBJECT,
              properties: { command: { type: Type.STRING }, description: { type: Type.STRING } },
              required: ["command"],
            },
          },
        ],
      },
    ];
    const chunks = [];
    for await (const chunk of await gemini.models.generateContentStream({
      model: "gemini-2.5-flash",
      contents: "run it",
      config: { tools },
    })) {
      chunks.push(chunk);
    }
    const call = chunks.flatMap((chunk) => chunk.functionCalls ?? [])[0];
    assert.equal(call?.name, "run_shell_command");
    assert.deepEqual(call?.args, { command: AGENT_COMMAND });

    const second = await gemini.models.generateContent({
      model: "gemini-2.5-flash",
      config: { tools },
      contents: [
        { role: "user", parts: [{ text: "run it" }] },
        { role: "model", parts: [{ functionCall: { name: "run_shell_command", args: call?.args ?? {} } }] },
        {
          role: "user",
          parts: [{ functionResponse: { name: "run_shell_command", response: { output: `Output: ${TOOL_OUTPUT}` } } }],
        },
      ],
    });
    assert.equal(second.text, `Tool said: Output: ${AGENT_MARKER}`);

    const router = await gemini.models.generateContent({
      model: "gemini-2.5-flash-lite",
      contents: "classify",
      config: { responseMimeType: "application/json" },
    });
    assert.equal(router.text, AGENT_JSON_REPLY);
    assert.deepEqual(JSON.parse(router.text ?? ""), { reasoning: "mock", model_choice: "flash" });
  });
});

describe("agent helpers", () => {
  it("prefers shell tools in the documented order", () => {
    const tools = [
      { name: "run_shell_command", schema: undefined },
      { name: "exec_command", schema: undefined },
      { name: "Read", schema: undefined },
    ];
    assert.equal(findShellTool(tools)?.name, "exec_command");
    assert.equal(findShellTool([{ name: "Read", schema: undefined }]), undefined);
  });

  it("builds arguments from the schema", () => {
    const stringCommand = { type: "object", properties: { command: { type: "string" } } };
    assert.deepEqual(shellArguments({ name: "bash", schema: stringCommand }), { command: AGENT_COMMAND });
    assert.deepEqual(
      shellArguments({ name: "bash", schema: { ...stringCommand, required: ["command", "description"] } }),
      {
        command: AGENT_COMMAND,
        description: "run marker",
      },
    );
    const argv = { type: "OBJECT", properties: { command: { type: "ARRAY", items: { type: "STRING" } } } };
    assert.deepEqual(shellArguments({ name: "shell", schema: argv }), { command: ["bash", "-lc", AGENT_COMMAND] });
    assert.deepEqual(shellArguments({ name: "exec_command", schema: { type: "object", properties: { cmd: {} } } }), {
      cmd: AGENT_COMMAND,
    });
    assert.deepEqual(shellArguments({ name: "bash", schema: undefined }), { command: AGENT_COMMAND });
  });

  it("fills a requested JSON schema, falling back to the router reply", () => {
    assert.equal(jsonReplyFor(undefined), AGENT_JSON_REPLY);
    const router = {
      type: "OBJECT",
      properties: { reasoning: { type: "STRING" }, model_choice: { type: "STRING", enum: ["flash", "pro"] } },
    };
    assert.deepEqual(JSON.parse(jsonReplyFor(router)), { reasoning: "mock", model_choice: "flash" });
    const nextSpeaker = {
      type: "object",
      properties: {
        reasoning: { type: "string" },
        next_speaker: { type: "string", enum: ["user", "model"] },
        score: { type: "integer", minimum: 1 },
      },
    };
    assert.deepEqual(JSON.parse(jsonReplyFor(nextSpeaker)), { reasoning: "mock", next_speaker: "user", score: 1 });
  });

  it("answers an OpenAI json_schema request with an object matching the schema", async () => {
    const completion = await openai.chat.completions.create({
      model: "gw-model",
      messages: [{ role: "user", content: "classify" }],
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "c",
          schema: { type: "object", properties: { label: { type: "string", enum: ["a", "b"] } } },
        },
      },
    });
    assert.deepEqual(JSON.parse(completion.choices[0]?.message.content ?? ""), { label: "a" });
  });
});
