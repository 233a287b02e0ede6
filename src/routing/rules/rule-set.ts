import { Activation } from "./activation.ts";
import type { BudgetFigures } from "./budget-figures.ts";
import { type BudgetLevel, type CompiledExpression, compileExpression } from "./cel.ts";
import { evaluationOrder } from "./order.ts";
import type {
  EvaluatedRule,
  Explanation,
  RouteDecision,
  Router,
  RouteTarget,
  RoutingInput,
  RoutingRule,
} from "./types.ts";
import { zoneOffset } from "./zone-offset.ts";

interface CompiledRule {
  readonly rule: RoutingRule;
  readonly ref: { id: string; name: string };
  readonly expr: CompiledExpression;
  readonly targets: readonly RouteTarget[];
  /** Running sums of the targets' weights, for the weighted pick. */
  readonly cumulative: readonly number[];
  readonly fallbacks: readonly RouteTarget[];
}

export interface RuleSetOptions {
  /** Budget and token figures; null: every figure reads 0. */
  figures?: BudgetFigures | null;
  /** IANA zone for `hour` / `weekday`; default UTC. */
  timeZone?: string;
  /** A stored rule that no longer compiles (say, after a library upgrade) is skipped and told here. */
  warn?: (message: string) => void;
}

type Index = Map<string, CompiledRule[]>;

function add(index: Index, id: string, rule: CompiledRule): void {
  const list = index.get(id);
  if (list) list.push(rule);
  else index.set(id, [rule]);
}

/**
 * The compiled, immutable rule set: built once per change, swapped in whole (`runtime.router`). Rules are indexed by
 * scope, so a request evaluates only its own key's, developer's, team's and customer's rules and the global ones,
 * in that order, each list by priority; the first match wins. An expression that fails at request time (a missing
 * header, say) does not match.
 */
export class RuleSet implements Router {
  readonly size: number;
  /** Budget levels some enabled rule reads (`budget_used` / `tokens_used`: all): what the counter snapshot keeps. */
  readonly budgetLevels: ReadonlySet<BudgetLevel>;
  /** Some enabled rule reads `tokens_used`: the counter snapshot keeps the token windows too. */
  readonly readsTokens: boolean;
  readonly #global: CompiledRule[] = [];
  readonly #byKey: Index = new Map();
  readonly #byDeveloper: Index = new Map();
  readonly #byTeam: Index = new Map();
  readonly #byCustomer: Index = new Map();
  readonly #figures: BudgetFigures | null;
  readonly #offsetAt: (now: number) => number;

  constructor(rules: readonly RoutingRule[], options: RuleSetOptions = {}) {
    this.#figures = options.figures ?? null;
    this.#offsetAt = zoneOffset(options.timeZone ?? "UTC");
    const levels = new Set<BudgetLevel>();
    let size = 0;
    let readsTokens = false;
    for (const rule of evaluationOrder(rules)) {
      if (!rule.enabled) continue;
      let expr: CompiledExpression;
      try {
        expr = compileExpression(rule.expression);
      } catch (error) {
        options.warn?.(
          `routing rule "${rule.name}" (${rule.id}) is skipped: ${error instanceof Error ? error.message : String(error)}`,
        );
        continue;
      }
      const { roots, budgetLevels } = expr.uses;
      if (roots.has("tokens_used")) readsTokens = true;
      for (const level of budgetLevels) levels.add(level);
      if (roots.has("budget_used") || roots.has("tokens_used"))
        for (const level of ["key", "developer", "team", "customer", "global"] as const) levels.add(level);
      const targets = rule.targets.map((t) => ({ provider: t.provider, model: t.model, key: t.key, weight: t.weight }));
      let sum = 0;
      const compiled: CompiledRule = {
        rule,
        ref: { id: rule.id, name: rule.name },
        expr,
        targets,
        cumulative: targets.map((t) => {
          sum += t.weight;
          return sum;
        }),
        fallbacks: rule.fallbacks.map((f) => ({ provider: f.provider, model: f.model, key: f.key, weight: 1 })),
      };
      const id = rule.scope.id ?? "";
      switch (rule.scope.type) {
        case "key":
          add(this.#byKey, id, compiled);
          break;
        case "developer":
          add(this.#byDeveloper, id, compiled);
          break;
        case "team":
          add(this.#byTeam, id, compiled);
          break;
        case "customer":
          add(this.#byCustomer, id, compiled);
          break;
        default:
          this.#global.push(compiled);
      }
      size++;
    }
    this.size = size;
    this.budgetLevels = levels;
    this.readsTokens = readsTokens;
  }

  decide(input: RoutingInput, random: () => number = Math.random): RouteDecision | null {
    if (this.size === 0) return null;
    const key = input.key;
    const own = key === null ? undefined : this.#byKey.get(key.id);
    const developer = key?.developer ? this.#byDeveloper.get(key.developer.id) : undefined;
    const team = key?.team ? this.#byTeam.get(key.team.id) : undefined;
    const customer = key?.customer ? this.#byCustomer.get(key.customer.id) : undefined;
    if (own === undefined && developer === undefined && team === undefined && customer === undefined) {
      if (this.#global.length === 0) return null;
    }
    const activation = new Activation(input, this.#figures, this.#offsetAt);
    // A failing expression throws; the library's error then builds a stack trace nobody reads (~4 µs of ~6).
    const stackLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      const hit =
        first(own, activation) ??
        first(developer, activation) ??
        first(team, activation) ??
        first(customer, activation) ??
        first(this.#global, activation);
      return hit === null ? null : pick(hit, random);
    } finally {
      Error.stackTraceLimit = stackLimit;
    }
  }

  explain(input: RoutingInput): Explanation {
    const key = input.key;
    const lists = [
      key === null ? undefined : this.#byKey.get(key.id),
      key?.developer ? this.#byDeveloper.get(key.developer.id) : undefined,
      key?.team ? this.#byTeam.get(key.team.id) : undefined,
      key?.customer ? this.#byCustomer.get(key.customer.id) : undefined,
      this.#global,
    ];
    const activation = new Activation(input, this.#figures, this.#offsetAt);
    const evaluated: EvaluatedRule[] = [];
    let winner: CompiledRule | null = null;
    for (const list of lists) {
      for (const rule of list ?? []) {
        if (winner !== null) break;
        const entry: EvaluatedRule = {
          id: rule.rule.id,
          name: rule.rule.name,
          scope: rule.rule.scope,
          priority: rule.rule.priority,
          matched: false,
        };
        try {
          const result = rule.expr.evaluate(activation);
          if (result === true) {
            entry.matched = true;
            winner = rule;
          } else if (typeof result !== "boolean") entry.error = `evaluated to ${typeof result}, not bool`;
        } catch (error) {
          entry.error = firstLine(error);
        }
        evaluated.push(entry);
      }
    }
    const plain = (t: RouteTarget) => ({ provider: t.provider, model: t.model, key: t.key });
    // The first target by weight order is what "most of the traffic" means; explain shows the whole list too.
    const target = winner === null ? null : heaviest(winner.targets);
    return {
      decision: {
        rule: winner?.ref ?? null,
        target: target === null ? null : plain(target),
        fallbacks: winner === null ? [] : winner.fallbacks.map(plain),
      },
      evaluated,
      variables: activation.materialize(),
    };
  }
}

function first(list: readonly CompiledRule[] | undefined, activation: Activation): CompiledRule | null {
  if (list === undefined) return null;
  for (let i = 0; i < list.length; i++) {
    const rule = list[i] as CompiledRule;
    try {
      if (rule.expr.evaluate(activation) === true) return rule;
    } catch {
      // An evaluation error is a non-match (explain says which error).
    }
  }
  return null;
}

function pick(rule: CompiledRule, random: () => number): RouteDecision {
  const { targets, cumulative } = rule;
  let target = targets[0] as RouteTarget;
  if (targets.length > 1) {
    const at = random() * (cumulative[cumulative.length - 1] as number);
    for (let i = 0; i < cumulative.length; i++) {
      if (at < (cumulative[i] as number)) {
        target = targets[i] as RouteTarget;
        break;
      }
    }
  }
  return { rule: rule.ref, target, targets, fallbacks: rule.fallbacks };
}

function heaviest(targets: readonly RouteTarget[]): RouteTarget | null {
  let best: RouteTarget | null = null;
  for (const t of targets) if (best === null || t.weight > best.weight) best = t;
  return best;
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0] ?? text;
}
