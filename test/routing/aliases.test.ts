import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ModelAliasListSchema } from "../../src/governance/entities/schemas.ts";
import { applyModelAlias, compileAliases, configAliasTable, NO_ALIASES } from "../../src/routing/aliases.ts";

describe("model aliases: matching", () => {
  const config = [
    { match: "claude-haiku-*", to: "groq/llama-3.1-8b-instant" },
    { match: "claude-*", to: "openai/gpt-4.1" },
    { match: "gpt-4o", to: "openai/gpt-4.1-mini" },
    { match: "gemini-2.?-flash", to: "gemini/gemini-2.5-flash-lite" },
  ];

  it("rewrites by the first matching entry, in list order", () => {
    assert.equal(applyModelAlias("claude-haiku-4-5-20251001", null, config).model, "groq/llama-3.1-8b-instant");
    // "claude-*" also matches, but comes second.
    assert.equal(applyModelAlias("claude-haiku-4-5", null, config).hit?.alias.match, "claude-haiku-*");
    assert.equal(applyModelAlias("claude-sonnet-4-5", null, config).model, "openai/gpt-4.1");
  });

  it("matches exact names exactly and globs anchored at both ends, case-sensitively", () => {
    assert.equal(applyModelAlias("gpt-4o", null, config).model, "openai/gpt-4.1-mini");
    assert.equal(applyModelAlias("gpt-4o-mini", null, config).hit, null, "an exact name is not a prefix");
    assert.equal(applyModelAlias("my-claude-haiku", null, config).hit, null, "globs are anchored at the start");
    assert.equal(applyModelAlias("Claude-haiku-4-5", null, config).hit, null, "case-sensitive");
    assert.equal(applyModelAlias("gemini-2.5-flash", null, config).model, "gemini/gemini-2.5-flash-lite");
    assert.equal(applyModelAlias("gemini-2.55-flash", null, config).hit, null, "? is exactly one character");
    assert.equal(applyModelAlias("gemini-2.0-flash", null, config).hit?.alias.match, "gemini-2.?-flash");
    assert.equal(applyModelAlias("gemini-2x0-flash", null, config).hit, null, "the dot is literal");
  });

  it("treats regular-expression characters in a pattern literally", () => {
    const table = compileAliases([["config", [{ match: "gpt-4.1", to: "openai/x" }]]]);
    assert.equal(table.find("gpt-4x1"), null, "the dot is a dot");
    assert.equal(table.find("gpt-4.1")?.alias.to, "openai/x");
    const slash = compileAliases([["config", [{ match: "openrouter/*", to: "openai/gpt-4.1" }]]]);
    assert.equal(slash.find("openrouter/anthropic/claude-3.5")?.alias.to, "openai/gpt-4.1", "* spans slashes");
  });

  it("leaves an unmatched model unchanged and never chains aliases", () => {
    const chain = [
      { match: "a", to: "b" },
      { match: "b", to: "c" },
    ];
    assert.deepEqual(applyModelAlias("a", null, chain), { model: "b", hit: { alias: chain[0], scope: "config" } });
    assert.deepEqual(applyModelAlias("zzz", null, chain), { model: "zzz", hit: null });
    const loop = [
      { match: "x", to: "y" },
      { match: "y", to: "x" },
    ];
    assert.equal(applyModelAlias("x", null, loop).model, "y");
  });

  it("searches the key's aliases, then its team's, then the config file's", () => {
    const key = compileAliases([
      ["key", [{ match: "claude-haiku-*", to: "openai/gpt-4.1-nano" }]],
      [
        "team",
        [
          { match: "claude-haiku-*", to: "anthropic/claude-3-5-haiku" },
          { match: "claude-sonnet-*", to: "openai/gpt-4.1" },
        ],
      ],
    ]);
    const haiku = applyModelAlias("claude-haiku-4-5", key, config);
    assert.deepEqual([haiku.model, haiku.hit?.scope], ["openai/gpt-4.1-nano", "key"]);
    const sonnet = applyModelAlias("claude-sonnet-4-5", key, config);
    assert.deepEqual([sonnet.model, sonnet.hit?.scope], ["openai/gpt-4.1", "team"]);
    const gpt = applyModelAlias("gpt-4o", key, config);
    assert.deepEqual([gpt.model, gpt.hit?.scope], ["openai/gpt-4.1-mini", "config"]);
  });

  it("answers the same again from its memo, and compiles a config list once", () => {
    const table = configAliasTable(config);
    assert.equal(configAliasTable(config), table);
    assert.equal(table.find("claude-opus-4-1")?.alias.to, "openai/gpt-4.1");
    assert.equal(table.find("claude-opus-4-1")?.alias.to, "openai/gpt-4.1");
    assert.equal(table.find("nothing"), null);
    assert.equal(table.find("nothing"), null);
    assert.equal(compileAliases([["key", []]]), NO_ALIASES);
    assert.equal(NO_ALIASES.find("claude-haiku-4-5"), null);
  });
});

describe("model aliases: input", () => {
  it("accepts { match, to } lists and refuses globs as targets, spaces and unknown fields", () => {
    assert.equal(ModelAliasListSchema.safeParse([{ match: "claude-*", to: "openai/gpt-4.1" }]).success, true);
    const messages = (input: unknown) =>
      ModelAliasListSchema.safeParse(input).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`) ?? [];
    assert.deepEqual(messages([{ match: "claude-*", to: "openai/gpt-*" }]), ["0.to: must be one model, not a glob"]);
    assert.deepEqual(messages([{ match: "claude haiku", to: "x" }]), [
      "0.match: model names and globs are printable ASCII without spaces",
    ]);
    assert.deepEqual(messages([{ match: "a", to: "b", scope: "key" }]).length, 1);
    assert.deepEqual(messages([{ match: "a" }]), ["0.to: required"]);
  });
});
