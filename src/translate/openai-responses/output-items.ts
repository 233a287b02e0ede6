import type { CanonicalToolCallPart, JsonObject } from "../canonical.ts";
import { encodeEncryptedContent, type ReasoningOpaque } from "./reasoning-opaque.ts";
import { type ClientTool, customInputFromArguments, localShellActionFromArguments } from "./tools.ts";

/** Builders for the Response objects and output items a Responses client receives (whole or streamed). */

export type ItemStatus = "in_progress" | "completed" | "incomplete";

export function clientResponseId(id: string): string {
  return id.startsWith("resp_") ? id : `resp_${id}`;
}

/** Item ids derived from the response id and the output index: unique within a response, stable across replays. */
export function outputItemId(prefix: "msg" | "rs" | "fc" | "ctc" | "lsc", responseId: string, index: number): string {
  return `${prefix}_${responseId.replace(/^resp_/, "")}_${index}`;
}

export function outputTextPart(text: string): JsonObject {
  return { type: "output_text", annotations: [], logprobs: [], text };
}

export function messageItem(id: string, texts: string[], status: ItemStatus): JsonObject {
  return { id, type: "message", status, content: texts.map(outputTextPart), role: "assistant" };
}

export function summaryPart(text: string): JsonObject {
  return { type: "summary_text", text };
}

export function reasoningItem(
  id: string,
  text: string,
  opaque: ReasoningOpaque | null,
  includeEncrypted: boolean,
): JsonObject {
  const item: JsonObject = { id, type: "reasoning", summary: text === "" ? [] : [summaryPart(text)] };
  if (includeEncrypted && opaque !== null) item.encrypted_content = encodeEncryptedContent(opaque);
  return item;
}

/** Arguments as a client can parse them: a call without arguments gets `{}`. */
export function callArguments(args: string): string {
  return args === "" ? "{}" : args;
}

/** The client's item for a canonical tool call, in the shape the client declared the tool with. */
export function toolCallItem(
  id: string,
  call: Pick<CanonicalToolCallPart, "id" | "arguments">,
  client: ClientTool,
  status: ItemStatus,
): JsonObject {
  switch (client.kind) {
    case "function": {
      const item: JsonObject = {
        id,
        type: "function_call",
        status,
        arguments: call.arguments,
        call_id: call.id,
        name: client.name,
      };
      if (client.namespace !== null) item.namespace = client.namespace;
      return item;
    }
    case "custom": {
      const item: JsonObject = {
        id,
        type: "custom_tool_call",
        status,
        call_id: call.id,
        name: client.name,
        input: customInputFromArguments(call.arguments),
      };
      if (client.namespace !== null) item.namespace = client.namespace;
      return item;
    }
    case "local-shell":
      return {
        id,
        type: "local_shell_call",
        status,
        call_id: call.id,
        action: localShellActionFromArguments(call.arguments),
      };
    default: {
      const unreachable: never = client;
      throw new Error(`unknown client tool ${JSON.stringify(unreachable)}`);
    }
  }
}

export interface ResponseFields {
  id: string;
  model: string;
  createdAt: number;
  status: "in_progress" | "completed" | "incomplete" | "failed";
  output: JsonObject[];
  usage: JsonObject | null;
  incompleteReason?: string | null;
  error?: { code: string; message: string } | null;
}

/** A whole Response object, with the request-echo fields the SDK types require set to neutral values. */
export function responseObject(fields: ResponseFields): JsonObject {
  return {
    id: fields.id,
    object: "response",
    created_at: fields.createdAt,
    status: fields.status,
    background: false,
    error: fields.error ?? null,
    incomplete_details: fields.incompleteReason ? { reason: fields.incompleteReason } : null,
    instructions: null,
    max_output_tokens: null,
    model: fields.model,
    output: fields.output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: false,
    temperature: null,
    text: { format: { type: "text" } },
    tool_choice: "auto",
    tools: [],
    top_p: null,
    truncation: "disabled",
    usage: fields.usage,
    metadata: {},
  };
}
