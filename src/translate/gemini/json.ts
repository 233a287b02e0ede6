import { isObject, type JsonObject as WireObject } from "../../dialects/shared/narrow.ts";
import type { JsonObject, JsonValue } from "../canonical.ts";

/**
 * The Gemini REST API accepts every field in lowerCamelCase or in snake_case (proto3 JSON), and Google's own
 * curl examples use snake_case (`system_instruction`, `generation_config`, `inline_data`): read either.
 */
export function field(obj: WireObject | undefined, camel: string): unknown {
  if (obj === undefined) return undefined;
  const v = obj[camel];
  return v !== undefined ? v : obj[snake(camel)];
}

export function snake(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export function objectField(obj: WireObject | undefined, camel: string): WireObject | undefined {
  const v = field(obj, camel);
  return isObject(v) ? v : undefined;
}

export function arrayField(obj: WireObject | undefined, camel: string): unknown[] | undefined {
  const v = field(obj, camel);
  return Array.isArray(v) ? v : undefined;
}

export function stringField(obj: WireObject | undefined, camel: string): string | undefined {
  const v = field(obj, camel);
  return typeof v === "string" ? v : undefined;
}

export function numberField(obj: WireObject | undefined, camel: string): number | undefined {
  const v = field(obj, camel);
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** The keys of `obj` in lowerCamelCase (so callers can compare against one spelling). */
export function camelKeys(obj: WireObject): string[] {
  return Object.keys(obj).map((k) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()));
}

/** A parsed JSON value as the canonical JsonValue type (drops what JSON cannot hold, e.g. undefined). */
export function toJsonValue(value: unknown): JsonValue | undefined {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (Array.isArray(value)) return value.map((v) => toJsonValue(v) ?? null);
  if (isObject(value)) return toJsonObject(value);
  return undefined;
}

export function toJsonObject(value: WireObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    const j = toJsonValue(v);
    if (j !== undefined) out[k] = j;
  }
  return out;
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** JSON text → object; a non-object value or bad JSON gives undefined. */
export function parseJsonObject(text: string): JsonObject | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isObject(parsed) ? toJsonObject(parsed) : undefined;
}
