import assert from "node:assert/strict";
import OpenAI from "openai";
import type {
  ChatCompletionChunk,
  ChatCompletionMessageFunctionToolCall,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from "openai/resources/chat/completions";
import type { CompletionUsage } from "openai/resources/completions";
import type {
  FunctionTool,
  Response,
  ResponseFunctionToolCall,
  ResponseInputItem,
  ResponseStreamEvent,
} from "openai/resources/responses/responses";
import { convertOpenAiChatUsage } from "../../src/dialects/openai-chat/usage.ts";
import { convertResponsesUsage } from "../../src/dialects/openai-responses/usage.ts";
import type { JsonObject } from "../../src/translate/canonical.ts";
import {
  type AskOptions,
  type ClientDriver,
  type Conversation,
  defineMatrix,
  type SeenCall,
  TOOLS,
  type Turn,
  toolOutput,
} from "./translation-matrix-cases.ts";

function client(url: string, headers: Record<string, string>): OpenAI {
  return new OpenAI({ apiKey: "client-key", baseURL: `${url}/v1`, maxRetries: 0, defaultHeaders: headers });
}

// ---------- Chat Completions ----------

const chatTools: ChatCompletionTool[] = TOOLS.map((t) => ({
  type: "function",
  function: { name: t.name, description: t.description, parameters: t.parameters },
}));

interface ChatReply {
  content: string;
  toolCalls: ChatCompletionMessageFunctionToolCall[];
  finish: string | null;
  usage: CompletionUsage | undefined;
}

/** Accumulates a Chat stream by hand (content, index-keyed tool call deltas), as SDK users do. */
async function collectChat(stream: AsyncIterable<ChatCompletionChunk>, includeUsage: boolean): Promise<ChatReply> {
  let content = "";
  let finish: string | null = null;
  let usage: CompletionUsage | undefined;
  let usageChunks = 0;
  const calls: ChatCompletionMessageFunctionToolCall[] = [];
  for await (const chunk of stream) {
    if (chunk.usage) {
      usageChunks++;
      usage = chunk.usage;
    }
    for (const choice of chunk.choices) {
      content += choice.delta.content ?? "";
      if (choice.finish_reason) finish = choice.finish_reason;
      for (const delta of choice.delta.tool_calls ?? []) {
        const call = calls[delta.index] ?? { id: "", type: "function", function: { name: "", arguments: "" } };
        calls[delta.index] = call;
        if (delta.id) call.id = delta.id;
        if (delta.function?.name) call.function.name += delta.function.name;
        call.function.arguments += delta.function?.arguments ?? "";
      }
    }
  }
  assert.equal(usageChunks, includeUsage ? 1 : 0, "a usage chunk only when include_usage asked for it");
  return { content, toolCalls: calls, finish, usage };
}

/** `includeUsage` (streams): ask for the final usage chunk; without it the client sees no usage at all. */
function chatDriver(stream: boolean, includeUsage = true): ClientDriver {
  const suffix = includeUsage ? "" : " (no include_usage)";
  return {
    label: stream ? `openai chat.completions.create stream${suffix}` : "openai chat.completions.create",
    dialect: "openai-chat",
    stream,
    open(url, headers): Conversation {
      const openai = client(url, headers);
      const messages: ChatCompletionMessageParam[] = [];
      let options: AskOptions = { tools: false };
      const send = async (model: string): Promise<Turn> => {
        const base = {
          model,
          messages,
          ...(options.maxTokens ? { max_completion_tokens: options.maxTokens } : {}),
          ...(options.tools ? { tools: chatTools } : {}),
        };
        let reply: ChatReply;
        if (stream) {
          const options = includeUsage ? { stream_options: { include_usage: true } } : {};
          reply = await collectChat(
            await openai.chat.completions.create({ ...base, stream: true, ...options }),
            includeUsage,
          );
        } else {
          const completion = await openai.chat.completions.create(base);
          const message = completion.choices[0]?.message;
          assert.ok(message);
          reply = {
            content: message.content ?? "",
            toolCalls: (message.tool_calls ?? []).filter((c) => c.type === "function"),
            finish: completion.choices[0]?.finish_reason ?? null,
            usage: completion.usage,
          };
        }
        assert.equal(reply.finish, reply.toolCalls.length > 0 ? "tool_calls" : "stop");
        messages.push({
          role: "assistant",
          content: reply.content === "" ? null : reply.content,
          ...(reply.toolCalls.length > 0 ? { tool_calls: reply.toolCalls } : {}),
        });
        return {
          text: reply.content,
          calls: reply.toolCalls.map((c) => ({
            id: c.id,
            name: c.function.name,
            args: JSON.parse(c.function.arguments) as unknown,
          })),
          usage: reply.usage ? convertOpenAiChatUsage(reply.usage as unknown as JsonObject) : null,
        };
      };
      return {
        ask(model, prompt, asked) {
          options = asked;
          if (asked.system) messages.push({ role: "system", content: asked.system });
          messages.push({ role: "user", content: prompt });
          return send(model);
        },
        answer(model, calls: SeenCall[]) {
          for (const c of calls) messages.push({ role: "tool", tool_call_id: c.id ?? "", content: toolOutput(c.name) });
          return send(model);
        },
      };
    },
  };
}

// ---------- Responses ----------

const responsesTools: FunctionTool[] = TOOLS.map((t) => ({
  type: "function",
  name: t.name,
  description: t.description,
  parameters: t.parameters,
  strict: false,
}));

/** The text of a Response's message items (`output_text` is an SDK convenience only on non-streamed ones). */
function outputText(response: Response): string {
  return response.output
    .flatMap((item) => (item.type === "message" ? item.content : []))
    .map((part) => (part.type === "output_text" ? part.text : ""))
    .join("");
}

/** The final Response of a stream, checked against what the deltas and output_item.done events said. */
async function collectResponses(stream: AsyncIterable<ResponseStreamEvent>): Promise<Response> {
  let text = "";
  const doneCalls: ResponseFunctionToolCall[] = [];
  let completed: Response | null = null;
  let sequence = -1;
  for await (const event of stream) {
    assert.ok(event.sequence_number > sequence, "sequence numbers increase");
    sequence = event.sequence_number;
    if (event.type === "response.output_text.delta") text += event.delta;
    if (event.type === "response.output_item.done" && event.item.type === "function_call") doneCalls.push(event.item);
    if (event.type === "response.completed") completed = event.response;
  }
  assert.ok(completed, "the stream ends with response.completed");
  assert.equal(outputText(completed), text, "the deltas add up to the final text");
  assert.deepEqual(
    doneCalls.map((c) => [c.call_id, c.name, c.arguments]),
    completed.output.flatMap((i) => (i.type === "function_call" ? [[i.call_id, i.name, i.arguments]] : [])),
    "output_item.done carries each call's full arguments",
  );
  const usage = completed.usage;
  assert.ok(usage && usage.total_tokens === usage.input_tokens + usage.output_tokens, "usage with total_tokens");
  return completed;
}

function responsesDriver(stream: boolean): ClientDriver {
  return {
    label: stream ? "openai responses.create stream" : "openai responses.create",
    dialect: "openai-responses",
    stream,
    open(url, headers): Conversation {
      const openai = client(url, headers);
      const input: ResponseInputItem[] = [];
      let options: AskOptions = { tools: false };
      const send = async (model: string): Promise<Turn> => {
        const base = {
          model,
          input,
          ...(options.system ? { instructions: options.system } : {}),
          ...(options.maxTokens ? { max_output_tokens: options.maxTokens } : {}),
          ...(options.tools ? { tools: responsesTools } : {}),
        };
        const response = stream
          ? await collectResponses(await openai.responses.create({ ...base, stream: true }))
          : await openai.responses.create(base);
        assert.equal(response.status, "completed");
        const calls: ResponseFunctionToolCall[] = [];
        for (const item of response.output) {
          if (item.type === "function_call") calls.push(item);
          if (item.type === "message" || item.type === "function_call") input.push(item);
        }
        return {
          text: outputText(response),
          calls: calls.map((c) => ({ id: c.call_id, name: c.name, args: JSON.parse(c.arguments) as unknown })),
          usage: convertResponsesUsage((response.usage ?? {}) as unknown as JsonObject),
        };
      };
      return {
        ask(model, prompt, asked) {
          options = asked;
          input.push({ role: "user", content: prompt });
          return send(model);
        },
        answer(model, calls: SeenCall[]) {
          for (const c of calls)
            input.push({ type: "function_call_output", call_id: c.id ?? "", output: toolOutput(c.name) });
          return send(model);
        },
      };
    },
  };
}

defineMatrix("OpenAI SDK", [
  chatDriver(false),
  chatDriver(true),
  chatDriver(true, false),
  responsesDriver(false),
  responsesDriver(true),
]);
