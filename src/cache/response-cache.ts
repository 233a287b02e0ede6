import { createHash } from "node:crypto";
import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { CacheConfig } from "../config/load.ts";
import type { Dialect } from "../dialects/dialect.ts";
import { SseFramer } from "../dialects/shared/sse-framer.ts";
import type { VirtualKeySnapshot } from "../governance/entities/index.ts";
import { peekTopLevel } from "../json/peek.ts";
import type { CallState } from "../pipeline/call-state.ts";
import type { RouteSpec } from "../pipeline/ingress.ts";
import { formatUsd } from "../pipeline/money.ts";
import type { Relay } from "../pipeline/relay-body.ts";
import type { GatewayRuntime } from "../pipeline/runtime.ts";
import { failBeforeUpstream, finish } from "../pipeline/settle.ts";
import type { Operation } from "../providers/endpoints.ts";
import type { CanonicalResponse, CanonicalStreamEvent, ChatDialect } from "../translate/canonical.ts";
import { clientTranslatorFor, isChatDialect, translatorFor } from "../translate/index.ts";
import { accumulateStream } from "./accumulate.ts";
import { cacheModeOf } from "./enablement.ts";
import { exactKey as exactKeyOf } from "./exact-key.ts";
import { FastKeys, fastKeyOf } from "./fast-key.ts";
import { embed, semanticQuery } from "./semantic.ts";
import { SemanticLayer, semanticGroup } from "./semantic-layer.ts";
import { type CacheEntry, entryId, type PurgeFilter, type ResponseCacheStore } from "./store.ts";
import { synthesiseEvents } from "./synthesise.ts";

/** The exact response cache: its store and the configured defaults. */
export class ResponseCache {
  readonly store: ResponseCacheStore;
  readonly config: CacheConfig;
  /** The semantic layer's per-process index, kept in step with `store` (semantic-layer.ts); null when not configured. */
  readonly semantic: SemanticLayer | null;
  /** Raw-bytes keys of bodies already keyed canonically (fast-key.ts). */
  readonly fastKeys = new FastKeys();
  readonly #pending = new Set<Promise<void>>();

  /**
   * `indexDir`: where the semantic index is saved when this process owns the store (null: a shared store, rebuilt
   * from it). `pollMs`: how often a shared store's changes are read.
   */
  constructor(
    store: ResponseCacheStore,
    config: CacheConfig,
    options: { indexDir?: string | null; warn?: (message: string) => void; pollMs?: number } = {},
  ) {
    this.store = store;
    this.config = config;
    const warn = options.warn ?? (() => {});
    this.semantic = config.semantic
      ? new SemanticLayer(store, {
          dir: options.indexDir ?? null,
          warn,
          ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
        })
      : null;
  }

  /**
   * Stores off the request path; a failing store only warns (the answer was already sent). An entry with a vector
   * is indexed at once; entries the store evicted or found expired leave the index.
   */
  save(entry: CacheEntry, warn: (message: string) => void): void {
    if (entry.semantic && this.semantic) {
      this.semantic.index.add(entry.semantic.group, entry.semantic.vector, {
        id: entryId(entry.scope, entry.namespace, entry.exactKey),
        exactKey: entry.exactKey,
      });
    }
    const p = this.store
      .put(entry, this.config.maxEntries)
      .then((removed) => {
        for (const id of removed) this.semantic?.index.remove(id);
      })
      .catch((err: Error) => warn(`response cache unavailable (store): ${err.message}`))
      .finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  /** Deletes matching entries, and forgets their vectors. */
  async purge(filter: PurgeFilter): Promise<number> {
    const n = await this.store.purge(filter);
    await this.semantic?.reconcile();
    return n;
  }

  /** Waits for pending stores, saves the semantic index, closes the store. */
  async close(): Promise<void> {
    await this.idle();
    await this.semantic?.close();
    await this.store.close();
  }

  /** Resolves once every store started so far has finished (tests; shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.#pending]);
  }
}

/** A request the cache may answer or store: where its entry lives. */
export interface CacheProbe {
  cache: ResponseCache;
  exactKey: string;
  scope: string;
  namespace: string;
  ttlSeconds: number;
  /** The client's body, parsed (the reply translator may depend on it), and as received (the loop guard's digest). */
  clientBody: unknown;
  raw: Buffer;
  clientDialect: ChatDialect;
  stream: boolean;
  clientModel: string;
  /** The cached entry, when there is one. */
  entry: CacheEntry | null;
  /** Which layer found `entry`. */
  hit: "exact" | "semantic";
  /** The semantic hit's cosine similarity. */
  similarity: number | null;
  /** Set when the semantic layer applies: where a stored answer's vector goes. */
  semantic: { group: string; vector: Float32Array } | null;
}

const GENERATE_OPS: ReadonlySet<Operation> = new Set<Operation>([
  "messages",
  "chat",
  "responses",
  "generateContent",
  "streamGenerateContent",
]);

/**
 * Looks the request up: null when the cache does not apply (off, not a generation, Bedrock, unreadable body, store
 * down — the call then simply goes upstream); else the probe, with `entry` set on a hit.
 */
export async function probeCache(
  rt: GatewayRuntime,
  input: {
    spec: RouteSpec;
    headers: IncomingHttpHeaders;
    url: string;
    raw: Buffer;
    clientModel: string;
    stream: boolean;
    upstreamModel: string;
    providerKind: string;
    key: VirtualKeySnapshot | null;
  },
): Promise<CacheProbe | null> {
  const cache = rt.cache;
  if (!cache) return null;
  const mode = cacheModeOf(input.headers, input.key, cache.config);
  if (mode === "off") return null;
  const { spec } = input;
  const dialect = spec.dialect;
  if (!isChatDialect(dialect) || !GENERATE_OPS.has(spec.op) || spec.eventStream || input.providerKind === "bedrock")
    return null;
  // Gemini's non-SSE stream is one JSON array: replay speaks SSE only.
  if (spec.dialect === "gemini" && input.stream && !input.url.includes("alt=sse")) return null;
  const ttlHeader = Number(header(input.headers, "x-tollgate-cache-ttl"));
  const ttlSeconds = Number.isInteger(ttlHeader) && ttlHeader > 0 ? ttlHeader : cache.config.ttlSeconds;
  const scope = scopeOf(input.key, cache.config.share, input.headers);
  const namespace = (header(input.headers, "x-tollgate-cache-key") ?? "").slice(0, 200);
  const probeOf = (exactKey: string, clientBody: unknown, entry: CacheEntry | null): CacheProbe => ({
    cache,
    exactKey,
    scope,
    namespace,
    ttlSeconds,
    clientBody,
    raw: input.raw,
    clientDialect: dialect,
    stream: input.stream,
    clientModel: input.clientModel,
    entry,
    hit: "exact",
    similarity: null,
    semantic: null,
  });
  // Fast path: a body seen before byte for byte (volatile fields aside) finds its canonical key without being decoded.
  // Responses replies echo request options, so that dialect always takes the full path.
  const fast = fastKeyOf(dialect, input.raw, input.upstreamModel);
  const known = fast === null || dialect === "openai-responses" ? undefined : cache.fastKeys.get(fast);
  if (known !== undefined) {
    try {
      const entry = await cache.store.get(scope, namespace, known, rt.clock.now());
      if (entry) return probeOf(known, topLevelFields(input.raw), entry);
    } catch (err) {
      rt.warn(`response cache unavailable (lookup): ${(err as Error).message}`);
      return null;
    }
  }
  let clientBody: unknown;
  let exactKey: string;
  try {
    clientBody = JSON.parse(input.raw.toString("utf8"));
    exactKey = exactKeyOf(dialect, clientBody, input.upstreamModel);
  } catch {
    return null;
  }
  if (fast !== null) cache.fastKeys.set(fast, exactKey);
  const probe = probeOf(exactKey, clientBody, null);
  try {
    probe.entry = await cache.store.get(probe.scope, probe.namespace, exactKey, rt.clock.now());
  } catch (err) {
    rt.warn(`response cache unavailable (lookup): ${(err as Error).message}`);
    return null;
  }
  const semantic = cache.config.semantic;
  const layer = cache.semantic;
  if (probe.entry || mode !== "semantic" || !semantic || !layer) return probe;
  const query = semanticQuery(dialect, clientBody, input.upstreamModel, semantic);
  if (!query) return probe;
  const thresholdHeader = Number(header(input.headers, "x-tollgate-cache-threshold"));
  const threshold = thresholdHeader > 0 && thresholdHeader <= 1 ? thresholdHeader : semantic.threshold;
  try {
    const vector = await embed(rt.registry, semantic.embeddingModel, query.text);
    const group = semanticGroup(probe.scope, probe.namespace, query.contextKey);
    probe.semantic = { group, vector };
    // Nearest first; a neighbour whose entry expired or was evicted elsewhere leaves the index, and the next is tried.
    for (const near of layer.nearest(group, vector, threshold)) {
      const entry = await cache.store.get(probe.scope, probe.namespace, near.exactKey, rt.clock.now());
      if (!entry) {
        layer.index.remove(near.id);
        continue;
      }
      probe.entry = entry;
      probe.hit = "semantic";
      probe.similarity = near.similarity;
      break;
    }
  } catch (err) {
    rt.warn(`response cache: semantic layer skipped: ${(err as Error).message}`);
  }
  return probe;
}

/** Anonymous callers' scopes by credential: a hash per request costs more than the lookup (bounded, cleared whole). */
const anonymousScopes = new Map<string, string>();

/**
 * Who may read an entry: the virtual key by default; its team or customer when configured (the customer always in
 * the scope, so nothing crosses customers). Anonymous callers are scoped by their own credential.
 */
export function scopeOf(
  key: VirtualKeySnapshot | null,
  share: CacheConfig["share"],
  headers: IncomingHttpHeaders,
): string {
  if (!key) {
    const credential =
      header(headers, "authorization") ?? header(headers, "x-api-key") ?? header(headers, "x-goog-api-key") ?? "";
    let scope = anonymousScopes.get(credential);
    if (scope === undefined) {
      scope = `anon:${createHash("sha256").update(credential).digest("hex").slice(0, 32)}`;
      if (anonymousScopes.size >= 1000) anonymousScopes.clear();
      anonymousScopes.set(credential, scope);
    }
    return scope;
  }
  const customer = key.customer ? `customer:${key.customer.id}` : "customer:-";
  if (share === "customer" && key.customer) return customer;
  if (share === "team" && key.team) return `${customer}/team:${key.team.id}`;
  return `${customer}/key:${key.id}`;
}

/**
 * Answers a hit: counts it against rate limits and the session's request cap and loop guard (never against budgets
 * or spend caps), replays the stored response in the client's dialect with fresh ids, and logs a row costing 0 that
 * names the saving and the original request. The row's token counts stay 0: they are what a provider billed (the
 * original row has the served tokens), so token metrics, token rate windows and prompt-cache savings stay true.
 */
export async function replayHit(
  rt: GatewayRuntime,
  state: CallState,
  res: ServerResponse,
  probe: CacheProbe,
  key: VirtualKeySnapshot | null,
  provider: string,
  upstreamModel: string,
): Promise<void> {
  const entry = probe.entry as CacheEntry;
  try {
    const limits = rt.rates.applicable(rt.governance, key, provider, upstreamModel);
    if (limits.length > 0) state.ticket = await rt.rates.admit(limits, state.record.id, 0);
    // A hit is still the agent's request: the session's request cap and loop guard count it (an agent looping on a
    // cached answer is still looping); its spend cap does not (a hit costs nothing).
    if (key?.sessionCaps && state.record.sessionId) {
      await rt.sessions.admit(key, state.record.sessionId, probe.raw, state.record.id, 0, { spend: false });
    }
  } catch (err) {
    failBeforeUpstream(rt, state, res, err);
    return;
  }
  const response = freshIds(entry.response, probe.clientDialect, state.record.id);
  const client = clientTranslatorFor(probe.clientDialect, probe.clientBody);
  const record = state.record;
  record.status = 200;
  record.servedModel = entry.response.model;
  record.costNanoUsd = 0;
  record.cacheHit = probe.hit;
  record.cacheSavedNanoUsd = entry.costNanoUsd;
  const saved = entry.costNanoUsd === null ? "unknown" : formatUsd(entry.costNanoUsd);
  const similarity = probe.similarity === null ? null : probe.similarity.toFixed(4);
  record.warnings = [
    ...record.warnings,
    `cache hit-${probe.hit}: saved $${saved}; source ${entry.requestId}${similarity ? `; similarity ${similarity}` : ""}`,
  ];
  const headers = {
    "x-tollgate-request-id": record.id,
    "x-tollgate-cost-usd": formatUsd(0),
    "x-tollgate-cache": `hit-${probe.hit}`,
    ...(similarity ? { "x-tollgate-cache-similarity": similarity } : {}),
    "x-tollgate-cache-source": entry.requestId,
    "x-tollgate-cache-saved-usd": saved,
  };
  if (res.destroyed) {
    record.status = 499;
    finish(rt, state);
    return;
  }
  if (probe.stream) {
    const mapper = client.canonicalToStream(probe.clientModel, { includeUsage: asksUsage(probe.clientBody) });
    let s = mapper.initial();
    const out: string[] = [];
    for (const event of synthesiseEvents(response)) {
      const step = mapper.step(s, event);
      s = step.state;
      out.push(...step.out);
    }
    out.push(...mapper.finish(s));
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      ...headers,
    });
    res.end(out.join(""));
  } else {
    const body = JSON.stringify(client.canonicalToResponse(response, probe.clientModel));
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers });
    res.end(body);
  }
  finish(rt, state);
}

/**
 * Wraps a relay so a complete, successful upstream reply is also stored: the upstream bytes are decoded in the
 * provider's dialect (whole body, or SSE through its stream reducer) after the relay finished with status 200 and
 * no error. `lowered`: the budget shortened max_tokens, so the answer is not the one the request asked for.
 */
export function captureRelay(
  rt: GatewayRuntime,
  state: CallState,
  probe: CacheProbe,
  upstreamDialect: Dialect,
  upstream: { status: number; headers: IncomingHttpHeaders; stream: boolean },
  lowered: number | null,
  inner: Relay,
): Relay {
  const ct = upstream.headers["content-type"];
  const sse = typeof ct === "string" && ct.includes("text/event-stream");
  const usable =
    upstream.status === 200 && lowered === null && isChatDialect(upstreamDialect) && (upstream.stream ? sse : !sse);
  const chunks: Buffer[] = [];
  let bytes = 0;
  const limit = 8 * 1024 * 1024;
  return {
    onData(chunk) {
      if (usable && bytes <= limit) {
        chunks.push(chunk);
        bytes += chunk.length;
      }
      return inner.onData(chunk);
    },
    onEnd() {
      inner.onEnd();
      const r = state.record;
      if (!usable || bytes > limit || r.status !== 200 || r.errorCode !== null) return;
      const response = decode(upstreamDialect as ChatDialect, Buffer.concat(chunks), upstream.stream);
      if (response === null || !cacheable(response)) return;
      const now = rt.clock.now();
      const entry: CacheEntry = {
        exactKey: probe.exactKey,
        scope: probe.scope,
        namespace: probe.namespace,
        requestId: r.id,
        response,
        costNanoUsd: r.costNanoUsd,
        createdAt: now,
        expiresAt: now + probe.ttlSeconds * 1000,
        ...(probe.semantic ? { semantic: probe.semantic } : {}),
      };
      probe.cache.save(entry, rt.warn);
    },
    onError: (err) => inner.onError(err),
    clientGone: () => inner.clientGone(),
  };
}

/** Only answers that ended on their own: not refused, paused, errored or of unknown end. */
function cacheable(response: CanonicalResponse): boolean {
  const u = response.stop.unified;
  return u === "end" || u === "stop-sequence" || u === "tool-calls" || u === "max-tokens";
}

function decode(dialect: ChatDialect, buf: Buffer, stream: boolean): CanonicalResponse | null {
  try {
    const translator = translatorFor(dialect);
    if (!stream) return translator.responseToCanonical(JSON.parse(buf.toString("utf8")));
    const mapper = translator.streamToCanonical();
    let s = mapper.initial();
    const events: CanonicalStreamEvent[] = [];
    const framer = new SseFramer((event, data) => {
      const step = mapper.step(s, { event, data });
      s = step.state;
      events.push(...step.out);
    });
    framer.push(buf);
    framer.end();
    events.push(...mapper.finish(s));
    return accumulateStream(events);
  } catch {
    return null;
  }
}

/**
 * A replay's ids are its own: a message id and tool-call ids derived from this request's id (a UUIDv7, unique per
 * request — no random draw per replay), so results refer to the new calls and the ids lead to the hit's log row.
 */
function freshIds(response: CanonicalResponse, dialect: ChatDialect, requestId: string): CanonicalResponse {
  const hex = requestId.replaceAll("-", "");
  const id =
    dialect === "anthropic"
      ? `msg_${hex}`
      : dialect === "openai-chat"
        ? `chatcmpl-${hex}`
        : dialect === "openai-responses"
          ? `resp_${hex}`
          : hex;
  let call = 0;
  const content = response.content.map((p) =>
    p.type === "tool-call" ? { ...p, id: `${dialect === "anthropic" ? "toolu" : "call"}_${hex}_${call++}` } : p,
  );
  return { ...response, id, content };
}

/**
 * What a fast-path hit's replay reads of the client body (a Chat client's `stream_options`), from the top level
 * alone: the rest of the body is never decoded.
 */
function topLevelFields(raw: Buffer): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, [start, end]] of peekTopLevel(raw, REPLAY_FIELDS) ?? []) {
    try {
      out[name] = JSON.parse(raw.toString("utf8", start, end));
    } catch {
      // An unreadable value reads as absent.
    }
  }
  return out;
}

const REPLAY_FIELDS: ReadonlySet<string> = new Set(["stream_options"]);

function asksUsage(json: unknown): boolean {
  if (typeof json !== "object" || json === null) return false;
  const options = (json as { stream_options?: unknown }).stream_options;
  return (
    typeof options === "object" && options !== null && (options as { include_usage?: unknown }).include_usage === true
  );
}

function header(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name];
  return typeof v === "string" && v !== "" ? v : null;
}
