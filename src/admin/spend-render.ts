import type { SpendDimension, SpendRow } from "../store/spend-repo.ts";
import { exactJson, usd } from "./exact-json.ts";

/**
 * The text of a `GET /api/spend` answer (JSON or CSV) from merged rows. Free of Fastify and the runtime: the
 * analytics worker thread (store/analytics/) renders answers with it, off the request path's event loop.
 */

export type SpendFormat = "json" | "csv";

function rowJson(row: Omit<SpendRow, "group">) {
  return {
    requests: row.requests,
    unpricedRequests: row.unpricedRequests,
    costNanoUsd: row.costNanoUsd,
    costUsd: usd(row.costNanoUsd),
    tokens: row.tokens,
    cacheSavingsUsd: usd(row.cacheSavingsNanoUsd),
    cacheHits: row.cacheHits,
    responseCacheSavingsNanoUsd: row.responseCacheSavingsNanoUsd,
    responseCacheSavingsUsd: usd(row.responseCacheSavingsNanoUsd),
  };
}

const CSV_NUMBERS = [
  "requests",
  "unpricedRequests",
  "costNanoUsd",
  "costUsd",
  "inputTokens",
  "cacheReadTokens",
  "cacheWrite5mTokens",
  "cacheWrite1hTokens",
  "outputTokens",
  "reasoningTokens",
  "cacheSavingsUsd",
  "cacheHits",
  "responseCacheSavingsUsd",
];

/**
 * RFC 4180 field. A value a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) gets a leading
 * `'`: session ids and labels come from clients, and chargeback CSVs are opened in spreadsheets.
 */
export function csvField(value: string | null): string {
  if (value === null) return "";
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

function csv(groupBy: readonly SpendDimension[], rows: readonly SpendRow[]): string {
  const lines = [[...groupBy, ...CSV_NUMBERS].map(csvField).join(",")];
  for (const r of rows) {
    const t = r.tokens;
    const numbers = [
      r.requests,
      r.unpricedRequests,
      r.costNanoUsd,
      usd(r.costNanoUsd),
      t.input,
      t.cacheRead,
      t.cacheWrite5m,
      t.cacheWrite1h,
      t.output,
      t.reasoning,
      usd(r.cacheSavingsNanoUsd),
      r.cacheHits,
      usd(r.responseCacheSavingsNanoUsd),
    ].map(String);
    lines.push([...r.group.map(csvField), ...numbers].join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}

/** The answer's text: exact JSON (bigints as integer literals) or RFC 4180 CSV. */
export function renderSpend(
  format: SpendFormat,
  range: { from: number; to: number; groupBy: readonly SpendDimension[] },
  rows: readonly SpendRow[],
  totals: Omit<SpendRow, "group">,
): string {
  const { from, to, groupBy } = range;
  if (format === "csv") return csv(groupBy, rows);
  return exactJson({
    from,
    to,
    groupBy,
    data: rows.map((r) => ({
      group: Object.fromEntries(groupBy.map((d, i) => [d, r.group[i] ?? null])),
      ...rowJson(r),
    })),
    totals: rowJson(totals),
  });
}
