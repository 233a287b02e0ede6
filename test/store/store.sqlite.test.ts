import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../src/store/database.ts";
import { registerStoreCases } from "./store-cases.ts";

const dataDir = await mkdtemp(join(tmpdir(), "tollgate-store-"));

registerStoreCases({
  name: "SQLite (worker thread)",
  open: () => openDatabase({ dataDir }),
  cleanup: () => rm(dataDir, { recursive: true, force: true }),
});
