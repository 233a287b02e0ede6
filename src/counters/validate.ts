import type { AdjustItem, BudgetItem, RateItem, SeedItem, SettleItem } from "./counter-store.ts";

/**
 * Argument checks shared by both backends, so a bad call fails the same way on each and never reaches a Redis
 * script half-applied. Errors are RangeError/TypeError: they are caller bugs, not refusals.
 */

export function checkName(value: unknown, what: string): void {
  if (typeof value !== "string" || value.length === 0)
    throw new TypeError(`counters: ${what} must be a non-empty string`);
}

export function checkInteger(value: unknown, what: string): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`counters: ${what} must be a safe integer, got ${value}`);
}

export function checkNonNegative(value: unknown, what: string): void {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new RangeError(`counters: ${what} must be a non-negative safe integer, got ${value}`);
  }
}

export function checkPositive(value: unknown, what: string): void {
  if (!Number.isSafeInteger(value) || (value as number) <= 0) {
    throw new RangeError(`counters: ${what} must be a positive safe integer, got ${value}`);
  }
}

export function checkOptionalTime(value: number | undefined, what: string): void {
  if (value !== undefined) checkInteger(value, what);
}

/** Items of one call must name distinct keys (a key counted twice would check against half its real use). */
export function checkDistinctKeys(items: readonly { key: string }[], what: string): void {
  for (let i = 0; i < items.length; i++) {
    const key = (items[i] as { key: string }).key;
    checkName(key, `${what}[${i}].key`);
    for (let j = 0; j < i; j++) {
      if ((items[j] as { key: string }).key === key) throw new RangeError(`counters: ${what} names key "${key}" twice`);
    }
  }
}

export function validateBudgetItems(items: readonly BudgetItem[]): void {
  checkDistinctKeys(items, "items");
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as BudgetItem;
    checkNonNegative(item.amount, `items[${i}].amount`);
    checkInteger(item.limit, `items[${i}].limit`);
    checkOptionalTime(item.expireAtMs, `items[${i}].expireAtMs`);
  }
}

export function validateAdjustItems(items: readonly AdjustItem[]): void {
  checkDistinctKeys(items, "items");
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as AdjustItem;
    checkInteger(item.delta, `items[${i}].delta`);
    checkInteger(item.limit, `items[${i}].limit`);
    checkOptionalTime(item.expireAtMs, `items[${i}].expireAtMs`);
  }
}

export function validateSettleItems(items: readonly SettleItem[]): void {
  checkDistinctKeys(items, "items");
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as SettleItem;
    checkNonNegative(item.amount, `items[${i}].amount`);
    checkOptionalTime(item.expireAtMs, `items[${i}].expireAtMs`);
  }
}

export function validateRateItems(items: readonly RateItem[], force: boolean): void {
  checkDistinctKeys(items, "items");
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as RateItem;
    checkNonNegative(item.limit, `items[${i}].limit`);
    checkPositive(item.windowMs, `items[${i}].windowMs`);
    if (item.cost !== undefined) {
      if (force) checkInteger(item.cost, `items[${i}].cost`);
      else checkNonNegative(item.cost, `items[${i}].cost`);
    }
  }
}

export function validateSeedItems(items: readonly SeedItem[]): void {
  checkDistinctKeys(items, "items");
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as SeedItem;
    checkNonNegative(item.committed, `items[${i}].committed`);
    checkOptionalTime(item.expireAtMs, `items[${i}].expireAtMs`);
  }
}
