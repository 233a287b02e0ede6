import type { DatabaseKind } from "../../store/database.ts";
import { querySpendPartsFast } from "../../store/rollups.ts";
import type { Db } from "../../store/schema.ts";
import { type CacheDiscount, rollUpSpend, type SpendPart } from "../../store/spend-repo.ts";
import { renderSpend } from "../spend-render.ts";
import type { DiscountPairs, DiscountValues, SpendRequest } from "./protocol.ts";

/** Answers the cache discounts of the given pairs (prices live on the main thread: the registry and price book). */
export type DiscountLookup = (pairs: DiscountPairs) => Promise<DiscountValues>;

/** The pairs rollUpSpend will ask a discount for: parts with cache reads and a known provider and model. */
function discountPairs(parts: readonly SpendPart[]): [string, string][] {
  const seen = new Set<string>();
  const pairs: [string, string][] = [];
  for (const p of parts) {
    if (p.tokens.cacheRead === 0n || p.provider === null || p.model === null) continue;
    const key = `${p.provider}\u0000${p.model}`;
    if (seen.has(key)) continue;
    seen.add(key);
    pairs.push([p.provider, p.model]);
  }
  return pairs;
}

/**
 * The whole `GET /api/spend` computation: rollup + raw-log queries, BigInt merge, JSON or CSV text. Runs in the
 * analytics worker (or in-process as the fallback); only the discount lookup goes back to the caller.
 */
export async function computeSpend(
  db: Db,
  kind: DatabaseKind,
  request: SpendRequest,
  lookup: DiscountLookup,
): Promise<string> {
  const { from, to, groupBy, filters, format } = request;
  const parts = await querySpendPartsFast(db, { kind, from, to, groupBy, filters });
  const pairs = discountPairs(parts);
  const values = pairs.length === 0 ? [] : await lookup(pairs);
  const table = new Map<string, number | null>();
  pairs.forEach(([provider, model], i) => {
    table.set(`${provider}\u0000${model}`, values[i] ?? null);
  });
  const discount: CacheDiscount = (provider, model) => table.get(`${provider}\u0000${model}`) ?? null;
  const { rows, totals } = rollUpSpend(parts, discount);
  return renderSpend(format, { from, to, groupBy }, rows, totals);
}
