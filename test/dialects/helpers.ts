import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { StreamMeter, StreamMetering } from "../../src/dialects/dialect.ts";
import type { StreamMeterOptions } from "../../src/dialects/meters.ts";

const FIXTURES = fileURLToPath(new URL("../fixtures/recorded/", import.meta.url));

export function fixtureText(path: string): string {
  return readFileSync(FIXTURES + path, "utf8");
}

export function fixtureJson(path: string): unknown {
  return JSON.parse(fixtureText(path));
}

/** The non-empty lines of a `*.chunks.txt` fixture (each one SSE data payload). */
export function fixtureLines(path: string): string[] {
  return fixtureText(path)
    .split("\n")
    .filter((line) => line.trim() !== "");
}

export type LineEnding = "\n" | "\r\n" | "\r";
export const LINE_ENDINGS: LineEnding[] = ["\n", "\r\n", "\r"];

export interface WireOptions {
  /** Write `event: <type>` before each data line (Anthropic, Responses). */
  named: boolean;
  /** Append `data: [DONE]` (OpenAI chat and compatible). */
  done: boolean;
  eol?: LineEnding;
}

/** Rebuilds the wire stream of a chunks fixture as the fixtures README describes. */
export function buildWire(lines: string[], options: WireOptions): string {
  const eol = options.eol ?? "\n";
  let wire = "";
  for (const line of lines) {
    if (options.named) {
      const type: unknown = (JSON.parse(line) as { type?: unknown }).type;
      wire += `event: ${String(type)}${eol}`;
    }
    wire += `data: ${line}${eol}${eol}`;
  }
  if (options.done) wire += `data: [DONE]${eol}${eol}`;
  return wire;
}

/** A small seeded PRNG (mulberry32) so random splits are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cuts bytes into chunks of 1..maxChunk bytes at random places (inside characters and lines included). */
export function randomSplit(bytes: Uint8Array, random: () => number, maxChunk: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    const size = 1 + Math.floor(random() * maxChunk);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

export function everyByte(bytes: Uint8Array): Uint8Array[] {
  return Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
}

export function runMeter(meter: StreamMeter, chunks: Iterable<Uint8Array>): StreamMetering {
  for (const chunk of chunks) meter.push(chunk);
  meter.end();
  return meter.result();
}

export type MeterFactory = (options?: StreamMeterOptions) => StreamMeter;

/**
 * Feeds `wire` to fresh meters in one chunk, byte by byte and in several random splits, with the hot-path
 * shortcuts on and off, and asserts every run gives `expected`.
 */
export function assertMeteredAllWays(factory: MeterFactory, wire: string, expected: StreamMetering, seed = 1): void {
  const bytes = new TextEncoder().encode(wire);
  const random = seededRandom(seed);
  const splits: [string, Uint8Array[]][] = [
    ["one chunk", [bytes]],
    ["1-byte chunks", everyByte(bytes)],
    ["random ≤3", randomSplit(bytes, random, 3)],
    ["random ≤17", randomSplit(bytes, random, 17)],
    ["random ≤64", randomSplit(bytes, random, 64)],
  ];
  for (const shortcuts of [true, false]) {
    for (const [name, chunks] of splits) {
      assert.deepEqual(runMeter(factory({ shortcuts }), chunks), expected, `${name}, shortcuts ${shortcuts}`);
    }
  }
}

export function usage(
  input: number,
  cacheRead: number,
  cacheWrite5m: number,
  cacheWrite1h: number,
  output: number,
  reasoning: number,
) {
  return { input, cacheRead, cacheWrite5m, cacheWrite1h, output, reasoning };
}
