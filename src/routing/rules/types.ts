import type { IncomingHttpHeaders } from "node:http";
import type { VirtualKeySnapshot } from "../../governance/entities/index.ts";

/** Rule scopes, most specific first: the order rules are evaluated in. */
export const RULE_SCOPES = ["key", "developer", "team", "customer", "global"] as const;
export type RuleScopeType = (typeof RULE_SCOPES)[number];

export interface RuleScope {
  type: RuleScopeType;
  /** The key / developer / team / customer id; null only for global. */
  id: string | null;
}

export interface RuleTarget {
  provider: string | null;
  model: string;
  /** A provider key id (key pools); null: the provider's usual key choice. */
  key: string | null;
  weight: number;
}

export type RuleFallback = Omit<RuleTarget, "weight">;

/** The wire shape of `/api/routing-rules` (the dashboard is built against it). */
export interface RoutingRule {
  id: string;
  name: string;
  description: string | null;
  scope: RuleScope;
  priority: number;
  enabled: boolean;
  expression: string;
  targets: RuleTarget[];
  fallbacks: RuleFallback[];
  source: "api" | "config";
  createdAt: string;
  updatedAt: string;
}

/** What one request is routed on. `now`: ms since the epoch. */
export interface RoutingInput {
  model: string;
  provider: string | null;
  headers: IncomingHttpHeaders;
  key: VirtualKeySnapshot | null;
  agent: string | null;
  sessionId: string | null;
  estimatedInputTokens: number;
  hasTools: boolean;
  now: number;
}

export interface RouteTarget {
  provider: string | null;
  model: string;
  key: string | null;
  weight: number;
}

export interface RouteDecision {
  rule: { id: string; name: string };
  /** One of `targets`, picked by weight. */
  target: RouteTarget;
  targets: readonly RouteTarget[];
  fallbacks: readonly RouteTarget[];
}

export interface EvaluatedRule {
  id: string;
  name: string;
  scope: RuleScope;
  priority: number;
  matched: boolean;
  /** Why the expression could not be evaluated (the rule then does not match). */
  error?: string;
}

export interface Explanation {
  decision: {
    rule: { id: string; name: string } | null;
    target: { provider: string | null; model: string; key: string | null } | null;
    fallbacks: { provider: string | null; model: string; key: string | null }[];
  };
  evaluated: EvaluatedRule[];
  /** The activation the rules saw, every variable computed (ints as numbers). */
  variables: Record<string, unknown>;
}

export interface Router {
  /** Enabled rules loaded. */
  readonly size: number;
  /** The first matching rule's route (target picked by weight with `random`, default Math.random), or null. */
  decide(input: RoutingInput, random?: () => number): RouteDecision | null;
  /** Every candidate rule evaluated, with the variables; for `/api/routing/explain` (not the hot path). */
  explain(input: RoutingInput): Explanation;
}
