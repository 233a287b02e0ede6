import assert from "node:assert/strict";
import {
  BedrockRuntimeClient,
  type ContentBlock,
  ConverseCommand,
  type ConverseCommandInput,
  ConverseStreamCommand,
  type Message,
  type TokenUsage,
  type Tool,
  type ToolUseBlock,
} from "@aws-sdk/client-bedrock-runtime";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { convertConverseUsage } from "../../src/dialects/bedrock-converse/usage.ts";
import { MOCK_AWS_REGION } from "../fixtures/mock-upstream/bedrock/index.ts";
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

/** The Converse client dialect: the official AWS SDK on the gateway's /bedrock routes (Converse, ConverseStream). */

const tools: Tool[] = TOOLS.map((t) => ({
  toolSpec: { name: t.name, description: t.description, inputSchema: { json: t.parameters } },
}));

interface Reply {
  message: Message;
  stopReason: string | undefined;
  usage: TokenUsage | undefined;
}

/** A ConverseStream put back together as the AWS SDK's users do: blocks by index, toolUse input from fragments. */
async function collectStream(client: BedrockRuntimeClient, input: ConverseCommandInput): Promise<Reply> {
  const out = await client.send(new ConverseStreamCommand(input));
  const blocks = new Map<number, { text: string } | { toolUseId: string; name: string; input: string }>();
  let stopReason: string | undefined;
  let usage: TokenUsage | undefined;
  let started = false;
  for await (const event of out.stream ?? []) {
    if (event.messageStart) {
      assert.equal(event.messageStart.role, "assistant");
      started = true;
    }
    const start = event.contentBlockStart;
    if (start?.start?.toolUse) {
      const { toolUseId, name } = start.start.toolUse;
      blocks.set(start.contentBlockIndex ?? 0, { toolUseId: toolUseId ?? "", name: name ?? "", input: "" });
    }
    const delta = event.contentBlockDelta;
    if (delta) {
      const index = delta.contentBlockIndex ?? 0;
      const block = blocks.get(index);
      if (delta.delta?.text !== undefined) {
        const text = block && "text" in block ? block : { text: "" };
        text.text += delta.delta.text;
        blocks.set(index, text);
      }
      if (delta.delta?.toolUse) {
        assert.ok(block && "toolUseId" in block, "toolUse input after its contentBlockStart");
        block.input += delta.delta.toolUse.input ?? "";
      }
    }
    if (event.messageStop) stopReason = event.messageStop.stopReason;
    if (event.metadata) usage = event.metadata.usage;
  }
  assert.ok(started, "the stream opens with messageStart");
  const content: ContentBlock[] = [...blocks.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, block]): ContentBlock => {
      if ("text" in block) return { text: block.text };
      const input = block.input === "" ? {} : (JSON.parse(block.input) as ToolUseBlock["input"]);
      return { toolUse: { toolUseId: block.toolUseId, name: block.name, input } };
    });
  return { message: { role: "assistant", content }, stopReason, usage };
}

function driver(stream: boolean): ClientDriver {
  return {
    label: stream ? "aws-sdk ConverseStreamCommand" : "aws-sdk ConverseCommand",
    dialect: "bedrock-converse",
    stream,
    open(url, headers): Conversation {
      const client = new BedrockRuntimeClient({
        region: MOCK_AWS_REGION,
        endpoint: `${url}/bedrock`,
        // Any credentials do: the gateway does not check the client's SigV4 (without virtual keys).
        credentials: { accessKeyId: "AKIACLIENT", secretAccessKey: "client-secret" },
        maxAttempts: 1,
        // The SDK defaults to HTTP/2 for Bedrock streams; the gateway speaks HTTP/1.1.
        requestHandler: new NodeHttpHandler(),
      });
      client.middlewareStack.add(
        (next) => async (args) => {
          const request = args.request as { headers?: Record<string, string> };
          if (request.headers) Object.assign(request.headers, headers);
          return next(args);
        },
        { step: "build", name: "matrixCaseLabel" },
      );
      const messages: Message[] = [];
      let options: AskOptions = { tools: false };
      const send = async (model: string): Promise<Turn> => {
        const input: ConverseCommandInput = {
          modelId: model,
          messages,
          ...(options.system ? { system: [{ text: options.system }] } : {}),
          ...(options.maxTokens ? { inferenceConfig: { maxTokens: options.maxTokens } } : {}),
          ...(options.tools ? { toolConfig: { tools } } : {}),
        };
        let reply: Reply;
        if (stream) {
          reply = await collectStream(client, input);
        } else {
          const out = await client.send(new ConverseCommand(input));
          assert.ok(out.output?.message, "a Converse output message");
          reply = { message: out.output.message, stopReason: out.stopReason, usage: out.usage };
        }
        const content = reply.message.content ?? [];
        const calls = content.flatMap((b) =>
          b.toolUse ? [{ id: b.toolUse.toolUseId ?? null, name: b.toolUse.name ?? "", args: b.toolUse.input }] : [],
        );
        assert.equal(reply.stopReason, calls.length > 0 ? "tool_use" : "end_turn");
        assert.ok(reply.usage, "usage (metadata event / response field)");
        messages.push(reply.message);
        return {
          text: content.map((b) => b.text ?? "").join(""),
          calls,
          usage: must(convertConverseUsage(reply.usage)),
        };
      };
      return {
        ask(model, prompt, asked) {
          options = asked;
          messages.push({ role: "user", content: [{ text: prompt }] });
          return send(model);
        },
        answer(model, calls: SeenCall[]) {
          messages.push({
            role: "user",
            content: calls.map((c) => ({
              toolResult: { toolUseId: c.id ?? "", content: [{ text: toolOutput(c.name) }] },
            })),
          });
          return send(model);
        },
      };
    },
  };
}

defineMatrix("AWS SDK (Bedrock Converse)", [driver(false), driver(true)]);
