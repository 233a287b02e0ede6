import type { Dialect } from "../dialects/dialect.ts";
import { SseFramer } from "../dialects/shared/sse-framer.ts";

/**
 * Where a streamed reply commits. Until the first content event reaches the client, an upstream that answered 200
 * and then failed (Anthropic `overloaded_error` right after `message_start`, a Chat `{"error"}` chunk, Responses
 * `response.failed`, a Gemini `{"error"}` chunk) can still be retried or fall back; after it, never.
 *
 * `content`: the stream is real — send what was held and relay the rest. `failed`: an error arrived before any
 * content. `pending`: only preamble so far (message_start, ping, role-only chunks, response.created …).
 */
export type CommitVerdict = { kind: "pending" } | { kind: "content" } | { kind: "failed"; reason: string };

const PENDING: CommitVerdict = { kind: "pending" };
const CONTENT: CommitVerdict = { kind: "content" };

/** Held preamble larger than this commits anyway: no real provider sends that much before content. */
const MAX_PREAMBLE_BYTES = 64 * 1024;

export class CommitDetector {
  readonly #dialect: Dialect;
  readonly #framer: SseFramer;
  #verdict: CommitVerdict = PENDING;
  #bytes = 0;

  constructor(dialect: Dialect) {
    this.#dialect = dialect;
    this.#framer = new SseFramer((event, data) => {
      if (this.#verdict.kind === "pending") this.#verdict = classify(this.#dialect, event, data);
    }, MAX_PREAMBLE_BYTES);
  }

  /** Feeds one chunk; the verdict after it. Once content or failed, the verdict never changes. */
  push(chunk: Buffer): CommitVerdict {
    if (this.#verdict.kind !== "pending") return this.#verdict;
    this.#bytes += chunk.length;
    this.#framer.push(chunk);
    if (this.#verdict.kind === "pending" && (this.#bytes > MAX_PREAMBLE_BYTES || this.#framer.broken)) {
      this.#verdict = CONTENT;
    }
    return this.#verdict;
  }

  /** The stream ended before any content: a truncated or empty reply counts as a failure. */
  end(): CommitVerdict {
    if (this.#verdict.kind !== "pending") return this.#verdict;
    this.#framer.end();
    if (this.#verdict.kind === "pending") this.#verdict = { kind: "failed", reason: "ended_before_content" };
    return this.#verdict;
  }
}

function classify(dialect: Dialect, event: string | undefined, data: string): CommitVerdict {
  switch (dialect) {
    case "anthropic":
      if (event === "message_start" || event === "ping") return PENDING;
      if (event === "error") return failed(data, "stream_error");
      return CONTENT;
    case "openai-responses":
      if (event === "response.created" || event === "response.in_progress" || event === "response.queued")
        return PENDING;
      if (event === "response.failed" || event === "error") return failed(data, "stream_error");
      return CONTENT;
    case "openai-chat":
      return chatChunk(data);
    case "gemini":
      return data.includes('"error"') && isErrorObject(data) ? failed(data, "stream_error") : CONTENT;
    default:
      return CONTENT;
  }
}

/** A Chat chunk: an error object fails; a role-only first delta (or Azure's prompt-filter chunk) is preamble. */
function chatChunk(data: string): CommitVerdict {
  if (data === "[DONE]") return CONTENT;
  let chunk: unknown;
  try {
    chunk = JSON.parse(data);
  } catch {
    return CONTENT;
  }
  if (typeof chunk !== "object" || chunk === null) return CONTENT;
  const record = chunk as { error?: unknown; choices?: unknown };
  if (record.error !== undefined) return failed(data, "stream_error");
  if (!Array.isArray(record.choices) || record.choices.length === 0) return PENDING;
  for (const choice of record.choices as unknown[]) {
    if (typeof choice !== "object" || choice === null) return CONTENT;
    const { delta, finish_reason } = choice as { delta?: unknown; finish_reason?: unknown };
    if (finish_reason !== null && finish_reason !== undefined) return CONTENT;
    if (typeof delta !== "object" || delta === null) continue;
    for (const [name, value] of Object.entries(delta)) {
      if (name === "role") continue;
      if (value === null || value === "" || (Array.isArray(value) && value.length === 0)) continue;
      return CONTENT;
    }
  }
  return PENDING;
}

function isErrorObject(data: string): boolean {
  try {
    const parsed: unknown = JSON.parse(data);
    return typeof parsed === "object" && parsed !== null && "error" in parsed;
  } catch {
    return false;
  }
}

/** The error's type (`overloaded_error`, `server_error` …) when the event names one, for the attempt record. */
function failed(data: string, fallback: string): CommitVerdict {
  const match = /"(?:type|code|status)"\s*:\s*"([A-Za-z_]+_error|[A-Z_]{4,}|server_error|rate_limit_exceeded)"/.exec(
    data,
  );
  return { kind: "failed", reason: match?.[1] ?? fallback };
}
