import type { CanonicalRequest, JsonObject } from "../canonical.ts";
import type { Warnings } from "./json.ts";
import type { AnthropicModelTraits } from "./model-traits.ts";

/** Anthropic's smallest thinking budget. */
const MIN_BUDGET = 1024;
/** Output left for the answer when a budget has to be cut to fit under max_tokens. */
const ANSWER_RESERVE = 1024;

/** `output_config.effort` values; OpenAI's `minimal` is closest to `low`. */
const EFFORTS: Record<string, string> = {
  minimal: "low",
  low: "low",
  medium: "medium",
  high: "high",
  xhigh: "xhigh",
  max: "max",
};

/** Budgets for models without adaptive thinking, when the client gave only an effort. */
const EFFORT_BUDGETS: Record<string, number> = {
  minimal: 1024,
  low: 2048,
  medium: 8192,
  high: 16384,
  xhigh: 32768,
  max: 32768,
};
const DEFAULT_BUDGET = EFFORT_BUDGETS.medium ?? 8192;

export interface ThinkingPlan {
  /** The request's `thinking` field, or null for none. */
  thinking: JsonObject | null;
  /** `output_config.effort`, or null. */
  effort: string | null;
}

/**
 * Canonical reasoning → Anthropic thinking for this model: adaptive (+ effort) where the model has it, a token
 * budget below max_tokens elsewhere. Anthropic refuses thinking together with a forced tool choice, so the tool
 * choice wins (the client's hard requirement) and thinking is dropped with a warning.
 */
export function planThinking(
  request: CanonicalRequest,
  maxTokens: number,
  traits: AnthropicModelTraits,
  warnings: Warnings,
): ThinkingPlan {
  const reasoning = request.reasoning;
  if (reasoning === null || reasoning.effort === "none" || reasoning.budgetTokens === 0)
    return { thinking: null, effort: null };
  const choice = request.toolChoice?.type;
  if (request.tools.length > 0 && (choice === "required" || choice === "tool")) {
    warnings.add("Thinking was not requested: Anthropic does not allow thinking with a forced tool choice");
    return { thinking: null, effort: null };
  }
  const wantsBudget = reasoning.budgetTokens !== null && reasoning.effort === null;
  if (traits.adaptiveThinking && !(wantsBudget && !traits.adaptiveOnly)) {
    if (wantsBudget) {
      warnings.add("This model accepts only adaptive thinking: the thinking token budget was not sent");
    }
    return {
      thinking: { type: "adaptive" },
      effort: reasoning.effort === null ? null : effortOf(reasoning.effort, warnings),
    };
  }
  const wanted =
    reasoning.budgetTokens ??
    (reasoning.effort === null ? DEFAULT_BUDGET : (EFFORT_BUDGETS[reasoning.effort] ?? DEFAULT_BUDGET));
  const budget = fitBudget(wanted, maxTokens, warnings);
  return budget === null
    ? { thinking: null, effort: null }
    : { thinking: { type: "enabled", budget_tokens: budget }, effort: null };
}

function effortOf(effort: string, warnings: Warnings): string | null {
  const mapped = EFFORTS[effort];
  if (mapped === undefined) warnings.add(`Reasoning effort "${effort}" has no Anthropic equivalent and was dropped`);
  return mapped ?? null;
}

/** budget_tokens must be ≥ 1024 and below max_tokens. */
function fitBudget(wanted: number, maxTokens: number, warnings: Warnings): number | null {
  const cap = maxTokens - ANSWER_RESERVE;
  if (cap < MIN_BUDGET) {
    warnings.add(`Thinking was not requested: max_tokens ${maxTokens} leaves no room for Anthropic's minimum budget`);
    return null;
  }
  const budget = Math.min(Math.max(Math.floor(wanted), MIN_BUDGET), cap);
  if (budget !== wanted) warnings.add(`Thinking budget ${wanted} was adjusted to ${budget} to fit Anthropic's limits`);
  return budget;
}
