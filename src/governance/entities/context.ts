import type { Clock } from "../../clock.ts";
import { uuidv7 } from "../../store/ids.ts";
import { conflict, type GovernanceError, invalidField } from "./errors.ts";
import type { GovernanceDb } from "./tables.ts";

/** What every repository function works with; `db` may be a transaction. */
export interface RepoContext {
  db: GovernanceDb;
  clock: Clock;
}

export const ID_PREFIXES = {
  customer: "cus",
  team: "team",
  developer: "dev",
  key: "vk",
  budget: "bud",
  rateLimit: "rl",
} as const;

/** `<prefix>_<uuidv7 hex>`: says what it names, and sorts in creation order (list pages walk ids). */
export function newId(kind: keyof typeof ID_PREFIXES, clock: Clock): string {
  return `${ID_PREFIXES[kind]}_${uuidv7(clock).replaceAll("-", "")}`;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** PostgreSQL 23505 / SQLite SQLITE_CONSTRAINT_UNIQUE (or _PRIMARYKEY). */
export function isUniqueViolation(error: unknown): boolean {
  const code = errorCode(error);
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

/** PostgreSQL 23503 / SQLite SQLITE_CONSTRAINT_FOREIGNKEY. */
export function isForeignKeyViolation(error: unknown): boolean {
  const code = errorCode(error);
  return code === "23503" || code === "SQLITE_CONSTRAINT_FOREIGNKEY";
}

/**
 * Runs a write whose uniqueness and references were checked just before; a concurrent writer can still win the
 * race, and then the database's constraint error becomes the same 409 / 400 the check would have given.
 */
export async function guardConstraints<T>(
  write: () => Promise<T>,
  messages: { unique?: string; foreignKey?: { field: string; message: string } },
): Promise<T> {
  try {
    return await write();
  } catch (error) {
    let mapped: GovernanceError | undefined;
    if (messages.unique !== undefined && isUniqueViolation(error)) mapped = conflict(messages.unique);
    if (messages.foreignKey !== undefined && isForeignKeyViolation(error))
      mapped = invalidField(messages.foreignKey.field, messages.foreignKey.message);
    if (mapped) throw mapped;
    throw error;
  }
}

/** Pagination: ids after `after`, `limit` of them (default 100), plus whether more follow. */
export interface PageRequest {
  after?: string | undefined;
  limit?: number | undefined;
}

export const DEFAULT_PAGE_SIZE = 100;

export function pageOf<T extends { id: string }>(rows: T[], limit: number): { data: T[]; nextCursor: string | null } {
  const data = rows.slice(0, limit);
  return { data, nextCursor: rows.length > limit ? (data.at(-1)?.id ?? null) : null };
}
