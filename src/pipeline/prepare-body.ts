import type { RouteSpec } from "./ingress.ts";

export interface PreparedBody {
  bytes: Buffer;
  /** Tollgate asked the upstream for a usage chunk the client did not ask for; filter it out of the stream. */
  injectedUsage: boolean;
}

const INCLUDE_USAGE = Buffer.from('"stream_options":{"include_usage":true},');

/**
 * The body sent upstream. Passthrough forwards the client's bytes untouched, with two deliberate exceptions:
 * a `provider/model` name is rewritten to the provider's own model id, and an OpenAI chat stream without
 * `stream_options.include_usage` gets it (otherwise the stream carries no usage and cannot be metered).
 */
export function prepareBody(
  spec: RouteSpec,
  raw: Buffer,
  json: Record<string, unknown>,
  stream: boolean,
  upstreamModel: string,
  requestedModel: string,
): PreparedBody {
  const renameModel =
    spec.op !== "generateContent" &&
    spec.op !== "streamGenerateContent" &&
    spec.op !== "countTokens" &&
    upstreamModel !== requestedModel;
  const needsUsage = spec.op === "chat" && stream && !includesUsage(json.stream_options);
  if (!renameModel && !needsUsage) return { bytes: raw, injectedUsage: false };
  if (!renameModel && json.stream_options === undefined) {
    // Cheap splice instead of re-serialising a large body: the key is absent, so adding it first is safe.
    const open = raw.indexOf(0x7b); // "{"
    return {
      bytes: Buffer.concat([raw.subarray(0, open + 1), INCLUDE_USAGE, raw.subarray(open + 1)]),
      injectedUsage: true,
    };
  }
  const next: Record<string, unknown> = { ...json };
  if (renameModel) next.model = upstreamModel;
  if (needsUsage)
    next.stream_options = { ...(isObject(json.stream_options) ? json.stream_options : {}), include_usage: true };
  return { bytes: Buffer.from(JSON.stringify(next)), injectedUsage: needsUsage };
}

function includesUsage(streamOptions: unknown): boolean {
  return isObject(streamOptions) && streamOptions.include_usage === true;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
