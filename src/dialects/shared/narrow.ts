/** Narrowing helpers for JSON read from the wire: no casts, no `any`. */

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function objectAt(obj: JsonObject, key: string): JsonObject | undefined {
  const v = obj[key];
  return isObject(v) ? v : undefined;
}

export function arrayAt(obj: JsonObject, key: string): unknown[] | undefined {
  const v = obj[key];
  return Array.isArray(v) ? v : undefined;
}

/** A finite, non-negative number, or undefined (null, absent, strings and garbage all read as undefined). */
export function countAt(obj: JsonObject | undefined, key: string): number | undefined {
  if (obj === undefined) return undefined;
  const v = obj[key];
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined;
}

export function stringAt(obj: JsonObject | undefined, key: string): string | undefined {
  if (obj === undefined) return undefined;
  const v = obj[key];
  return typeof v === "string" ? v : undefined;
}

/** JSON.parse that answers undefined instead of throwing: the meters must never throw on a bad event. */
export function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
