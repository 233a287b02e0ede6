export {
  anthropicErrorBody,
  anthropicErrorType,
  renderAnthropicError,
  renderAnthropicStreamError,
} from "./errors.ts";
export { createAnthropicStreamMeter } from "./stream-meter.ts";
export {
  type AnthropicCounts,
  anthropicCountsToUsage,
  convertAnthropicUsage,
  mergeAnthropicCounts,
  meterAnthropicBody,
  readAnthropicCounts,
} from "./usage.ts";
export type * from "./wire.ts";
