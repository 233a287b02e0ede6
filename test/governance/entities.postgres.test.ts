import { tmpdir } from "node:os";
import { openDatabase } from "../../src/store/database.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";
import { registerEntitiesCases } from "./entities-cases.ts";

const url = testPostgresUrl();
const skip = await requirePostgres(url);
const schema = randomSchemaName("entities");

registerEntitiesCases({
  name: "PostgreSQL",
  skip,
  // PostgreSQL keeps nothing in the data dir.
  open: () => openDatabase({ url, dataDir: tmpdir(), schema }),
  cleanup: () => dropSchema(url, schema),
});
