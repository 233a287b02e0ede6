/**
 * Issue 4's translation matrix, shared by translation-matrix-<client>.test.ts: every client dialect (through its
 * official SDK, streamed and not) × every provider dialect (the validating mock upstream), for a text reply and a
 * full tool round trip with two parallel calls. Same-dialect cells are passthrough and serve as the baseline: every
 * cell's log rows must carry the buckets and cost of the provider's own usage report.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { convertAnthropicUsage } from "../../src/dialects/anthropic/usage.ts";
import { convertConverseUsage } from "../../src/dialects/bedrock-converse/usage.ts";
import { convertGeminiUsage } from "../../src/dialects/gemini/usage.ts";
import { convertOpenAiChatUsage } from "../../src/dialects/openai-chat/usage.ts";
import { convertResponsesUsage } from "../../src/dialects/openai-responses/usage.ts";
import { totalInputTokens, type Usage } from "../../src/metering/usage.ts";
import type { JsonObject } from "../../src/translate/canonical.ts";
import { MOCK_AWS_CREDENTIALS, MOCK_AWS_REGION } from "../fixtures/mock-upstream/bedrock/index.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream, RecordedRequest } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { testServiceAccount } from "../helpers/google-credentials.ts";

/**
 * The dialects both as clients and as providers (issue 4's matrix). AWS Bedrock Converse is a client dialect too
 * (the AWS SDK on the gateway's /bedrock routes) and the dialect of the Bedrock column (a non-Claude model).
 */
export type MatrixDialect = "anthropic" | "openai-chat" | "openai-responses" | "gemini" | "bedrock-converse";

// ---------- the conversation ----------

export const TEXT_PROMPT = "Say hello to the matrix.";
/** The text case also carries a system prompt and an output cap, each to land in the provider's own field. */
export const SYSTEM = "Answer in one short sentence.";
export const MAX_TOKENS = 256;
export const TEXT_REPLY = "Hello from every dialect.";
export const TOOL_PROMPT = "What is the weather and the local time in Oslo?";
/** The model says this before its two calls (as Claude does), so text and calls share the assistant turn. */
export const PREAMBLE = "Let me check both.";
export const FINAL_REPLY = "Oslo is sunny at 21 degrees and it is 14:05.";

export interface ToolSpec {
  name: string;
  description: string;
  parameters: JsonObject;
  /** What the model calls it with (first turn) and what the client answers. */
  args: JsonObject;
  output: string;
}

export const TOOLS: readonly ToolSpec[] = [
  {
    name: "get_weather",
    description: "Current weather in a city.",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    args: { city: "Oslo" },
    output: "Sunny, 21 degrees",
  },
  {
    name: "get_time",
    description: "Local time in a time zone.",
    parameters: { type: "object", properties: { zone: { type: "string" } }, required: ["zone"] },
    args: { zone: "Europe/Oslo" },
    output: "14:05",
  },
];

export function toolOutput(name: string): string {
  const tool = TOOLS.find((t) => t.name === name);
  assert.ok(tool, `unknown tool ${name}`);
  return tool.output;
}

/** A tool call as the client SDK saw it; `id` is null only where the dialect has none (Gemini passthrough). */
export interface SeenCall {
  id: string | null;
  name: string;
  args: unknown;
}

export interface Turn {
  text: string;
  calls: SeenCall[];
  /** The usage the client was told, read by its own dialect's usage code; null when it did not ask for it. */
  usage: Usage | null;
}

export interface AskOptions {
  /** Offer the two TOOLS (on this and every later request of the conversation). */
  tools: boolean;
  system?: string;
  maxTokens?: number;
}

/** One client conversation: first request, then (tool case) the tool results in the client's own dialect. */
export interface Conversation {
  ask(model: string, prompt: string, options: AskOptions): Promise<Turn>;
  answer(model: string, calls: SeenCall[]): Promise<Turn>;
}

/** One way a client SDK talks (e.g. Anthropic `messages.stream`). */
export interface ClientDriver {
  label: string;
  dialect: MatrixDialect;
  stream: boolean;
  /** A fresh conversation whose requests carry `headers` (the case label). */
  open(gatewayUrl: string, headers: Record<string, string>): Conversation;
}

// ---------- providers ----------

/** What the mock reports in one upstream dialect, and that dialect's own usage code. */
interface UsageCase {
  /** The provider-native usage of the n-th reply of a case (every count set, cache reads too). */
  usage(n: number): Record<string, unknown>;
  buckets(usage: Record<string, unknown>): Usage;
}

export function must(usage: Usage | null): Usage {
  assert.ok(usage);
  return usage;
}

export const USAGE: Readonly<Record<MatrixDialect, UsageCase>> = {
  anthropic: {
    usage: (n) => ({
      input_tokens: 1200 + n,
      cache_read_input_tokens: 3000 + n,
      cache_creation_input_tokens: 150,
      cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 50 },
      output_tokens: 40 + n,
    }),
    buckets: (usage) => must(convertAnthropicUsage(usage)),
  },
  "openai-chat": {
    usage: (n) => ({
      prompt_tokens: 4200 + n,
      prompt_tokens_details: { cached_tokens: 3000 + n },
      completion_tokens: 40 + n,
      completion_tokens_details: { reasoning_tokens: 8 },
    }),
    buckets: (usage) => convertOpenAiChatUsage(usage as JsonObject),
  },
  "openai-responses": {
    usage: (n) => ({
      input_tokens: 4200 + n,
      input_tokens_details: { cached_tokens: 3000 + n },
      output_tokens: 40 + n,
      output_tokens_details: { reasoning_tokens: 8 },
    }),
    buckets: (usage) => convertResponsesUsage(usage as JsonObject),
  },
  gemini: {
    usage: (n) => ({
      promptTokenCount: 4200 + n,
      cachedContentTokenCount: 3000 + n,
      candidatesTokenCount: 32 + n,
      thoughtsTokenCount: 8,
    }),
    buckets: (usage) => must(convertGeminiUsage(usage)),
  },
  // `inputTokens` excludes cache reads and writes; `totalTokens` is left to the mock (the sum of all four).
  "bedrock-converse": {
    usage: (n) => ({
      inputTokens: 1200 + n,
      cacheReadInputTokens: 3000 + n,
      cacheWriteInputTokens: 150,
      outputTokens: 40 + n,
    }),
    buckets: (usage) => must(convertConverseUsage(usage)),
  },
};

export interface ProviderCase {
  /** Registry name. */
  provider: string;
  model: string;
  pricingId: string;
  /** The chat dialects it speaks (for this model: Vertex serves Claude in Messages and Gemini in its own). */
  dialects: readonly MatrixDialect[];
  /** Where the mock must have been called, when the model (or deployment) is in the path (Bedrock, Vertex, Azure). */
  path?: (stream: boolean) => string;
  /** The upstream body's `model` (default `model`; null: the body carries none). Gemini bodies never have one. */
  bodyModel?: string | null;
  /** The model the log row names and is priced as (default `model`). */
  servedModel?: string;
}

/** A Bedrock model that is not Claude: every client is translated to Converse / ConverseStream. */
export const BEDROCK_NOVA = "us.amazon.nova-pro-v1:0";

/**
 * Vertex AI (a service account the mock's token endpoint knows) and Azure OpenAI (a deployment of gpt-4o: a model
 * no other column asks for by its bare name, which the deployment would claim).
 */
export const VERTEX_PROJECT = "tollgate-matrix";
const VERTEX_PUBLISHERS = `/v1/projects/${VERTEX_PROJECT}/locations/us-east5/publishers`;
const VERTEX_CLAUDE = "claude-sonnet-4-5@20250929";
const AZURE_DEPLOYMENT = "matrix-gpt4o";
const AZURE_SERVED = "gpt-4o-2024-11-20";

/** Custom providers from the test config: one speaking only Chat Completions, one only Responses. */
export const CHAT_ONLY = "chat-only";
export const RESPONSES_ONLY = "responses-only";

/**
 * The matrix's provider columns. The OpenAI preset speaks Chat and Responses (the pipeline translates other
 * dialects to Chat); the Chat-only and Responses-only providers make every client reach those two as a target.
 * The cloud columns: Bedrock with a non-Claude model (Converse / ConverseStream, SigV4-signed), Vertex AI's Claude
 * (rawPredict) and Gemini (publisher model) with a minted Google token, and an Azure OpenAI deployment (api-key).
 */
export const PROVIDERS: readonly ProviderCase[] = [
  { provider: "anthropic", model: "claude-sonnet-4-6", pricingId: "anthropic", dialects: ["anthropic"] },
  { provider: "openai", model: "gpt-4.1", pricingId: "openai", dialects: ["openai-chat", "openai-responses"] },
  { provider: CHAT_ONLY, model: "gpt-4.1-nano", pricingId: "openai", dialects: ["openai-chat"] },
  { provider: RESPONSES_ONLY, model: "gpt-4.1-mini", pricingId: "openai", dialects: ["openai-responses"] },
  { provider: "gemini", model: "gemini-2.5-flash", pricingId: "google", dialects: ["gemini"] },
  {
    provider: "bedrock",
    model: BEDROCK_NOVA,
    pricingId: "aws",
    dialects: ["bedrock-converse"],
    path: (stream) => `/model/${encodeURIComponent(BEDROCK_NOVA)}/${stream ? "converse-stream" : "converse"}`,
    bodyModel: null,
  },
  {
    provider: "vertex",
    model: `vertex/${VERTEX_CLAUDE}`,
    pricingId: "google",
    dialects: ["anthropic"],
    path: (stream) =>
      `${VERTEX_PUBLISHERS}/anthropic/models/${VERTEX_CLAUDE}:${stream ? "streamRawPredict" : "rawPredict"}`,
    bodyModel: null,
    servedModel: VERTEX_CLAUDE,
  },
  {
    provider: "vertex",
    model: "vertex/gemini-2.5-flash",
    pricingId: "google",
    dialects: ["gemini"],
    path: (stream) =>
      `${VERTEX_PUBLISHERS}/google/models/gemini-2.5-flash:${stream ? "streamGenerateContent" : "generateContent"}`,
    servedModel: "gemini-2.5-flash",
  },
  {
    // The default (GA) api-version has no Responses API: Responses clients are translated to Chat Completions.
    provider: "azure",
    model: "azure/gpt-4o",
    pricingId: "azure",
    dialects: ["openai-chat"],
    path: () => `/openai/deployments/${AZURE_DEPLOYMENT}/chat/completions`,
    bodyModel: "gpt-4o",
    servedModel: AZURE_SERVED,
  },
];

/** The dialect the provider is called in: the client's own when it speaks it (passthrough), else Chat first. */
export function upstreamDialect(client: MatrixDialect, provider: ProviderCase): MatrixDialect {
  if (provider.dialects.includes(client)) return client;
  const target = (["openai-chat", "anthropic", "gemini", "openai-responses", "bedrock-converse"] as const).find((d) =>
    provider.dialects.includes(d),
  );
  assert.ok(target);
  return target;
}

// ---------- gateway ----------

export interface MatrixEnv {
  mock: MockUpstream;
  gw: TestGateway;
}

/**
 * The mock (validating, with a Vertex service account and an Azure deployment), and a gateway with the presets
 * (Bedrock with SigV4 access keys the mock verifies) plus, from a config file, a Chat-only and a Responses-only
 * provider, Vertex AI and Azure OpenAI.
 */
export async function startMatrix(): Promise<MatrixEnv & { close(): Promise<void> }> {
  const account = testServiceAccount("matrix-vertex");
  const mock = await startMockUpstream({
    google: { serviceAccounts: [{ clientEmail: account.clientEmail, publicKey: account.publicKeyPem }] },
    cloud: { vertexProject: VERTEX_PROJECT, azureDeployments: { [AZURE_DEPLOYMENT]: AZURE_SERVED } },
  });
  const dir = await mkdtemp(join(tmpdir(), "tollgate-matrix-"));
  const configPath = join(dir, "tollgate.json");
  const keyFile = await account.writeKeyFile(dir, `${mock.url}/token`, VERTEX_PROJECT);
  await writeFile(
    configPath,
    JSON.stringify({
      providers: {
        [CHAT_ONLY]: {
          kind: "openai",
          baseUrl: `${mock.url}/v1`,
          apiKeys: ["test-chat-key"],
          models: ["gpt-4.1-nano"],
          dialects: ["openai-chat"],
          pricingId: "openai",
        },
        [RESPONSES_ONLY]: {
          kind: "openai",
          baseUrl: `${mock.url}/v1`,
          apiKeys: ["test-responses-key"],
          models: ["gpt-4.1-mini"],
          dialects: ["openai-responses"],
          pricingId: "openai",
        },
        vertex: { region: "us-east5", credentialsFile: keyFile, baseUrl: `${mock.url}/v1` },
        azure: { baseUrl: `${mock.url}/openai`, apiKeys: ["azure-key"], deployments: { "gpt-4o": AZURE_DEPLOYMENT } },
      },
    }),
  );
  const gw = await startTestGateway({
    upstreamUrl: mock.url,
    env: {
      TOLLGATE_CONFIG: configPath,
      AWS_ACCESS_KEY_ID: MOCK_AWS_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOCK_AWS_CREDENTIALS.secretAccessKey,
      AWS_REGION: MOCK_AWS_REGION,
      TOLLGATE_BEDROCK_BASE_URL: mock.url,
    },
  });
  return {
    mock,
    gw,
    async close() {
      await gw.close();
      await mock.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---------- upstream checks: each provider's rules for a tool round trip ----------

type Json = Record<string, unknown>;

function isJson(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function list(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isJson) : [];
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** Text of a tool result's content: a string, or its text parts joined. */
function resultText(content: unknown): string {
  if (typeof content === "string") return content;
  return list(content)
    .map((part) => str(part.text) ?? "")
    .join("");
}

/** The tool calls of the assistant turn and the results answering them, as the upstream body carries them. */
interface UpstreamExchange {
  /** The assistant's text in the turn that made the calls. */
  text: string;
  calls: { id: string | null; name: string; args: unknown }[];
  results: { id: string | null; name: string | null; text: string }[];
}

/**
 * Reads the (single) tool exchange of a provider-dialect body, asserting the provider's pairing rules on the way:
 * Anthropic: the user message right after the tool_use message answers every tool_use id, tool_result blocks first;
 * Chat: the assistant's tool_calls are followed at once by one `tool` message per id; Responses: every
 * function_call has a function_call_output with its call_id, after it; Gemini: the functionCall turn is followed at
 * once by a user turn with as many functionResponse parts, names (and ids, when sent) matching; Converse: the
 * message right after the toolUse message is the user's, with one toolResult per toolUseId, toolResults first.
 */
export function upstreamExchange(dialect: MatrixDialect, body: unknown): UpstreamExchange {
  assert.ok(isJson(body), "upstream body is an object");
  switch (dialect) {
    case "anthropic": {
      const messages = list(body.messages);
      const at = messages.findIndex((m) => list(m.content).some((b) => b.type === "tool_use"));
      assert.ok(at >= 0, "an assistant message with tool_use blocks");
      assert.equal(messages[at]?.role, "assistant");
      const calls = list(messages[at]?.content)
        .filter((b) => b.type === "tool_use")
        .map((b) => ({ id: str(b.id) ?? null, name: str(b.name) ?? "", args: b.input }));
      const next = messages[at + 1];
      assert.equal(next?.role, "user", "tool results immediately after the tool_use message");
      const blocks = list(next?.content);
      const firstOther = blocks.findIndex((b) => b.type !== "tool_result");
      const lastResult = blocks.findLastIndex((b) => b.type === "tool_result");
      assert.ok(firstOther === -1 || firstOther > lastResult, "tool_result blocks come first");
      const results = blocks
        .filter((b) => b.type === "tool_result")
        .map((b) => ({ id: str(b.tool_use_id) ?? null, name: null, text: resultText(b.content) }));
      const text = resultText(list(messages[at]?.content).filter((b) => b.type === "text"));
      return { text, calls, results };
    }
    case "openai-chat": {
      const messages = list(body.messages);
      const at = messages.findIndex((m) => m.role === "assistant" && list(m.tool_calls).length > 0);
      assert.ok(at >= 0, "an assistant message with tool_calls");
      const calls = list(messages[at]?.tool_calls).map((c) => {
        assert.equal(c.type, "function");
        const fn = isJson(c.function) ? c.function : {};
        const args = str(fn.arguments);
        assert.ok(args !== undefined, "function.arguments is a JSON string");
        return { id: str(c.id) ?? null, name: str(fn.name) ?? "", args: JSON.parse(args) as unknown };
      });
      const tools = messages.slice(at + 1, at + 1 + calls.length);
      for (const m of tools) assert.equal(m.role, "tool", "one tool message per call, right after the assistant");
      const results = tools.map((m) => ({ id: str(m.tool_call_id) ?? null, name: null, text: resultText(m.content) }));
      return { text: resultText(messages[at]?.content), calls, results };
    }
    case "openai-responses": {
      const input = list(body.input);
      const callAt = new Map<string, number>();
      const calls = input.flatMap((item, i) => {
        if (item.type !== "function_call") return [];
        const id = str(item.call_id) ?? null;
        if (id) callAt.set(id, i);
        const args = str(item.arguments);
        assert.ok(args !== undefined, "function_call.arguments is a JSON string");
        return [{ id, name: str(item.name) ?? "", args: JSON.parse(args) as unknown }];
      });
      const results = input.flatMap((item, i) => {
        if (item.type !== "function_call_output") return [];
        const id = str(item.call_id) ?? null;
        assert.ok(id !== null && (callAt.get(id) ?? Infinity) < i, `output ${id} follows its function_call`);
        return [{ id, name: null, text: resultText(item.output) }];
      });
      // The assistant's message items between the user's question and the calls.
      const firstCall = input.findIndex((item) => item.type === "function_call");
      const lastUser = input.slice(0, firstCall).findLastIndex((item) => item.role === "user");
      const text = input
        .slice(lastUser + 1, firstCall)
        .filter((item) => item.role === "assistant")
        .map((item) => resultText(item.content))
        .join("");
      return { text, calls, results };
    }
    case "gemini": {
      const contents = list(body.contents);
      const at = contents.findIndex((c) => list(c.parts).some((p) => isJson(p.functionCall)));
      assert.ok(at >= 0, "a model turn with functionCall parts");
      assert.equal(contents[at]?.role, "model");
      const calls = list(contents[at]?.parts).flatMap((p) =>
        isJson(p.functionCall)
          ? [{ id: str(p.functionCall.id) ?? null, name: str(p.functionCall.name) ?? "", args: p.functionCall.args }]
          : [],
      );
      const next = contents[at + 1];
      assert.equal(next?.role, "user", "function responses immediately after the function call turn");
      const results = list(next?.parts).flatMap((p) => {
        if (!isJson(p.functionResponse)) return [];
        const response = isJson(p.functionResponse.response) ? p.functionResponse.response : {};
        const output = response.output ?? response.content ?? response.result;
        return [
          {
            id: str(p.functionResponse.id) ?? null,
            name: str(p.functionResponse.name) ?? null,
            text: typeof output === "string" ? output : JSON.stringify(output),
          },
        ];
      });
      assert.equal(results.length, calls.length, "as many functionResponse parts as functionCall parts");
      const text = list(contents[at]?.parts)
        .filter((p) => p.thought !== true)
        .map((p) => str(p.text) ?? "")
        .join("");
      return { text, calls, results };
    }
    case "bedrock-converse": {
      const messages = list(body.messages);
      const toolUse = (b: Json) => (isJson(b.toolUse) ? b.toolUse : null);
      const toolResult = (b: Json) => (isJson(b.toolResult) ? b.toolResult : null);
      const at = messages.findIndex((m) => list(m.content).some((b) => toolUse(b) !== null));
      assert.ok(at >= 0, "an assistant message with toolUse blocks");
      assert.equal(messages[at]?.role, "assistant");
      for (const b of list(messages[at]?.content)) {
        assert.equal(Object.keys(b).length, 1, `a content block has exactly one member: ${JSON.stringify(b)}`);
      }
      const calls = list(messages[at]?.content).flatMap((b) => {
        const use = toolUse(b);
        return use ? [{ id: str(use.toolUseId) ?? null, name: str(use.name) ?? "", args: use.input }] : [];
      });
      const next = messages[at + 1];
      assert.equal(next?.role, "user", "toolResult blocks immediately after the toolUse message");
      const blocks = list(next?.content);
      const firstOther = blocks.findIndex((b) => toolResult(b) === null);
      const lastResult = blocks.findLastIndex((b) => toolResult(b) !== null);
      assert.ok(firstOther === -1 || firstOther > lastResult, "toolResult blocks come first");
      const results = blocks.flatMap((b) => {
        const result = toolResult(b);
        if (!result) return [];
        assert.ok(result.status === undefined || result.status === "success", "a successful tool result");
        const text = list(result.content)
          .map((part) => str(part.text) ?? (part.json !== undefined ? JSON.stringify(part.json) : ""))
          .join("");
        return [{ id: str(result.toolUseId) ?? null, name: null, text }];
      });
      const text = list(messages[at]?.content)
        .map((b) => str(b.text) ?? "")
        .join("");
      return { text, calls, results };
    }
    default: {
      const unreachable: never = dialect;
      throw new Error(`unknown dialect ${String(unreachable)}`);
    }
  }
}

/** The system prompt and output cap as the upstream body carries them, each in its dialect's own field. */
export function upstreamSettings(
  dialect: MatrixDialect,
  body: unknown,
): { system: string | null; maxTokens: number | null } {
  assert.ok(isJson(body));
  const num = (value: unknown) => (typeof value === "number" ? value : null);
  switch (dialect) {
    case "anthropic":
      return { system: resultText(body.system) || null, maxTokens: num(body.max_tokens) };
    case "openai-chat": {
      const system = list(body.messages).filter((m) => m.role === "system" || m.role === "developer");
      return {
        system: system.map((m) => resultText(m.content)).join("") || null,
        maxTokens: num(body.max_completion_tokens ?? body.max_tokens),
      };
    }
    case "openai-responses": {
      const system = list(body.input).filter((m) => m.role === "system" || m.role === "developer");
      return {
        system: (str(body.instructions) ?? "") + system.map((m) => resultText(m.content)).join("") || null,
        maxTokens: num(body.max_output_tokens),
      };
    }
    case "gemini": {
      const instruction = isJson(body.systemInstruction) ? body.systemInstruction : {};
      const config = isJson(body.generationConfig) ? body.generationConfig : {};
      return { system: resultText(instruction.parts) || null, maxTokens: num(config.maxOutputTokens) };
    }
    case "bedrock-converse": {
      // `system` is a top-level list of SystemContentBlocks; the cap is `inferenceConfig.maxTokens`.
      const config = isJson(body.inferenceConfig) ? body.inferenceConfig : {};
      assert.ok(
        list(body.messages).every((m) => m.role === "user" || m.role === "assistant"),
        "no system role in Converse messages",
      );
      return { system: resultText(body.system) || null, maxTokens: num(config.maxTokens) };
    }
    default: {
      const unreachable: never = dialect;
      throw new Error(`unknown dialect ${String(unreachable)}`);
    }
  }
}

/** The tools the upstream body declares, by name. */
export function upstreamToolNames(dialect: MatrixDialect, body: unknown): string[] {
  assert.ok(isJson(body));
  switch (dialect) {
    case "anthropic":
    case "openai-responses":
      return list(body.tools).map((t) => str(t.name) ?? "");
    case "openai-chat":
      return list(body.tools).map((t) => (isJson(t.function) ? (str(t.function.name) ?? "") : ""));
    case "gemini":
      return list(body.tools).flatMap((t) => list(t.functionDeclarations).map((f) => str(f.name) ?? ""));
    case "bedrock-converse": {
      const config = isJson(body.toolConfig) ? body.toolConfig : {};
      return list(config.tools).map((t) => (isJson(t.toolSpec) ? (str(t.toolSpec.name) ?? "") : ""));
    }
    default: {
      const unreachable: never = dialect;
      throw new Error(`unknown dialect ${String(unreachable)}`);
    }
  }
}

/** A (client driver, provider) cell and the dialect the provider is called in. */
interface Cell {
  driver: ClientDriver;
  provider: ProviderCase;
  upstream: MatrixDialect;
  passthrough: boolean;
}

/** The model calls the mock received (Vertex's token grants left out). */
function modelCalls(env: MatrixEnv): RecordedRequest[] {
  return env.mock.requests.filter((r) => r.route !== "google-token");
}

/** Every upstream request was answered by a script: none was rejected by auth or the validators. */
function assertAccepted(requests: readonly RecordedRequest[], cell: Cell, count: number): void {
  assert.equal(requests.length, count, "one upstream request per client request");
  for (const r of requests) {
    assert.ok(r.script, `upstream request ${r.path} was accepted (not rejected by the mock's validators)`);
    assert.equal(r.dialect, cell.upstream, `upstream request in the provider's dialect (${r.path})`);
    const json = r.json as { model?: unknown } | undefined;
    const { provider } = cell;
    // Bedrock, Vertex and Azure deployments name the model in the path (Bedrock's percent-encoded, as the AWS SDKs
    // send it); the mock verified their auth (SigV4, a minted Google token, api-key).
    if (provider.path) assert.equal(r.path, provider.path(cell.driver.stream), "the provider's endpoint");
    else if (cell.upstream === "gemini") assert.match(r.path, new RegExp(`/models/${provider.model}:`));
    if (cell.upstream !== "gemini") {
      const model = provider.bodyModel === undefined ? provider.model : (provider.bodyModel ?? undefined);
      assert.equal(json?.model, model, "the body's model");
    }
  }
}

/** The second-turn upstream body pairs each result with its call: right id, right output. */
function assertToolResults(upstream: MatrixDialect, body: unknown): void {
  const { text, calls, results } = upstreamExchange(upstream, body);
  assert.equal(text, PREAMBLE, "the assistant's text stays in the turn with its calls");
  assert.deepEqual(
    calls.map((c) => ({ name: c.name, args: c.args })),
    TOOLS.map((t) => ({ name: t.name, args: t.args })),
    "the assistant turn carries both calls with their arguments",
  );
  assert.equal(results.length, calls.length, "one result per call");
  const ids = calls.map((c) => c.id);
  if (upstream !== "gemini") {
    assert.ok(
      ids.every((id) => id !== null && id !== ""),
      "every call keeps an id",
    );
    assert.equal(new Set(ids).size, ids.length, "call ids are distinct");
    // The ids the provider issued in the first turn, carried to the client and back unchanged.
    for (const id of ids) assert.match(id ?? "", /^(toolu_|call_|tooluse_)mock/, "the provider's own call id");
  }
  for (const result of results) {
    const call =
      result.id !== null
        ? calls.find((c) => c.id === result.id)
        : calls.find((c) => c.name === result.name && results.filter((r) => r.name === c.name).length === 1);
    assert.ok(call, `result ${result.id ?? result.name} answers a call of the previous turn`);
    if (result.name !== null) assert.equal(result.name, call.name, "functionResponse name matches its call");
    assert.equal(result.text, toolOutput(call.name), `the result of ${call.name} is attached to ${call.name}`);
  }
}

/**
 * The client is told the provider's numbers: the same input total (however its dialect splits it), cache reads and
 * output. (Cache writes and reasoning are not expressible in every dialect, so they are compared on the log row.)
 */
function assertClientUsage(turn: Turn, upstream: MatrixDialect, usage: Record<string, unknown>): void {
  const expected = USAGE[upstream].buckets(usage);
  const seen = turn.usage;
  if (seen === null) return;
  assert.deepEqual(
    { input: totalInputTokens(seen), cacheRead: seen.cacheRead, output: seen.output },
    { input: totalInputTokens(expected), cacheRead: expected.cacheRead, output: expected.output },
    "the usage the client sees",
  );
}

// ---------- log rows (acceptance 4) ----------

const MAX_TOKENS_DEFAULTED = /^max_tokens is required by Anthropic/;

/**
 * Each row: the buckets of the upstream dialect's own usage conversion of what the mock reported, priced as any
 * request with that usage (the passthrough cells meet the same expectation, so translated = passthrough).
 */
async function assertRows(
  env: MatrixEnv,
  label: string,
  cell: Cell,
  usages: Record<string, unknown>[],
  maxTokensGiven: boolean,
) {
  const deadline = Date.now() + 5000;
  let rows = (await env.gw.logs()).filter((r) => r.labels.case === label);
  while (rows.length < usages.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    rows = (await env.gw.logs()).filter((r) => r.labels.case === label);
  }
  assert.equal(rows.length, usages.length, "one log row per client request");
  const { driver, provider } = cell;
  rows.forEach((row, i) => {
    const usage = usages[i];
    assert.ok(usage);
    const expected = USAGE[cell.upstream].buckets(usage);
    const priced = provider.servedModel ?? provider.model;
    const quote = env.gw.gateway.prices.cost(provider.pricingId, priced, expected);
    assert.ok(quote.costNanoUsd !== null, `${priced} has a price`);
    assert.deepEqual(
      {
        status: row.status,
        errorCode: row.errorCode,
        provider: row.provider,
        dialect: row.dialect,
        upstreamDialect: row.upstreamDialect,
        stream: row.stream,
        servedModel: row.servedModel,
        estimated: row.usageEstimated,
        warnings: row.warnings.filter((w) => !MAX_TOKENS_DEFAULTED.test(w)),
        buckets: {
          input: row.inputTokens,
          cacheRead: row.cacheReadTokens,
          cacheWrite5m: row.cacheWrite5mTokens,
          cacheWrite1h: row.cacheWrite1hTokens,
          output: row.outputTokens,
          reasoning: row.reasoningTokens,
        },
        cost: row.costNanoUsd,
      },
      {
        status: 200,
        errorCode: null,
        provider: provider.provider,
        dialect: driver.dialect,
        upstreamDialect: cell.passthrough ? null : cell.upstream,
        stream: driver.stream,
        servedModel: provider.servedModel ?? provider.model,
        estimated: false,
        // Plain text and function tools translate without loss.
        warnings: [],
        buckets: expected,
        cost: quote.costNanoUsd,
      },
      `log row ${i + 1} of ${label}`,
    );
    // Anthropic requires max_tokens, the other dialects do not: without the client's cap a default is sent.
    const defaulted = !cell.passthrough && cell.upstream === "anthropic" && !maxTokensGiven;
    assert.equal(
      row.warnings.some((w) => MAX_TOKENS_DEFAULTED.test(w)),
      defaulted,
      "the max_tokens default warning",
    );
  });
}

// ---------- the matrix ----------

let caseCounter = 0;

/** describe/it for every (driver, provider): text, and a tool round trip with two parallel calls. */
export function defineMatrix(client: string, drivers: readonly ClientDriver[]): void {
  describe(`translation matrix: ${client} client`, () => {
    let env: MatrixEnv & { close(): Promise<void> };
    before(async () => {
      env = await startMatrix();
    });
    after(() => env.close());

    for (const driver of drivers) {
      for (const provider of PROVIDERS) {
        const upstream = upstreamDialect(driver.dialect, provider);
        const cell: Cell = { driver, provider, upstream, passthrough: upstream === driver.dialect };
        const mode = cell.passthrough ? "passthrough" : "translated";
        describe(`${driver.label} → ${provider.provider} ${provider.model} (${upstream}, ${mode})`, () => {
          const usage = USAGE[upstream];
          it("text", async () => {
            const label = `c${++caseCounter}`;
            env.mock.reset();
            const usages = [usage.usage(1)];
            env.mock.enqueue({ scenario: "text", text: TEXT_REPLY, usage: usages[0] });
            const conversation = driver.open(env.gw.url, { "x-tollgate-label-case": label });
            const turn = await conversation.ask(provider.model, TEXT_PROMPT, {
              tools: false,
              system: SYSTEM,
              maxTokens: MAX_TOKENS,
            });
            assert.equal(turn.text, TEXT_REPLY);
            assert.deepEqual(turn.calls, []);
            assertClientUsage(turn, upstream, usages[0] ?? {});
            assertAccepted(modelCalls(env), cell, 1);
            assert.deepEqual(upstreamSettings(upstream, modelCalls(env)[0]?.json), {
              system: SYSTEM,
              maxTokens: MAX_TOKENS,
            });
            await assertRows(env, label, cell, usages, true);
          });

          it("tool round trip with two parallel calls", async () => {
            const label = `c${++caseCounter}`;
            env.mock.reset();
            const usages = [usage.usage(2), usage.usage(3)];
            env.mock.enqueue(
              {
                scenario: "tool-call",
                text: PREAMBLE,
                toolCalls: TOOLS.map((t) => ({ name: t.name, args: t.args })),
                usage: usages[0],
              },
              { scenario: "text", text: FINAL_REPLY, usage: usages[1] },
            );
            const conversation = driver.open(env.gw.url, { "x-tollgate-label-case": label });
            const first = await conversation.ask(provider.model, TOOL_PROMPT, { tools: true });
            assert.equal(first.text, PREAMBLE);
            assert.deepEqual(
              first.calls.map((c) => ({ name: c.name, args: c.args })),
              TOOLS.map((t) => ({ name: t.name, args: t.args })),
              "the SDK sees both calls, arguments parsed",
            );
            const ids = first.calls.map((c) => c.id);
            if (!(driver.dialect === "gemini" && upstream === "gemini")) {
              assert.ok(
                ids.every((id) => typeof id === "string" && id !== ""),
                `every call has an id: ${ids.join(", ")}`,
              );
              assert.equal(new Set(ids).size, 2, "distinct call ids");
            }
            const second = await conversation.answer(provider.model, first.calls);
            assert.equal(second.text, FINAL_REPLY);
            assert.deepEqual(second.calls, []);
            assertClientUsage(first, upstream, usages[0] ?? {});
            assertClientUsage(second, upstream, usages[1] ?? {});

            assertAccepted(modelCalls(env), cell, 2);
            const [turn1, turn2] = modelCalls(env);
            assert.deepEqual(
              upstreamToolNames(upstream, turn1?.json),
              TOOLS.map((t) => t.name),
              "both tools declared upstream",
            );
            assertToolResults(upstream, turn2?.json);
            await assertRows(env, label, cell, usages, driver.dialect === "anthropic");
          });
        });
      }
    }
  });
}
