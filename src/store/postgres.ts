import { type DatabaseIntrospector, type Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { CurrentSchemaIntrospector } from "./postgres-introspector.ts";

/** PostgreSQL OIDs whose text form we parse ourselves. */
const INT8_OID = 20;

/**
 * bigint (int8) columns hold epoch milliseconds, token counts and per-row nano-dollar costs, all far below
 * 2^53, so they come back as JS numbers. A value beyond Number.MAX_SAFE_INTEGER stays a decimal string rather
 * than silently losing precision; sums of money are cast to text in SQL (see sql-helpers.ts) and never get here.
 */
function parseInt8(text: string): number | string {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : text;
}

const typeParsers: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") => {
    if (oid === INT8_OID && (format === undefined || format === "text")) return parseInt8;
    return format === "binary" ? pg.types.getTypeParser(oid, "binary") : pg.types.getTypeParser(oid, "text");
  }) as pg.CustomTypesConfig["getTypeParser"],
};

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`invalid PostgreSQL schema name ${JSON.stringify(schema)}: use lowercase letters, digits and _`);
  }
}

export interface PostgresPoolOptions {
  url: string;
  /** Every pooled connection gets `search_path=<schema>`. Must already be validated with assertSchemaName. */
  schema?: string;
  max?: number;
}

export function createPostgresPool(options: PostgresPoolOptions): pg.Pool {
  return new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    types: typeParsers,
    // Set at connection start-up, so no query can ever run on a pooled connection before the path is set.
    ...(options.schema === undefined ? {} : { options: `-c search_path=${options.schema}` }),
  });
}

/** Kysely's PostgreSQL dialect, introspecting only the current schema (see CurrentSchemaIntrospector). */
class SchemaScopedPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new CurrentSchemaIntrospector(db);
  }
}

export function createPostgresDialect(pool: pg.Pool): PostgresDialect {
  return new SchemaScopedPostgresDialect({ pool });
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparsable database URL)";
  }
}
