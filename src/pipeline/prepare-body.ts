import { modelRangeOf, type ParsedCall, type RouteSpec } from "./ingress.ts";

export interface PreparedBody {
  bytes: Buffer;
  /** Tollgate asked the upstream for a usage chunk the client did not ask for; filter it out of the stream. */
  injectedUsage: boolean;
}

const INCLUDE_USAGE = Buffer.from('"stream_options":{"include_usage":true},');

/**
 * The body sent upstream. Passthrough forwards the client's bytes untouched, with two deliberate exceptions, both
 * done as byte splices so a large body is never re-serialised: a `provider/model` name is replaced by the provider's
 * own model id, and an OpenAI chat stream without `stream_options.include_usage` gets it (otherwise the stream
 * carries no usage and cannot be metered).
 */
export function prepareBody(spec: RouteSpec, raw: Buffer, call: ParsedCall, upstreamModel: string): PreparedBody {
  let bytes = raw;
  const range = spec.dialect !== "gemini" && upstreamModel !== call.model ? modelRangeOf(call) : null;
  if (range !== null) {
    const [start, end] = range;
    bytes = Buffer.concat([raw.subarray(0, start), Buffer.from(JSON.stringify(upstreamModel)), raw.subarray(end)]);
  }
  const streamOptions = call.fields.stream_options;
  if (spec.op !== "chat" || !call.stream || (isObject(streamOptions) && streamOptions.include_usage === true)) {
    return { bytes, injectedUsage: false };
  }
  if (streamOptions === undefined) {
    // The key is absent, so adding it first is safe (the object has at least "model" after it).
    const open = bytes.indexOf(0x7b); // "{"
    return {
      bytes: Buffer.concat([bytes.subarray(0, open + 1), INCLUDE_USAGE, bytes.subarray(open + 1)]),
      injectedUsage: true,
    };
  }
  // stream_options is there with other settings: merge (rare; re-serialises this one body).
  const json = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
  json.stream_options = { ...(isObject(streamOptions) ? streamOptions : {}), include_usage: true };
  return { bytes: Buffer.from(JSON.stringify(json)), injectedUsage: true };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
