import assert from "node:assert/strict";
import { test } from "node:test";
import { invokeToMessages } from "../../../src/http/bedrock-routes.ts";
import { anthropicModelName, isAnthropicBedrockModel, regionOfBaseUrl } from "../../../src/providers/bedrock/models.ts";

test("Bedrock Claude ids map to the Anthropic API's names; other models are not Anthropic's", () => {
  assert.equal(anthropicModelName("us.anthropic.claude-sonnet-4-5-20250929-v1:0"), "claude-sonnet-4-5-20250929");
  assert.equal(anthropicModelName("anthropic.claude-3-5-sonnet-20241022-v2:0"), "claude-3-5-sonnet-20241022");
  assert.equal(anthropicModelName("global.anthropic.claude-opus-4-6-v1"), "claude-opus-4-6");
  assert.equal(
    anthropicModelName("arn:aws:bedrock:us-east-1:1:inference-profile/eu.anthropic.claude-haiku-4-5-20251001-v1:0"),
    "claude-haiku-4-5-20251001",
  );
  assert.equal(anthropicModelName("us.amazon.nova-pro-v1:0"), null);
  assert.equal(isAnthropicBedrockModel("arn:aws:bedrock:us-east-1:1:application-inference-profile/x"), false);
  assert.equal(regionOfBaseUrl("https://bedrock-runtime-fips.us-gov-west-1.amazonaws.com"), "us-gov-west-1");
  assert.equal(regionOfBaseUrl("http://127.0.0.1:4000"), null);
});

test("an InvokeModel body becomes its Messages request: model and stream in, version out, betas to the header", () => {
  const headers: Record<string, string | string[] | undefined> = { "anthropic-beta": "a-1" };
  const out = invokeToMessages(
    Buffer.from(
      JSON.stringify({
        anthropic_version: "bedrock-2023-05-31",
        anthropic_beta: ["b-2", "a-1"],
        max_tokens: 5,
        messages: [{ role: "user", content: "x" }],
      }),
    ),
    "claude-sonnet-4-5",
    true,
    headers,
  );
  assert.ok(out);
  assert.deepEqual(JSON.parse(out.raw.toString()), {
    model: "claude-sonnet-4-5",
    max_tokens: 5,
    messages: [{ role: "user", content: "x" }],
    stream: true,
  });
  assert.deepEqual(out.warnings, []);
  assert.equal(headers["anthropic-beta"], "a-1,b-2");
  assert.equal(headers["anthropic-version"], "2023-06-01");
  assert.equal(invokeToMessages(Buffer.from("[1]"), "m", false, {}), null);
});
