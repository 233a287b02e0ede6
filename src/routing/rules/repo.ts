import { PostgresAdapter, sql } from "kysely";
import type { Clock } from "../../clock.ts";
import { isUniqueViolation } from "../../governance/entities/context.ts";
import { governanceDb } from "../../governance/entities/tables.ts";
import { uuidv7 } from "../../store/ids.ts";
import type { Db, RoutingRulesTable } from "../../store/schema.ts";
import { evaluationOrder } from "./order.ts";
import type { RuleCreate, RulePatch } from "./schemas.ts";
import { type RoutingRule, RULE_SCOPES, type RuleFallback, type RuleScope, type RuleTarget } from "./types.ts";

export type RuleErrorKind = "invalid" | "not_found" | "conflict";

/** A refused rule write: 400, 404 or 409 with this message. */
export class RuleError extends Error {
  override name = "RuleError";
  readonly kind: RuleErrorKind;
  constructor(kind: RuleErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

export function newRuleId(clock: Clock): string {
  return `rr_${uuidv7(clock).replaceAll("-", "")}`;
}

function fromRow(r: RoutingRulesTable): RoutingRule {
  const type = (RULE_SCOPES as readonly string[]).includes(r.scope_type)
    ? (r.scope_type as RuleScope["type"])
    : "global";
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    scope: { type, id: type === "global" ? null : r.scope_id },
    priority: Number(r.priority),
    enabled: Number(r.enabled) === 1,
    expression: r.expression,
    targets: JSON.parse(r.targets) as RuleTarget[],
    fallbacks: JSON.parse(r.fallbacks) as RuleFallback[],
    source: r.source === "config" ? "config" : "api",
    createdAt: new Date(Number(r.created_at)).toISOString(),
    updatedAt: new Date(Number(r.updated_at)).toISOString(),
  };
}

/** The stored columns of a rule's content (what a config reconcile compares). */
function contentColumns(rule: RuleCreate) {
  return {
    name: rule.name,
    description: rule.description ?? null,
    scope_type: rule.scope.type,
    scope_id: rule.scope.id,
    priority: rule.priority,
    enabled: rule.enabled ? 1 : 0,
    expression: rule.expression,
    targets: JSON.stringify(rule.targets),
    fallbacks: JSON.stringify(rule.fallbacks),
  };
}

const SCOPE_TABLES = {
  key: ["virtual_keys", "virtual key"],
  developer: ["developers", "developer"],
  team: ["teams", "team"],
  customer: ["customers", "customer"],
} as const;

const CONFIG_MANAGED =
  "is declared in the config file (routing.rules) and can only be changed there; edit the file and restart";

export interface ReconcileRulesResult {
  created: string[];
  updated: string[];
  deleted: string[];
}

/** Arbitrary constant: one reconciliation at a time across processes sharing a PostgreSQL database. */
const PG_LOCK_KEY = 7_415_022_613;

/** Routing rules in the database (SQLite or PostgreSQL). */
export class RuleRepository {
  readonly #db: Db;
  readonly #clock: Clock;

  constructor(db: Db, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  /** Every rule, in evaluation order. */
  async list(): Promise<RoutingRule[]> {
    const rows = await this.#db.selectFrom("routing_rules").selectAll().execute();
    return evaluationOrder(rows.map(fromRow));
  }

  async get(id: string): Promise<RoutingRule | null> {
    const row = await this.#db.selectFrom("routing_rules").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? fromRow(row) : null;
  }

  async create(input: RuleCreate): Promise<RoutingRule> {
    await this.#checkScope(input.scope);
    const now = this.#clock.now();
    const row: RoutingRulesTable = {
      id: newRuleId(this.#clock),
      ...contentColumns(input),
      source: "api",
      created_at: now,
      updated_at: now,
    };
    await this.#guardName(input.name, () => this.#db.insertInto("routing_rules").values(row).execute());
    return fromRow(row);
  }

  async update(id: string, patch: RulePatch): Promise<RoutingRule> {
    const current = await this.get(id);
    if (!current) throw new RuleError("not_found", `No routing rule "${id}".`);
    if (current.source === "config")
      throw new RuleError("conflict", `Routing rule "${current.name}" ${CONFIG_MANAGED}.`);
    if (patch.scope) await this.#checkScope(patch.scope);
    const merged: RuleCreate = {
      name: patch.name ?? current.name,
      description: patch.description === undefined ? current.description : patch.description,
      scope: patch.scope ?? current.scope,
      priority: patch.priority ?? current.priority,
      enabled: patch.enabled ?? current.enabled,
      expression: patch.expression ?? current.expression,
      targets: patch.targets ?? current.targets,
      fallbacks: patch.fallbacks ?? current.fallbacks,
    };
    await this.#guardName(merged.name, () =>
      this.#db
        .updateTable("routing_rules")
        .set({ ...contentColumns(merged), updated_at: this.#clock.now() })
        .where("id", "=", id)
        .execute(),
    );
    const updated = await this.get(id);
    if (!updated) throw new RuleError("not_found", `No routing rule "${id}".`);
    return updated;
  }

  async delete(id: string): Promise<void> {
    const current = await this.get(id);
    if (!current) throw new RuleError("not_found", `No routing rule "${id}".`);
    if (current.source === "config")
      throw new RuleError("conflict", `Routing rule "${current.name}" ${CONFIG_MANAGED}.`);
    await this.#db.deleteFrom("routing_rules").where("id", "=", id).execute();
  }

  /**
   * The config file's rules → the database, by name: new ones inserted, changed ones updated in place (same id),
   * ones the file dropped deleted. A declared name that an API rule already has is refused (never a takeover).
   * An unchanged file writes nothing.
   */
  async reconcileConfig(declared: readonly RuleCreate[]): Promise<ReconcileRulesResult> {
    const out: ReconcileRulesResult = { created: [], updated: [], deleted: [] };
    await this.#db.transaction().execute(async (trx) => {
      if (trx.getExecutor().adapter instanceof PostgresAdapter)
        await sql`select pg_advisory_xact_lock(${PG_LOCK_KEY})`.execute(trx);
      const rows = await trx.selectFrom("routing_rules").selectAll().execute();
      const byName = new Map(rows.map((r) => [r.name, r]));
      const now = this.#clock.now();
      const names = new Set<string>();
      for (const [i, rule] of declared.entries()) {
        names.add(rule.name);
        const row = byName.get(rule.name);
        const wanted = contentColumns(rule);
        if (row && row.source !== "config")
          throw new RuleError(
            "conflict",
            `Config file: routing.rules.${i} ("${rule.name}"): a routing rule with this name was created through the API (${row.id}); rename this entry or delete that rule`,
          );
        if (!row) {
          const id = newRuleId(this.#clock);
          await trx
            .insertInto("routing_rules")
            .values({ id, ...wanted, source: "config", created_at: now, updated_at: now })
            .execute();
          out.created.push(`${rule.name} (${id})`);
          continue;
        }
        const changed = (Object.keys(wanted) as (keyof typeof wanted)[]).some(
          (c) => String(row[c] ?? "") !== String(wanted[c] ?? "") || (row[c] === null) !== (wanted[c] === null),
        );
        if (!changed) continue;
        await trx
          .updateTable("routing_rules")
          .set({ ...wanted, updated_at: now })
          .where("id", "=", row.id)
          .execute();
        out.updated.push(`${rule.name} (${row.id})`);
      }
      for (const row of rows) {
        if (row.source !== "config" || names.has(row.name)) continue;
        await trx.deleteFrom("routing_rules").where("id", "=", row.id).execute();
        out.deleted.push(`${row.name} (${row.id})`);
      }
    });
    return out;
  }

  /** The id of a named entity, for config rules scoped by name; null when there is none. */
  async idByName(type: Exclude<RuleScope["type"], "global">, name: string): Promise<string | null> {
    const [table] = SCOPE_TABLES[type];
    const row = await governanceDb(this.#db).selectFrom(table).select("id").where("name", "=", name).executeTakeFirst();
    return row?.id ?? null;
  }

  async #checkScope(scope: RuleScope): Promise<void> {
    if (scope.type === "global" || scope.id === null) return;
    const [table, what] = SCOPE_TABLES[scope.type];
    const row = await governanceDb(this.#db)
      .selectFrom(table)
      .select("id")
      .where("id", "=", scope.id)
      .executeTakeFirst();
    if (!row) throw new RuleError("invalid", `scope.id: no ${what} "${scope.id}".`);
  }

  async #guardName(name: string, write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch (error) {
      if (isUniqueViolation(error)) throw new RuleError("conflict", `A routing rule named "${name}" already exists.`);
      throw error;
    }
  }
}
