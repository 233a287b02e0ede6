import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ManualClock } from "../../src/clock.ts";
import {
  buildProviderConfig,
  EncryptionKeyMismatchError,
  keyFingerprint,
  ProviderStore,
  type StoredProviderRecord,
} from "../../src/providers/provider-store.ts";
import { SecretBox } from "../../src/secrets/secret-box.ts";
import { type Database, openDatabase } from "../../src/store/database.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";

const GOOD = "sk-proj-store-test-aaaaaaaaaaaa1111";
const OTHER = "sk-proj-store-test-bbbbbbbbbbbb2222";

const acme: StoredProviderRecord = {
  name: "acme",
  kind: "openai",
  baseUrl: "http://127.0.0.1:9/v1/",
  settings: { models: ["acme-large"], headers: { "x-team": "core" } },
};

interface Backend {
  open(): Promise<Database>;
  cleanup(): Promise<void>;
}

function storeCases(name: string, backend: () => Promise<Backend | string>) {
  describe(`ProviderStore (${name})`, async () => {
    const setup = await backend();
    const skip = typeof setup === "string" ? setup : undefined;
    let database: Database;
    const clock = new ManualClock();
    const box = new SecretBox(randomBytes(32));
    const store = () => new ProviderStore({ db: database.db, secrets: async () => box, clock });

    before(async () => {
      if (typeof setup !== "string") database = await setup.open();
    });
    after(async () => {
      if (typeof setup === "string") return;
      await database?.close();
      await setup.cleanup();
    });

    it("stores a provider with encrypted keys and loads it back as a ProviderConfig", { skip }, async () => {
      const keys = await store().create(acme, [
        { secret: GOOD, label: "main" },
        { secret: OTHER, label: null },
      ]);
      assert.ok(keys);
      assert.equal(keys.length, 2);
      assert.match(keys[0]?.id ?? "", /^key_[0-9a-f]{32}$/);
      assert.equal(keys[0]?.fingerprint, "…1111");

      const rows = await database.db.selectFrom("provider_keys").selectAll().where("provider", "=", "acme").execute();
      assert.equal(rows.length, 2);
      for (const row of rows) {
        assert.ok(!JSON.stringify(row).includes(GOOD) && !JSON.stringify(row).includes(OTHER), "plaintext in the row");
        assert.match(row.secret_encrypted, /^v1:/);
      }

      const loaded = await store().load();
      assert.deepEqual(loaded.unreadable, []);
      const p = loaded.providers.find((x) => x.name === "acme");
      assert.ok(p);
      assert.deepEqual(
        p.config.keys.map((k) => [k.secret, k.label, k.source]),
        [
          [GOOD, "main", "api"],
          [OTHER, null, "api"],
        ],
      );
      assert.equal(p.config.baseUrl, "http://127.0.0.1:9/v1");
      assert.equal(p.config.auth, "bearer");
      assert.deepEqual(p.config.models, ["acme-large"]);
      assert.deepEqual(p.config.headers, { "x-team": "core" });
      assert.equal(p.config.source, "api");
      assert.equal(p.config.keyOptional, false);
    });

    it("refuses a second provider of the same name", { skip }, async () => {
      assert.equal(await store().create(acme, [{ secret: "sk-another-key-zzzz", label: null }]), null);
      const loaded = await store().load();
      assert.equal(loaded.providers.find((x) => x.name === "acme")?.keys.length, 2);
    });

    it("keeps disabled keys stored but out of the data plane's config", { skip }, async () => {
      const loaded = await store().load();
      const id = loaded.providers.find((x) => x.name === "acme")?.keys[0]?.id ?? "";
      assert.equal((await store().setKeyDisabled("acme", id, true))?.disabled, true);
      const after = (await store().load()).providers.find((x) => x.name === "acme");
      assert.deepEqual(
        after?.keys.map((k) => k.disabled),
        [true, false],
      );
      assert.deepEqual(
        after?.config.keys.map((k) => k.secret),
        [OTHER],
      );
      assert.equal(await store().setKeyDisabled("acme", "key_missing", true), null);
      await store().setKeyDisabled("acme", id, false);
    });

    it("adds and deletes keys; updates settings", { skip }, async () => {
      const added = await store().addKey("acme", { secret: "sk-third-key-cccccccc3333", label: "ci" });
      assert.equal(added?.fingerprint, "…3333");
      assert.equal(await store().addKey("nobody", { secret: "sk-x-yyyyyyyyyy", label: null }), null);
      assert.equal(await store().deleteKey("acme", added?.id ?? ""), true);
      assert.equal(await store().deleteKey("acme", added?.id ?? ""), false);

      clock.advance(1000);
      assert.equal(await store().update({ ...acme, settings: { ...acme.settings, models: ["acme-xl"] } }), true);
      const p = (await store().load()).providers.find((x) => x.name === "acme");
      assert.deepEqual(p?.config.models, ["acme-xl"]);
      assert.ok((p?.updatedAt ?? 0) > (p?.createdAt ?? 0));
      assert.equal(await store().update({ ...acme, name: "nobody" }), false);
    });

    it("reports (not throws) providers whose keys do not decrypt, and refuses to mix master keys", {
      skip,
    }, async () => {
      await store().create({ name: "keyless", kind: "openai", baseUrl: "http://127.0.0.1:9/v1", settings: {} }, []);
      const wrongBox = new SecretBox(randomBytes(32));
      const wrong = new ProviderStore({ db: database.db, secrets: async () => wrongBox, clock });
      const loaded = await wrong.load();
      assert.deepEqual(
        loaded.providers.map((p) => p.name),
        ["keyless"],
      );
      assert.equal(loaded.unreadable.length, 1);
      assert.equal(loaded.unreadable[0]?.name, "acme");
      assert.match(loaded.unreadable[0]?.reason ?? "", /not the one its keys were stored with/);
      await assert.rejects(
        wrong.addKey("keyless", { secret: "sk-new-key-dddddddd", label: null }),
        EncryptionKeyMismatchError,
      );

      const broken = new ProviderStore({
        db: database.db,
        secrets: async () => {
          throw new Error("key file unreadable");
        },
        clock,
      });
      assert.match((await broken.load()).unreadable[0]?.reason ?? "", /key file unreadable/);
    });

    it("deletes a provider with its keys; a fresh master key is accepted once no keys remain", { skip }, async () => {
      assert.equal(await store().delete("acme"), true);
      assert.equal(await store().delete("acme"), false);
      assert.equal((await database.db.selectFrom("provider_keys").selectAll().execute()).length, 0);
      const freshBox = new SecretBox(randomBytes(32));
      const fresh = new ProviderStore({ db: database.db, secrets: async () => freshBox, clock });
      assert.ok(await fresh.addKey("keyless", { secret: "sk-new-key-eeeeeeee", label: null }));
      assert.equal(
        (await fresh.load()).providers.find((p) => p.name === "keyless")?.config.keys[0]?.secret,
        "sk-new-key-eeeeeeee",
      );
      await fresh.delete("keyless");
    });

    it("stores key weights and model lists, changes them, and reports a damaged list", { skip }, async () => {
      const routed: StoredProviderRecord = { ...acme, name: "routed" };
      const created = await store().create(routed, [
        { secret: GOOD, label: "main", weight: 2.5, models: ["acme-*", "other"] },
        { secret: OTHER, label: null },
      ]);
      assert.deepEqual(
        created?.map((k) => [k.weight, k.models]),
        [
          [2.5, ["acme-*", "other"]],
          [null, null],
        ],
      );
      const [main, plain] = created?.map((k) => k.id) ?? [];
      assert.ok(main && plain);
      const rows = await database.db
        .selectFrom("provider_keys")
        .select(["id", "weight", "models"])
        .where("provider", "=", "routed")
        .orderBy("id")
        .execute();
      assert.deepEqual(
        rows.map((r) => [r.weight === null ? null : Number(r.weight), r.models]),
        [
          [2.5, '["acme-*","other"]'],
          [null, null],
        ],
      );
      const config = async () =>
        (await store().load()).providers.find((p) => p.name === "routed")?.config.keys.map((k) => [k.weight, k.models]);
      assert.deepEqual(await config(), [
        [2.5, ["acme-*", "other"]],
        [undefined, undefined],
      ]);

      const changed = await store().updateKey("routed", plain, { weight: 0.25, models: ["acme-large"] });
      assert.deepEqual([changed?.weight, changed?.models, changed?.disabled], [0.25, ["acme-large"], false]);
      const reset = await store().updateKey("routed", main, { weight: null, models: null });
      assert.deepEqual([reset?.weight, reset?.models, reset?.label], [null, null, "main"]);
      const untouched = await store().updateKey("routed", plain, { disabled: true });
      assert.deepEqual([untouched?.weight, untouched?.models, untouched?.disabled], [0.25, ["acme-large"], true]);
      assert.equal(await store().updateKey("routed", "key_missing", { weight: 3 }), null);
      await store().updateKey("routed", plain, { disabled: false });
      assert.deepEqual(await config(), [
        [undefined, undefined],
        [0.25, ["acme-large"]],
      ]);

      await database.db
        .updateTable("provider_keys")
        .set({ models: '{"not":"a list"}' })
        .where("id", "=", plain)
        .execute();
      const damaged = await store().load();
      assert.equal(
        damaged.providers.find((p) => p.name === "routed"),
        undefined,
      );
      assert.match(damaged.unreadable.find((u) => u.name === "routed")?.reason ?? "", /models column of key key_/);
      assert.equal(await store().delete("routed"), true);
    });
  });
}

storeCases("SQLite", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tollgate-provider-store-"));
  return { open: () => openDatabase({ dataDir: dir }), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

storeCases("PostgreSQL", async () => {
  const url = testPostgresUrl();
  const skip = await requirePostgres(url);
  if (skip) return skip;
  const schema = randomSchemaName("provider_store");
  return { open: () => openDatabase({ url, dataDir: tmpdir(), schema }), cleanup: () => dropSchema(url, schema) };
});

describe("buildProviderConfig", () => {
  it("takes auth, dialects, patterns, base URL and pricing id from the preset", () => {
    const config = buildProviderConfig(
      { name: "work-anthropic", kind: "anthropic", baseUrl: null, settings: { preset: "anthropic" } },
      [],
    );
    assert.equal(config.baseUrl, "https://api.anthropic.com");
    assert.equal(config.auth, "x-api-key");
    assert.deepEqual(config.dialects, ["anthropic"]);
    assert.equal(config.pricingId, "anthropic");
    assert.ok(config.modelPatterns.some((re) => re.test("claude-sonnet-4-5")));
    assert.equal(config.keyOptional, true, "no key ever given: key-optional, like a config-file entry");
  });

  it("lets an explicit pricingId (also null) win over the preset's", () => {
    const base: StoredProviderRecord = { name: "x", kind: "openai", baseUrl: null, settings: { preset: "openrouter" } };
    assert.equal(buildProviderConfig({ ...base, settings: { ...base.settings, pricingId: null } }, []).pricingId, null);
    assert.equal(
      buildProviderConfig({ ...base, settings: { ...base.settings, pricingId: "openai" } }, []).pricingId,
      "openai",
    );
  });

  it("needs a base URL when there is no preset", () => {
    assert.throws(
      () => buildProviderConfig({ name: "x", kind: "openai", baseUrl: null, settings: {} }, []),
      /no base URL/,
    );
  });

  it("fingerprints show only the last 4 characters, and nothing of short secrets", () => {
    assert.equal(keyFingerprint("sk-abcdefghijkl9876"), "…9876");
    assert.equal(keyFingerprint("short"), "…");
  });
});
