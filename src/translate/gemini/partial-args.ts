import { isObject } from "../../dialects/shared/narrow.ts";
import type { JsonObject, JsonValue } from "../canonical.ts";
import { isJsonObject } from "./json.ts";

/**
 * Vertex AI streams a function call's arguments (`streamFunctionCallArguments`) as `partialArgs`: values addressed
 * by JSON path (`$.location`, `$.items[0].name`), a string possibly cut in several pieces (`willContinue`). This
 * rebuilds the arguments object; the call's JSON is emitted whole when the call ends.
 */
export interface PartialArgsState {
  args: JsonObject;
  /** The path of a string value whose next piece is still to come. */
  continuing: string | null;
}

export function applyPartialArgs(state: PartialArgsState, partialArgs: readonly unknown[]): void {
  for (const arg of partialArgs) {
    if (!isObject(arg)) continue;
    const path = typeof arg.jsonPath === "string" ? arg.jsonPath : null;
    const segments = path === null ? null : parseJsonPath(path);
    if (path === null || segments === null || segments.length === 0) continue;
    let value: JsonValue | undefined;
    if (typeof arg.stringValue === "string") {
      const previous = state.continuing === path ? readPath(state.args, segments) : undefined;
      value = typeof previous === "string" ? previous + arg.stringValue : arg.stringValue;
    } else if (typeof arg.numberValue === "number") value = arg.numberValue;
    else if (typeof arg.boolValue === "boolean") value = arg.boolValue;
    else if (arg.nullValue !== undefined) value = null;
    if (value !== undefined) writePath(state.args, segments, value);
    state.continuing = arg.willContinue === true ? path : null;
  }
}

type Segment = string | number;

/** `$.a.b[0]["c d"]` → ["a", "b", 0, "c d"]; null when the path is not of that simple form. */
export function parseJsonPath(path: string): Segment[] | null {
  if (!path.startsWith("$")) return null;
  const segments: Segment[] = [];
  const re = /\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\]/y;
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const m = re.exec(path);
    if (m === null) return null;
    if (m[1] !== undefined) segments.push(m[1]);
    else if (m[2] !== undefined) segments.push(Number(m[2]));
    else segments.push((m[3] ?? m[4] ?? "").replace(/\\(.)/g, "$1"));
  }
  return segments;
}

function readPath(root: JsonObject, segments: readonly Segment[]): JsonValue | undefined {
  let at: JsonValue | undefined = root;
  for (const s of segments) {
    if (typeof s === "number" && Array.isArray(at)) at = at[s];
    else if (typeof s === "string" && isJsonObject(at)) at = at[s];
    else return undefined;
  }
  return at;
}

function writePath(root: JsonObject, segments: readonly Segment[], value: JsonValue): void {
  let at: JsonObject | JsonValue[] = root;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i];
    const next = segments[i + 1];
    if (s === undefined) return;
    if (next === undefined) {
      setChild(at, s, value);
      return;
    }
    const child = getChild(at, s);
    const container: JsonObject | JsonValue[] = isContainer(child, next) ? child : typeof next === "number" ? [] : {};
    if (!setChild(at, s, container)) return;
    at = container;
  }
}

function getChild(at: JsonObject | JsonValue[], s: Segment): JsonValue | undefined {
  if (Array.isArray(at)) return typeof s === "number" ? at[s] : undefined;
  return typeof s === "string" ? at[s] : undefined;
}

/** False when the segment does not fit the container (an index into an object, a key into an array). */
function setChild(at: JsonObject | JsonValue[], s: Segment, value: JsonValue): boolean {
  if (Array.isArray(at)) {
    if (typeof s !== "number") return false;
    at[s] = value;
  } else {
    if (typeof s !== "string") return false;
    at[s] = value;
  }
  return true;
}

function isContainer(v: JsonValue | undefined, next: Segment | undefined): v is JsonObject | JsonValue[] {
  return typeof next === "number" ? Array.isArray(v) : isJsonObject(v);
}
