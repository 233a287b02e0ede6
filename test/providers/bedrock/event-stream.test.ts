import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  chunkBytes,
  EventStreamDecoder,
  encodeChunk,
  encodeEvent,
  encodeException,
} from "../../../src/providers/bedrock/event-stream.ts";
import { messageToSse } from "../../../src/providers/bedrock/stream-bridge.ts";
import { eventMessage } from "../../fixtures/mock-upstream/bedrock/wire.ts";

const RECORDED = new URL("../../fixtures/recorded/", import.meta.url);

function lines(path: string): string[] {
  return readFileSync(new URL(path, RECORDED), "utf8")
    .split(/\r?\n/)
    .filter((l) => l.trim() !== "");
}

/** `{"messageStart": {...}}` → ["messageStart", '{...}'] */
function converseLine(line: string): [string, string] {
  const [type, payload] = Object.entries(JSON.parse(line) as Record<string, unknown>)[0] ?? ["", {}];
  return [type, JSON.stringify(payload)];
}

/** Feeds `bytes` to a decoder in pieces of `size`, as a network would split them. */
function decodeInPieces(bytes: Buffer, size: number) {
  const decoder = new EventStreamDecoder();
  const out = [];
  for (let i = 0; i < bytes.length; i += size) out.push(...decoder.push(bytes.subarray(i, i + size)));
  assert.equal(decoder.pending, 0);
  return out;
}

for (const file of [
  "bedrock/bedrock-text.chunks.txt",
  "bedrock/bedrock-reasoning.chunks.txt",
  "bedrock/bedrock-tool-call.1.chunks.txt",
  "bedrock/issue-17523-converse-stream.chunks.txt",
]) {
  test(`${file}: encoded events decode back exactly, however the bytes are split`, () => {
    const events = lines(file).map(converseLine);
    const bytes = Buffer.concat(events.map(([type, payload]) => encodeEvent(type, payload)));
    for (const size of [1, 7, 64, bytes.length]) {
      const decoded = decodeInPieces(bytes, size);
      assert.deepEqual(
        decoded.map((m) => [m.type, m.payload]),
        events,
      );
      assert.ok(decoded.every((m) => m.messageType === "event"));
    }
  });
}

test("our encoder and the mock's (the AWS codec, used directly) produce the same bytes", () => {
  for (const [type, payload] of lines("bedrock/bedrock-text.chunks.txt").map(converseLine)) {
    assert.deepEqual(Buffer.from(encodeEvent(type, payload)), eventMessage(type, JSON.parse(payload)));
  }
});

test("InvokeModel chunks carry Anthropic events as base64 and bridge back to the same SSE", () => {
  const anthropic = lines("anthropic/anthropic-json-tool.1.chunks.txt");
  const bytes = Buffer.concat(anthropic.map((line) => encodeChunk(line)));
  const decoded = decodeInPieces(bytes, 13);
  assert.deepEqual(
    decoded.map((m) => chunkBytes(m.payload)),
    anthropic,
  );
  const sse = decoded.map((m) => messageToSse(m, "chunk")).join("");
  const expected = anthropic
    .map(
      (line) => `event: ${(JSON.parse(line) as { type: string }).type}\ndata: ${JSON.stringify(JSON.parse(line))}\n\n`,
    )
    .join("");
  assert.equal(sse, expected);
});

test("exceptions decode with their type and bridge to each dialect's error event", () => {
  const [message] = decodeInPieces(Buffer.from(encodeException("throttlingException", "Too many requests")), 5);
  assert.ok(message);
  assert.equal(message.messageType, "exception");
  assert.equal(message.type, "throttlingException");
  assert.equal(
    messageToSse(message, "chunk"),
    'event: error\ndata: {"type":"error","error":{"type":"rate_limit_error","message":"Too many requests"}}\n\n',
  );
  assert.equal(messageToSse(message, "event"), 'event: throttlingException\ndata: {"message":"Too many requests"}\n\n');
});

test("a corrupted message (bad CRC) is an error, not a silently wrong event", () => {
  const bytes = Buffer.from(encodeEvent("messageStart", '{"role":"assistant"}'));
  const at = bytes.length - 6;
  bytes[at] = (bytes[at] ?? 0) ^ 0xff;
  assert.throws(() => new EventStreamDecoder().push(bytes), /checksum/i);
});

test("a cut stream leaves its partial message pending", () => {
  const bytes = Buffer.from(encodeEvent("messageStart", '{"role":"assistant"}'));
  const decoder = new EventStreamDecoder();
  assert.deepEqual(decoder.push(bytes.subarray(0, bytes.length - 3)), []);
  assert.equal(decoder.pending, bytes.length - 3);
});
