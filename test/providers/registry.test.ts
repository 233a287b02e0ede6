import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { providersFromEnv } from "../../src/config/load.ts";
import type { GatewayError } from "../../src/errors/catalog.ts";
import { ProviderRegistry } from "../../src/providers/registry.ts";

const registry = () =>
  new ProviderRegistry(
    providersFromEnv({
      ANTHROPIC_API_KEY: "a",
      OPENAI_API_KEY: "o1,o2,o3",
      GEMINI_API_KEY: "g",
      GROQ_API_KEY: "q",
      OPENROUTER_API_KEY: "r",
    }),
  );

describe("ProviderRegistry.resolve", () => {
  it("resolves bare names by prefix", () => {
    const r = registry();
    assert.equal(r.resolve("claude-sonnet-4-5", "anthropic").provider.name, "anthropic");
    assert.equal(r.resolve("gpt-5", "openai-responses").provider.name, "openai");
    assert.equal(r.resolve("o3-mini", "openai-chat").provider.name, "openai");
    assert.equal(r.resolve("gemini-2.5-pro", "gemini").provider.name, "gemini");
  });
  it("picks a provider explicitly with provider/model and strips the prefix", () => {
    const r = registry();
    const groq = r.resolve("groq/llama-3.3-70b-versatile", "openai-chat");
    assert.equal(groq.provider.name, "groq");
    assert.equal(groq.upstreamModel, "llama-3.3-70b-versatile");
    assert.equal(groq.explicit, true);
    const or = r.resolve("openrouter/anthropic/claude-sonnet-4.5", "openai-chat");
    assert.equal(or.provider.name, "openrouter");
    assert.equal(or.upstreamModel, "anthropic/claude-sonnet-4.5");
  });
  it("answers an unknown model with a 400 listing the providers", () => {
    assert.throws(
      () => registry().resolve("mystery-model", "openai-chat"),
      (err: GatewayError) => {
        assert.equal(err.code, "TG_UNKNOWN_MODEL");
        assert.equal(err.status, 400);
        assert.match(err.message, /anthropic \(claude-\*\)/);
        assert.match(err.message, /groq/);
        return true;
      },
    );
    assert.throws(() => new ProviderRegistry([]).resolve("x", "anthropic"), /no providers are configured/);
  });
  it("resolves a model whose provider speaks another chat dialect (translated); embeddings only to their own", () => {
    assert.equal(registry().resolve("claude-sonnet-4-5", "openai-chat").provider.name, "anthropic");
    assert.throws(
      () => registry().resolve("claude-sonnet-4-5", "openai-embeddings"),
      (err: GatewayError) => err.code === "TG_CROSS_DIALECT_UNSUPPORTED" && err.status === 400,
    );
  });
  it("rotates several keys round-robin", () => {
    const r = registry();
    const openai = r.get("openai");
    assert.ok(openai);
    const used = [1, 2, 3, 4].map(() => r.nextKey(openai)?.secret);
    assert.deepEqual(used, ["o1", "o2", "o3", "o1"]);
  });
});
