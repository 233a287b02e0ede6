import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../src/config/load.ts";

async function configFile(text: string): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), "tollgate-config-")), "tollgate.yaml");
  await writeFile(path, text);
  return path;
}

describe("metrics config", () => {
  it("defaults: open, default labels only", async () => {
    const c = await loadConfig({ env: {} });
    assert.deepEqual(c.metrics, {
      token: null,
      keyLabels: false,
      developerLabels: false,
      labels: [],
      maxSeries: 10_000,
    });
  });

  it("reads the metrics section; TOLLGATE_METRICS_TOKEN wins over the file's token", async () => {
    const path = await configFile(
      "metrics:\n  token: file-token-0123456789\n  keyLabels: true\n  labels: [project, cost.center, project]\n  maxSeries: 50\n",
    );
    const c = await loadConfig({ env: {}, flags: { config: path } });
    assert.deepEqual(c.metrics, {
      token: "file-token-0123456789",
      keyLabels: true,
      developerLabels: false,
      labels: ["project", "cost.center"],
      maxSeries: 50,
    });
    const env = await loadConfig({ env: { TOLLGATE_METRICS_TOKEN: "env-token-0123456789" }, flags: { config: path } });
    assert.equal(env.metrics.token, "env-token-0123456789");
  });

  it("refuses labels that become the same Prometheus name, and unknown fields", async () => {
    await assert.rejects(
      loadConfig({ env: {}, flags: { config: await configFile("metrics:\n  labels: [cost.center, cost-center]\n") } }),
      (err: unknown) => err instanceof ConfigError && /label_cost_center/.test(err.message),
    );
    await assert.rejects(
      loadConfig({ env: {}, flags: { config: await configFile("metrics:\n  sessionLabels: true\n") } }),
      ConfigError,
    );
  });
});
