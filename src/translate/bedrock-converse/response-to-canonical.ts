import { convertConverseUsage } from "../../dialects/bedrock-converse/usage.ts";
import { arrayAt, isObject, objectAt, stringAt } from "../../dialects/shared/narrow.ts";
import { emptyUsage } from "../../metering/usage.ts";
import { Warnings } from "../anthropic/json.ts";
import type { CanonicalResponse } from "../canonical.ts";
import { outputPartsFromConverse } from "./blocks.ts";
import { converseStopToCanonical } from "./stop-reason.ts";

/**
 * A complete Converse response → canonical. Converse names neither an id nor the model (the client's model is
 * echoed back). Throws on a body that is not a Converse response.
 */
export function converseResponseToCanonical(body: unknown): CanonicalResponse {
  const message = isObject(body) ? objectAt(objectAt(body, "output") ?? {}, "message") : undefined;
  if (!isObject(body) || message === undefined) throw new Error("the upstream body is not a Converse response");
  return {
    id: "",
    model: "",
    content: outputPartsFromConverse(arrayAt(message, "content") ?? [], new Warnings()),
    stop: converseStopToCanonical(stringAt(body, "stopReason")),
    usage: convertConverseUsage(body.usage) ?? emptyUsage(),
  };
}
