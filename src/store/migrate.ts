import type { Kysely } from "kysely";
import { type MigrationResult, Migrator } from "kysely/migration";
import { migrationProvider } from "./migrations/index.ts";
import type { Db } from "./schema.ts";

/** Applies every pending migration; a no-op when the schema is current. Returns the names it applied. */
export async function migrateToLatest(db: Db | Kysely<unknown>, options: { schema?: string } = {}): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: migrationProvider,
    // With a schema, keep Kysely's bookkeeping tables there too, not in whichever schema has them already.
    ...(options.schema === undefined ? {} : { migrationTableSchema: options.schema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r: MigrationResult) => r.status === "Error")?.migrationName;
    const cause = error instanceof Error ? error.message : String(error);
    throw new Error(`database migration ${failed ?? "(setup)"} failed: ${cause}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}
