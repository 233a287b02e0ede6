import { CLOSE_BRACE, COLON, COMMA, isJsonWhitespace, OPEN_BRACE, QUOTE } from "./char-codes.ts";
import { peekTopLevel, type ValueRange } from "./peek.ts";

/**
 * Byte splices of a JSON object's top-level members, for the few provider rewrites of a forwarded body (Vertex AI's
 * Anthropic body has no `model` and an `anthropic_version`; Azure's v1 API names the deployment). A large body is
 * never decoded; a body the scan cannot read is returned unchanged (the provider answers its own 400).
 */

/** The body without its top-level `key` member (the first, if repeated); unchanged when it has none. */
export function removeMember(body: Buffer, key: string): Buffer {
  const range = peekTopLevel(body, new Set([key]))?.get(key);
  if (!range) return body;
  const keyStart = memberStart(body, range, key);
  if (keyStart < 0) return body;
  let end = skipWs(body, range[1]);
  if (body[end] === COMMA) {
    end = skipWs(body, end + 1);
    return Buffer.concat([body.subarray(0, keyStart), body.subarray(end)]);
  }
  // The last member: the comma before it goes too (or nothing, when it was the only one).
  let start = keyStart - 1;
  while (start >= 0 && isJsonWhitespace(body[start] as number)) start--;
  const from = body[start] === COMMA ? start : keyStart;
  return Buffer.concat([body.subarray(0, from), body.subarray(range[1])]);
}

/** The body with top-level `key` set to `json` (a serialised value): replaced in place, or added first. */
export function setMember(body: Buffer, key: string, json: string): Buffer {
  const ranges = peekTopLevel(body, new Set([key]));
  if (ranges === null) return body;
  const range = ranges.get(key);
  if (range) return Buffer.concat([body.subarray(0, range[0]), Buffer.from(json), body.subarray(range[1])]);
  return addFirst(body, key, json);
}

/** The body with `key` added first unless it already has one (a client's own value wins). */
export function defaultMember(body: Buffer, key: string, json: string): Buffer {
  const ranges = peekTopLevel(body, new Set([key]));
  if (ranges === null || ranges.has(key)) return body;
  return addFirst(body, key, json);
}

function addFirst(body: Buffer, key: string, json: string): Buffer {
  const open = skipWs(body, 0);
  if (body[open] !== OPEN_BRACE) return body;
  const empty = body[skipWs(body, open + 1)] === CLOSE_BRACE;
  const member = `${JSON.stringify(key)}:${json}${empty ? "" : ","}`;
  return Buffer.concat([body.subarray(0, open + 1), Buffer.from(member), body.subarray(open + 1)]);
}

/** Where the member whose value is at `range` starts (its key's opening quote); -1 when the bytes are not `"key":`. */
function memberStart(body: Buffer, range: ValueRange, key: string): number {
  let i = range[0] - 1;
  while (i >= 0 && isJsonWhitespace(body[i] as number)) i--;
  if (body[i] !== COLON) return -1;
  i--;
  while (i >= 0 && isJsonWhitespace(body[i] as number)) i--;
  if (body[i] !== QUOTE) return -1;
  const quoted = JSON.stringify(key);
  const start = i + 1 - Buffer.byteLength(quoted);
  return start >= 0 && body.toString("utf8", start, i + 1) === quoted ? start : -1;
}

function skipWs(body: Buffer, i: number): number {
  while (i < body.length && isJsonWhitespace(body[i] as number)) i++;
  return i;
}
