import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { GatewayError } from "../errors/catalog.ts";
import { backoffDelayMs, classifyUpstreamFailure, parseRetryAfter, RetryBudget } from "../routing/retry-policy.ts";
import type { UpstreamAttempt } from "../store/log-record.ts";
import type { CallState } from "./call-state.ts";
import type { AttemptFailure, ExchangeOutcome, RetryHooks } from "./exchange.ts";
import type { AttemptTarget, CallRoute } from "./route.ts";
import type { GatewayRuntime } from "./runtime.ts";
import { failBeforeUpstream, settleClientGone } from "./settle.ts";

/** Credentials for one attempt, or why there are none. */
export type AttemptAuth =
  | { ok: true; headers: Record<string, string>; keyId: string | null }
  | { ok: false; error: GatewayError; retryAfterMs: number | null };

export interface AttemptRunner {
  /** Upstream credentials for `target`: a pinned key, the session's key, or the pool's pick. */
  credentials(target: AttemptTarget, prefer: string | null): Promise<AttemptAuth>;
  /** Sends one attempt (body built for its provider and dialect) and relays or gives it up through `hooks`. */
  dispatch(
    target: AttemptTarget,
    auth: Record<string, string>,
    hooks: RetryHooks,
    first: boolean,
  ): Promise<ExchangeOutcome>;
  /** The SSE dialect the target's stream arrives in (to find the commit point); null: no preamble hold. */
  commitDialect(target: AttemptTarget): RetryHooks["commitDialect"];
}

/** The next step after a failed attempt: which target, after how long. */
interface Step {
  target: number;
  delayMs: number;
}

/**
 * The attempt loop: the route's first target, retried with exponential backoff and jitter (honouring retry-after)
 * within a total retry budget, then its fallbacks in order. A failure is retried only while nothing reached the
 * client — a non-2xx status, a connect error or timeout, or a stream that failed before its first content event
 * (exchange.ts holds the preamble until then) — and the decision is taken at that moment, so the last attempt's
 * reply is relayed exactly as the upstream sent it. Each attempt is recorded, reported to the provider health
 * (429 cools a key down, 401/403 flags it, errors feed the breaker) and placed in the response headers.
 */
export async function runAttempts(
  rt: GatewayRuntime,
  state: CallState,
  res: ServerResponse,
  route: CallRoute,
  runner: AttemptRunner,
): Promise<void> {
  const policy = rt.config.routing.retries;
  const budget = new RetryBudget(policy.budgetMs, rt.clock);
  const attempts: UpstreamAttempt[] = [];
  const affine = rt.affinity.get(state.record.sessionId);
  let index = 0;
  let tries = 0;
  for (;;) {
    const target = route.targets[index] as AttemptTarget;
    const provider = target.resolution.provider;
    enter(state, target);
    /** A target that cannot be tried at all: recorded, then the next one (false when none is left). */
    const skipped = (error: string): boolean => {
      attempts.push(attemptOf(target, null, null, 0, error));
      if (attempts.length > 1 || route.rule !== null) state.record.attempts = attempts;
      if (index + 1 >= route.targets.length) return false;
      index += 1;
      tries = 0;
      return true;
    };
    if (!rt.health.allows(provider.name)) {
      // The provider's circuit is open: fail fast to the next target, or answer 503 when none is left.
      if (skipped("circuit_open")) continue;
      const message = `Provider "${provider.name}" is failing (circuit open after repeated errors); see /api/providers.`;
      return failBeforeUpstream(rt, state, res, new GatewayError("TG_PROVIDER_CIRCUIT_OPEN", message));
    }
    const prefer = target.keyId ?? (affine?.provider === provider.name ? affine.keyId : null);
    const auth = await runner.credentials(target, prefer);
    if (res.destroyed) return settleClientGone(rt, state, 0);
    if (!auth.ok) {
      if (skipped(auth.error.code)) continue;
      if (auth.retryAfterMs !== null)
        res.setHeader("retry-after", String(Math.max(1, Math.ceil(auth.retryAfterMs / 1000))));
      return failBeforeUpstream(rt, state, res, auth.error);
    }
    state.record.providerKeyId = auth.keyId;
    let next: Step | null = null;
    let answered: number | null = null;
    const started = performance.now();
    state.attemptStarts.push(started);
    const decide = (failure: AttemptFailure): boolean => {
      next = nextStep(rt, route, index, tries, failure, budget, target);
      return next !== null;
    };
    const hooks: RetryHooks = {
      commitDialect: runner.commitDialect(target),
      retryStatus(status, headers) {
        answered = status;
        report(rt, target, auth.keyId, status, performance.now() - started, headers);
        return decide({ status, headers, reason: `upstream_${status}`, error: null });
      },
      retryFailure(failure) {
        // No answer, or a stream that failed before content: a transport-like failure for the key and the breaker.
        report(rt, target, auth.keyId, null, performance.now() - started, null);
        answered = failure.status ?? 0;
        return decide(failure);
      },
    };
    headersFor(res, route, target, attempts.length + 1);
    // The attempt in flight: settle.ts's finish() completes it from the row if this attempt answers the client.
    const current = attemptOf(target, auth.keyId, null, 0, null);
    attempts.push(current);
    if (attempts.length > 1 || route.rule !== null) state.record.attempts = attempts;
    state.openAttempt = current;
    const outcome = await runner.dispatch(target, auth.headers, hooks, index === 0 && tries === 0);
    const latencyMs = Math.round(performance.now() - started);
    if (outcome.kind === "done") {
      const status = state.record.status;
      if (answered === null) report(rt, target, auth.keyId, status, latencyMs, null);
      if (status < 400) rt.affinity.remember(state.record.sessionId, { provider: provider.name, keyId: auth.keyId });
      return;
    }
    state.openAttempt = null;
    const failure = outcome.failure;
    current.status = failure.status;
    current.latencyMs = latencyMs;
    current.error = failure.reason;
    const step = next as Step | null;
    if (step === null) {
      // Unreachable by construction (a failure is only given up when a next step exists); answer rather than hang.
      return failBeforeUpstream(
        rt,
        state,
        res,
        failure.error ?? new GatewayError("TG_UPSTREAM_BAD_RESPONSE", failure.reason),
      );
    }
    if (step.delayMs > 0) {
      budget.spend(step.delayMs);
      await rt.sleep(step.delayMs);
      if (res.destroyed) return settleClientGone(rt, state, 0);
    }
    if (step.target === index) tries += 1;
    else tries = 0;
    index = step.target;
  }
}

/**
 * What follows a failure: the same target again after a backoff (or the retry-after the upstream asked for) while
 * tries and the retry budget allow; another key of the same provider at once after a 429 or 401/403 when the pool
 * has one; else the next fallback; null when nothing is left (the failure is then relayed as it is).
 */
function nextStep(
  rt: GatewayRuntime,
  route: CallRoute,
  index: number,
  tries: number,
  failure: AttemptFailure,
  budget: RetryBudget,
  target: AttemptTarget,
): Step | null {
  // A 200 whose stream failed before content (overloaded, server error) is a transient upstream failure.
  const streamFailed = failure.status !== null && failure.status < 300;
  const action = streamFailed
    ? "retry"
    : classifyUpstreamFailure({ status: failure.status, errorCode: failure.reason });
  if (action === "final") return null;
  const policy = rt.config.routing.retries;
  const provider = target.resolution.provider;
  const otherKey =
    target.keyId === null &&
    provider.keys.length > 1 &&
    rt.health.pickKey(provider, target.resolution.upstreamModel) !== null;
  if (action === "next-key") {
    if (otherKey) return { target: index, delayMs: 0 };
  } else if (tries + 1 < policy.maxAttempts) {
    const retryAfter = failure.headers === null ? null : parseRetryAfter(failure.headers, rt.clock.now());
    if (failure.status === 429 && otherKey) return { target: index, delayMs: 0 };
    const delay =
      retryAfter ?? backoffDelayMs(tries, rt.random, { baseMs: policy.baseDelayMs, maxDelayMs: policy.maxDelayMs });
    if (budget.fits(delay)) return { target: index, delayMs: delay };
  }
  return index + 1 < route.targets.length ? { target: index + 1, delayMs: 0 } : null;
}

/** The call now aims at `target`: its provider and model are what settlement and the budget hold price. */
function enter(state: CallState, target: AttemptTarget): void {
  const { provider, upstreamModel } = target.resolution;
  state.provider = provider;
  state.upstreamModel = upstreamModel;
  state.record.provider = provider.name;
  if (state.hold) state.hold.pricing = { pricingProvider: provider.pricingId ?? provider.name, model: upstreamModel };
}

function report(
  rt: GatewayRuntime,
  target: AttemptTarget,
  keyId: string | null,
  status: number | null,
  latencyMs: number,
  headers: IncomingHttpHeaders | null,
): void {
  const retryAfterMs = status === 429 && headers !== null ? parseRetryAfter(headers, rt.clock.now()) : null;
  rt.health.report(target.resolution.provider.name, keyId, { status, latencyMs, retryAfterMs });
}

/** Response headers naming the rule, provider, model and attempt count (set before the relay writes its head). */
function headersFor(res: ServerResponse, route: CallRoute, target: AttemptTarget, attempt: number): void {
  if (res.headersSent) return;
  if (route.rule !== null) res.setHeader("x-tollgate-route-rule", route.rule.name);
  res.setHeader("x-tollgate-provider", target.resolution.provider.name);
  res.setHeader("x-tollgate-model", target.resolution.upstreamModel);
  res.setHeader("x-tollgate-attempts", String(attempt));
}

function attemptOf(
  target: AttemptTarget,
  keyId: string | null,
  status: number | null,
  latencyMs: number,
  error: string | null,
): UpstreamAttempt {
  return {
    provider: target.resolution.provider.name,
    providerKeyId: keyId,
    model: target.resolution.upstreamModel,
    status,
    latencyMs,
    error,
  };
}
