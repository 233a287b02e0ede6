export { geminiErrorBody, geminiErrorStatus, renderGeminiError, renderGeminiStreamError } from "./errors.ts";
export { JsonElementSplitter } from "./json-element-splitter.ts";
export { createGeminiStreamMeter } from "./stream-meter.ts";
export {
  convertGeminiUsage,
  countGeminiChunkChars,
  type GeminiCounts,
  geminiCountsToUsage,
  mergeGeminiCounts,
  meterGeminiBody,
  readGeminiCounts,
} from "./usage.ts";
export type * from "./wire.ts";
