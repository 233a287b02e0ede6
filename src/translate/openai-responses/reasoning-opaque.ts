import type { CanonicalReasoningPart, ChatDialect } from "../canonical.ts";

export type ReasoningOpaque = NonNullable<CanonicalReasoningPart["opaque"]>;

/**
 * A Responses client keeps a reasoning item's `encrypted_content` and sends it back unchanged on the next turn
 * (Codex does, with `store: false`). Tollgate uses that slot to carry another provider's reasoning proof through
 * the client: Anthropic requires the signed thinking block back on tool-use turns. Foreign proofs are wrapped as
 * `tollgate.v1:<dialect>:<kind>:<value>` and unwrapped on the way in, so each only ever returns to its own
 * dialect; OpenAI's own `encrypted_content` travels unwrapped.
 */
const ENVELOPE_PREFIX = "tollgate.v1:";
const DIALECTS: readonly ChatDialect[] = ["anthropic", "openai-chat", "openai-responses", "gemini"];
const KINDS: readonly ReasoningOpaque["kind"][] = ["signature", "redacted", "encrypted"];

export function encodeEncryptedContent(opaque: ReasoningOpaque): string {
  if (opaque.dialect === "openai-responses" && opaque.kind === "encrypted") return opaque.value;
  return `${ENVELOPE_PREFIX}${opaque.dialect}:${opaque.kind}:${opaque.value}`;
}

export function decodeEncryptedContent(value: string): ReasoningOpaque {
  if (value.startsWith(ENVELOPE_PREFIX)) {
    const rest = value.slice(ENVELOPE_PREFIX.length);
    const first = rest.indexOf(":");
    const second = rest.indexOf(":", first + 1);
    const dialect = DIALECTS.find((d) => d === rest.slice(0, first));
    const kind = KINDS.find((k) => k === rest.slice(first + 1, second));
    if (first > 0 && second > first && dialect !== undefined && kind !== undefined) {
      return { dialect, kind, value: rest.slice(second + 1) };
    }
  }
  return { dialect: "openai-responses", kind: "encrypted", value };
}
