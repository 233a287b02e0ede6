import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../src/config/load.ts";
import { azureDialects, azureProvider, azureResourceUrl } from "../../src/providers/azure.ts";
import { authHeaders, upstreamUrl } from "../../src/providers/endpoints.ts";
import { ProviderRegistry } from "../../src/providers/registry.ts";
import { adaptUpstreamBody } from "../../src/providers/upstream-body.ts";

const KEYS = [{ id: "k", secret: "azure-secret", label: null, source: "config" as const }];
const RESOURCE = "https://contoso.openai.azure.com";

function provider(apiVersion?: string) {
  return azureProvider({
    name: "azure",
    baseUrl: RESOURCE,
    apiVersion,
    deployments: { "gpt-4.1": "prod-gpt41", "text-embedding-3-small": "embed" },
    keys: KEYS,
    source: "config",
  });
}

async function configFile(config: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "tollgate-azure-config-"));
  const path = join(dir, "tollgate.json");
  await writeFile(path, JSON.stringify(config));
  return path;
}

describe("Azure OpenAI endpoints", () => {
  it("builds deployment URLs with the api-version, a model without a deployment being its own", () => {
    const p = provider();
    assert.equal(
      upstreamUrl(p, "chat", "gpt-4.1", ""),
      `${RESOURCE}/openai/deployments/prod-gpt41/chat/completions?api-version=2024-10-21`,
    );
    assert.equal(
      upstreamUrl(p, "embeddings", "text-embedding-3-small", ""),
      `${RESOURCE}/openai/deployments/embed/embeddings?api-version=2024-10-21`,
    );
    assert.equal(
      upstreamUrl(p, "chat", "gpt-4o", ""),
      `${RESOURCE}/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21`,
    );
    assert.equal(upstreamUrl(p, "models", "", ""), `${RESOURCE}/openai/models?api-version=2024-10-21`);
    assert.throws(() => upstreamUrl(p, "messages", "gpt-4.1", ""), /no endpoint for messages/);
  });

  it("sends Responses to the resource-level path on a dated version", () => {
    assert.equal(
      upstreamUrl(provider("2025-04-01-preview"), "responses", "gpt-4.1", ""),
      `${RESOURCE}/openai/responses?api-version=2025-04-01-preview`,
    );
  });

  it("builds v1 API URLs without an api-version", () => {
    const p = provider("v1");
    assert.equal(upstreamUrl(p, "chat", "gpt-4.1", ""), `${RESOURCE}/openai/v1/chat/completions`);
    assert.equal(upstreamUrl(p, "responses", "gpt-4.1", ""), `${RESOURCE}/openai/v1/responses`);
    assert.equal(upstreamUrl(p, "embeddings", "x", ""), `${RESOURCE}/openai/v1/embeddings`);
  });

  it("authenticates with the api-key header", () => {
    assert.deepEqual(authHeaders(provider(), "azure-secret"), { "api-key": "azure-secret" });
  });

  it("speaks Responses only where Azure serves it (v1, or a version from 2025-03-01-preview)", () => {
    assert.deepEqual(azureDialects("2024-10-21"), ["openai-chat", "openai-embeddings"]);
    assert.deepEqual(azureDialects("2025-01-01-preview"), ["openai-chat", "openai-embeddings"]);
    assert.ok(azureDialects("2025-03-01-preview").includes("openai-responses"));
    assert.ok(azureDialects("v1").includes("openai-responses"));
  });

  it("takes the resource endpoint in the SDKs' spellings", () => {
    for (const url of [RESOURCE, `${RESOURCE}/`, `${RESOURCE}/openai`, `${RESOURCE}/openai/v1/`]) {
      assert.equal(azureResourceUrl(url), RESOURCE);
    }
  });
});

describe("Azure OpenAI request bodies", () => {
  const body = (model: string) =>
    Buffer.from(`{"model":${JSON.stringify(model)},"messages":[{"role":"user","content":"hi"}]}`);

  it("leaves a deployment URL's body as the client sent it", () => {
    const sent = body("gpt-4.1");
    assert.equal(adaptUpstreamBody(provider(), "chat", "gpt-4.1", sent), sent);
  });

  it("names the deployment in the body for the v1 API and for Responses", () => {
    assert.equal(
      adaptUpstreamBody(provider("v1"), "chat", "gpt-4.1", body("gpt-4.1")).toString(),
      '{"model":"prod-gpt41","messages":[{"role":"user","content":"hi"}]}',
    );
    assert.equal(
      JSON.parse(adaptUpstreamBody(provider("2025-04-01-preview"), "responses", "gpt-4.1", body("gpt-4.1")).toString())
        .model,
      "prod-gpt41",
    );
    // A model that is its own deployment: nothing to change.
    const own = body("gpt-4o");
    assert.equal(adaptUpstreamBody(provider("v1"), "chat", "gpt-4o", own), own);
  });
});

describe("Azure OpenAI configuration", () => {
  it("builds a provider from the config file: resource URL, api-version, deployments as served models", async () => {
    const path = await configFile({
      providers: {
        azure: {
          baseUrl: `${RESOURCE}/openai/`,
          apiKeys: ["k1"],
          apiVersion: "2025-04-01-preview",
          deployments: { "gpt-4.1": "prod-gpt41" },
          models: ["o4-mini"],
        },
        "azure-eu": { kind: "azure", baseUrl: "https://contoso-eu.openai.azure.com", apiKeys: ["k2"] },
      },
    });
    const c = await loadConfig({ env: { TOLLGATE_CONFIG: path } });
    const azure = c.providers.find((p) => p.name === "azure");
    assert.equal(azure?.kind, "azure");
    assert.equal(azure?.baseUrl, RESOURCE);
    assert.equal(azure?.auth, "api-key");
    assert.equal(azure?.pricingId, "azure");
    assert.deepEqual(azure?.azure, { apiVersion: "2025-04-01-preview", deployments: { "gpt-4.1": "prod-gpt41" } });
    assert.deepEqual(azure?.models, ["o4-mini", "gpt-4.1"]);
    assert.deepEqual(azure?.dialects, ["openai-chat", "openai-responses", "openai-embeddings"]);
    const eu = c.providers.find((p) => p.name === "azure-eu");
    assert.equal(eu?.azure?.apiVersion, "2024-10-21");
    const registry = new ProviderRegistry(c.providers);
    assert.equal(registry.resolve("gpt-4.1", "openai-chat").provider.name, "azure");
  });

  it("registers from the environment the OpenAI SDK's AzureOpenAI reads", async () => {
    const c = await loadConfig({
      env: {
        AZURE_OPENAI_API_KEY: "env-key",
        AZURE_OPENAI_ENDPOINT: RESOURCE,
        OPENAI_API_VERSION: "v1",
        TOLLGATE_AZURE_DEPLOYMENTS: "gpt-4.1=prod-gpt41, gpt-4o = prod-4o",
      },
    });
    const azure = c.providers.find((p) => p.name === "azure");
    assert.equal(azure?.keys[0]?.secret, "env-key");
    assert.deepEqual(azure?.azure, { apiVersion: "v1", deployments: { "gpt-4.1": "prod-gpt41", "gpt-4o": "prod-4o" } });
    // A key alone (no endpoint) registers nothing: Azure has no default endpoint.
    const none = await loadConfig({ env: { AZURE_OPENAI_API_KEY: "env-key" } });
    assert.equal(
      none.providers.some((p) => p.kind === "azure"),
      false,
    );
  });

  it("explains what an Azure entry is missing", async () => {
    await assert.rejects(
      loadConfig({ env: { TOLLGATE_CONFIG: await configFile({ providers: { azure: { apiKeys: ["k"] } } }) } }),
      (err: unknown) => err instanceof ConfigError && /providers\.azure: "baseUrl" is required/.test(err.message),
    );
    await assert.rejects(
      loadConfig({ env: { TOLLGATE_CONFIG: await configFile({ providers: { azure: { baseUrl: RESOURCE } } }) } }),
      (err: unknown) => err instanceof ConfigError && /"apiKeys" is required/.test(err.message),
    );
    await assert.rejects(
      loadConfig({
        env: {
          TOLLGATE_CONFIG: await configFile({
            providers: { azure: { baseUrl: RESOURCE, apiKeys: ["k"], apiVersion: "latest" } },
          }),
        },
      }),
      (err: unknown) => err instanceof ConfigError && /apiVersion/.test(err.message),
    );
  });
});
