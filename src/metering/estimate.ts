/**
 * Token estimates for when a provider's usage never arrives (a stream cut short, a client that did not ask for
 * usage) or is not known yet (admission). They are deliberately simple: about four characters per token is the
 * usual rule of thumb for English text and code with the BPE tokenizers of Claude, GPT and Gemini. Text in
 * languages with large scripts (CJK) runs closer to one token per character, so these numbers under-count there;
 * every number produced here is flagged `estimated` by its caller and is replaced by the provider's count whenever
 * one arrives.
 */

/** Characters (UTF-16 code units, i.e. JavaScript string length) per token. */
export const CHARS_PER_TOKEN = 4;

/** UTF-8 bytes per token: the same rule, since most model text is ASCII. */
export const BYTES_PER_TOKEN = 4;

/** Tokens for `chars` characters of model text: ceil(chars / 4); 0 for nothing. */
export function estimateTokensFromText(chars: number): number {
  if (!Number.isFinite(chars) || chars <= 0) return 0;
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

/** Tokens for `bytes` UTF-8 bytes of text: ceil(bytes / 4); 0 for nothing. */
export function estimateTokensFromBytes(bytes: number): number {
  if (!Number.isFinite(bytes) || bytes <= 0) return 0;
  return Math.ceil(bytes / BYTES_PER_TOKEN);
}

/**
 * Input tokens for a request body of `bytes` bytes, for dialects whose stream reports input only at the end
 * (OpenAI chat, Responses, Gemini before its first usageMetadata). The JSON structure around the prompt (keys,
 * quotes, tool schemas) is counted as if it were text, so this leans high, which is the safe side for a budget
 * reservation.
 */
export function estimateInputTokensFromRequestBytes(bytes: number): number {
  return estimateTokensFromBytes(bytes);
}
