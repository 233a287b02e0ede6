import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { KeyTestResult } from "../../src/providers/key-test.ts";
import {
  assertNoSecretIn,
  type ErrorBody,
  type KeyView,
  type ProviderView,
  startFakeProvider,
  startGateway,
  type TestGateway,
  tempDir,
} from "./support.ts";

interface ProviderList {
  data: ProviderView[];
  unavailable: Array<{ name: string; reason: string }>;
}
interface Deleted {
  deleted: string;
  notice?: string;
}

const GOOD_KEY = "sk-good-provider-key-000000000001";
const BAD_KEY = "sk-bad-provider-key-0000000000002";
const SECOND_KEY = "sk-second-provider-key-00000000003";
const ENV_ANTHROPIC_KEY = "sk-ant-env-key-00000000000000004";
const SECRETS = [GOOD_KEY, BAD_KEY, SECOND_KEY, ENV_ANTHROPIC_KEY];

describe("/api/providers", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let fake: Awaited<ReturnType<typeof startFakeProvider>>;
  let gw: TestGateway;

  before(async () => {
    tmp = await tempDir();
    fake = await startFakeProvider(GOOD_KEY);
    gw = await startGateway({ dataDir: tmp.dataDir, env: { ANTHROPIC_API_KEY: ENV_ANTHROPIC_KEY } });
  });
  after(async () => {
    assertNoSecretIn(gw.responses, SECRETS);
    await gw.close();
    await fake.close();
    await tmp.remove();
  });

  /** An OpenAI-compatible provider on the fake server. */
  const acme = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    kind: "openai",
    baseUrl: `${fake.url}/openai/v1`,
    apiKeys: [{ key: GOOD_KEY, label: "main" }],
    models: [`${name}-model`],
    ...extra,
  });

  it("requires the admin token", async () => {
    const none = await gw.api<ErrorBody>("GET", "/providers", undefined, null);
    assert.equal(none.status, 401);
    assert.equal(none.body.error.type, "authentication_error");
    assert.equal((await gw.api("GET", "/providers", undefined, "wrong-token")).status, 401);
    assert.equal((await gw.api("POST", "/providers", acme("sneaky"), "wrong-token")).status, 401);
    assert.equal(gw.gateway.runtime.registry.get("sneaky"), undefined);
    assert.equal((await gw.api("GET", "/providers")).status, 200);
  });

  it("answers unknown /api paths with a JSON 404", async () => {
    const res = await gw.api<ErrorBody>("GET", "/no-such-thing");
    assert.equal(res.status, 404);
    assert.match(res.contentType, /application\/json/);
    assert.equal(res.body.error.type, "not_found");
  });

  it("lists env providers with key ids and fingerprints, never secrets", async () => {
    const res = await gw.api<ProviderList>("GET", "/providers");
    const anthropic = res.body.data.find((p) => p.name === "anthropic");
    assert.ok(anthropic);
    assert.equal(anthropic.source, "env");
    assert.equal(anthropic.kind, "anthropic");
    assert.deepEqual(anthropic.dialects, ["anthropic"]);
    assert.equal(anthropic.keys.length, 1);
    assert.deepEqual(Object.keys(anthropic.keys[0] ?? {}).sort(), ["disabled", "fingerprint", "id", "label", "source"]);
    assert.equal(anthropic.keys[0]?.fingerprint, `…${ENV_ANTHROPIC_KEY.slice(-4)}`);
    assert.ok(!res.text.includes(ENV_ANTHROPIC_KEY));
  });

  it("creates, lists, reads, changes and deletes a provider, swapping the registry each time", async () => {
    const before = gw.gateway.runtime.registry;
    const created = await gw.api<ProviderView>("POST", "/providers", acme("acme", { headers: { "x-team": "core" } }));
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.name, "acme");
    assert.equal(created.body.source, "api");
    assert.equal(created.body.baseUrl, `${fake.url}/openai/v1`);
    assert.deepEqual(created.body.headers, ["x-team"]);
    assert.equal(created.body.keys.length, 1);
    assert.match(created.body.keys[0]?.id ?? "", /^key_/);
    assert.equal(created.body.keys[0]?.fingerprint, "…0001");

    // The old snapshot is untouched (a request in flight keeps it); the new one serves the provider at once.
    assert.notEqual(gw.gateway.runtime.registry, before);
    assert.equal(before.get("acme"), undefined);
    const resolved = gw.gateway.runtime.registry.resolve("acme-model", "openai-chat");
    assert.equal(resolved.provider.name, "acme");
    assert.equal(gw.gateway.runtime.registry.nextKey(resolved.provider)?.secret, GOOD_KEY);
    assert.equal(gw.gateway.runtime.registry.get("anthropic")?.source, "env", "env providers stay");

    const list = await gw.api<ProviderList>("GET", "/providers");
    assert.ok(list.body.data.some((p: { name: string }) => p.name === "acme"));
    const one = await gw.api<ProviderView>("GET", "/providers/acme");
    assert.equal(one.status, 200);
    assert.deepEqual(one.body.models, ["acme-model"]);

    const patched = await gw.api<ProviderView>("PATCH", "/providers/acme", {
      models: ["acme-model-2"],
      pricingId: "openai",
    });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual(patched.body.models, ["acme-model-2"]);
    assert.equal(gw.gateway.runtime.registry.resolve("acme-model-2", "openai-chat").provider.pricingId, "openai");
    assert.equal(gw.gateway.runtime.registry.get("acme")?.keys[0]?.secret, GOOD_KEY, "keys survive a PATCH");

    const deleted = await gw.api<Deleted>("DELETE", "/providers/acme");
    assert.equal(deleted.status, 200);
    assert.equal(gw.gateway.runtime.registry.get("acme"), undefined);
    assert.equal((await gw.api("GET", "/providers/acme")).status, 404);
    assert.equal((await gw.api("DELETE", "/providers/acme")).status, 404);
  });

  it("stores keys encrypted: the database row never holds the plaintext", async () => {
    assert.equal((await gw.api("POST", "/providers", acme("vault"))).status, 201);
    const rows = await gw.gateway.database.db
      .selectFrom("provider_keys")
      .selectAll()
      .where("provider", "=", "vault")
      .execute();
    assert.equal(rows.length, 1);
    assert.ok(!JSON.stringify(rows).includes(GOOD_KEY));
    assert.match(rows[0]?.secret_encrypted ?? "", /^v1:[\w-]+:[\w-]+:[\w-]+$/);
    const settings = await gw.gateway.database.db
      .selectFrom("providers")
      .select("settings")
      .where("name", "=", "vault")
      .execute();
    assert.ok(!JSON.stringify(settings).includes(GOOD_KEY));
    // No TOLLGATE_ENCRYPTION_KEY: the key file was created on first use, private to its owner.
    if (process.platform !== "win32") assert.equal((await stat(join(tmp.dataDir, "secret.key"))).mode & 0o777, 0o600);
  });

  it("refuses a duplicate API provider with 409", async () => {
    assert.equal((await gw.api("POST", "/providers", acme("twice"))).status, 201);
    const again = await gw.api<ErrorBody>("POST", "/providers", acme("twice"));
    assert.equal(again.status, 409);
    assert.match(again.body.error.message, /already exists/);
  });

  it("lets an API provider override an env provider, and says so; deleting it restores the env one", async () => {
    const res = await gw.api<ProviderView>("POST", "/providers", {
      name: "anthropic",
      baseUrl: `${fake.url}/anthropic`,
      apiKeys: [{ key: GOOD_KEY }],
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.overrides, "env");
    assert.match(res.body.notice ?? "", /overrides the "anthropic" provider from the environment/);
    assert.equal(res.body.preset, "anthropic");
    const live = gw.gateway.runtime.registry.get("anthropic");
    assert.equal(live?.source, "api");
    assert.equal(live?.baseUrl, `${fake.url}/anthropic`);
    assert.deepEqual(
      live?.keys.map((k) => k.secret),
      [GOOD_KEY],
    );
    assert.equal(
      gw.gateway.runtime.registry.resolve("claude-sonnet-4-5", "anthropic").provider.source,
      "api",
      "preset patterns kept",
    );

    const del = await gw.api<Deleted>("DELETE", "/providers/anthropic");
    assert.equal(del.status, 200);
    assert.match(del.body.notice ?? "", /from the environment is in use again/);
    assert.equal(gw.gateway.runtime.registry.get("anthropic")?.source, "env");
  });

  it("refuses to change or delete env/config providers (409) and unknown ones (404)", async () => {
    const patch = await gw.api<ErrorBody>("PATCH", "/providers/anthropic", { models: ["x"] });
    assert.equal(patch.status, 409);
    assert.match(patch.body.error.message, /comes from the environment/);
    assert.equal((await gw.api("DELETE", "/providers/anthropic")).status, 409);
    assert.equal((await gw.api("POST", "/providers/anthropic/keys", { key: SECOND_KEY })).status, 409);
    assert.equal((await gw.api("PATCH", "/providers/ghost", { models: ["x"] })).status, 404);
    assert.equal((await gw.api("GET", "/providers/ghost")).status, 404);
  });

  it("validates provider bodies with clear 400s", async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ ...acme("x"), name: "Bad Name" }, /name must be lowercase/],
      [{ name: "p1", preset: "nope", apiKeys: [] }, /Unknown preset "nope" \(known: anthropic, openai/],
      [{ ...acme("p2"), kind: "cohere" }, /kind must be one of "anthropic", "openai", "gemini"/],
      [{ name: "p3", baseUrl: "http://127.0.0.1:1/v1" }, /"p3" is not a built-in provider: set "preset".*or "kind"/],
      [{ name: "p4", kind: "openai" }, /"baseUrl" is required/],
      [{ ...acme("p5"), baseUrl: "ftp://example.com" }, /baseUrl must be an http\(s\) URL/],
      [{ ...acme("p6"), apiKeys: [{ key: "has space" }] }, /apiKeys\.0\.key: key must be printable ASCII/],
      [{ ...acme("p7"), headers: { "content-length": "1" } }, /set by the HTTP layer/],
      [{ ...acme("p8"), headers: { "x-a": "a\r\nb" } }, /headers\.x-a: header values cannot contain line breaks/],
      [{ ...acme("p9"), surprise: true }, /surprise/],
      [[], /expected object/],
    ];
    for (const [body, message] of cases) {
      const res = await gw.api<ErrorBody>("POST", "/providers", body);
      assert.equal(res.status, 400, `${JSON.stringify(body)} → ${res.text}`);
      assert.equal(res.body.error.type, "invalid_request");
      assert.match(res.body.error.message, message);
    }
    const badJson = await gw.api("POST", "/providers", "{not json");
    assert.equal(badJson.status, 400);
    assert.equal(gw.gateway.runtime.registry.get("p4"), undefined);

    assert.equal((await gw.api("POST", "/providers", acme("patchy"))).status, 201);
    const rename = await gw.api<ErrorBody>("PATCH", "/providers/patchy", { name: "other" });
    assert.equal(rename.status, 400);
    assert.match(rename.body.error.message, /cannot be renamed/);
    const keysInPatch = await gw.api<ErrorBody>("PATCH", "/providers/patchy", { apiKeys: [] });
    assert.match(keysInPatch.body.error.message, /\/keys/);
    const noBase = await gw.api<ErrorBody>("PATCH", "/providers/patchy", { baseUrl: null });
    assert.equal(noBase.status, 400);
    assert.match(noBase.body.error.message, /"baseUrl" is required/);
  });

  it("adds, disables and deletes keys; disabled keys are listed but never used", async () => {
    assert.equal((await gw.api("POST", "/providers", acme("keyed"))).status, 201);
    const added = await gw.api<KeyView>("POST", "/providers/keyed/keys", { key: SECOND_KEY, label: "ci" });
    assert.equal(added.status, 201, added.text);
    assert.equal(added.body.fingerprint, "…0003");
    assert.match(added.body.id, /^key_/);
    const registry = () => gw.gateway.runtime.registry.get("keyed");
    assert.deepEqual(
      registry()?.keys.map((k) => k.secret),
      [GOOD_KEY, SECOND_KEY],
    );

    const disabled = await gw.api<KeyView>("PATCH", `/providers/keyed/keys/${added.body.id}`, { disabled: true });
    assert.equal(disabled.status, 200);
    assert.equal(disabled.body.disabled, true);
    assert.deepEqual(
      registry()?.keys.map((k) => k.secret),
      [GOOD_KEY],
    );
    const listed = await gw.api<ProviderView>("GET", "/providers/keyed");
    assert.deepEqual(
      listed.body.keys.map((k: { fingerprint: string; disabled: boolean }) => [k.fingerprint, k.disabled]),
      [
        ["…0001", false],
        ["…0003", true],
      ],
    );
    assert.equal((await gw.api("PATCH", `/providers/keyed/keys/${added.body.id}`, { disabled: "yes" })).status, 400);
    assert.equal((await gw.api("PATCH", "/providers/keyed/keys/key_nope", { disabled: true })).status, 404);

    assert.equal((await gw.api("DELETE", `/providers/keyed/keys/${added.body.id}`)).status, 200);
    assert.equal((await gw.api("DELETE", `/providers/keyed/keys/${added.body.id}`)).status, 404);
    assert.equal((await gw.api<ProviderView>("GET", "/providers/keyed")).body.keys.length, 1);
    assert.equal((await gw.api("POST", "/providers/keyed/keys", { label: "no key" })).status, 400);
  });

  it("tests a key against the provider's models endpoint: ok, or the provider's own error without the key", async () => {
    assert.equal((await gw.api("POST", "/providers", acme("probe"))).status, 201);
    const bad = await gw.api<KeyView>("POST", "/providers/probe/keys", { key: BAD_KEY, label: "bad" });
    const goodId = (await gw.api<ProviderView>("GET", "/providers/probe")).body.keys[0]?.id;

    const ok = await gw.api<KeyTestResult>("POST", `/providers/probe/keys/${goodId}/test`);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.ok, true);
    assert.equal(ok.body.status, 200);
    assert.equal(typeof ok.body.latencyMs, "number");
    assert.equal(ok.body.error, undefined);
    const call = fake.seen.at(-1);
    assert.equal(call?.method, "GET");
    assert.equal(call?.url, "/openai/v1/models");
    assert.equal(call?.headers.authorization, `Bearer ${GOOD_KEY}`);

    const fail = await gw.api<KeyTestResult>("POST", `/providers/probe/keys/${bad.body.id}/test`);
    assert.equal(fail.body.ok, false);
    assert.equal(fail.body.status, 401);
    assert.match(fail.body.error ?? "", /^Incorrect API key provided: \[redacted\]\./);
    assert.ok(!fail.text.includes(BAD_KEY));

    const first = await gw.api<KeyTestResult>("POST", "/providers/probe/test");
    assert.equal(first.body.ok, true, "the provider test uses its first key");

    // A disabled key can still be tested.
    await gw.api("PATCH", `/providers/probe/keys/${bad.body.id}`, { disabled: true });
    assert.equal((await gw.api<KeyTestResult>("POST", `/providers/probe/keys/${bad.body.id}/test`)).body.status, 401);
    assert.equal((await gw.api("POST", "/providers/probe/keys/key_nope/test")).status, 404);
    assert.equal((await gw.api("POST", "/providers/ghost/test")).status, 404);
  });

  it("tests Anthropic keys with x-api-key and anthropic-version", async () => {
    const res = await gw.api<ProviderView>("POST", "/providers", {
      name: "claude-proxy",
      preset: "anthropic",
      baseUrl: `${fake.url}/anthropic`,
      apiKeys: [{ key: BAD_KEY }, { key: GOOD_KEY }],
    });
    assert.equal(res.status, 201, res.text);
    const [badId, goodId] = res.body.keys.map((k: { id: string }) => k.id);
    const good = await gw.api<KeyTestResult>("POST", `/providers/claude-proxy/keys/${goodId}/test`);
    assert.deepEqual([good.body.ok, good.body.status], [true, 200]);
    assert.equal(fake.seen.at(-1)?.headers["anthropic-version"], "2023-06-01");
    assert.equal(fake.seen.at(-1)?.headers["x-api-key"], GOOD_KEY);
    const bad = await gw.api<KeyTestResult>("POST", `/providers/claude-proxy/keys/${badId}/test`);
    assert.deepEqual([bad.body.ok, bad.body.status, bad.body.error], [false, 401, "invalid x-api-key"]);
    // The env Anthropic key can be tested as well (here against the real API's address: skip the call itself).
  });

  it("reports an unreachable provider as a failed test with no status", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const res = await gw.api("POST", "/providers", { ...acme("gone"), baseUrl: `http://127.0.0.1:${port}/v1` });
    assert.equal(res.status, 201);
    const test = await gw.api<KeyTestResult>("POST", "/providers/gone/test");
    assert.equal(test.body.ok, false);
    assert.equal(test.body.status, null);
    assert.match(test.body.error ?? "", /ECONNREFUSED|connect/i);
  });

  it("refuses to test a provider with no key", async () => {
    assert.equal((await gw.api("POST", "/providers", { ...acme("bare"), apiKeys: [{ key: SECOND_KEY }] })).status, 201);
    const id = (await gw.api<ProviderView>("GET", "/providers/bare")).body.keys[0]?.id;
    await gw.api("PATCH", `/providers/bare/keys/${id}`, { disabled: true });
    const res = await gw.api<ErrorBody>("POST", "/providers/bare/test");
    assert.equal(res.status, 409);
    assert.match(res.body.error.message, /no enabled API key/);
  });
});

describe("stored providers across restarts", () => {
  it("come back after a restart with the same data dir, usable", async () => {
    const tmp = await tempDir();
    const fake = await startFakeProvider(GOOD_KEY);
    try {
      const first = await startGateway({ dataDir: tmp.dataDir });
      const created = await first.api<ProviderView>("POST", "/providers", {
        name: "durable",
        kind: "openai",
        baseUrl: `${fake.url}/openai/v1`,
        apiKeys: [{ key: GOOD_KEY, label: "main" }],
        models: ["durable-model"],
      });
      assert.equal(created.status, 201);
      await first.close();

      const second = await startGateway({ dataDir: tmp.dataDir });
      try {
        const resolved = second.gateway.runtime.registry.resolve("durable-model", "openai-chat");
        assert.equal(resolved.provider.name, "durable");
        assert.equal(second.gateway.runtime.registry.nextKey(resolved.provider)?.secret, GOOD_KEY);
        const listed = await second.api<ProviderView>("GET", "/providers/durable");
        assert.equal(listed.body.keys[0]?.id, created.body.keys[0]?.id, "key ids are stable");
        assert.equal((await second.api<KeyTestResult>("POST", "/providers/durable/test")).body.ok, true);
        assert.deepEqual(second.warnings, []);
        assertNoSecretIn([...first.responses, ...second.responses], SECRETS);
      } finally {
        await second.close();
      }
    } finally {
      await fake.close();
      await tmp.remove();
    }
  });

  it("skip a provider with a warning (no crash) when the encryption key changed; it can still be deleted", async () => {
    const tmp = await tempDir();
    try {
      const keyA = "a".repeat(64);
      const first = await startGateway({ dataDir: tmp.dataDir, env: { TOLLGATE_ENCRYPTION_KEY: keyA } });
      const body = (name: string, key?: string) => ({
        name,
        kind: "openai",
        baseUrl: "http://127.0.0.1:9/v1",
        models: [`${name}-model`],
        ...(key ? { apiKeys: [{ key }] } : {}),
      });
      assert.equal((await first.api("POST", "/providers", body("locked", GOOD_KEY))).status, 201);
      assert.equal((await first.api("POST", "/providers", body("open"))).status, 201);
      await first.close();
      await assert.rejects(
        stat(join(tmp.dataDir, "secret.key")),
        { code: "ENOENT" },
        "no key file when the env key is set",
      );

      const second = await startGateway({
        dataDir: tmp.dataDir,
        env: { TOLLGATE_ENCRYPTION_KEY: "a different passphrase" },
      });
      try {
        assert.match(second.warnings.join("\n"), /stored provider "locked" is skipped: .*encryption key/);
        assert.equal(second.gateway.runtime.registry.get("locked"), undefined);
        assert.equal(second.gateway.runtime.registry.get("open")?.source, "api", "providers without keys still load");
        const list = await second.api<ProviderList>("GET", "/providers");
        assert.deepEqual(
          list.body.unavailable.map((u: { name: string }) => u.name),
          ["locked"],
        );
        const one = await second.api<ProviderView>("GET", "/providers/locked");
        assert.equal(one.status, 200);
        assert.match(one.body.unavailable ?? "", /encryption key/);
        const addKey = await second.api("POST", "/providers/locked/keys", { key: SECOND_KEY });
        assert.equal(addKey.status, 409);
        const mixing = await second.api<ErrorBody>("POST", "/providers/open/keys", { key: SECOND_KEY });
        assert.equal(mixing.status, 409, "keys under two master keys are refused");
        assert.equal(mixing.body.error.type, "encryption_key_mismatch");

        assert.equal((await second.api("DELETE", "/providers/locked")).status, 200);
        const readd = await second.api<ProviderView>("POST", "/providers", body("locked", SECOND_KEY));
        assert.equal(readd.status, 201, "with no old keys left, the new master key is adopted");
        assert.equal(second.gateway.runtime.registry.get("locked")?.keys[0]?.secret, SECOND_KEY);
        assertNoSecretIn([...first.responses, ...second.responses], SECRETS);
      } finally {
        await second.close();
      }
    } finally {
      await tmp.remove();
    }
  });
});
