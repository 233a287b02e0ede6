export {
  openAiErrorCode,
  openAiErrorObject,
  openAiErrorType,
  renderOpenAiChatStreamError,
  renderOpenAiError,
} from "./errors.ts";
export { createOpenAiChatStreamMeter } from "./stream-meter.ts";
export { convertOpenAiChatUsage, countChatMessageChars, findChatUsage, meterOpenAiChatBody } from "./usage.ts";
export type * from "./wire.ts";
