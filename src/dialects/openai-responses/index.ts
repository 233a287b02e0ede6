export { renderOpenAiResponsesStreamError } from "./errors.ts";
export { createOpenAiResponsesStreamMeter } from "./stream-meter.ts";
export { convertResponsesUsage, meterResponsesBody } from "./usage.ts";
export type * from "./wire.ts";
