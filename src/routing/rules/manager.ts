import type { Clock } from "../../clock.ts";
import type { Db } from "../../store/schema.ts";
import type { BudgetFigures, CounterSnapshot } from "./budget-figures.ts";
import { RuleRepository } from "./repo.ts";
import { RuleSet } from "./rule-set.ts";
import type { RoutingSection } from "./schemas.ts";
import type { RoutingRule } from "./types.ts";

export interface RoutingRulesOptions {
  db: Db;
  clock: Clock;
  /** Receives every rebuilt rule set (app.ts: `runtime.router = set`). */
  apply: (set: RuleSet) => void;
  figures: BudgetFigures | null;
  /** Shared counters: the local copy of the budget counters rules read (null: in-process counters, read directly). */
  snapshot?: CounterSnapshot | null;
  timeZone?: string;
  /** After a local write and its reload: tell the other gateway processes (governance snapshot-sync). */
  announce?: () => Promise<void>;
  warn?: (message: string) => void;
}

/**
 * Owns the rules' lifecycle: the repository, the compiled RuleSet (rebuilt on start, on every API write, and when
 * another process announces a change), and the config file's rules. Loads are ordered like the governance
 * snapshot's: one that started earlier never replaces a later one.
 */
export class RoutingRules {
  readonly repo: RuleRepository;
  readonly #o: RoutingRulesOptions;
  #current: RuleSet;
  #started = 0;
  #applied = 0;

  constructor(options: RoutingRulesOptions) {
    this.#o = options;
    this.repo = new RuleRepository(options.db, options.clock);
    this.#current = this.#build([]);
  }

  get current(): RuleSet {
    return this.#current;
  }

  /** Reads every rule and swaps in a freshly compiled set. */
  async reload(): Promise<void> {
    const load = ++this.#started;
    const rules = await this.repo.list();
    if (load < this.#applied) return;
    this.#applied = load;
    this.#current = this.#build(rules);
    this.#o.apply(this.#current);
    // Rules that start reading budgets get figures now, not at the next tick.
    if (this.#current.budgetLevels.size > 0) void this.#o.snapshot?.refresh();
  }

  /** After an API write: this process sees it before the reply, then the others hear of it. */
  async changed(): Promise<void> {
    try {
      await this.reload();
    } finally {
      await this.#o.announce?.();
    }
  }

  /** The config file's `routing.rules` → the database (scopes by name resolved), then a reload. */
  async seed(section: RoutingSection | null): Promise<{ changed: number }> {
    const declared = [];
    for (const [i, rule] of (section?.rules ?? []).entries()) {
      let id: string | null = rule.scope.id ?? null;
      if (rule.scope.type !== "global" && rule.scope.name !== undefined) {
        id = await this.repo.idByName(rule.scope.type, rule.scope.name);
        if (id === null)
          throw new Error(
            `Config file: routing.rules.${i} ("${rule.name}"): no ${rule.scope.type} named "${rule.scope.name}"`,
          );
      }
      declared.push({ ...rule, scope: { type: rule.scope.type, id: rule.scope.type === "global" ? null : id } });
    }
    const result = await this.repo.reconcileConfig(declared);
    await this.reload();
    return { changed: result.created.length + result.updated.length + result.deleted.length };
  }

  /** Fresh budget figures before an explain (shared counters; in-process ones are always current). */
  async freshen(): Promise<void> {
    await this.#o.snapshot?.refresh();
  }

  async close(): Promise<void> {
    await this.#o.snapshot?.close();
  }

  #build(rules: readonly RoutingRule[]): RuleSet {
    return new RuleSet(rules, {
      figures: this.#o.figures,
      ...(this.#o.timeZone ? { timeZone: this.#o.timeZone } : {}),
      ...(this.#o.warn ? { warn: this.#o.warn } : {}),
    });
  }
}
