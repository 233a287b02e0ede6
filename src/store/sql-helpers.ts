import { type RawBuilder, sql } from "kysely";

/**
 * `SUM(column)` as an exact decimal string, "0" when no rows match. Per-row money fits a JS number, but a sum
 * of nano-dollars passes 2^53 at about $9M, so sums travel as text on both backends (SQLite sums integers in
 * 64 bits; PostgreSQL's sum(bigint) is numeric). Turn the result into a bigint with `BigInt(text)`.
 * `column` is a column reference such as "cost_nano_usd" or "request_logs.cost_nano_usd".
 */
export function sumAsText(column: string): RawBuilder<string> {
  return sql<string>`cast(coalesce(sum(${sql.ref(column)}), 0) as text)`;
}
