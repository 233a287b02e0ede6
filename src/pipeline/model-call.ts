import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import type { FastifyReply, FastifyRequest } from "fastify";
import { attributeSession } from "../attribution/session.ts";
import { type CacheProbe, captureRelay, probeCache, replayHit } from "../cache/response-cache.ts";
import type { Dialect } from "../dialects/dialect.ts";
import { GatewayError } from "../errors/catalog.ts";
import { authenticateRequest } from "../governance/authenticate.ts";
import { forwardableOwnCredential } from "../governance/credential-policy.ts";
import { checkKeyAccess, type VirtualKeySnapshot } from "../governance/entities/index.ts";
import { clientCredential, upstreamRequestHeaders } from "../passthrough/headers.ts";
import { upstreamFailure } from "../passthrough/upstream-errors.ts";
import { UpstreamExchange } from "../passthrough/upstream-exchange.ts";
import { eventStreamResponse } from "../providers/bedrock/event-stream-response.ts";
import { authHeaders, upstreamUrl } from "../providers/endpoints.ts";
import { dialectsOf, type Resolution } from "../providers/registry.ts";
import type { ProviderConfig } from "../providers/types.ts";
import { adaptUpstreamBody } from "../providers/upstream-body.ts";
import { applyModelAlias } from "../routing/aliases.ts";
import { type ChatDialect, isChatDialect, translationTarget } from "../translate/index.ts";
import { admit } from "./admission.ts";
import { bedrockCall } from "./bedrock-call.ts";
import { type CallState, newCallState } from "./call-state.ts";
import { countTokensCall, isCountOperation } from "./count-tokens.ts";
import { maxOutputTokens, type ParsedCall, parseModelCall, type RouteSpec } from "./ingress.ts";
import { capOutputTokens } from "./output-cap.ts";
import { prepareBody } from "./prepare-body.ts";
import { BodyRelay, type Relay } from "./relay-body.ts";
import { StreamRelay } from "./relay-stream.ts";
import type { GatewayRuntime } from "./runtime.ts";
import { failBeforeUpstream, settleClientGone } from "./settle.ts";
import {
  planTranslation,
  TranslatedBodyRelay,
  TranslatedStreamRelay,
  type TranslationPlan,
  translatedRequestHeaders,
} from "./translated-call.ts";

/**
 * Handles one model call end to end: ingress → resolve → pick a key → dispatch (passthrough) → relay the
 * response (streamed or whole) while metering it → settle (cost, log row). Resolves when the row is queued.
 */
export async function handleModelCall(
  rt: GatewayRuntime,
  spec: RouteSpec,
  req: FastifyRequest,
  reply: FastifyReply,
  pathModel: string | null,
): Promise<void> {
  reply.hijack();
  // Bedrock routes: SSE written by the pipeline reaches the client as an AWS event stream.
  const res = spec.eventStream ? eventStreamResponse(reply.raw, spec.eventStream) : reply.raw;
  // No content-type (or an empty body) leaves Fastify's body unset: treat it as empty, which ingress rejects.
  let raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const state = newCallState(rt, spec, req);
  let key: VirtualKeySnapshot | null;
  let parsed: ParsedCall;
  let resolution: Resolution;
  try {
    // Who is asking comes first: an unauthenticated request learns nothing about models or bodies.
    key = authenticateRequest(req.headers, req.url, rt.governance, {
      requirement: rt.config.requireKey,
      host: rt.config.host,
      now: state.record.startedAt,
    });
    if (key) attributeKey(state, key);
    const normalised = spec.normaliseBody?.(raw) ?? null;
    if (normalised !== null) {
      raw = normalised.raw;
      state.record.warnings = normalised.warnings;
    }
    parsed = parseModelCall(spec, raw, pathModel);
    state.record.requestedModel = parsed.model;
    state.record.stream = parsed.stream;
    Object.assign(state.record, attributeSession(req.headers, parsed.fields));
    // Aliases first (key → team → config file); the log keeps the model the client asked for, and the key's
    // allowed models are checked against the alias's target, the model actually served.
    const aliased = applyModelAlias(parsed.model, key?.aliases ?? null, rt.config.aliases);
    resolution = rt.registry.resolve(aliased.model, spec.dialect);
    if (key) {
      const access = checkKeyAccess(key, resolution.provider.name, resolution.upstreamModel);
      if (!access.ok) throw new GatewayError("TG_FORBIDDEN", access.message);
    }
  } catch (err) {
    failBeforeUpstream(rt, state, res, err);
    return;
  }
  const { provider } = resolution;
  state.provider = provider;
  state.upstreamModel = resolution.upstreamModel;
  state.record.provider = provider.name;

  let credentials = upstreamAuth(rt, state, req.headers, key);
  if (credentials instanceof Promise) {
    // Only the provider's first access token (or one that lapsed) is waited for; later ones are cached.
    try {
      credentials = await credentials;
    } catch (err) {
      failBeforeUpstream(rt, state, res, err);
      return;
    }
  }
  const auth = credentials;
  if (auth === null) {
    failBeforeUpstream(
      rt,
      state,
      res,
      new GatewayError("TG_NO_PROVIDER_KEY", `Provider "${provider.name}" has no API key configured.`),
    );
    return;
  }
  // The exact cache: a hit is answered here, before any budget is reserved (cache/response-cache.ts).
  const probe = await probeCache(rt, {
    spec,
    headers: req.headers,
    url: req.url,
    raw,
    clientModel: parsed.model,
    stream: parsed.stream,
    upstreamModel: resolution.upstreamModel,
    providerKind: provider.kind,
    key,
  });
  if (probe?.entry) return replayHit(rt, state, res, probe, key, provider.name, resolution.upstreamModel);
  try {
    await admit(rt, state, key, raw, {
      provider: provider.name,
      pricingProvider: provider.pricingId ?? provider.name,
      model: resolution.upstreamModel,
      requestBytes: raw.length,
      maxOutputTokens: maxOutputTokens(parsed),
      sessionId: state.record.sessionId,
      stream: parsed.stream,
    });
  } catch (err) {
    failBeforeUpstream(rt, state, res, err);
    return;
  }
  if (res.destroyed) {
    // Gone while admission waited for the counters: nothing was spent (settlement frees the holds).
    settleClientGone(rt, state, 0);
    return;
  }
  // The budget's remainder buys less than the client's max_tokens: ask the provider for no more than that.
  const lowered = state.hold?.loweredMaxOutputTokens ?? null;
  // Token counting for a provider of another dialect: its own counting API, translated, or an estimate.
  if (isCountOperation(spec.op) && !dialectsOf(provider, resolution.upstreamModel).includes(spec.dialect)) {
    return countTokensCall({ rt, state, req, res, spec, resolution, raw, auth, exchange });
  }
  if (provider.kind === "bedrock") {
    return bedrockCall({ rt, state, req, res, spec, parsed, resolution, raw, lowered, auth, exchange });
  }
  const origin = originOf(provider.baseUrl);
  const dialects = dialectsOf(provider, resolution.upstreamModel);
  const target = dialects.includes(spec.dialect) ? null : translationTarget(spec.dialect, dialects);
  if (target !== null && isChatDialect(spec.dialect)) {
    let plan: TranslationPlan;
    try {
      plan = planTranslation({
        clientDialect: spec.dialect,
        targetDialect: target,
        raw,
        clientModel: parsed.model,
        upstreamModel: resolution.upstreamModel,
        stream: parsed.stream,
        maxOutputTokens: lowered,
        provider: provider.name,
      });
    } catch (err) {
      failBeforeUpstream(rt, state, res, err);
      return;
    }
    state.record.upstreamDialect = target;
    state.record.warnings = [...state.record.warnings, ...plan.warnings];
    const url = upstreamUrl(provider, plan.op, resolution.upstreamModel, plan.search, undefined, plan.stream);
    const ua = req.headers["user-agent"];
    return exchange(rt, state, res, provider.name, raw.length, {
      request: {
        origin,
        path: url.slice(origin.length),
        method: "POST",
        headers: translatedRequestHeaders(
          target,
          plan.stream,
          provider.headers,
          auth,
          typeof ua === "string" ? ua : undefined,
        ),
        body: adaptUpstreamBody(provider, plan.op, resolution.upstreamModel, plan.body),
      },
      relay: (status, headers, controls) => {
        refusedToken(provider, auth, status);
        const relay =
          plan.stream && status < 300 && streamedReply(target, headers)
            ? new TranslatedStreamRelay(rt, state, plan, res, { requestBytes: raw.length, ...controls })
            : new TranslatedBodyRelay(rt, state, plan, res, { status, headers }, raw.length);
        return cached(rt, state, probe, target, { status, headers, stream: plan.stream }, lowered, relay);
      },
    });
  }
  const body = prepareBody(spec, raw, parsed, resolution.upstreamModel);
  if (lowered !== null) body.bytes = capOutputTokens(spec.dialect, body.bytes, lowered);
  body.bytes = adaptUpstreamBody(provider, spec.op, resolution.upstreamModel, body.bytes);
  const url = upstreamUrl(
    provider,
    spec.op,
    resolution.upstreamModel,
    upstreamSearch(req.url, spec.dialect),
    spec.apiVersion,
    parsed.stream,
  );
  return exchange(rt, state, res, provider.name, raw.length, {
    request: {
      origin,
      path: url.slice(origin.length),
      method: "POST",
      headers: upstreamRequestHeaders(req.headers, provider.headers, auth),
      body: body.bytes,
    },
    relay: (status, headers, controls) => {
      refusedToken(provider, auth, status);
      const relay = streamed(spec.dialect, parsed.stream, status, headers)
        ? new StreamRelay(
            rt,
            state,
            spec.dialect,
            res,
            { status, headers },
            { requestBytes: raw.length, injectedUsage: body.injectedUsage, ...controls },
          )
        : new BodyRelay(rt, state, spec, res, { status, headers }, raw.length);
      return cached(rt, state, probe, spec.dialect, { status, headers, stream: parsed.stream }, lowered, relay);
    },
  });
}

/** What a relay may ask of the exchange: resume a paused upstream, or stop it (a budget cut). */
interface ExchangeControls {
  resume: () => void;
  stop: () => void;
}

/**
 * Sends the upstream request and drives the relay `relay` builds for its reply; resolves when the call is over
 * (its row queued). The client leaving aborts the upstream call.
 */
function exchange(
  rt: GatewayRuntime,
  state: CallState,
  res: ServerResponse,
  providerName: string,
  requestBytes: number,
  call: {
    request: { origin: string; path: string; method: "POST"; headers: Record<string, string>; body: Buffer };
    relay: (status: number, headers: IncomingHttpHeaders, controls: ExchangeControls) => Relay;
  },
): Promise<void> {
  return new Promise<void>((resolve) => {
    let relay: Relay | null = null;
    let settled = false;
    const done = () => {
      settled = true;
      resolve();
    };
    // Upstream time (metrics): dispatch until the response ended, however it ended; set before the relay settles.
    const ended = () => {
      if (state.upstreamEnd === 0) state.upstreamEnd = performance.now();
    };
    const upstream = new UpstreamExchange({
      onStart(status, headers) {
        relay = call.relay(status, headers, {
          resume: () => upstream.resume(),
          stop: () => {
            ended();
            upstream.abort();
            done();
          },
        });
      },
      onData: (chunk) => relay?.onData(chunk) ?? true,
      onEnd() {
        ended();
        relay?.onEnd();
        done();
      },
      onError(err, started) {
        ended();
        if (started && relay) relay.onError(err);
        else failBeforeUpstream(rt, state, res, upstreamFailure(err, providerName));
        done();
      },
    });
    // The client leaving aborts the upstream call at once: no more tokens are generated (or billed) for nobody.
    res.once("close", () => {
      if (settled || res.writableFinished) return;
      ended();
      upstream.abort();
      if (relay) relay.clientGone();
      else settleClientGone(rt, state, requestBytes);
      done();
    });
    state.upstreamStart = performance.now();
    upstream.dispatch(rt.upstream, call.request);
  });
}

/** The relay, storing its reply in the exact cache when the request was probed (a miss). */
function cached(
  rt: GatewayRuntime,
  state: CallState,
  probe: CacheProbe | null,
  upstreamDialect: Dialect,
  upstream: { status: number; headers: IncomingHttpHeaders; stream: boolean },
  lowered: number | null,
  relay: Relay,
): Relay {
  return probe ? captureRelay(rt, state, probe, upstreamDialect, upstream, lowered, relay) : relay;
}

/** A translated reply is streamed when the provider answered with SSE (Gemini may answer a JSON array). */
function streamedReply(target: ChatDialect, headers: IncomingHttpHeaders): boolean {
  if (target !== "gemini") return true;
  const ct = headers["content-type"];
  return typeof ct === "string" && ct.includes("text/event-stream");
}

/** Answers a model call with an error found before the pipeline ran (body too large, bad route …); logs a row. */
export async function rejectModelCall(
  rt: GatewayRuntime,
  spec: RouteSpec,
  req: FastifyRequest,
  reply: FastifyReply,
  err: GatewayError,
): Promise<void> {
  reply.hijack();
  failBeforeUpstream(rt, newCallState(rt, spec, req), reply.raw, err);
}

/**
 * Upstream credentials: the developer's own credential when their key's policy forwards it; else the provider's
 * key (rotating); else, anonymously, the client's own credential (bring your own key); else none for keyless local
 * servers. Null: nothing usable.
 */
function upstreamAuth(
  rt: GatewayRuntime,
  state: CallState,
  headers: IncomingHttpHeaders,
  key: VirtualKeySnapshot | null,
): Record<string, string> | Promise<Record<string, string>> | null {
  const provider = state.provider;
  if (!provider) return null;
  const own = clientCredential(headers);
  const forwarded = key ? forwardableOwnCredential(key.credentialPolicy, own) : null;
  if (forwarded) {
    state.record.providerKeyId = "client";
    return forwarded;
  }
  const tokens = provider.tokenAuth;
  if (tokens) {
    state.record.providerKeyId = tokens.id;
    const token = tokens.token();
    if (typeof token === "string") return authHeaders(provider, token);
    return token.then(
      (t) => authHeaders(provider, t),
      (err: unknown) => {
        throw new GatewayError(
          "TG_PROVIDER_AUTH",
          `Provider "${provider.name}" could not get an access token: ${err instanceof Error ? err.message : String(err)}`,
        );
      },
    );
  }
  const providerKey = rt.registry.nextKey(provider);
  if (providerKey) {
    state.record.providerKeyId = providerKey.id;
    return authHeaders(provider, providerKey.secret);
  }
  if (own && !key) {
    state.record.providerKeyId = "client";
    return own;
  }
  return provider.keyOptional ? {} : null;
}

/** A minted access token the upstream refused (401) is replaced off the request path; requests keep going meanwhile. */
function refusedToken(provider: ProviderConfig, auth: Record<string, string>, status: number): void {
  const bearer = auth.authorization;
  if (status === 401 && provider.tokenAuth && bearer?.startsWith("Bearer "))
    provider.tokenAuth.rejected(bearer.slice(7));
}

/** Spend is attributed to the key and, as they were at request time, its team, customer and developer. */
function attributeKey(state: CallState, key: VirtualKeySnapshot): void {
  state.record.virtualKeyId = key.id;
  state.record.teamId = key.team?.id ?? null;
  state.record.customerId = key.customer?.id ?? null;
  state.record.developerId = key.developer?.id ?? null;
}

/** Relay as a stream? Only successful replies to stream requests; Gemini's non-SSE stream is one JSON array. */
function streamed(dialect: Dialect, stream: boolean, status: number, headers: IncomingHttpHeaders): boolean {
  if (!stream || status >= 300) return false;
  if (dialect !== "gemini") return true;
  const ct = headers["content-type"];
  return typeof ct === "string" && ct.includes("text/event-stream");
}

/**
 * `scheme://host[:port]` of a base URL, cut from the string itself (no URL parse per request); upstream URLs
 * start with their provider's base URL, so the rest is the path.
 */
function originOf(baseUrl: string): string {
  const slash = baseUrl.indexOf("/", baseUrl.indexOf("://") + 3);
  return slash < 0 ? baseUrl : baseUrl.slice(0, slash);
}

/** The client's query string for the upstream: kept (Anthropic `?beta=true`, Gemini `?alt=sse`) minus credentials. */
function upstreamSearch(url: string, dialect: Dialect): string {
  const q = url.indexOf("?");
  if (q < 0 || (dialect !== "gemini" && dialect !== "anthropic")) return "";
  const params = new URLSearchParams(url.slice(q + 1));
  params.delete("key");
  const s = params.toString();
  return s ? `?${s}` : "";
}
