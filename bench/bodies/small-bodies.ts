// Small non-streaming requests (~300 bytes each): the per-request overhead case, where the gateway's fixed cost
// (routing, header handling, metering, logging) dominates.

const prompt = "Summarise in one sentence what an LLM gateway does for a team of developers using coding agents.";

export function smallAnthropicBody(): string {
  return JSON.stringify({
    model: "claude-sonnet-4-6",
    max_tokens: 256,
    system: "You are a concise technical writer. Answer in plain English.",
    messages: [{ role: "user", content: prompt }],
    metadata: { user_id: "bench-user-0001" },
    temperature: 0.2,
  });
}

export function smallOpenAIBody(): string {
  return JSON.stringify({
    model: "gpt-4.1-mini",
    max_completion_tokens: 256,
    messages: [
      { role: "system", content: "You are a concise technical writer. Answer in plain English." },
      { role: "user", content: prompt },
    ],
    temperature: 0.2,
    user: "bench-user-0001",
  });
}
