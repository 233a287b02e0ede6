import type { CanonicalResponse, JsonObject } from "../canonical.ts";
import { toGeminiFinishReason } from "./finish-reason.ts";
import { assistantPartsToGemini } from "./parts.ts";
import { toUsageMetadata } from "./usage-metadata.ts";

/**
 * Canonical → a Gemini client's `generateContent` body: one candidate. Reasoning text is shown as `thought: true`
 * parts; another provider's signatures are never shown. Function calls keep the provider's id, so a client that
 * echoes `functionResponse.id` (Gemini CLI, the SDK) lets the result find its call upstream.
 */
export function canonicalToGeminiResponse(res: CanonicalResponse, model: string): JsonObject {
  const warnings: string[] = [];
  const { parts } = assistantPartsToGemini(res.content, { mode: "response", skipSignature: false, warnings });
  const candidate: JsonObject = {};
  // A candidate stopped by a filter before any output has no content, as Gemini sends it.
  if (parts.length > 0) candidate.content = { role: "model", parts };
  candidate.finishReason = toGeminiFinishReason(res.stop);
  candidate.index = 0;
  const body: JsonObject = {
    candidates: [candidate],
    usageMetadata: toUsageMetadata(res.usage),
    modelVersion: model,
  };
  if (res.id !== "") body.responseId = res.id;
  return body;
}
