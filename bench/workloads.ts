import { claudeCodeRequest } from "./bodies/claude-code-body.ts";
import { explainAnswer, explainBody } from "./bodies/explain-body.ts";
import { smallAnthropicBody, smallOpenAIBody } from "./bodies/small-bodies.ts";
import type { WorkloadSelection } from "./options.ts";

export type WorkloadName =
  | "small-anthropic"
  | "small-openai"
  | "stream-claude-code"
  | "stream-claude-code-translated"
  | "small-anthropic-governed"
  | "small-anthropic-cache-hit"
  | "stream-claude-code-cache-hit"
  | "stream-explain"
  | "stream-explain-cache-hit";

export interface Workload {
  name: WorkloadName;
  group: Exclude<WorkloadSelection, "all">;
  description: string;
  connections: number;
  probeRequests: number;
  body: Buffer;
  /** Exactly what the client sends; the same headers go to the mock (direct arm) and the gateway. */
  headers: Record<string, string>;
  /** Path on the mock upstream (direct arm). */
  directPath: string;
  /** Path on the gateway. */
  gatewayPath: string;
  /**
   * How this workload's rows are told apart in the gateway's request log: by endpoint and stream flag, and for a
   * workload that shares both with another one, by the user-agent it sends (recorded in the log).
   */
  log: { endpointSuffix: string; stream: boolean; userAgent?: string };
  /** A response that lacks this marker counts as a mismatch. */
  verifyBody: (body: string) => boolean;
  /** Also measure latency at a fixed rate below saturation (--rate), for both arms. */
  fixedRateLatency: boolean;
  /**
   * Targets from the task brief, checked and printed (not enforced: they depend on the machine). Throughput is
   * judged at saturation, the added p50 at the fixed rate.
   */
  target?: { minGatewayRequestsPerSecond: number; maxAddedP50Ms: number };
}

// Every request gets a plain text answer from the mock, even the tool-bearing Claude Code stream.
const mockScript = { "x-mock-script": JSON.stringify({ scenario: "text" }) };
const json = { "content-type": "application/json" };

/** The translated stream's user-agent: its rows share endpoint and stream flag with stream-claude-code's. */
export const translatedUserAgent = "tollgate-bench-translated/1";

/** The cache-hit workload's user-agent: its rows share endpoint and stream flag with small-anthropic's. */
export const cacheHitUserAgent = "tollgate-bench-cache-hit/1";

/** The Claude Code stream cache-hit workload's user-agent: its rows share endpoint and stream flag with stream-claude-code's. */
export const streamCacheHitUserAgent = "tollgate-bench-cache-hit-stream/1";

/** The "explain this function" cache-hit workload's user-agent: its rows share endpoint and stream flag with the others. */
export const explainCacheHitUserAgent = "tollgate-bench-cache-hit-explain/1";

/** The "explain this function" passthrough workload's user-agent. */
export const explainUserAgent = "tollgate-bench-explain/1";

/** The governed workload's user-agent: its rows share endpoint and stream flag with small-anthropic's. */
export const governedUserAgent = "tollgate-bench-governed/1";

export function buildWorkloads(selection: WorkloadSelection): Workload[] {
  const all: Array<[Workload["group"], () => Workload]> = [
    [
      "small",
      () => ({
        name: "small-anthropic",
        group: "small",
        description: "non-streaming Anthropic Messages, ~300 B body",
        connections: 32,
        probeRequests: 1000,
        body: Buffer.from(smallAnthropicBody()),
        headers: { ...json, ...mockScript, "x-api-key": "bench-key", "anthropic-version": "2023-06-01" },
        directPath: "/v1/messages",
        gatewayPath: "/anthropic/v1/messages",
        log: { endpointSuffix: "/v1/messages", stream: false },
        verifyBody: (body) => body.includes('"usage"'),
        fixedRateLatency: true,
        target: { minGatewayRequestsPerSecond: 8000, maxAddedP50Ms: 1 },
      }),
    ],
    [
      "small",
      () => ({
        name: "small-openai",
        group: "small",
        description: "non-streaming OpenAI Chat Completions, ~300 B body",
        connections: 32,
        probeRequests: 1000,
        body: Buffer.from(smallOpenAIBody()),
        headers: { ...json, ...mockScript, authorization: "Bearer bench-key" },
        directPath: "/v1/chat/completions",
        gatewayPath: "/v1/chat/completions",
        log: { endpointSuffix: "/chat/completions", stream: false },
        verifyBody: (body) => body.includes('"usage"'),
        fixedRateLatency: true,
        target: { minGatewayRequestsPerSecond: 8000, maxAddedP50Ms: 1 },
      }),
    ],
    [
      "stream",
      () => {
        const request = claudeCodeRequest();
        return {
          name: "stream-claude-code",
          group: "stream",
          description: `streaming Anthropic Messages, Claude Code body (${Math.round(Buffer.byteLength(request.body) / 1000)} kB)`,
          connections: 8,
          probeRequests: 80,
          body: Buffer.from(request.body),
          headers: { ...json, ...mockScript, ...request.headers, authorization: "Bearer bench-key" },
          // Claude Code calls /v1/messages?beta=true (CLIENTS.md §1.2).
          directPath: "/v1/messages?beta=true",
          gatewayPath: "/anthropic/v1/messages?beta=true",
          log: { endpointSuffix: "/v1/messages", stream: true },
          verifyBody: (body) => body.includes("message_stop"),
          fixedRateLatency: false,
        };
      },
    ],
    [
      "stream",
      () => {
        const request = claudeCodeRequest();
        // The same Claude Code turn, for a model the gateway serves through OpenAI Chat Completions: the whole
        // request and stream are translated (issue 4's target: ≤ 2× the passthrough stream's gateway CPU).
        const body = JSON.parse(request.body) as Record<string, unknown>;
        body.model = "openai/gpt-4.1";
        const translated = JSON.stringify(body);
        return {
          name: "stream-claude-code-translated",
          group: "stream",
          description: `the Claude Code stream translated to OpenAI Chat Completions (${Math.round(Buffer.byteLength(translated) / 1000)} kB)`,
          connections: 8,
          probeRequests: 80,
          body: Buffer.from(translated),
          headers: {
            ...json,
            ...mockScript,
            ...request.headers,
            authorization: "Bearer bench-key",
            "user-agent": translatedUserAgent,
          },
          // Direct arm: the same turn as the passthrough stream (the reference the gateway arm is compared with).
          directPath: "/v1/messages?beta=true",
          gatewayPath: "/anthropic/v1/messages?beta=true",
          log: { endpointSuffix: "/v1/messages", stream: true, userAgent: translatedUserAgent },
          verifyBody: (body) => body.includes("message_stop"),
          fixedRateLatency: false,
        };
      },
    ],
    [
      "governed",
      () => ({
        name: "small-anthropic-governed",
        group: "governed",
        description: "small-anthropic's request with a virtual key (1 budget, 1 rpm and 1 concurrency limit)",
        connections: 32,
        probeRequests: 1000,
        body: Buffer.from(smallAnthropicBody()),
        // The keyed arms replace x-api-key with the virtual key's secret (governed.ts); the anonymous arm sends this.
        headers: {
          ...json,
          ...mockScript,
          "x-api-key": "bench-key",
          "anthropic-version": "2023-06-01",
          "user-agent": governedUserAgent,
        },
        directPath: "/v1/messages",
        gatewayPath: "/anthropic/v1/messages",
        log: { endpointSuffix: "/v1/messages", stream: false, userAgent: governedUserAgent },
        verifyBody: (body) => body.includes('"usage"'),
        fixedRateLatency: false,
      }),
    ],
    [
      "cache",
      () => ({
        name: "small-anthropic-cache-hit",
        group: "cache",
        description:
          "small-anthropic's request with x-tollgate-cache: exact (the probe's first request fills the entry)",
        connections: 32,
        probeRequests: 1000,
        body: Buffer.from(smallAnthropicBody()),
        headers: {
          ...json,
          ...mockScript,
          "x-api-key": "bench-key",
          "anthropic-version": "2023-06-01",
          "x-tollgate-cache": "exact",
          "user-agent": cacheHitUserAgent,
        },
        directPath: "/v1/messages",
        gatewayPath: "/anthropic/v1/messages",
        log: { endpointSuffix: "/v1/messages", stream: false, userAgent: cacheHitUserAgent },
        verifyBody: (body) => body.includes('"usage"'),
        fixedRateLatency: false,
      }),
    ],
    [
      "cache",
      () => {
        // A coding agent's real request: the 519 kB Claude Code turn, streamed, answered from the exact cache
        // (replayed as a stream); compared with the same stream passed through (stream-claude-code).
        const request = claudeCodeRequest();
        return {
          name: "stream-claude-code-cache-hit",
          group: "cache",
          description: `stream-claude-code's request with x-tollgate-cache: exact (${Math.round(Buffer.byteLength(request.body) / 1000)} kB)`,
          connections: 8,
          probeRequests: 80,
          body: Buffer.from(request.body),
          headers: {
            ...json,
            ...mockScript,
            ...request.headers,
            authorization: "Bearer bench-key",
            "x-tollgate-cache": "exact",
            "user-agent": streamCacheHitUserAgent,
          },
          directPath: "/v1/messages?beta=true",
          gatewayPath: "/anthropic/v1/messages?beta=true",
          log: { endpointSuffix: "/v1/messages", stream: true, userAgent: streamCacheHitUserAgent },
          verifyBody: (body) => body.includes("message_stop"),
          fixedRateLatency: false,
        };
      },
    ],
    ["cache", () => explainWorkload("stream-explain", explainUserAgent, {})],
    [
      "cache",
      () => explainWorkload("stream-explain-cache-hit", explainCacheHitUserAgent, { "x-tollgate-cache": "exact" }),
    ],
  ];
  // `--workload cache` also runs the passthroughs the hits' CPU is compared with (small-anthropic, stream-claude-code).
  const passthroughs = new Set([0, all.findIndex(([group]) => group === "stream")]);
  const wanted = (group: Workload["group"], index: number) =>
    selection === "all" || group === selection || (selection === "cache" && passthroughs.has(index));
  // Filter before building: the Claude Code body takes ~100 ms to generate.
  return all.filter(([group], i) => wanted(group, i)).map(([, make]) => make());
}

/**
 * "Explain this function", streamed: ~5 kB in, a 300-word answer out, one word per event 1 ms apart, the way a
 * provider streams tokens as it generates them (the other workloads get their whole stream in one write). Passed
 * through, the gateway reads, meters and relays every event; on a hit it writes the replay at once.
 */
function explainWorkload(
  name: "stream-explain" | "stream-explain-cache-hit",
  userAgent: string,
  extraHeaders: Record<string, string>,
): Workload {
  const body = explainBody();
  const hit = name === "stream-explain-cache-hit";
  return {
    name,
    group: "cache",
    description: hit
      ? "stream-explain's request with x-tollgate-cache: exact"
      : `streaming Anthropic Messages, "explain this function" (${Math.round(Buffer.byteLength(body) / 1000)} kB in, 300 words out, one per event, 1 ms apart)`,
    connections: 32,
    probeRequests: 64,
    body: Buffer.from(body),
    headers: {
      ...json,
      "x-mock-script": JSON.stringify({ scenario: "text", text: explainAnswer(), chunkDelayMs: 1 }),
      "x-api-key": "bench-key",
      "anthropic-version": "2023-06-01",
      "user-agent": userAgent,
      ...extraHeaders,
    },
    directPath: "/v1/messages",
    gatewayPath: "/anthropic/v1/messages",
    log: { endpointSuffix: "/v1/messages", stream: true, userAgent },
    verifyBody: (text) => text.includes("message_stop"),
    fixedRateLatency: false,
  };
}
