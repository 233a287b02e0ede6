import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../src/config/load.ts";
import { resolveDogStatsd } from "../../src/metrics/dogstatsd-config.ts";

const invalid = (m: string) => new Error(m);

async function configFile(text: string): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), "tollgate-config-")), "tollgate.yaml");
  await writeFile(path, text);
  return path;
}

describe("DogStatsD config", () => {
  it("is off by default, and DD_AGENT_HOST alone does not turn it on", () => {
    assert.equal(resolveDogStatsd({}, undefined, invalid), null);
    assert.equal(resolveDogStatsd({ DD_AGENT_HOST: "10.0.0.7", DD_DOGSTATSD_PORT: "8125" }, undefined, invalid), null);
  });

  it("TOLLGATE_DOGSTATSD=1 turns it on with the defaults, or the standard DD_* variables", () => {
    assert.deepEqual(resolveDogStatsd({ TOLLGATE_DOGSTATSD: "1" }, undefined, invalid), {
      host: "127.0.0.1",
      port: 8125,
      prefix: "tollgate.",
      globalTags: {},
    });
    assert.deepEqual(
      resolveDogStatsd(
        { TOLLGATE_DOGSTATSD: "true", DD_AGENT_HOST: "10.0.0.7", DD_DOGSTATSD_PORT: "9125" },
        undefined,
        invalid,
      ),
      { host: "10.0.0.7", port: 9125, prefix: "tollgate.", globalTags: {} },
    );
  });

  it("a file section turns it on; DD_* win over its host and port; TOLLGATE_DOGSTATSD=0 or enabled: false turn it off", () => {
    const file = { host: "datadog-agent", port: 8200, prefix: "llm", globalTags: { env: "prod" } };
    assert.deepEqual(resolveDogStatsd({}, file, invalid), {
      host: "datadog-agent",
      port: 8200,
      prefix: "llm.",
      globalTags: { env: "prod" },
    });
    assert.deepEqual(resolveDogStatsd({ DD_AGENT_HOST: "10.0.0.7", DD_DOGSTATSD_PORT: "8125" }, file, invalid), {
      host: "10.0.0.7",
      port: 8125,
      prefix: "llm.",
      globalTags: { env: "prod" },
    });
    assert.equal(resolveDogStatsd({ TOLLGATE_DOGSTATSD: "0" }, file, invalid), null);
    assert.equal(resolveDogStatsd({}, { ...file, enabled: false }, invalid), null);
    assert.notEqual(resolveDogStatsd({ TOLLGATE_DOGSTATSD: "1" }, { enabled: false }, invalid), null);
  });

  it("refuses bad values", () => {
    assert.throws(() => resolveDogStatsd({ TOLLGATE_DOGSTATSD: "yes" }, undefined, invalid), /TOLLGATE_DOGSTATSD/);
    assert.throws(
      () => resolveDogStatsd({ TOLLGATE_DOGSTATSD: "1", DD_DOGSTATSD_PORT: "99999" }, undefined, invalid),
      /DD_DOGSTATSD_PORT/,
    );
  });

  it("loadConfig resolves metrics.dogstatsd from the file and env, and leaves it out when off", async () => {
    const off = await loadConfig({ env: {} });
    assert.equal("dogstatsd" in off.metrics, false);
    const path = await configFile(
      "metrics:\n  dogstatsd:\n    host: datadog-agent\n    globalTags: { env: staging }\n",
    );
    const c = await loadConfig({ env: {}, flags: { config: path } });
    assert.deepEqual(c.metrics.dogstatsd, {
      host: "datadog-agent",
      port: 8125,
      prefix: "tollgate.",
      globalTags: { env: "staging" },
    });
    const env = await loadConfig({ env: { TOLLGATE_DOGSTATSD: "1", DD_DOGSTATSD_PORT: "8126" } });
    assert.equal(env.metrics.dogstatsd?.port, 8126);
    await assert.rejects(
      loadConfig({ env: {}, flags: { config: await configFile("metrics:\n  dogstatsd:\n    port: 0\n") } }),
      ConfigError,
    );
    await assert.rejects(
      loadConfig({ env: {}, flags: { config: await configFile("metrics:\n  dogstatsd:\n    hots: x\n") } }),
      ConfigError,
    );
  });
});
