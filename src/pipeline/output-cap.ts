import type { Dialect } from "../dialects/dialect.ts";
import { isJsonWhitespace } from "../json/char-codes.ts";
import { peekTopLevel } from "../json/peek.ts";

/** The top-level field each dialect caps output with (Gemini's lives inside `generationConfig`). */
function capField(dialect: Dialect, present: ReadonlyMap<string, unknown>): string | null {
  switch (dialect) {
    case "anthropic":
      return "max_tokens";
    case "openai-chat":
      // Older models and compatible servers know only max_tokens; keep the client's choice when it made one.
      return present.has("max_tokens") && !present.has("max_completion_tokens")
        ? "max_tokens"
        : "max_completion_tokens";
    case "openai-responses":
      return "max_output_tokens";
    case "gemini":
      return "generationConfig";
    case "bedrock-converse":
      return "inferenceConfig";
    case "openai-embeddings":
      return null;
    default: {
      const unreachable: never = dialect;
      throw new Error(`unknown dialect ${String(unreachable)}`);
    }
  }
}

const CAP_FIELDS: ReadonlySet<string> = new Set([
  "max_tokens",
  "max_completion_tokens",
  "max_output_tokens",
  "generationConfig",
  "inferenceConfig",
]);

/**
 * The body with its output cap set to `tokens` (a budget's remainder buys no more), as a byte splice: the value
 * is replaced where the field is, or the field is added first in the object. Only Gemini's small
 * `generationConfig` object is re-serialised. Returns the bytes unchanged when the body is not a JSON object.
 */
export function capOutputTokens(dialect: Dialect, body: Buffer, tokens: number): Buffer {
  const ranges = peekTopLevel(body, CAP_FIELDS);
  if (ranges === null) return body;
  const field = capField(dialect, ranges);
  if (field === null) return body;
  const range = ranges.get(field);
  let value: string;
  if (field === "generationConfig" || field === "inferenceConfig") {
    let config: Record<string, unknown> = {};
    if (range) {
      const parsed: unknown = JSON.parse(body.toString("utf8", range[0], range[1]));
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed))
        config = parsed as Record<string, unknown>;
    }
    value = JSON.stringify({ ...config, [field === "generationConfig" ? "maxOutputTokens" : "maxTokens"]: tokens });
  } else {
    value = String(tokens);
  }
  if (range) return Buffer.concat([body.subarray(0, range[0]), Buffer.from(value), body.subarray(range[1])]);
  const open = body.indexOf(0x7b); // "{"
  let next = open + 1;
  while (next < body.length && isJsonWhitespace(body[next] as number)) next++;
  const empty = body[next] === 0x7d; // "}"
  const insert = `${JSON.stringify(field)}:${value}${empty ? "" : ","}`;
  return Buffer.concat([body.subarray(0, open + 1), Buffer.from(insert), body.subarray(open + 1)]);
}
