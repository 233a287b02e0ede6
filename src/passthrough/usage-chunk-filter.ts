/**
 * When Tollgate adds `stream_options.include_usage` to an OpenAI chat stream the client did not ask usage for, the
 * upstream sends one extra chunk (`choices: []` plus `usage`) before `[DONE]`. This filter removes that chunk so the
 * client sees the stream it asked for; everything else passes unchanged. It holds back only an incomplete event.
 */
export class UsageChunkFilter {
  readonly #decoder = new TextDecoder();
  #pending = "";

  /** Returns the text to forward for this chunk (possibly empty). */
  push(chunk: Uint8Array): string {
    this.#pending += this.#decoder.decode(chunk, { stream: true });
    const cut = lastEventBoundary(this.#pending);
    if (cut < 0) return "";
    const complete = this.#pending.slice(0, cut);
    this.#pending = this.#pending.slice(cut);
    return dropUsageOnlyEvents(complete);
  }

  /** Whatever remains when the upstream ends. */
  end(): string {
    const rest = this.#pending + this.#decoder.decode();
    this.#pending = "";
    return dropUsageOnlyEvents(rest);
  }
}

/** Index just after the last blank line (event separator), or -1. */
function lastEventBoundary(s: string): number {
  const lf = s.lastIndexOf("\n\n");
  const crlf = s.lastIndexOf("\r\n\r\n");
  if (crlf >= 0 && crlf + 4 > lf + 2) return crlf + 4;
  return lf >= 0 ? lf + 2 : -1;
}

function dropUsageOnlyEvents(text: string): string {
  if (!text.includes('"usage"')) return text;
  return text
    .split(/(?<=\r?\n\r?\n)/)
    .filter((event) => !isUsageOnlyEvent(event))
    .join("");
}

function isUsageOnlyEvent(event: string): boolean {
  const data = event.trim();
  if (!data.startsWith("data:") || !data.includes('"usage"')) return false;
  try {
    const chunk: unknown = JSON.parse(data.slice(5));
    if (typeof chunk !== "object" || chunk === null) return false;
    const { choices, usage } = chunk as { choices?: unknown; usage?: unknown };
    return Array.isArray(choices) && choices.length === 0 && typeof usage === "object" && usage !== null;
  } catch {
    return false;
  }
}
