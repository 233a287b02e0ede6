import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config/load.ts";
import { authHeaders, upstreamUrl } from "../../src/providers/endpoints.ts";
import { ProviderRegistry } from "../../src/providers/registry.ts";

describe("Bedrock provider configuration", () => {
  it("registers from the standard AWS variables: the key pair (+ session token) and Bedrock API keys, in AWS_REGION", async () => {
    const c = await loadConfig({
      env: {
        AWS_ACCESS_KEY_ID: "AKIA1",
        AWS_SECRET_ACCESS_KEY: "s3cr/et",
        AWS_SESSION_TOKEN: "tok",
        AWS_BEARER_TOKEN_BEDROCK: "ABSKkey",
        AWS_REGION: "eu-west-1",
      },
    });
    const bedrock = c.providers.find((p) => p.name === "bedrock");
    assert.ok(bedrock);
    assert.equal(bedrock.baseUrl, "https://bedrock-runtime.eu-west-1.amazonaws.com");
    assert.deepEqual(bedrock.bedrock, { region: "eu-west-1" });
    assert.deepEqual(
      bedrock.keys.map((k) => [k.secret, k.label]),
      [
        ["AKIA1:s3cr/et:tok", "AWS_ACCESS_KEY_ID"],
        ["ABSKkey", "AWS_BEARER_TOKEN_BEDROCK"],
      ],
    );
    assert.equal(bedrock.keys[0]?.id.includes("s3cr"), false, "key ids never show the secret");
    // SigV4 keys are signed per request (no static header); an API key is a bearer token.
    assert.deepEqual(authHeaders(bedrock, "AKIA1:s3cr/et"), {});
    assert.deepEqual(authHeaders(bedrock, "ABSKkey"), { authorization: "Bearer ABSKkey" });
  });

  it("stays away without AWS credentials; AWS_DEFAULT_REGION and the base URL override are honoured", async () => {
    assert.equal((await loadConfig({ env: { AWS_REGION: "us-west-2" } })).providers.length, 0);
    const c = await loadConfig({
      env: {
        AWS_ACCESS_KEY_ID: "A",
        AWS_SECRET_ACCESS_KEY: "B",
        AWS_DEFAULT_REGION: "ap-south-1",
        TOLLGATE_BEDROCK_BASE_URL: "http://127.0.0.1:9999/",
      },
    });
    const bedrock = c.providers[0];
    assert.equal(bedrock?.baseUrl, "http://127.0.0.1:9999");
    assert.equal(bedrock?.bedrock?.region, "ap-south-1");
  });

  it("a config file entry: region, aws credentials and the endpoint it implies; model ids resolve to it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tollgate-config-"));
    const path = join(dir, "c.yaml");
    await writeFile(
      path,
      `providers:
  bedrock:
    region: us-west-2
    aws: { accessKeyId: AKIA2, secretAccessKey: "\${SECRET}" }
  bedrock-eu:
    kind: bedrock
    baseUrl: https://bedrock-runtime.eu-central-1.amazonaws.com
    apiKeys: [ABSKeu]
`,
    );
    const c = await loadConfig({ env: { SECRET: "xyz" }, flags: { config: path } });
    const us = c.providers.find((p) => p.name === "bedrock");
    const eu = c.providers.find((p) => p.name === "bedrock-eu");
    assert.equal(us?.baseUrl, "https://bedrock-runtime.us-west-2.amazonaws.com");
    assert.deepEqual(
      us?.keys.map((k) => k.secret),
      ["AKIA2:xyz"],
    );
    assert.equal(eu?.bedrock?.region, "eu-central-1", "read from the base URL");
    assert.deepEqual(us?.dialects, ["bedrock-converse"]);
    assert.ok(us && eu);
    const registry = new ProviderRegistry([us]);
    for (const model of [
      "anthropic.claude-3-5-haiku-20241022-v1:0",
      "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
      "global.anthropic.claude-opus-4-5-20251101-v1:0",
      "amazon.nova-pro-v1:0",
      "arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/abc123",
    ]) {
      assert.equal(registry.resolve(model, "anthropic").provider.name, "bedrock", model);
    }
    assert.throws(() => registry.resolve("gpt-4.1", "openai-chat"));
    assert.equal(
      upstreamUrl(us, "invoke-stream", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", ""),
      "https://bedrock-runtime.us-west-2.amazonaws.com/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream",
    );
  });
});
