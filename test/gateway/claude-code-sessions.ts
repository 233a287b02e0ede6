import Anthropic from "@anthropic-ai/sdk";

// The Claude-Code-shaped budget traffic shared by budget-concurrency.test.ts (gateways in this process) and
// gateway-processes.test.ts (real `tollgate start` processes): 20 sessions of growing, mostly cached ~500 KB turns,
// and how their refusals and cuts are read.
// Issue acceptance 1: Claude-Code-shaped traffic (streaming, max_tokens 64000, ~500 KB bodies served mostly from the
// prompt cache) from 20 concurrent sessions against a $5 budget. claude-sonnet-4-6 is priced as claude-sonnet-4-5
// (which the SDK warns about on every call): up to 200k input tokens, $3 input, $15 output, $0.30 cache read, $3.75
// cache write (5 min) per million tokens. A turn of ~125k prompt tokens costs ≈ $0.037 cache read + $0.0075 cache
// write + 100–3000 output tokens ($0.0015–$0.045): ~75 turns drain $5.
export const NANO = 1_000_000_000;
export const LIMIT_NANO = 5 * NANO;
export const GRANULARITY_NANO = 10_000_000; // the default top-up step (1¢)
export const SESSIONS = 20;
/** The stated bound: committed ≤ limit + granularity × streams in flight (at most one per session). */
export const BOUND_NANO = LIMIT_NANO + GRANULARITY_NANO * SESSIONS;
/** "Requests keep being admitted until less than 2 % of the budget is left." */
export const LEFT_NANO = LIMIT_NANO / 50;

export const MODEL = "claude-sonnet-4-6";
export const MAX_TOKENS = 64_000;
/** Prompt bytes before the first turn (plus a little per session) and the growth per turn (≈ 2,000 tokens). */
export const BASE_BYTES = 440_000;
export const GROWTH_BYTES = 8_000;
export const GROWTH_TOKENS = GROWTH_BYTES / 4;
export const MIN_WORDS = 100;
export const MAX_WORDS = 3_000;
/**
 * Sessions arrive over time: each ARRIVAL_MS after the previous one, and with at most COLD sessions waiting for the
 * start of their first answer, so that a slow machine does not pile up first requests (their estimate cannot know
 * the prompt cache yet: input ~$0.38 instead of ~$0.05 until the provider reports it). They think a little between
 * turns, and back off briefly after a refusal or a cut.
 */
export const ARRIVAL_MS = 20;
export const COLD = 4;
export const THINK_MS = 20;
export const BACKOFF_MS = 30;
export const RETRIES = 3;

// One filler string, sliced per turn: building 500 KB of text per request would cost more than the request.
export const FILLER = (() => {
  const words = ["const", "return", "function", "import", "export", "await", "value", "result", "error", "index"];
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length < BASE_BYTES + 200 * GROWTH_BYTES; i++) {
    const word = words[(i * 7 + (i >> 3)) % words.length] ?? "x";
    parts.push(word);
    length += word.length + 1;
  }
  return parts.join(" ");
})();
export const SYSTEM = "You are Claude Code, Anthropic's official CLI for Claude. ".repeat(40);

/** mulberry32: the same traffic on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Where one session sends its requests. */
export interface Lane {
  /** Any gateway (in process or a child process): its URL, and a name for messages when there are several. */
  gateway: { url: string; name?: string };
  secret: string;
}

export interface Traffic {
  /** Streams that ran to their end. */
  completed: number;
  /** … of which stopped at max_tokens (the lowered cap reached the upstream, which honoured it). */
  stoppedAtMaxTokens: number;
  /** Streams cut by the gateway: the budget message of each. */
  cuts: string[];
  /** 402 refusals: the message of each. */
  refusals: string[];
  /** Anything else: must stay empty. */
  unexpected: string[];
  /** Most requests in flight at once, and the mean over time while any was. */
  maxInFlight: number;
  meanInFlight: number;
}

/** 20 sessions, each sending its turns one after another until the budget refuses it RETRIES + 1 times running. */
export async function runSessions(laneOf: (session: number, attempt: number) => Lane, seed: number): Promise<Traffic> {
  const traffic: Traffic = {
    completed: 0,
    stoppedAtMaxTokens: 0,
    cuts: [],
    refusals: [],
    unexpected: [],
    maxInFlight: 0,
    meanInFlight: 0,
  };
  let inFlight = 0;
  let area = 0;
  let busy = 0;
  let last = performance.now();
  const track = (delta: number) => {
    const now = performance.now();
    if (inFlight > 0) {
      area += inFlight * (now - last);
      busy += now - last;
    }
    last = now;
    inFlight += delta;
    traffic.maxInFlight = Math.max(traffic.maxInFlight, inFlight);
  };
  const started = Array.from({ length: SESSIONS }, () => Promise.withResolvers<void>());
  const arrived = Array.from({ length: SESSIONS }, () => Promise.withResolvers<void>());
  const session = async (index: number) => {
    const rng = prng(seed * 1000 + index);
    await started[index - 1]?.promise;
    await sleep(ARRIVAL_MS);
    await arrived[index - COLD]?.promise;
    started[index]?.resolve();
    let turn = 0;
    let strikes = 0;
    const clients = new Map<Lane["gateway"], Anthropic>();
    for (let attempt = 0; strikes <= RETRIES; attempt++) {
      const lane = laneOf(index, attempt);
      const client =
        clients.get(lane.gateway) ??
        new Anthropic({
          apiKey: lane.secret,
          baseURL: `${lane.gateway.url}/anthropic`,
          maxRetries: 0,
          defaultHeaders: { "x-claude-code-session-id": `session-${seed}-${index}` },
        });
      clients.set(lane.gateway, client);
      const prompt = `session ${index}: ${FILLER.slice(0, BASE_BYTES + index * 1_000 + turn * GROWTH_BYTES)}`;
      const body = {
        model: MODEL,
        max_tokens: MAX_TOKENS,
        stream: true as const,
        system: SYSTEM,
        messages: [{ role: "user" as const, content: prompt }],
      };
      // The prompt is the previous turn (read from the cache) plus this turn's growth (written to it).
      const tokens = Math.ceil(Buffer.byteLength(JSON.stringify(body)) / 4);
      const words = MIN_WORDS + Math.floor(rng() * (MAX_WORDS - MIN_WORDS + 1));
      const script = {
        scenario: "text",
        text: "ok ".repeat(words).trimEnd(),
        chunkDelayMs: 1 + Math.floor(rng() * 3),
        usage: {
          input_tokens: 50,
          cache_read_input_tokens: tokens - 50 - GROWTH_TOKENS,
          cache_creation_input_tokens: GROWTH_TOKENS,
          cache_creation: { ephemeral_5m_input_tokens: GROWTH_TOKENS, ephemeral_1h_input_tokens: 0 },
        },
      };
      track(1);
      try {
        const stream = await client.messages.create(body, { headers: { "x-mock-script": JSON.stringify(script) } });
        let stop: string | null = null;
        for await (const event of stream) {
          arrived[index]?.resolve();
          if (event.type === "message_delta") stop = event.delta.stop_reason;
        }
        track(-1);
        traffic.completed++;
        if (stop === "max_tokens") traffic.stoppedAtMaxTokens++;
        turn++;
        strikes = 0;
        await sleep(rng() * THINK_MS);
      } catch (err) {
        arrived[index]?.resolve();
        track(-1);
        const status = err instanceof Anthropic.APIError ? err.status : undefined;
        const message = err instanceof Error ? err.message : String(err);
        if (status === 402) traffic.refusals.push(message);
        else if (/Budget .* exhausted.*cut short/s.test(message)) traffic.cuts.push(message);
        else {
          const where = lane.gateway.name === undefined ? "" : `${lane.gateway.name} `;
          traffic.unexpected.push(`${where}${status ?? "stream"}: ${message.slice(0, 300)}`);
        }
        strikes++;
        await sleep(BACKOFF_MS);
      }
    }
  };
  await Promise.all(Array.from({ length: SESSIONS }, (_, i) => session(i)));
  traffic.meanInFlight = busy > 0 ? area / busy : 0;
  return traffic;
}

export const usd = (nano: number) => `$${(nano / NANO).toFixed(4)}`;

/**
 * What a refusal or a cut said about its budget: "$X spent and $Y held by requests in flight [(this response
 * included)] of its $L … limit".
 */
export interface Standing {
  /** limit − spent − held: what admission could still reserve. */
  free: number;
  /** limit − spent: holds not counted (they are estimates, mostly given back when their requests settle). */
  unspent: number;
}

export function standingIn(message: string): Standing | null {
  const m = /\$([\d.]+) spent(?: and \$([\d.]+) held by requests in flight(?: \([^)]*\))?)? of its \$([\d.]+) /.exec(
    message,
  );
  if (!m) return null;
  const nano = (s: string | undefined) => Math.round(Number(s ?? "0") * NANO);
  return { free: nano(m[3]) - nano(m[1]) - nano(m[2]), unspent: nano(m[3]) - nano(m[1]) };
}

/** "Budget … is nearly exhausted: what is left buys N output tokens, fewer than the 256 a request needs." */
export const TOO_SMALL = /is nearly exhausted: .* what is left buys \d+ output tokens/;
