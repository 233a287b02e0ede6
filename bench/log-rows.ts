import Database from "better-sqlite3";
import type { Workload, WorkloadName } from "./workloads.ts";

export interface LogRowGroup {
  endpoint: string;
  stream: boolean;
  rows: number;
  /** Rows with a 2xx status; null when the log has no status column. */
  ok2xx: number | null;
  /** Rows with output tokens recorded (usage was metered); null when the log has no output_tokens column. */
  withOutputTokens: number | null;
  /** Rows attributed to a virtual key; null when the log has no virtual_key_id column. */
  withVirtualKey: number | null;
  /** The user-agent of a workload that is told apart by it (see Workload.log), else null. */
  userAgent: string | null;
  /** The workload these rows belong to, or null when none matches. */
  workload: WorkloadName | null;
}

export interface LogRowCount {
  groups: LogRowGroup[];
  total: number;
  /** Rows per workload; absent when the log's columns do not allow telling workloads apart. */
  byWorkload: Partial<Record<WorkloadName, number>>;
  /** Set when rows could only be counted in total. */
  note?: string;
}

const table = "request_logs";

/**
 * Counts the gateway's request log rows per workload. Workloads are told apart by (endpoint, stream), and those
 * that share both (small-anthropic and the governed workload) by the user-agent the latter sends: a row with a
 * workload's `log.userAgent` belongs to that workload only; other rows to the workload without one.
 */
export function countLogRows(dbPath: string, workloads: readonly Workload[]): LogRowCount {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const columns = new Set(
      (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name),
    );
    if (columns.size === 0) throw new Error(`${dbPath} has no ${table} table`);
    const total = (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    if (!columns.has("endpoint") || !columns.has("stream")) {
      return {
        groups: [],
        total,
        byWorkload: {},
        note: `${table} has no endpoint/stream columns (has: ${[...columns].join(", ")}); only the total is checked`,
      };
    }
    const ok2xx = columns.has("status") ? "SUM(status BETWEEN 200 AND 299)" : "NULL";
    const metered = columns.has("output_tokens") ? "SUM(output_tokens > 0)" : "NULL";
    const keyed = columns.has("virtual_key_id") ? "SUM(virtual_key_id IS NOT NULL)" : "NULL";
    const tags = workloads.flatMap((w) => (w.log.userAgent === undefined ? [] : [w.log.userAgent]));
    const tag =
      tags.length > 0 && columns.has("user_agent")
        ? `CASE WHEN user_agent IN (${tags.map(() => "?").join(", ")}) THEN user_agent END`
        : "NULL";
    const rows = db
      .prepare(
        `SELECT endpoint, stream, ${tag} AS tag, COUNT(*) AS n, ${ok2xx} AS ok, ${metered} AS metered, ${keyed} AS keyed
         FROM ${table} GROUP BY endpoint, stream, tag`,
      )
      .all(...(tag === "NULL" ? [] : tags)) as Array<{
      endpoint: unknown;
      stream: unknown;
      tag: string | null;
      n: number;
      ok: number | null;
      metered: number | null;
      keyed: number | null;
    }>;
    const byWorkload: Partial<Record<WorkloadName, number>> = {};
    const groups = rows.map((row): LogRowGroup => {
      const endpoint = String(row.endpoint);
      const stream = isTruthy(row.stream);
      const userAgent = row.tag ?? null;
      const match = workloads.find(
        (w) =>
          endpoint.endsWith(w.log.endpointSuffix) && w.log.stream === stream && (w.log.userAgent ?? null) === userAgent,
      );
      if (match) byWorkload[match.name] = (byWorkload[match.name] ?? 0) + row.n;
      return {
        endpoint,
        stream,
        rows: row.n,
        ok2xx: row.ok,
        withOutputTokens: row.metered,
        withVirtualKey: row.keyed,
        userAgent,
        workload: match?.name ?? null,
      };
    });
    return { groups, total, byWorkload };
  } finally {
    db.close();
  }
}

/** SQLite has no boolean type: the flag may be stored as 0/1, "true"/"false" or similar. */
function isTruthy(value: unknown): boolean {
  if (typeof value === "number" || typeof value === "bigint") return Number(value) !== 0;
  if (typeof value === "string") return value === "1" || value.toLowerCase() === "true";
  return Boolean(value);
}
