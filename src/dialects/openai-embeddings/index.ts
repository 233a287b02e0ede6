export { createEmbeddingsStreamMeter } from "./stream-meter.ts";
export { meterEmbeddingsBody, meterEmbeddingsEdges } from "./usage.ts";
export type * from "./wire.ts";
