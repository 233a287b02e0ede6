import { renderOpenAiChatStreamError } from "../../dialects/openai-chat/errors.ts";
import { sseEvent } from "../../dialects/shared/error-shape.ts";
import { ERROR_CATALOG, type ErrorCode } from "../../errors/catalog.ts";
import type { CanonicalStreamEvent, JsonObject, StreamMapper } from "../canonical.ts";
import {
  type OpenAiChatOutputOptions,
  toOpenAiChatFinishReason,
  toOpenAiChatUsage,
  unixSeconds,
} from "./canonical-to-response.ts";
import { STREAM_INCOMPLETE } from "./stream-to-canonical.ts";

export interface OpenAiChatStreamOptions extends OpenAiChatOutputOptions {
  /**
   * Send the usage-only chunk (`choices: []`) before `[DONE]`, as OpenAI does when the client set
   * `stream_options.include_usage`. Default true; pass the client's setting to leave it out.
   */
  includeUsage?: boolean;
}

export interface CanonicalToChatState {
  id: string;
  started: boolean;
  ended: boolean;
  /** Chat tool-call index per canonical block. */
  toolIndex: Readonly<Record<number, number>>;
  toolCalls: number;
}

type Step = { state: CanonicalToChatState; out: string[] };

const DONE = "data: [DONE]\n\n";

/**
 * Canonical events → Chat Completions SSE text for the client: a role chunk first, then `content`,
 * `reasoning_content` (the DeepSeek/xAI field; clients that do not know it ignore it) and `tool_calls` deltas (the
 * first delta of a call carries index, id, type, name and empty arguments; the rest argument fragments), a finish
 * chunk with `finish_reason`, the usage chunk (`choices: []`, see `includeUsage`) and `data: [DONE]`. An error
 * becomes a data-only `{"error":{…}}` chunk (no `[DONE]` after it), as compatible servers send; a stream that
 * ends without finish or error gets one too.
 */
export function createCanonicalToOpenAiChatStream(
  model: string,
  options: OpenAiChatStreamOptions = {},
): StreamMapper<CanonicalToChatState, CanonicalStreamEvent, string> {
  const created = unixSeconds(options);
  const includeUsage = options.includeUsage ?? true;

  const chunk = (state: CanonicalToChatState, delta: JsonObject, finishReason: string | null = null): string =>
    sseEvent(null, {
      id: state.id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    });

  /** The role chunk, once, before anything else. */
  const begin = (state: CanonicalToChatState, out: string[], id = ""): CanonicalToChatState => {
    if (state.started) return state;
    const next = { ...state, id: id || state.id, started: true };
    out.push(chunk(next, { role: "assistant", content: "", refusal: null }));
    return next;
  };

  const step = (prev: CanonicalToChatState, event: CanonicalStreamEvent): Step => {
    if (prev.ended) return { state: prev, out: [] };
    const out: string[] = [];
    let state = event.type === "start" || event.type === "error" ? prev : begin(prev, out);
    switch (event.type) {
      case "start":
        state = begin(state, out, event.id);
        break;
      case "text-delta":
        if (event.text !== "") out.push(chunk(state, { content: event.text }));
        break;
      case "reasoning-delta":
        if (event.text !== "") out.push(chunk(state, { reasoning_content: event.text }));
        break;
      case "tool-call-start": {
        const index = state.toolCalls;
        state = { ...state, toolIndex: { ...state.toolIndex, [event.block]: index }, toolCalls: index + 1 };
        const call = { index, id: event.id, type: "function", function: { name: event.name, arguments: "" } };
        out.push(chunk(state, { tool_calls: [call] }));
        break;
      }
      case "tool-call-delta": {
        const index = state.toolIndex[event.block];
        if (index !== undefined && event.argumentsDelta !== "") {
          out.push(chunk(state, { tool_calls: [{ index, function: { arguments: event.argumentsDelta } }] }));
        }
        break;
      }
      case "text-start":
      case "reasoning-start":
      case "reasoning-opaque":
      case "block-end":
      case "usage":
        // Nothing on the wire: Chat has no block boundaries, no way to carry opaque reasoning, and sends usage once.
        break;
      case "finish": {
        out.push(chunk(state, {}, toOpenAiChatFinishReason(event.stop, state.toolCalls > 0)));
        if (includeUsage) {
          out.push(
            sseEvent(null, {
              id: state.id,
              object: "chat.completion.chunk",
              created,
              model,
              choices: [],
              usage: toOpenAiChatUsage(event.usage),
            }),
          );
        }
        out.push(DONE);
        state = { ...state, ended: true };
        break;
      }
      case "error":
        out.push(renderError(event.error));
        state = { ...state, ended: true };
        break;
      default: {
        const unreachable: never = event;
        throw new Error(`unknown event ${JSON.stringify(unreachable)}`);
      }
    }
    return { state, out };
  };

  return {
    initial: () => ({ id: "", started: false, ended: false, toolIndex: {}, toolCalls: 0 }),
    step,
    finish: (state) =>
      state.ended
        ? []
        : [
            renderError({
              type: STREAM_INCOMPLETE,
              message: "The upstream stream ended before the response was complete.",
            }),
          ],
  };
}

function isCatalogCode(type: string): type is ErrorCode {
  return Object.hasOwn(ERROR_CATALOG, type);
}

/** Tollgate's own codes render exactly as the dialect's error renderer does; an upstream's type is kept as given. */
function renderError(error: { type: string; message: string }): string {
  if (isCatalogCode(error.type)) {
    const { status, kind } = ERROR_CATALOG[error.type];
    return renderOpenAiChatStreamError({ code: error.type, kind, status, message: error.message, headers: {} });
  }
  return sseEvent(null, { error: { message: error.message, type: error.type, param: null, code: null } });
}
