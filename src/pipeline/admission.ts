import { performance } from "node:perf_hooks";
import type { BudgetRequest } from "../governance/budget-gate.ts";
import { DEFAULT_TYPICAL_OUTPUT_TOKENS } from "../governance/cost-estimator.ts";
import type { VirtualKeySnapshot } from "../governance/entities/index.ts";
import { estimateInputTokensFromRequestBytes } from "../metering/estimate.ts";
import type { CallState } from "./call-state.ts";
import type { GatewayRuntime } from "./runtime.ts";

/**
 * Admission, before any money is spent: rate limits (count the request, take a concurrency slot), session caps
 * (requests, loop guard, session spend), then budgets (reserve an estimate on every one that applies, atomically).
 * The holds go on `state` and are settled by settle.ts when the request ends. Throws the GatewayError that refuses
 * the request (429, 402, 400, 503); holds taken before the refusal are settled with the refused request's row.
 * Anonymous requests with no global budget or limit pass through without touching a counter.
 */
export async function admit(
  rt: GatewayRuntime,
  state: CallState,
  key: VirtualKeySnapshot | null,
  body: Buffer,
  request: Omit<BudgetRequest, "id" | "key">,
): Promise<void> {
  if (!rt.tracer.enabled) return admitCounted(rt, state, key, body, request);
  const start = performance.now();
  try {
    await admitCounted(rt, state, key, body, request);
    state.admission = { start, end: performance.now(), refused: false };
  } catch (err) {
    state.admission = { start, end: performance.now(), refused: true };
    throw err;
  }
}

async function admitCounted(
  rt: GatewayRuntime,
  state: CallState,
  key: VirtualKeySnapshot | null,
  body: Buffer,
  request: Omit<BudgetRequest, "id" | "key">,
): Promise<void> {
  const limits = rt.rates.applicable(rt.governance, key, request.provider, request.model);
  if (limits.length > 0) {
    // In-process counters answer at once: no await turn for the common case.
    const ticket = rt.rates.admit(limits, state.record.id, tokenEstimate(request));
    state.ticket = ticket instanceof Promise ? await ticket : ticket;
  }
  if (key?.sessionCaps && state.record.sessionId) {
    const estimate = rt.budgets.estimateCost(budgetRequestOf(state, key, request)) ?? 0;
    state.sessionHold = await rt.sessions.admit(key, state.record.sessionId, body, state.record.id, estimate);
  }
  const budgets = rt.budgets.applicable(rt.governance, key, request.provider, request.model);
  if (budgets.length > 0) {
    const hold = rt.budgets.admit(budgets, budgetRequestOf(state, key, request));
    state.hold = hold instanceof Promise ? await hold : hold;
  }
}

function budgetRequestOf(
  state: CallState,
  key: VirtualKeySnapshot | null,
  request: Omit<BudgetRequest, "id" | "key">,
): BudgetRequest {
  return { ...request, id: state.record.id, key };
}

/** Tokens a request holds on token windows while it runs (replaced by the actual count when it ends). */
function tokenEstimate(request: Omit<BudgetRequest, "id" | "key">): number {
  const output = Math.min(request.maxOutputTokens ?? DEFAULT_TYPICAL_OUTPUT_TOKENS, DEFAULT_TYPICAL_OUTPUT_TOKENS);
  return estimateInputTokensFromRequestBytes(request.requestBytes) + output;
}
