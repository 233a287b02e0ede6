import { isObject } from "../../dialects/shared/narrow.ts";
import type { JsonObject, JsonValue } from "../canonical.ts";

/**
 * A JSON object as the canonical types spell it. The check is shallow on purpose: every value reaching the
 * converters came from `JSON.parse`, so a plain object's members are JSON values already.
 */
export function isJsonObject(value: unknown): value is JsonObject {
  return isObject(value);
}

/** The canonical `arguments` text back to a tool input object; null when it is not a JSON object. */
export function parseToolArguments(text: string): JsonObject | null {
  if (text.trim() === "") return {};
  try {
    const parsed: JsonValue = JSON.parse(text);
    return isJsonObject(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

/** Collects warnings once each, in the order first seen. */
export class Warnings {
  readonly #seen = new Set<string>();

  add(message: string): void {
    this.#seen.add(message);
  }

  list(): string[] {
    return [...this.#seen];
  }
}
