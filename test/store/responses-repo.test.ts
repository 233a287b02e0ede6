import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Database, openDatabase } from "../../src/store/database.ts";
import { SqlResponseStore, type StoredResponse } from "../../src/store/responses-repo.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";

const url = testPostgresUrl();
const pgSkip = await requirePostgres(url);
const schema = randomSchemaName("responses");

const T0 = Date.UTC(2026, 5, 1);

function stored(id: string, scope: string, expiresAt: number): StoredResponse {
  return {
    id,
    scope,
    requestId: `req-${id}`,
    model: "claude-sonnet-4-5",
    status: "completed",
    instructions: "Be brief. ✓",
    previousResponseId: null,
    input: [{ type: "message", role: "user", content: [{ type: "input_text", text: "héllo 日本" }] }],
    output: [{ id: `fc_${id}`, type: "function_call", call_id: "call_1", name: "f", arguments: "{}" }],
    usage: { input_tokens: 3, output_tokens: 4, total_tokens: 7 },
    createdAt: T0,
    expiresAt,
  };
}

const backends: { name: string; skip: string | undefined; open: (dir: string) => Promise<Database> }[] = [
  { name: "SQLite", skip: undefined, open: (dir) => openDatabase({ dataDir: dir }) },
  { name: "PostgreSQL", skip: pgSkip, open: (dir) => openDatabase({ url, dataDir: dir, schema }) },
];

for (const backend of backends) {
  describe(`stored responses (${backend.name})`, { skip: backend.skip ?? false }, () => {
    let dir: string;
    let database: Database;
    let repo: SqlResponseStore;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "tollgate-responses-"));
      database = await backend.open(dir);
      repo = new SqlResponseStore(database.db);
    });
    after(async () => {
      await database.close();
      if (backend.name === "PostgreSQL") await dropSchema(url, schema);
      await rm(dir, { recursive: true, force: true });
    });

    it("round-trips a response in its scope only, until it expires", async () => {
      const r = stored("resp_a", "customer:-/key:k1", T0 + 1000);
      await repo.put(r);
      assert.deepEqual(await repo.get("customer:-/key:k1", "resp_a", T0), r);
      assert.equal(await repo.get("customer:-/key:k2", "resp_a", T0), null, "another scope");
      assert.equal(await repo.get("customer:-/key:k1", "resp_b", T0), null, "unknown id");
      assert.equal(await repo.get("customer:-/key:k1", "resp_a", T0 + 1000), null, "expired");
    });

    it("deletes in scope only, and purges expired rows", async () => {
      await repo.put(stored("resp_d", "s1", T0 + 5000));
      await repo.put(stored("resp_old", "s1", T0 + 10));
      assert.equal(await repo.delete("s2", "resp_d", T0), false);
      assert.equal(await repo.delete("s1", "resp_d", T0), true);
      assert.equal(await repo.get("s1", "resp_d", T0), null);
      assert.equal(await repo.delete("s1", "resp_d", T0), false);
      // resp_a (T0 + 1000) and resp_old (T0 + 10) are expired at T0 + 2000.
      assert.equal(await repo.purgeExpired(T0 + 2000), 2);
      assert.equal(await repo.purgeExpired(T0 + 2000), 0);
    });
  });
}
