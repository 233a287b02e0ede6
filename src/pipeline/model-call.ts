import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import { attributeSession } from "../attribution/session.ts";
import { type CacheProbe, captureRelay, probeCache, replayHit } from "../cache/response-cache.ts";
import type { Dialect } from "../dialects/dialect.ts";
import { GatewayError } from "../errors/catalog.ts";
import { authenticateRequest } from "../governance/authenticate.ts";
import { forwardableOwnCredential } from "../governance/credential-policy.ts";
import type { VirtualKeySnapshot } from "../governance/entities/index.ts";
import { clientCredential, upstreamRequestHeaders } from "../passthrough/headers.ts";
import { eventStreamResponse } from "../providers/bedrock/event-stream-response.ts";
import { authHeaders, upstreamUrl } from "../providers/endpoints.ts";
import { dialectsOf } from "../providers/registry.ts";
import type { ProviderConfig, ProviderKey } from "../providers/types.ts";
import { adaptUpstreamBody } from "../providers/upstream-body.ts";
import { applyModelAlias } from "../routing/aliases.ts";
import { type ChatDialect, isChatDialect, translationTarget } from "../translate/index.ts";
import { admit } from "./admission.ts";
import { type AttemptAuth, runAttempts } from "./attempts.ts";
import { bedrockCall, type Exchange } from "./bedrock-call.ts";
import { type CallState, newCallState } from "./call-state.ts";
import { countTokensCall, isCountOperation } from "./count-tokens.ts";
import { DONE, type ExchangeOutcome, exchange, type RetryHooks } from "./exchange.ts";
import { maxOutputTokens, type ParsedCall, parseModelCall, type RouteSpec } from "./ingress.ts";
import { capOutputTokens } from "./output-cap.ts";
import { prepareBody } from "./prepare-body.ts";
import { BodyRelay, type Relay } from "./relay-body.ts";
import { StreamRelay } from "./relay-stream.ts";
import { type AttemptTarget, type CallRoute, routeCall } from "./route.ts";
import type { GatewayRuntime } from "./runtime.ts";
import { failBeforeUpstream, settleClientGone } from "./settle.ts";
import {
  newResponseId,
  type ResponsesState,
  refusePreviousResponse,
  resolveResponsesState,
  responseKeeper,
  responsesScope,
} from "./stored-responses.ts";
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
  let route: CallRoute;
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
    const resolution = rt.registry.resolve(aliased.model, spec.dialect);
    // Routing rules may send the call elsewhere; the key's allow-lists are checked on the targets it ends up with.
    route = routeCall(rt, state, {
      dialect: spec.dialect,
      headers: req.headers,
      key,
      clientModel: parsed.model,
      resolution,
      raw,
    });
  } catch (err) {
    failBeforeUpstream(rt, state, res, err);
    return;
  }
  const first = (route.targets[0] as AttemptTarget).resolution;
  const { provider } = first;
  state.provider = provider;
  state.upstreamModel = first.upstreamModel;
  state.record.provider = provider.name;

  // The exact cache: a hit is answered here, before any budget is reserved (cache/response-cache.ts).
  const probe = await probeCache(rt, {
    spec,
    headers: req.headers,
    url: req.url,
    raw,
    clientModel: parsed.model,
    stream: parsed.stream,
    upstreamModel: first.upstreamModel,
    providerKind: provider.kind,
    key,
  });
  if (probe?.entry) return replayHit(rt, state, res, probe, key, provider.name, first.upstreamModel);
  try {
    await admit(rt, state, key, raw, {
      provider: provider.name,
      pricingProvider: provider.pricingId ?? provider.name,
      model: first.upstreamModel,
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
  const call: CallContext = {
    rt,
    state,
    req,
    res,
    spec,
    parsed,
    raw,
    key,
    // The budget's remainder buys less than the client's max_tokens: ask the provider for no more than that.
    lowered: state.hold?.loweredMaxOutputTokens ?? null,
    probe,
  };
  return runAttempts(rt, state, res, route, {
    credentials: (target, prefer) => credentialsFor(call, target, prefer),
    commitDialect: (target) => commitDialectOf(call, target),
    dispatch: (target, auth, hooks, firstAttempt) => dispatchTarget(call, target, auth, hooks, firstAttempt),
  });
}

/** One model call's request-wide facts, shared by its attempts. */
interface CallContext {
  rt: GatewayRuntime;
  state: CallState;
  req: FastifyRequest;
  res: ServerResponse;
  spec: RouteSpec;
  parsed: ParsedCall;
  raw: Buffer;
  key: VirtualKeySnapshot | null;
  lowered: number | null;
  probe: CacheProbe | null;
  /** A translated Responses request's stored state, resolved once for all attempts (pipeline/stored-responses.ts). */
  responses?: Promise<ResponsesState>;
}

/**
 * One attempt at one target: the body built for its provider (passthrough with byte splices, translated through
 * the canonical form, Bedrock's signed call or a token count), sent through the exchange with the loop's retry
 * hooks. Only the first attempt's reply is stored in the response cache (the probe's key names the first model).
 */
function dispatchTarget(
  call: CallContext,
  target: AttemptTarget,
  auth: Record<string, string>,
  hooks: RetryHooks,
  firstAttempt: boolean,
): Promise<ExchangeOutcome> {
  const { rt, state, req, res, spec, parsed, raw, lowered } = call;
  const resolution = target.resolution;
  const provider = resolution.provider;
  const probe = firstAttempt ? call.probe : null;
  const send: Exchange = (rt2, state2, res2, name, bytes, upstreamCall) =>
    exchange(rt2, state2, res2, name, bytes, upstreamCall, hooks);
  // Token counting for a provider of another dialect: its own counting API, translated, or an estimate.
  if (isCountOperation(spec.op) && !dialectsOf(provider, resolution.upstreamModel).includes(spec.dialect)) {
    return countTokensCall({ rt, state, req, res, spec, resolution, raw, auth, exchange: send });
  }
  if (provider.kind === "bedrock") {
    const store = spec.dialect === "openai-responses" && !isCountOperation(spec.op) ? (rt.responses ?? null) : null;
    if (store === null) {
      return bedrockCall({ rt, state, req, res, spec, parsed, resolution, raw, lowered, auth, exchange: send });
    }
    call.responses ??= resolveResponsesState(store, raw, responsesScope(call.key, req.headers));
    return call.responses.then(
      (responses) => {
        if (!responses.ok) {
          refusePreviousResponse(rt, state, res, responses.previousResponseId);
          return DONE;
        }
        const stored = { raw: responses.raw, attach: (plan: TranslationPlan) => keepReply(call, responses, plan) };
        return bedrockCall({
          rt,
          state,
          req,
          res,
          spec,
          parsed,
          resolution,
          raw,
          lowered,
          auth,
          exchange: send,
          stored,
        });
      },
      (err: Error) => storeUnavailable(call, err),
    );
  }
  const origin = originOf(provider.baseUrl);
  const dialects = dialectsOf(provider, resolution.upstreamModel);
  const translated = dialects.includes(spec.dialect) ? null : translationTarget(spec.dialect, dialects);
  if (translated !== null && isChatDialect(spec.dialect)) {
    const store = spec.dialect === "openai-responses" ? (rt.responses ?? null) : null;
    if (store === null) return translatedCall(call, target, auth, send, probe, translated, null);
    call.responses ??= resolveResponsesState(store, raw, responsesScope(call.key, req.headers));
    return call.responses.then(
      (responses) => translatedCall(call, target, auth, send, probe, translated, responses),
      (err: Error) => storeUnavailable(call, err),
    );
  }
  state.record.upstreamDialect = null;
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
  return send(rt, state, res, provider.name, raw.length, {
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

/**
 * One attempt translated through the canonical form. `responses`: a Responses client's stored state (null when the
 * gateway keeps none): an unknown `previous_response_id` is refused, a resolved chain replaces the body, and a reply
 * to a `store`-not-false request gets a gateway id and is saved.
 */
function translatedCall(
  call: CallContext,
  target: AttemptTarget,
  auth: Record<string, string>,
  send: Exchange,
  probe: CacheProbe | null,
  translated: ChatDialect,
  responses: ResponsesState | null,
): Promise<ExchangeOutcome> {
  const { rt, state, req, res, spec, parsed, lowered } = call;
  const resolution = target.resolution;
  const provider = resolution.provider;
  const origin = originOf(provider.baseUrl);
  if (responses !== null && !responses.ok) {
    refusePreviousResponse(rt, state, res, responses.previousResponseId);
    return Promise.resolve(DONE);
  }
  const raw = responses?.raw ?? call.raw;
  let plan: TranslationPlan;
  try {
    plan = planTranslation({
      clientDialect: spec.dialect as ChatDialect,
      targetDialect: translated,
      raw,
      clientModel: parsed.model,
      upstreamModel: resolution.upstreamModel,
      stream: parsed.stream,
      maxOutputTokens: lowered,
      provider: provider.name,
      serverState: responses !== null,
    });
  } catch (err) {
    failBeforeUpstream(rt, state, res, err);
    return Promise.resolve(DONE);
  }
  if (responses !== null) keepReply(call, responses, plan);
  state.record.upstreamDialect = translated;
  state.record.warnings = [...state.record.warnings, ...plan.warnings];
  const url = upstreamUrl(provider, plan.op, resolution.upstreamModel, plan.search, undefined, plan.stream);
  const ua = req.headers["user-agent"];
  return send(rt, state, res, provider.name, call.raw.length, {
    request: {
      origin,
      path: url.slice(origin.length),
      method: "POST",
      headers: translatedRequestHeaders(
        translated,
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
        plan.stream && status < 300 && streamedReply(translated, headers)
          ? new TranslatedStreamRelay(rt, state, plan, res, { requestBytes: call.raw.length, ...controls })
          : new TranslatedBodyRelay(rt, state, plan, res, { status, headers }, call.raw.length);
      return cached(rt, state, probe, translated, { status, headers, stream: plan.stream }, lowered, relay);
    },
  });
}

function storeUnavailable(call: CallContext, err: Error): ExchangeOutcome {
  call.rt.warn(`response store unavailable (read): ${err.message}`);
  failBeforeUpstream(
    call.rt,
    call.state,
    call.res,
    new GatewayError("TG_INTERNAL", "The response store is unavailable."),
  );
  return DONE;
}

/** A reply to a `store`-not-false Responses request gets a gateway id and is saved once it succeeded. */
function keepReply(call: CallContext, responses: ResponsesState & { ok: true }, plan: TranslationPlan): void {
  const { rt, state, req } = call;
  if (!responses.store || !rt.responses) return;
  const id = newResponseId();
  plan.responseId = id;
  plan.keep = responseKeeper(rt, rt.responses, state, {
    id,
    scope: responsesScope(call.key, req.headers),
    raw: responses.raw,
    body: responses.body,
    previousResponseId: responses.previousResponseId,
  });
}

/** The SSE dialect a target's stream arrives in, for the commit point; null for AWS event streams and counts. */
function commitDialectOf(call: CallContext, target: AttemptTarget): Dialect | null {
  const { spec, parsed } = call;
  const { provider, upstreamModel } = target.resolution;
  if (!parsed.stream || provider.kind === "bedrock" || isCountOperation(spec.op)) return null;
  const dialects = dialectsOf(provider, upstreamModel);
  return dialects.includes(spec.dialect) ? spec.dialect : translationTarget(spec.dialect, dialects);
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
 * Upstream credentials for one attempt: the developer's own credential when their key's policy forwards it; else a
 * minted access token; else a key from the provider's pool — the one a rule pinned, else the health-aware pick
 * (session affinity preferred, cooling and flagged keys skipped); else, anonymously, the client's own credential
 * (bring your own key); else none for keyless local servers.
 */
async function credentialsFor(call: CallContext, target: AttemptTarget, prefer: string | null): Promise<AttemptAuth> {
  const { rt, req, key } = call;
  const { provider, upstreamModel } = target.resolution;
  const own = clientCredential(req.headers);
  const forwarded = key ? forwardableOwnCredential(key.credentialPolicy, own) : null;
  if (forwarded) return { ok: true, headers: forwarded, keyId: "client" };
  const tokens = provider.tokenAuth;
  if (tokens) {
    try {
      const token = tokens.token();
      // Only the provider's first access token (or one that lapsed) is waited for; later ones are cached.
      return {
        ok: true,
        headers: authHeaders(provider, typeof token === "string" ? token : await token),
        keyId: tokens.id,
      };
    } catch (err) {
      const message = `Provider "${provider.name}" could not get an access token: ${err instanceof Error ? err.message : String(err)}`;
      return { ok: false, error: new GatewayError("TG_PROVIDER_AUTH", message), retryAfterMs: null };
    }
  }
  if (provider.keys.length > 0) {
    const pinned = target.keyId === null ? null : (provider.keys.find((k) => k.id === target.keyId) ?? null);
    const picked = pinned ?? rt.health.pickKey(provider, upstreamModel, { prefer }) ?? unhealthyKey(rt, provider);
    if (picked) return { ok: true, headers: authHeaders(provider, picked.secret), keyId: picked.id };
    const message = `Every API key of provider "${provider.name}" was refused by the provider (401/403) or does not serve ${upstreamModel}; see /api/providers.`;
    return { ok: false, error: new GatewayError("TG_NO_PROVIDER_KEY", message), retryAfterMs: null };
  }
  if (own && !key) return { ok: true, headers: own, keyId: "client" };
  if (provider.keyOptional) return { ok: true, headers: {}, keyId: null };
  return {
    ok: false,
    error: new GatewayError("TG_NO_PROVIDER_KEY", `Provider "${provider.name}" has no API key configured.`),
    retryAfterMs: null,
  };
}

/**
 * When no key is eligible, health steers rather than refuses: the cooling key that comes back first, else a flagged
 * one — with nothing else to try, the provider's own answer (its 429 or 401) says more than a gateway error would.
 */
function unhealthyKey(rt: GatewayRuntime, provider: ProviderConfig): ProviderKey | null {
  let best: ProviderKey | null = null;
  let bestUntil = Number.POSITIVE_INFINITY;
  const view = rt.health.view(
    provider.name,
    provider.keys.map((k) => k.id),
  );
  for (const key of view.keys) {
    if (key.state === "ok") continue; // ineligible for another reason (the key's model list)
    const until = key.state === "cooling" ? (key.until ?? 0) : Number.MAX_SAFE_INTEGER;
    if (until < bestUntil) {
      bestUntil = until;
      best = provider.keys.find((k) => k.id === key.id) ?? null;
    }
  }
  return best;
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
