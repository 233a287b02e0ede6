import { arrayAt, isObject } from "../../dialects/shared/narrow.ts";
import { type ClientTool, prepareClientTools } from "./tools.ts";

/**
 * What the client's own request decides about the shape of its response, beyond the canonical response itself.
 * `canonicalToResponse` and `canonicalToStream` take it as an optional last argument; without it they answer as
 * for a request with plain function tools that asked for encrypted reasoning.
 */
export interface ResponsesOutputOptions {
  /** Put `encrypted_content` on reasoning items (`include: ["reasoning.encrypted_content"]`). Default true. */
  includeEncryptedReasoning?: boolean;
  /** Flat canonical tool names → the client's own tool shape (namespaced, custom, local_shell). */
  tools?: ReadonlyMap<string, ClientTool>;
  /** `created_at` of the Response, in Unix seconds (converters are pure: no clock). Default 0. */
  createdAt?: number;
}

/** The output options a client's Responses request implies (its `include` and its `tools`). */
export function responsesOutputOptions(clientBody: unknown, createdAt?: number): ResponsesOutputOptions {
  if (!isObject(clientBody)) return createdAt === undefined ? {} : { createdAt };
  const include = arrayAt(clientBody, "include") ?? [];
  let tools: ReadonlyMap<string, ClientTool> = new Map();
  try {
    tools = prepareClientTools(clientBody.tools, []).names;
  } catch {
    // A request whose tools do not translate never reaches the output side.
  }
  const options: ResponsesOutputOptions = {
    includeEncryptedReasoning: include.includes("reasoning.encrypted_content"),
    tools,
  };
  if (createdAt !== undefined) options.createdAt = createdAt;
  return options;
}
