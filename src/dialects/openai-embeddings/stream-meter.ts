import type { StreamMeter } from "../dialect.ts";
import { type BodyMeterOptions, BodyStreamMeter } from "../shared/body-meter.ts";
import { meterEmbeddingsBody, meterEmbeddingsEdges } from "./usage.ts";

/**
 * Embeddings are never streamed; this meter takes the response body as it arrives in pieces and meters it at
 * `end()`. Large bodies (many vectors) are not buffered past `maxBytes`: usage is read from their edges instead.
 */
export function createEmbeddingsStreamMeter(options: Pick<BodyMeterOptions, "maxBytes"> = {}): StreamMeter {
  return new BodyStreamMeter(meterEmbeddingsBody, { ...options, fallback: meterEmbeddingsEdges });
}
