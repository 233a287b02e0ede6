import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import { systemClock } from "../src/clock.ts";
import { newId } from "../src/governance/entities/context.ts";
import { generateVirtualKeySecret } from "../src/governance/entities/key-material.ts";

// Many virtual keys at once, straight into the gateway's SQLite database while the gateway is stopped. Through the
// management API each create reloads the gateway's whole key snapshot (and walks every budget), so a create costs
// ~25 µs per key already held — measured 9 ms at 500 keys, 60 ms at 3,000, 2.4–2.9 s at 100,000 — and creating
// 100,000 one by one would take about a day and a half. Each key here is a copy of a key made through the API
// (every column, its budgets and rate limits) with its own id, name and secret hash, so the only thing that
// changes is how many keys there are.

export interface SeededKeys {
  inserted: number;
  /** Budget and rate-limit rows inserted with them (the template's, once per copy). */
  budgets: number;
  rateLimits: number;
  elapsedMs: number;
}

type Row = Record<string, unknown>;

/** Inserts `count` copies of the key `templateKeyId` (with its key-scoped budgets and rate limits), in one transaction. */
export function insertKeyCopies(dbPath: string, templateKeyId: string, count: number): SeededKeys {
  const startedAt = performance.now();
  const db = new Database(dbPath, { fileMustExist: true });
  try {
    db.pragma("busy_timeout = 5000");
    const key = db.prepare("SELECT * FROM virtual_keys WHERE id = ?").get(templateKeyId) as Row | undefined;
    if (!key) throw new Error(`no virtual key ${templateKeyId} to copy in ${dbPath}`);
    const scoped = "WHERE scope_type IN ('key', 'key-provider') AND scope_id = ? ORDER BY id";
    const budgets = db.prepare(`SELECT * FROM budgets ${scoped}`).all(templateKeyId) as Row[];
    const limits = db.prepare(`SELECT * FROM rate_limits ${scoped}`).all(templateKeyId) as Row[];
    const insertKey = insertStatement(db, "virtual_keys", key);
    const insertBudget = budgets[0] ? insertStatement(db, "budgets", budgets[0]) : undefined;
    const insertLimit = limits[0] ? insertStatement(db, "rate_limits", limits[0]) : undefined;

    const copyAll = db.transaction(() => {
      const now = Date.now();
      const width = String(count).length;
      for (let i = 0; i < count; i++) {
        const material = generateVirtualKeySecret();
        const id = newId("key", systemClock);
        insertKey({
          ...key,
          id,
          name: `bench-copy-${String(i + 1).padStart(width, "0")}`,
          secret_hash: material.hash,
          secret_prefix: material.prefix,
          created_at: now,
          updated_at: now,
        });
        for (const budget of budgets) {
          insertBudget?.({
            ...budget,
            id: newId("budget", systemClock),
            scope_id: id,
            created_at: now,
            updated_at: now,
          });
        }
        for (const limit of limits) {
          insertLimit?.({
            ...limit,
            id: newId("rateLimit", systemClock),
            scope_id: id,
            created_at: now,
            updated_at: now,
          });
        }
      }
    });
    copyAll();
    return {
      inserted: count,
      budgets: count * budgets.length,
      rateLimits: count * limits.length,
      elapsedMs: performance.now() - startedAt,
    };
  } finally {
    db.close();
  }
}

/** `INSERT INTO table (every column of the template row) VALUES (@column, …)`, bound by name. */
function insertStatement(db: Database.Database, table: string, template: Row): (row: Row) => void {
  const columns = Object.keys(template);
  const statement = db.prepare(
    `INSERT INTO ${table} (${columns.map((c) => `"${c}"`).join(", ")}) VALUES (${columns.map((c) => `@${c}`).join(", ")})`,
  );
  return (row) => {
    statement.run(row);
  };
}
