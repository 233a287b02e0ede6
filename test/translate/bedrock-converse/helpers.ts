import { readFileSync } from "node:fs";
import type { SseEvent } from "../../../src/translate/canonical.ts";

const RECORDED = new URL("../../fixtures/recorded/bedrock/", import.meta.url);

export const STREAM_FIXTURES = [
  "bedrock-text.chunks.txt",
  "bedrock-reasoning.chunks.txt",
  "bedrock-tool-call.1.chunks.txt",
  "issue-17523-converse-stream.chunks.txt",
];

export function fixtureText(name: string): string {
  return readFileSync(new URL(name, RECORDED), "utf8");
}

export function fixtureJson(name: string): unknown {
  return JSON.parse(fixtureText(name));
}

/** A recorded ConverseStream as the gateway bridges it: one SSE event per line, named by its event type. */
export function fixtureEvents(name: string): SseEvent[] {
  return fixtureText(name)
    .split(/\r?\n/)
    .filter((l) => l.trim() !== "")
    .map((line) => {
      const [event, payload] = Object.entries(JSON.parse(line) as Record<string, unknown>)[0] ?? ["", {}];
      return { event, data: JSON.stringify(payload) };
    });
}

export function sseText(events: SseEvent[]): string {
  return events.map((e) => `event: ${e.event}\ndata: ${e.data}\n\n`).join("");
}
