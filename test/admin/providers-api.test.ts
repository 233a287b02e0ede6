import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { KeyTestResult } from "../../src/providers/key-test.ts";
import type { ProviderHealthView } from "../../src/routing/provider-health.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { type TestGateway as MockedGateway, startTestGateway } from "../helpers/gateway.ts";
import { seededRandom } from "../routing/seeded-random.ts";
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
/** A stored key's view with its routing settings. */
type RoutedKeyView = KeyView & { weight: number; models: string[] | null };
type RoutedProviderView = Omit<ProviderView, "keys"> & { keys: RoutedKeyView[] };

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

  it("stores key weights and model lists, shows them and carries them into the registry", async () => {
    const created = await gw.api<RoutedProviderView>(
      "POST",
      "/providers",
      acme("weighted", {
        apiKeys: [
          { key: GOOD_KEY, label: "main", weight: 3, models: ["weighted-*", " exact-model "] },
          { key: BAD_KEY },
        ],
      }),
    );
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(
      created.body.keys.map((k) => [k.label, k.weight, k.models]),
      [
        ["main", 3, ["weighted-*", "exact-model"]],
        [null, 1, null],
      ],
    );
    const [mainId, plainId] = created.body.keys.map((k) => k.id);
    const live = () => gw.gateway.runtime.registry.get("weighted")?.keys.map((k) => [k.weight, k.models]);
    assert.deepEqual(live(), [
      [3, ["weighted-*", "exact-model"]],
      [undefined, undefined],
    ]);

    const added = await gw.api<RoutedKeyView>("POST", "/providers/weighted/keys", {
      key: SECOND_KEY,
      weight: 0.5,
      models: ["weighted-mini"],
    });
    assert.equal(added.status, 201, added.text);
    assert.deepEqual([added.body.weight, added.body.models], [0.5, ["weighted-mini"]]);
    assert.deepEqual(live()?.[2], [0.5, ["weighted-mini"]]);

    const reweighted = await gw.api<RoutedKeyView>("PATCH", `/providers/weighted/keys/${plainId}`, {
      weight: 2,
      models: ["exact-model"],
    });
    assert.equal(reweighted.status, 200, reweighted.text);
    assert.deepEqual(
      [reweighted.body.weight, reweighted.body.models, reweighted.body.disabled],
      [2, ["exact-model"], false],
    );
    assert.deepEqual(live()?.[1], [2, ["exact-model"]]);

    // null resets: weight back to 1, models back to every model; other fields stay.
    const reset = await gw.api<RoutedKeyView>("PATCH", `/providers/weighted/keys/${mainId}`, {
      weight: null,
      models: null,
    });
    assert.equal(reset.status, 200, reset.text);
    assert.deepEqual([reset.body.weight, reset.body.models, reset.body.label], [1, null, "main"]);
    assert.deepEqual(live()?.[0], [undefined, undefined]);
    const onlyModels = await gw.api<RoutedKeyView>("PATCH", `/providers/weighted/keys/${plainId}`, { models: null });
    assert.deepEqual([onlyModels.body.weight, onlyModels.body.models], [2, null], "an absent weight stays");

    // Disabling keeps the routing settings; the listing shows them for disabled keys too.
    await gw.api("PATCH", `/providers/weighted/keys/${added.body.id}`, { disabled: true });
    const listed = await gw.api<RoutedProviderView>("GET", "/providers/weighted");
    assert.deepEqual(
      listed.body.keys.map((k) => [k.weight, k.models, k.disabled]),
      [
        [1, null, false],
        [2, null, false],
        [0.5, ["weighted-mini"], true],
      ],
    );
  });

  it("an edit of a key's weight or models clears its health flag", async () => {
    const created = await gw.api<RoutedProviderView>(
      "POST",
      "/providers",
      acme("flagged", { apiKeys: [{ key: GOOD_KEY }, { key: SECOND_KEY }] }),
    );
    const [one, two] = created.body.keys.map((k) => k.id);
    assert.ok(one && two);
    const states = async () =>
      (await gw.api<{ health: ProviderHealthView }>("GET", "/providers/flagged")).body.health.keys.map((k) => k.state);
    gw.gateway.runtime.health.report("flagged", one, { status: 401, latencyMs: 5 });
    gw.gateway.runtime.health.report("flagged", two, { status: 403, latencyMs: 5 });
    assert.deepEqual(await states(), ["flagged", "flagged"]);
    assert.equal((await gw.api("PATCH", `/providers/flagged/keys/${one}`, { weight: 4 })).status, 200);
    assert.deepEqual(await states(), ["ok", "flagged"]);
    assert.equal((await gw.api("PATCH", `/providers/flagged/keys/${two}`, { models: ["flagged-model"] })).status, 200);
    assert.deepEqual(await states(), ["ok", "ok"]);
  });

  it("validates key weights and model lists with 400s naming the field", async () => {
    const tooMany = Array.from({ length: 201 }, (_, i) => `m-${i}`);
    const createCases: Array<[unknown, RegExp]> = [
      [{ key: GOOD_KEY, weight: 0 }, /apiKeys\.0\.weight: weight must be greater than 0/],
      [{ key: GOOD_KEY, weight: -2 }, /apiKeys\.0\.weight: weight must be greater than 0/],
      [{ key: GOOD_KEY, weight: "3" }, /apiKeys\.0\.weight: weight must be a number/],
      [{ key: GOOD_KEY, weight: 2_000_000 }, /apiKeys\.0\.weight: weight is at most/],
      [{ key: GOOD_KEY, models: [""] }, /apiKeys\.0\.models\.0: model names cannot be empty/],
      [{ key: GOOD_KEY, models: ["  "] }, /apiKeys\.0\.models\.0: model names cannot be empty/],
      [{ key: GOOD_KEY, models: "gpt-4.1" }, /apiKeys\.0\.models: models must be an array/],
      [{ key: GOOD_KEY, models: [] }, /apiKeys\.0\.models: models needs at least one/],
      [{ key: GOOD_KEY, models: tooMany }, /apiKeys\.0\.models: models holds at most 200/],
      [{ key: GOOD_KEY, models: null }, /apiKeys\.0\.models/],
    ];
    for (const [key, message] of createCases) {
      const res = await gw.api<ErrorBody>("POST", "/providers", acme("badkeys", { apiKeys: [key] }));
      assert.equal(res.status, 400, `${JSON.stringify(key).slice(0, 80)} → ${res.text.slice(0, 200)}`);
      assert.match(res.body.error.message, message);
    }
    assert.equal(gw.gateway.runtime.registry.get("badkeys"), undefined);
    assert.equal(
      (
        await gw.api<RoutedProviderView>(
          "POST",
          "/providers",
          acme("okkeys", { apiKeys: [{ key: GOOD_KEY, models: tooMany.slice(1) }] }),
        )
      ).status,
      201,
      "200 names are fine",
    );

    const add = await gw.api<ErrorBody>("POST", "/providers/okkeys/keys", { key: SECOND_KEY, weight: 0 });
    assert.equal(add.status, 400);
    assert.match(add.body.error.message, /^Invalid key: weight: weight must be greater than 0/);
    assert.equal(gw.gateway.runtime.registry.get("okkeys")?.keys.length, 1);

    const id = (await gw.api<RoutedProviderView>("GET", "/providers/okkeys")).body.keys[0]?.id;
    const patchCases: Array<[unknown, RegExp]> = [
      [{}, /Invalid key change: set at least one of "disabled", "weight" or "models"/],
      [{ weight: 0 }, /weight: weight must be greater than 0/],
      [{ weight: "heavy" }, /weight: weight must be a number/],
      [{ models: [""] }, /models\.0: model names cannot be empty/],
      [{ models: [] }, /models: models needs at least one/],
      [{ disabled: "yes" }, /disabled: disabled must be true or false/],
      [{ label: "renamed" }, /label/],
    ];
    for (const [body, message] of patchCases) {
      const res = await gw.api<ErrorBody>("PATCH", `/providers/okkeys/keys/${id}`, body);
      assert.equal(res.status, 400, `${JSON.stringify(body)} → ${res.text}`);
      assert.equal(res.body.error.type, "invalid_request");
      assert.match(res.body.error.message, message);
    }
    const after = (await gw.api<RoutedProviderView>("GET", "/providers/okkeys")).body.keys[0];
    assert.deepEqual([after?.weight, after?.models?.length], [1, 200], "a refused change writes nothing");
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

  it("keep key weights and model lists across a restart", async () => {
    const tmp = await tempDir();
    try {
      const first = await startGateway({ dataDir: tmp.dataDir });
      const created = await first.api<RoutedProviderView>("POST", "/providers", {
        name: "pooled",
        kind: "openai",
        baseUrl: "http://127.0.0.1:9/v1",
        apiKeys: [
          { key: GOOD_KEY, weight: 2.5, models: ["pooled-*"] },
          { key: SECOND_KEY, models: ["pooled-mini"] },
          { key: BAD_KEY, weight: 7 },
        ],
        models: ["pooled-large", "pooled-mini"],
      });
      assert.equal(created.status, 201, created.text);
      const [, second, third] = created.body.keys.map((k) => k.id);
      assert.equal((await first.api("PATCH", `/providers/pooled/keys/${second}`, { weight: 4 })).status, 200);
      assert.equal((await first.api("PATCH", `/providers/pooled/keys/${third}`, { weight: null })).status, 200);
      await first.close();

      const again = await startGateway({ dataDir: tmp.dataDir });
      try {
        assert.deepEqual(again.warnings, []);
        assert.deepEqual(
          again.gateway.runtime.registry.get("pooled")?.keys.map((k) => [k.secret, k.weight, k.models]),
          [
            [GOOD_KEY, 2.5, ["pooled-*"]],
            [SECOND_KEY, 4, ["pooled-mini"]],
            [BAD_KEY, undefined, undefined],
          ],
        );
        const listed = await again.api<RoutedProviderView>("GET", "/providers/pooled");
        assert.deepEqual(
          listed.body.keys.map((k) => [k.id, k.weight, k.models]),
          [
            [created.body.keys[0]?.id, 2.5, ["pooled-*"]],
            [second, 4, ["pooled-mini"]],
            [third, 1, null],
          ],
        );
        assertNoSecretIn([...first.responses, ...again.responses], SECRETS);
      } finally {
        await again.close();
      }
    } finally {
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

describe("stored key model lists route requests", () => {
  let mock: MockUpstream;
  let gw: MockedGateway;
  const GENERAL = "sk-pool-general-key-000000001";
  const SPECIAL = "sk-pool-special-key-000000002";

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url, random: seededRandom(5) });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  const admin = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`${gw.url}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as RoutedProviderView & RoutedKeyView };
  };
  /** Sends `n` chat requests for `model`; returns the upstream key each one reached the mock with. */
  const keysFor = async (model: string, n: number) => {
    mock.reset();
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer x" },
        body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
      });
      assert.equal(res.status, 200, await res.text());
    }
    return mock.requests.map((r) => String(r.headers.authorization).replace(/^Bearer /, ""));
  };

  it("a model only one stored key serves always goes to that key; a PATCH widens it at once", async () => {
    const created = await admin("POST", "/providers", {
      name: "pool",
      kind: "openai",
      baseUrl: `${mock.url}/v1`,
      models: ["pool-general", "pool-special"],
      // The general key weighs 10 times more, yet never serves the model only the special key lists.
      apiKeys: [
        { key: GENERAL, weight: 10, models: ["pool-gen*"] },
        { key: SPECIAL, models: ["pool-special"] },
      ],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(new Set(await keysFor("pool-special", 12)), new Set([SPECIAL]));
    assert.deepEqual(new Set(await keysFor("pool-general", 8)), new Set([GENERAL]));

    const generalId = created.body.keys[0]?.id;
    const widened = await admin("PATCH", `/providers/pool/keys/${generalId}`, { models: null, weight: 1 });
    assert.equal(widened.status, 200, JSON.stringify(widened.body));
    assert.deepEqual(new Set(await keysFor("pool-special", 16)), new Set([GENERAL, SPECIAL]));
  });
});
