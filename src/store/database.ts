import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { Kysely, sql } from "kysely";
import { migrateToLatest } from "./migrate.ts";
import { assertSchemaName, createPostgresDialect, createPostgresPool, redactUrl } from "./postgres.ts";
import type { Db, TollgateTables } from "./schema.ts";
import { WorkerSqliteDialect } from "./sqlite-worker/dialect.ts";

export type DatabaseKind = "sqlite" | "postgres";

/** An open, migrated database. */
export interface Database {
  readonly kind: DatabaseKind;
  /** The typed query layer; repositories take this. */
  readonly db: Db;
  /** Where the data lives, without secrets: the SQLite file path or the redacted PostgreSQL URL (+ schema). */
  readonly location: string;
  /** Migrations applied by this open (empty when the schema was already current). */
  readonly appliedMigrations: readonly string[];
  /** Closes the pool or the SQLite worker. Idempotent. */
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** `postgres://…` / `postgresql://…`; absent or empty means embedded SQLite in `dataDir`. */
  url?: string;
  /** Data directory; SQLite uses `<dataDir>/tollgate.db`. Created when missing. */
  dataDir: string;
  /** PostgreSQL only: put every table in this schema (created when missing). */
  schema?: string;
  /** SQLite only: how long to wait on a lock held by another connection, ms. */
  sqliteBusyTimeoutMs?: number;
  /** PostgreSQL only: pool size. */
  poolSize?: number;
}

export const SQLITE_FILE_NAME = "tollgate.db";

function isPostgresUrl(url: string): boolean {
  return url.startsWith("postgres://") || url.startsWith("postgresql://");
}

/** Opens SQLite or PostgreSQL, runs pending migrations, and returns the handle. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const url = options.url?.trim() ?? "";
  if (url === "") {
    if (options.schema !== undefined) throw new Error("openDatabase: `schema` applies to PostgreSQL only");
    return openSqlite(options);
  }
  if (!isPostgresUrl(url)) {
    throw new Error(`unsupported database URL ${redactUrl(url)}: expected postgres://… (or none for SQLite)`);
  }
  return openPostgres(url, options);
}

async function openSqlite(options: OpenDatabaseOptions): Promise<Database> {
  await mkdir(options.dataDir, { recursive: true });
  const filename = join(options.dataDir, SQLITE_FILE_NAME);
  const db = new Kysely<TollgateTables>({
    dialect: new WorkerSqliteDialect({ filename, busyTimeoutMs: options.sqliteBusyTimeoutMs ?? 5000 }),
  });
  return finishOpen("sqlite", db, filename, undefined);
}

async function openPostgres(url: string, options: OpenDatabaseOptions): Promise<Database> {
  if (options.schema !== undefined) assertSchemaName(options.schema);
  const pool = createPostgresPool({
    url,
    ...(options.schema === undefined ? {} : { schema: options.schema }),
    ...(options.poolSize === undefined ? {} : { max: options.poolSize }),
  });
  const db = new Kysely<TollgateTables>({ dialect: createPostgresDialect(pool) });
  const location = redactUrl(url) + (options.schema === undefined ? "" : ` (schema ${options.schema})`);
  return finishOpen("postgres", db, location, options.schema);
}

async function finishOpen(kind: DatabaseKind, db: Db, location: string, schema: string | undefined): Promise<Database> {
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= db.destroy();
    return closing;
  };
  try {
    if (schema !== undefined) await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
    const appliedMigrations = await migrateToLatest(db, schema === undefined ? {} : { schema });
    return { kind, db, location, appliedMigrations, close };
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
}
