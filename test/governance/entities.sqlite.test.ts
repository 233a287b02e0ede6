import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../src/store/database.ts";
import { registerEntitiesCases } from "./entities-cases.ts";

const dataDir = await mkdtemp(join(tmpdir(), "tollgate-entities-"));

registerEntitiesCases({
  name: "SQLite",
  open: () => openDatabase({ dataDir }),
  cleanup: () => rm(dataDir, { recursive: true, force: true }),
});
