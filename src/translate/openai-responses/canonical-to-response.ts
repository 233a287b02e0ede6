import type { CanonicalResponse, JsonObject } from "../canonical.ts";
import { toResponsesUsage } from "./convert-usage.ts";
import { terminalForStop } from "./map-stop.ts";
import {
  callArguments,
  clientResponseId,
  messageItem,
  outputItemId,
  reasoningItem,
  responseObject,
  toolCallItem,
} from "./output-items.ts";
import type { ResponsesOutputOptions } from "./output-options.ts";
import { clientToolFor } from "./tools.ts";

/**
 * Canonical → the client's Response object. Adjacent text parts share one message item; each tool call becomes
 * the item the client declared the tool as (function_call, namespaced function_call, custom_tool_call or
 * local_shell_call). Max-tokens and content-filter stops are `incomplete`; an error stop is `failed`.
 */
export function canonicalToResponse(
  response: CanonicalResponse,
  model: string,
  options: ResponsesOutputOptions = {},
): JsonObject {
  const id = clientResponseId(response.id);
  const output: JsonObject[] = [];
  let texts: string[] = [];
  const flushTexts = (): void => {
    if (texts.length > 0) output.push(messageItem(outputItemId("msg", id, output.length), texts, "completed"));
    texts = [];
  };
  for (const part of response.content) {
    if (part.type === "text") {
      texts.push(part.text);
      continue;
    }
    flushTexts();
    switch (part.type) {
      case "reasoning": {
        const include = options.includeEncryptedReasoning ?? true;
        output.push(reasoningItem(outputItemId("rs", id, output.length), part.text, part.opaque, include));
        break;
      }
      case "tool-call": {
        const client = clientToolFor(part.name, options.tools);
        const prefix = client.kind === "function" ? "fc" : client.kind === "custom" ? "ctc" : "lsc";
        const call = { id: part.id, arguments: callArguments(part.arguments) };
        output.push(toolCallItem(outputItemId(prefix, id, output.length), call, client, "completed"));
        break;
      }
      case "image":
      case "tool-result":
        // Not model output in any dialect; nothing for the client to receive.
        break;
      default: {
        const unreachable: never = part;
        throw new Error(`unknown part ${JSON.stringify(unreachable)}`);
      }
    }
  }
  flushTexts();
  const terminal = terminalForStop(response.stop);
  return responseObject({
    id,
    model,
    createdAt: options.createdAt ?? 0,
    status: terminal.status,
    output,
    usage: toResponsesUsage(response.usage),
    incompleteReason: terminal.incompleteReason,
    error:
      terminal.status === "failed"
        ? { code: "server_error", message: `The model stopped with an error (${response.stop.raw ?? "unknown"})` }
        : null,
  });
}
