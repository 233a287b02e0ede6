import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../src/config/load.ts";

const dirs: string[] = [];
async function file(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "tollgate-fallback-"));
  dirs.push(dir);
  const path = join(dir, "tollgate.yaml");
  await writeFile(path, text);
  return path;
}

describe("pricing.fallback / TOLLGATE_PRICE_FALLBACK", () => {
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("is null unless configured", async () => {
    assert.equal((await loadConfig({ env: {} })).priceFallback, null);
  });

  it("reads the config file's pricing.fallback", async () => {
    const path = await file(
      'pricing:\n  fallback: { inputPerMTok: "3", outputPerMTok: 15, cacheReadPerMTok: "0.30" }\n',
    );
    const c = await loadConfig({ env: { TOLLGATE_CONFIG: path } });
    assert.deepEqual(c.priceFallback, { inputPerMTok: "3", outputPerMTok: 15, cacheReadPerMTok: "0.30" });
  });

  it("reads TOLLGATE_PRICE_FALLBACK as input,output[,cacheRead,cacheWrite5m,cacheWrite1h], over the file", async () => {
    const path = await file('pricing:\n  fallback: { inputPerMTok: "1", outputPerMTok: "2" }\n');
    const c = await loadConfig({ env: { TOLLGATE_CONFIG: path, TOLLGATE_PRICE_FALLBACK: " 3, 15 " } });
    assert.deepEqual(c.priceFallback, { inputPerMTok: "3", outputPerMTok: "15" });
    const all = await loadConfig({ env: { TOLLGATE_PRICE_FALLBACK: "3,15,0.3,3.75,6" } });
    assert.deepEqual(all.priceFallback, {
      inputPerMTok: "3",
      outputPerMTok: "15",
      cacheReadPerMTok: "0.3",
      cacheWrite5mPerMTok: "3.75",
      cacheWrite1hPerMTok: "6",
    });
  });

  it("refuses a malformed value with a message saying what is expected", async () => {
    for (const bad of ["3", "3,x", "3,,15", "-1,15", "1,2,3,4,5,6"]) {
      await assert.rejects(
        loadConfig({ env: { TOLLGATE_PRICE_FALLBACK: bad } }),
        (err: Error) => err instanceof ConfigError && /TOLLGATE_PRICE_FALLBACK must be .*"3,15"/.test(err.message),
        bad,
      );
    }
    const path = await file('pricing:\n  fallback: { inputPerMTok: "3" }\n');
    await assert.rejects(
      loadConfig({ env: { TOLLGATE_CONFIG: path } }),
      (err: Error) => err instanceof ConfigError && /pricing\.fallback\.outputPerMTok/.test(err.message),
    );
  });
});
