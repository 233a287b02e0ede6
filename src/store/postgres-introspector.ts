import {
  type ColumnMetadata,
  type DatabaseIntrospector,
  type DatabaseMetadataOptions,
  type Kysely,
  type SchemaMetadata,
  sql,
  type TableMetadata,
} from "kysely";

interface TableColumnRow {
  schema: string;
  table: string;
  table_type: string;
  column: string;
  type: string;
  not_null: boolean;
  has_default: boolean;
}

/** Kysely's bookkeeping tables, hidden unless asked for (as Kysely's own introspector does). */
const KYSELY_TABLES = new Set(["kysely_migration", "kysely_migration_lock"]);

/**
 * Sees only the connection's current schema (the pool's search_path).
 *
 * Kysely's PostgresIntrospector lists every table of the database and calls `has_schema_privilege(<name>)` per row;
 * when another process drops its schema in the same instant (parallel test files, or tenants sharing a database),
 * that name lookup fails with `schema "…" does not exist` and the migration aborts. Migrations only ever ask about
 * our own schema, so we never look at anyone else's — which is also O(own tables) instead of O(database).
 */
export class CurrentSchemaIntrospector implements DatabaseIntrospector {
  readonly #db: Kysely<unknown>;

  constructor(db: Kysely<unknown>) {
    this.#db = db;
  }

  async getSchemas(): Promise<SchemaMetadata[]> {
    const result = await sql<{ name: string }>`select current_schema() as name`.execute(this.#db);
    return result.rows.filter((row) => row.name !== null).map((row) => ({ name: row.name }));
  }

  async getTables(options: DatabaseMetadataOptions = { withInternalKyselyTables: false }): Promise<TableMetadata[]> {
    const result = await sql<TableColumnRow>`
      select ns.nspname as schema, c.relname as table, c.relkind as table_type,
             a.attname as column, format_type(a.atttypid, a.atttypmod) as type,
             a.attnotnull as not_null, a.atthasdef as has_default
        from pg_catalog.pg_namespace ns
        join pg_catalog.pg_class c on c.relnamespace = ns.oid
        join pg_catalog.pg_attribute a on a.attrelid = c.oid
       where ns.nspname = current_schema()
         and c.relkind in ('r', 'v', 'p', 'f')
         and a.attnum > 0 and not a.attisdropped
       order by c.relname, a.attnum`.execute(this.#db);
    const tables = new Map<string, { meta: TableMetadata; columns: ColumnMetadata[] }>();
    for (const row of result.rows) {
      if (!options.withInternalKyselyTables && KYSELY_TABLES.has(row.table)) continue;
      let entry = tables.get(row.table);
      if (entry === undefined) {
        const columns: ColumnMetadata[] = [];
        entry = {
          columns,
          meta: {
            name: row.table,
            schema: row.schema,
            isView: row.table_type === "v",
            isForeign: row.table_type === "f",
            columns,
          },
        };
        tables.set(row.table, entry);
      }
      entry.columns.push({
        name: row.column,
        dataType: row.type,
        isNullable: !row.not_null,
        hasDefaultValue: row.has_default,
        isAutoIncrementing: false,
      });
    }
    return [...tables.values()].map((entry) => entry.meta);
  }

  async getMetadata(options?: DatabaseMetadataOptions): Promise<{ tables: TableMetadata[] }> {
    return { tables: await this.getTables(options) };
  }
}
