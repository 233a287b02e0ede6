import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ConfigError, loadConfig } from "../../src/config/load.ts";

async function configFile(text: string): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), "tollgate-cache-config-")), "tollgate.yaml");
  await writeFile(path, text);
  return path;
}

test("the cache is off by default", async () => {
  const c = await loadConfig({ env: {} });
  assert.deepEqual(c.cache, { exact: false, ttlSeconds: 3600, maxEntries: 10000, share: "key" });
});

test("the config file's cache section is read and validated", async () => {
  const path = await configFile("cache:\n  exact: true\n  ttlSeconds: 60\n  maxEntries: 5\n  share: team\n");
  const c = await loadConfig({ env: {}, flags: { config: path } });
  assert.deepEqual(c.cache, { exact: true, ttlSeconds: 60, maxEntries: 5, share: "team" });
  const bad = await configFile("cache:\n  share: everyone\n");
  await assert.rejects(loadConfig({ env: {}, flags: { config: bad } }), ConfigError);
});
