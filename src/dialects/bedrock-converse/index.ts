export {
  bedrockExceptionName,
  bedrockStreamExceptionName,
  renderBedrockError,
  renderBedrockStreamError,
} from "./errors.ts";
export { createConverseStreamMeter } from "./stream-meter.ts";
export { convertConverseUsage, meterConverseBody } from "./usage.ts";
export type * from "./wire.ts";
