import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import { convertAnthropicUsage } from "../../src/dialects/anthropic/usage.ts";
import {
  type AskOptions,
  type ClientDriver,
  type Conversation,
  defineMatrix,
  must,
  type SeenCall,
  TOOLS,
  type Turn,
  toolOutput,
} from "./translation-matrix-cases.ts";

const tools: Anthropic.Tool[] = TOOLS.map((t) => ({
  name: t.name,
  description: t.description,
  input_schema: { ...t.parameters, type: "object" },
}));

function turnOf(message: Anthropic.Message, calls: boolean): Turn {
  assert.equal(message.stop_reason, calls ? "tool_use" : "end_turn");
  return {
    text: message.content.map((b) => (b.type === "text" ? b.text : "")).join(""),
    calls: message.content.flatMap((b) => (b.type === "tool_use" ? [{ id: b.id, name: b.name, args: b.input }] : [])),
    usage: must(convertAnthropicUsage(message.usage)),
  };
}

function driver(stream: boolean): ClientDriver {
  return {
    label: stream ? "anthropic messages.stream" : "anthropic messages.create",
    dialect: "anthropic",
    stream,
    open(url, headers): Conversation {
      const client = new Anthropic({
        apiKey: "client-key",
        baseURL: `${url}/anthropic`,
        maxRetries: 0,
        defaultHeaders: headers,
      });
      const messages: Anthropic.MessageParam[] = [];
      let options: AskOptions = { tools: false };
      const send = async (model: string): Promise<Anthropic.Message> => {
        const body = {
          model,
          max_tokens: options.maxTokens ?? 1024,
          messages,
          ...(options.system ? { system: options.system } : {}),
          ...(options.tools ? { tools } : {}),
        };
        const message = stream ? await client.messages.stream(body).finalMessage() : await client.messages.create(body);
        messages.push({ role: "assistant", content: message.content });
        return message;
      };
      return {
        async ask(model, prompt, asked) {
          options = asked;
          messages.push({ role: "user", content: prompt });
          const message = await send(model);
          return turnOf(
            message,
            message.content.some((b) => b.type === "tool_use"),
          );
        },
        async answer(model, calls: SeenCall[]) {
          messages.push({
            role: "user",
            content: calls.map((c) => ({ type: "tool_result", tool_use_id: c.id ?? "", content: toolOutput(c.name) })),
          });
          return turnOf(await send(model), false);
        },
      };
    },
  };
}

defineMatrix("Anthropic SDK", [driver(false), driver(true)]);
