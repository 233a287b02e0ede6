import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import { bedrockStreamExceptionName } from "../../dialects/bedrock-converse/errors.ts";
import { isObject, objectAt, stringAt, tryParseJson } from "../../dialects/shared/narrow.ts";
import { SseFramer } from "../../dialects/shared/sse-framer.ts";
import { encodeChunk, encodeEvent, encodeException } from "./event-stream.ts";
import type { EventStreamMode } from "./stream-bridge.ts";

export const EVENT_STREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream";

/** An Anthropic `event: error` (or Tollgate's, in Anthropic shape) as the Bedrock exception Claude Code's SDK reads. */
function anthropicErrorToException(data: string): Uint8Array {
  const parsed = tryParseJson(data);
  const error = isObject(parsed) ? objectAt(parsed, "error") : undefined;
  const type = stringAt(error, "type") ?? "api_error";
  const exception = type === "timeout_error" ? "modelTimeoutException" : bedrockStreamExceptionName(type);
  return encodeException(exception, stringAt(error, "message") ?? "");
}

/** Encodes one SSE event for a Bedrock client. */
function encodeSse(mode: EventStreamMode, event: string | undefined, data: string): Uint8Array {
  if (mode === "chunk") return event === "error" ? anthropicErrorToException(data) : encodeChunk(data);
  const name = event ?? "metadata";
  if (name.endsWith("Exception")) {
    const parsed = tryParseJson(data);
    return encodeException(name, (isObject(parsed) ? stringAt(parsed, "message") : undefined) ?? data);
  }
  return encodeEvent(name, data);
}

/**
 * The client's response, for a Bedrock route: the pipeline writes SSE as for any other client, and this wrapper
 * turns a `text/event-stream` reply into an AWS event stream (one message per SSE event, exceptions for error
 * events) — what the AWS SDKs and Claude Code's Bedrock client parse. JSON replies (whole bodies, errors) pass
 * unchanged. Everything else (`destroyed`, `once("close")`, drain) is the real response's.
 */
export function eventStreamResponse(res: ServerResponse, mode: EventStreamMode): ServerResponse {
  let framer: SseFramer | null = null;
  let frames: Uint8Array[] = [];
  const take = (): Buffer | null => {
    if (frames.length === 0) return null;
    const out = Buffer.concat(frames);
    frames = [];
    return out;
  };
  const push = (chunk: unknown) => {
    if (framer === null) return;
    if (typeof chunk === "string") framer.pushText(chunk);
    else if (chunk instanceof Uint8Array) framer.push(chunk);
  };
  return new Proxy(res, {
    get(target, prop) {
      if (prop === "writeHead") {
        return (status: number, ...rest: unknown[]) => {
          const headersAt = typeof rest[0] === "string" ? 1 : 0;
          const headers = rest[headersAt];
          if (isObject(headers) && isSse(headers)) {
            framer = new SseFramer((event, data) => frames.push(encodeSse(mode, event, data)));
            const copy: OutgoingHttpHeaders = {};
            for (const [k, v] of Object.entries(headers)) {
              if (k.toLowerCase() !== "content-type" && k.toLowerCase() !== "content-length") {
                copy[k] = v as OutgoingHttpHeaders[string];
              }
            }
            copy["content-type"] = EVENT_STREAM_CONTENT_TYPE;
            rest[headersAt] = copy;
          }
          target.writeHead(status, ...(rest as [OutgoingHttpHeaders]));
          return target;
        };
      }
      if (prop === "write") {
        return (chunk: unknown, ...rest: unknown[]) => {
          if (framer === null) return (target.write as (...args: unknown[]) => boolean)(chunk, ...rest);
          push(chunk);
          const out = take();
          return out === null ? true : target.write(out);
        };
      }
      if (prop === "end") {
        return (chunk?: unknown, ...rest: unknown[]) => {
          if (framer === null) {
            (target.end as (...args: unknown[]) => void)(chunk, ...rest);
            return target;
          }
          if (typeof chunk !== "function") push(chunk);
          framer.end();
          const out = take();
          if (out === null) target.end();
          else target.end(out);
          return target;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function isSse(headers: Record<string, unknown>): boolean {
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === "content-type") return typeof v === "string" && v.startsWith("text/event-stream");
  }
  return false;
}
