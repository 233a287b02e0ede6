import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../src/config/load.ts";

async function file(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "tollgate-config-"));
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe("loadConfig", () => {
  it("uses the documented defaults", async () => {
    const c = await loadConfig({ env: {} });
    assert.equal(c.host, "127.0.0.1");
    assert.equal(c.port, 8080);
    assert.match(c.dataDir, /\.tollgate$/);
    assert.equal(c.maxBodyBytes, 32 * 1024 * 1024);
    assert.deepEqual(c.providers, []);
  });

  it("registers providers from <NAME>_API_KEY with several keys and a base URL override", async () => {
    const c = await loadConfig({
      env: { ANTHROPIC_API_KEY: "a1, a2", GROQ_API_KEY: "g", TOLLGATE_ANTHROPIC_BASE_URL: "http://127.0.0.1:9/x/" },
    });
    const anthropic = c.providers.find((p) => p.name === "anthropic");
    assert.ok(anthropic);
    assert.equal(anthropic.baseUrl, "http://127.0.0.1:9/x");
    assert.deepEqual(
      anthropic.keys.map((k) => k.secret),
      ["a1", "a2"],
    );
    assert.notEqual(anthropic.keys[0]?.id, anthropic.keys[1]?.id);
    assert.ok(!anthropic.keys[0]?.id.includes("a1"), "key ids never contain the secret");
    const groq = c.providers.find((p) => p.name === "groq");
    assert.equal(groq?.baseUrl, "https://api.groq.com/openai/v1");
    assert.deepEqual(groq?.dialects, ["openai-chat", "openai-embeddings"]);
  });

  it("registers keyless local servers only when their base URL is set", async () => {
    const none = await loadConfig({ env: {} });
    assert.equal(none.providers.length, 0);
    const c = await loadConfig({ env: { TOLLGATE_OLLAMA_BASE_URL: "http://127.0.0.1:11434/v1" } });
    assert.equal(c.providers[0]?.name, "ollama");
    assert.equal(c.providers[0]?.keyOptional, true);
  });

  it("flags beat env, env beats the file", async () => {
    const path = await file("c.json", JSON.stringify({ port: 1111, host: "0.0.0.0" }));
    const c = await loadConfig({ env: { TOLLGATE_PORT: "2222", TOLLGATE_CONFIG: path }, flags: { port: 3333 } });
    assert.equal(c.port, 3333);
    assert.equal(c.host, "0.0.0.0");
    const d = await loadConfig({ env: { TOLLGATE_PORT: "2222", TOLLGATE_CONFIG: path } });
    assert.equal(d.port, 2222);
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: the config syntax under test
  it("reads YAML with ${VAR} interpolation, custom providers and several keys", async () => {
    const path = await file(
      "c.yaml",
      `providers:
  anthropic:
    apiKeys: ["\${MY_KEY}", { id: team-b, key: second, label: B }]
  my-vllm:
    kind: openai
    baseUrl: http://gpu:8000/v1
    models: [qwen3-coder]
timeouts: { idleMs: 1234 }
`,
    );
    const c = await loadConfig({ env: { MY_KEY: "first" }, flags: { config: path } });
    const a = c.providers.find((p) => p.name === "anthropic");
    assert.deepEqual(
      a?.keys.map((k) => [k.secret, k.label]),
      [
        ["first", null],
        ["second", "B"],
      ],
    );
    assert.equal(a?.keys[1]?.id, "team-b");
    const v = c.providers.find((p) => p.name === "my-vllm");
    assert.equal(v?.kind, "openai");
    assert.deepEqual(v?.models, ["qwen3-coder"]);
    assert.equal(c.timeouts.idleMs, 1234);
    assert.equal(c.timeouts.connectMs, 10_000);
  });

  it("takes a provider's declared dialects (a Responses-only server), refusing ones its kind cannot serve", async () => {
    const ok = await file(
      "dialects.json",
      JSON.stringify({
        providers: {
          "resp-only": { kind: "openai", baseUrl: "http://h/v1", dialects: ["openai-responses"] },
          "plain-vllm": { kind: "openai", baseUrl: "http://h/v1" },
          groq: { dialects: ["openai-chat"] },
        },
      }),
    );
    const c = await loadConfig({ env: {}, flags: { config: ok } });
    const dialectsOf = (name: string) => c.providers.find((p) => p.name === name)?.dialects;
    assert.deepEqual(dialectsOf("resp-only"), ["openai-responses"]);
    assert.deepEqual(dialectsOf("plain-vllm"), ["openai-chat", "openai-responses", "openai-embeddings"]);
    assert.deepEqual(dialectsOf("groq"), ["openai-chat"], "a declared list replaces the preset's");

    const foreign = await file(
      "foreign.json",
      JSON.stringify({ providers: { x: { kind: "openai", baseUrl: "http://h/v1", dialects: ["gemini"] } } }),
    );
    await assert.rejects(
      loadConfig({ env: {}, flags: { config: foreign } }),
      /providers\.x\.dialects: kind "openai" speaks only openai-chat, openai-responses, openai-embeddings \(got gemini\)/,
    );
    const bad = await file("bad-dialect.json", JSON.stringify({ providers: { x: { kind: "openai", dialects: [] } } }));
    await assert.rejects(loadConfig({ env: {}, flags: { config: bad } }), /providers\.x\.dialects/);
  });

  it("rejects an invalid file with a message naming each bad field", async () => {
    const path = await file("bad.json", JSON.stringify({ port: "eighty", providers: { Bad: {} }, nonsense: 1 }));
    await assert.rejects(loadConfig({ env: {}, flags: { config: path } }), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /port/);
      assert.match(err.message, /providers\.Bad/);
      assert.match(err.message, /nonsense/);
      return true;
    });
  });

  it("rejects malformed JSON, unknown presets, missing env vars and a custom provider without kind", async () => {
    const cases: [string, string, RegExp][] = [
      ["a.json", "{ nope", /not valid JSON/],
      ["b.json", JSON.stringify({ providers: { x: { preset: "nope" } } }), /unknown preset "nope"/],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config syntax under test
      ["c.json", JSON.stringify({ adminToken: "${UNSET_VAR_FOR_TEST}" }), /UNSET_VAR_FOR_TEST/],
      ["d.json", JSON.stringify({ providers: { custom: { baseUrl: "http://h/v1" } } }), /set "preset" or "kind"/],
    ];
    for (const [name, text, re] of cases) {
      const path = await file(name, text);
      await assert.rejects(loadConfig({ env: {}, flags: { config: path } }), re);
    }
  });
});
