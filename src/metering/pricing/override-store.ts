import type { z } from "zod";
import type { Clock } from "../../clock.ts";
import { describeIssues } from "../../config/zod-issues.ts";
import { uuidv7 } from "../../store/ids.ts";
import type { Db } from "../../store/schema.ts";
import { type PriceOverride, priceOverrideSchema, priceOverridesSchema } from "./overrides.ts";
import type { PriceBook } from "./price-book.ts";

/**
 * Price overrides made through the management API, kept in the `price_overrides` table, and how they reach the
 * PriceBook together with the config file's ones.
 */

/** The part of the admin context the store works with (AdminContext fits it). */
export interface PriceOverrideContext {
  readonly database: { readonly db: Db };
  readonly prices: Pick<PriceBook, "setOverrides">;
  readonly runtime: {
    readonly config: { readonly priceOverrides: unknown };
    readonly clock: Clock;
    readonly warn: (message: string) => void;
  };
}

/** A price override stored through the API. */
export interface StoredPriceOverride {
  id: string;
  override: PriceOverride;
}

/**
 * Applies config-file plus stored overrides to the PriceBook (config first: on equal specificity the earlier one
 * wins, see overrides.ts). Stored rows that no longer validate are skipped with an operator warning.
 */
export async function applyStoredPriceOverrides(ctx: PriceOverrideContext): Promise<StoredPriceOverride[]> {
  const stored = await readStoredPriceOverrides(ctx);
  ctx.prices.setOverrides([...configPriceOverrides(ctx), ...stored.map((s) => s.override)]);
  return stored;
}

/** API-stored overrides in creation order (ids are UUIDv7-based, so they sort by creation). */
export async function readStoredPriceOverrides(ctx: PriceOverrideContext): Promise<StoredPriceOverride[]> {
  const rows = await ctx.database.db.selectFrom("price_overrides").select(["id", "data"]).orderBy("id").execute();
  const out: StoredPriceOverride[] = [];
  for (const row of rows) {
    let data: unknown;
    try {
      data = JSON.parse(row.data);
    } catch {
      data = undefined;
    }
    const parsed = priceOverrideSchema.safeParse(data);
    if (parsed.success) out.push({ id: row.id, override: parsed.data });
    else ctx.runtime.warn(`stored price override ${row.id} is invalid and ignored: ${formatIssues(parsed.error)}`);
  }
  return out;
}

/** The config file's `pricing.overrides` (app.ts already refused to start when they are invalid). */
export function configPriceOverrides(ctx: PriceOverrideContext): PriceOverride[] {
  const parsed = priceOverridesSchema.safeParse(ctx.runtime.config.priceOverrides);
  if (parsed.success) return parsed.data;
  ctx.runtime.warn(`pricing.overrides in the config file are invalid and ignored: ${formatIssues(parsed.error)}`);
  return [];
}

/** Replaces every stored override with these, in one transaction. Does not apply them. */
export async function replaceStoredPriceOverrides(
  ctx: PriceOverrideContext,
  overrides: readonly PriceOverride[],
): Promise<void> {
  const now = ctx.runtime.clock.now();
  await ctx.database.db.transaction().execute(async (trx) => {
    await trx.deleteFrom("price_overrides").execute();
    if (overrides.length > 0)
      await trx
        .insertInto("price_overrides")
        .values(overrides.map((o) => overrideRow(ctx, o, now)))
        .execute();
  });
}

/** Stores one more override and returns its id. Does not apply it. */
export async function addStoredPriceOverride(ctx: PriceOverrideContext, override: PriceOverride): Promise<string> {
  const row = overrideRow(ctx, override, ctx.runtime.clock.now());
  await ctx.database.db.insertInto("price_overrides").values(row).execute();
  return row.id;
}

/** Deletes a stored override; false when there is none with that id. Does not apply the change. */
export async function deleteStoredPriceOverride(ctx: PriceOverrideContext, id: string): Promise<boolean> {
  const result = await ctx.database.db.deleteFrom("price_overrides").where("id", "=", id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

function overrideRow(ctx: PriceOverrideContext, override: PriceOverride, now: number) {
  return {
    id: `price_${uuidv7(ctx.runtime.clock).replaceAll("-", "")}`,
    provider: override.provider ?? null,
    model: override.model,
    data: JSON.stringify(override),
    created_at: now,
    updated_at: now,
  };
}

function formatIssues(error: z.ZodError): string {
  return describeIssues(error.issues);
}
