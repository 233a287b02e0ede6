/**
 * Routing rules (issue 5): CEL expressions choosing a request's target. The pipeline calls
 * `rt.router.decide(input)`; the management API is admin/routing-routes.ts; app.ts wires `RoutingRules`.
 */
export type { BudgetFigures, BudgetUse, Scheduler } from "./budget-figures.ts";
export { CounterBudgetFigures, CounterSnapshot } from "./budget-figures.ts";
export { CelCompileError, compileExpression } from "./cel.ts";
export { RoutingRules } from "./manager.ts";
export { RuleError, RuleRepository } from "./repo.ts";
export { RuleSet } from "./rule-set.ts";
export { ROUTING_RULES_FIELDS, type RoutingSection } from "./schemas.ts";
export type {
  Explanation,
  RouteDecision,
  Router,
  RouteTarget,
  RoutingInput,
  RoutingRule,
} from "./types.ts";

import type { GatewayRuntime } from "../../pipeline/runtime.ts";
import type { RoutingRules } from "./manager.ts";
import { RuleSet } from "./rule-set.ts";

/** A router with no rules: `decide` returns null at once. */
export const EMPTY_ROUTER: RuleSet = new RuleSet([]);

/** The rules' manager of a gateway, for its management routes (set by app.ts). */
const managers = new WeakMap<GatewayRuntime, RoutingRules>();

export function attachRoutingRules(runtime: GatewayRuntime, rules: RoutingRules): void {
  managers.set(runtime, rules);
}

export function routingRulesOf(runtime: GatewayRuntime): RoutingRules | undefined {
  return managers.get(runtime);
}
