import { createRng, numbered, reasoning, sourceFile } from "./synthetic-text.ts";

// "Explain this function": a coding agent's most repeated kind of question. A few kB of source in, a long answer
// streamed out, as providers stream it: one small delta per token or word, as it is generated.

/** The streamed Anthropic Messages request: ~5 kB, a file excerpt and the question. */
export function explainBody(seed = 20261127): string {
  const rng = createRng(seed);
  const source = numbered(sourceFile(rng, 80), 120);
  return JSON.stringify({
    model: "claude-sonnet-4-6",
    max_tokens: 2048,
    stream: true,
    system: "You are a senior engineer. Explain code clearly and precisely.",
    messages: [{ role: "user", content: `Explain what this function does and why:\n\n${source}` }],
    metadata: { user_id: "bench-user-0001" },
  });
}

/** The answer the mock streams, `words` words long (the mock sends one word per event). */
export function explainAnswer(words = 300, seed = 20261128): string {
  const rng = createRng(seed);
  const out: string[] = [];
  while (out.length < words) out.push(...reasoning(rng, 4, "src/pipeline/settle.ts").split(/\s+/));
  return out.slice(0, words).join(" ");
}
