import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { BUNDLED_CATALOG_VERSION } from "../../src/metering/pricing/index.ts";
import { ZERO_USAGE } from "../../src/metering/usage.ts";
import { type ErrorBody, startGateway, type TestGateway, tempDir } from "./support.ts";

interface PricingBody {
  version: string;
  catalogVersion: string;
  overrides: Array<{ id: string | null; source: string }>;
}
interface PriceBody {
  model: string;
  source: string;
  pricedAs: string;
  base: { input?: number };
}
interface Changed {
  id: string;
  version: string;
  overrides: unknown[];
}
interface Refreshed {
  version: string;
  catalogVersion: string;
  source: string;
}

const CONFIG_OVERRIDE = { provider: "openai", model: "gpt-4o", inputPerMTok: "1" };
const usage1kIn = { ...ZERO_USAGE, input: 1000 };

/** A one-provider catalog in the genai-prices data format. */
const TINY_CATALOG = [
  {
    id: "acme-cloud",
    name: "Acme Cloud",
    models: [{ id: "acme-1", match: { equals: "acme-1" }, prices: { input_mtok: 2, output_mtok: 8 } }],
  },
];

describe("/api/pricing", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let gw: TestGateway;

  before(async () => {
    tmp = await tempDir();
    gw = await startGateway({ dataDir: tmp.dataDir, configFile: { pricing: { overrides: [CONFIG_OVERRIDE] } } });
  });
  after(async () => {
    await gw.close();
    await tmp.remove();
  });

  const sonnetCost = () => gw.gateway.prices.cost("anthropic", "claude-sonnet-4-5", usage1kIn).costNanoUsd;

  it("requires the admin token", async () => {
    assert.equal((await gw.api("GET", "/pricing", undefined, null)).status, 401);
    assert.equal((await gw.api("POST", "/pricing/overrides", { model: "x", inputPerMTok: "1" }, "nope")).status, 401);
  });

  it("shows the version, the catalog version and the config-file overrides", async () => {
    const res = await gw.api<PricingBody>("GET", "/pricing");
    assert.equal(res.status, 200);
    assert.equal(res.body.catalogVersion, BUNDLED_CATALOG_VERSION);
    assert.match(
      res.body.version,
      new RegExp(`^${BUNDLED_CATALOG_VERSION.replaceAll(".", "\\.")}\\+overrides:[0-9a-f]{8}$`),
    );
    assert.deepEqual(res.body.overrides, [{ id: null, source: "config", ...CONFIG_OVERRIDE }]);
    // $1/M input from the config file instead of the catalog's $2.50.
    assert.equal(gw.gateway.prices.cost("openai", "gpt-4o", usage1kIn).costNanoUsd, 1_000_000);
  });

  it("resolves one model's price, 404 when unknown", async () => {
    const res = await gw.api<PriceBody>("GET", "/pricing/models/anthropic/claude-sonnet-4-5");
    assert.equal(res.status, 200);
    assert.equal(res.body.model, "claude-sonnet-4-5");
    assert.equal(res.body.source, "catalog");
    // $3 per million input tokens = 3e9 nano-USD per million.
    assert.equal(res.body.base.input, 3_000_000_000);
    assert.equal(res.body.pricedAs, "anthropic");

    const missing = await gw.api<ErrorBody>("GET", "/pricing/models/anthropic/no-such-model");
    assert.equal(missing.status, 404);
    assert.match(missing.contentType, /application\/json/);
    assert.match(missing.body.error.message, /No price for model "no-such-model"/);
  });

  it("prices a registered provider by its pricingId, and models with slashes", async () => {
    const created = await gw.api("POST", "/providers", {
      name: "resold",
      kind: "openai",
      baseUrl: "http://127.0.0.1:9/v1",
      pricingId: "openai",
    });
    assert.equal(created.status, 201, created.text);
    const res = await gw.api<PriceBody>("GET", "/pricing/models/resold/gpt-5");
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.pricedAs, "openai");

    const added = await gw.api<Changed>("POST", "/pricing/overrides", {
      provider: "lab",
      model: "org/model-x",
      inputPerMTok: "2",
    });
    assert.equal(added.status, 201, added.text);
    const slashed = await gw.api<PriceBody>("GET", "/pricing/models/lab/org/model-x");
    assert.equal(slashed.status, 200, slashed.text);
    assert.equal(slashed.body.source, "override");
    assert.equal(slashed.body.base.input, 2_000_000_000);
    assert.equal((await gw.api("DELETE", `/pricing/overrides/${added.body.id}`)).status, 200);
  });

  it("adds and deletes an override: applied at once, with a new version and a new cost", async () => {
    const before = await gw.api<PricingBody>("GET", "/pricing");
    assert.equal(sonnetCost(), 3_000_000);

    const added = await gw.api<Changed>("POST", "/pricing/overrides", {
      provider: "anthropic",
      model: "claude-sonnet-4-5",
      inputPerMTok: "1.5",
    });
    assert.equal(added.status, 201, added.text);
    assert.match(added.body.id, /^price_[0-9a-f]{32}$/);
    assert.notEqual(added.body.version, before.body.version);
    assert.equal(added.body.version, gw.gateway.prices.version);
    assert.equal(sonnetCost(), 1_500_000);
    assert.equal(gw.gateway.prices.cost("anthropic", "claude-sonnet-4-5", usage1kIn).priceVersion, added.body.version);

    const listed = await gw.api<PricingBody>("GET", "/pricing");
    assert.deepEqual(listed.body.overrides.at(-1), {
      id: added.body.id,
      source: "api",
      provider: "anthropic",
      model: "claude-sonnet-4-5",
      inputPerMTok: "1.5",
    });
    const row = await gw.gateway.database.db
      .selectFrom("price_overrides")
      .selectAll()
      .where("id", "=", added.body.id)
      .executeTakeFirst();
    assert.equal(row?.model, "claude-sonnet-4-5");

    const deleted = await gw.api<Changed>("DELETE", `/pricing/overrides/${added.body.id}`);
    assert.equal(deleted.status, 200);
    assert.equal(deleted.body.version, before.body.version);
    assert.equal(sonnetCost(), 3_000_000);
    assert.equal((await gw.api("DELETE", `/pricing/overrides/${added.body.id}`)).status, 404);
  });

  it("replaces the API-stored set with PUT, keeping config-file overrides", async () => {
    const put = await gw.api<Changed>("PUT", "/pricing/overrides", [
      { provider: "anthropic", model: "claude-sonnet-4-5", inputPerMTok: "2" },
      { model: "local-*", inputPerMTok: "0.1", outputPerMTok: "0.2" },
    ]);
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.overrides.length, 2);
    assert.equal(put.body.version, gw.gateway.prices.version);
    assert.equal(sonnetCost(), 2_000_000);
    assert.equal(gw.gateway.prices.cost("ollama", "local-llama", { ...ZERO_USAGE, output: 1000 }).costNanoUsd, 200_000);

    const wrapped = await gw.api("PUT", "/pricing/overrides", {
      overrides: [{ model: "claude-sonnet-4-5", inputPerMTok: "4" }],
    });
    assert.equal(wrapped.status, 200);
    assert.equal(sonnetCost(), 4_000_000);
    const listed = await gw.api<PricingBody>("GET", "/pricing");
    assert.deepEqual(
      listed.body.overrides.map((o) => o.source),
      ["config", "api"],
    );

    const cleared = await gw.api("PUT", "/pricing/overrides", []);
    assert.equal(cleared.status, 200);
    assert.equal(sonnetCost(), 3_000_000);
    assert.equal((await gw.api<PricingBody>("GET", "/pricing")).body.overrides.length, 1);
  });

  it("rejects invalid overrides with 400 and details, changing nothing", async () => {
    const version = gw.gateway.prices.version;
    const cases: Array<[string, unknown, RegExp]> = [
      ["PUT", [{ model: "x", inputPerMTok: "-1" }], /0\.inputPerMTok: must be a non-negative decimal/],
      ["PUT", [{ model: "x" }], /an override must set at least one price/],
      ["PUT", { overrides: "nope" }, /expected array/],
      ["POST", { model: "x", inputPerMTok: "1", extra: 1 }, /extra/],
      ["POST", { inputPerMTok: "1" }, /model/],
    ];
    for (const [method, body, message] of cases) {
      const res = await gw.api<ErrorBody>(method, "/pricing/overrides", body);
      assert.equal(res.status, 400, `${JSON.stringify(body)} → ${res.text}`);
      assert.match(res.body.error.message, message);
      assert.ok(Array.isArray(res.body.error.details) && res.body.error.details.length > 0);
    }
    assert.equal(gw.gateway.prices.version, version);
    assert.equal((await gw.api<PricingBody>("GET", "/pricing")).body.overrides.length, 1);
  });

  describe("refresh", () => {
    let server: Server;
    let base = "";
    before(async () => {
      server = createServer((req, res) => {
        if (req.url === "/data.json") {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(TINY_CATALOG));
        } else {
          res.writeHead(500);
          res.end("boom");
        }
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("rejects bad requests and reports failed refreshes as 502, keeping the catalog", async () => {
      const catalogVersion = gw.gateway.prices.catalogVersion;
      assert.equal((await gw.api("POST", "/pricing/refresh", { url: `${base}/data.json`, file: "/x" })).status, 400);
      assert.equal((await gw.api("POST", "/pricing/refresh", { url: "file:///etc/passwd" })).status, 400);

      const http500 = await gw.api<ErrorBody>("POST", "/pricing/refresh", { url: `${base}/broken` });
      assert.equal(http500.status, 502);
      assert.match(http500.body.error.message, /HTTP 500/);
      const notJson = join(tmp.dir, "not.json");
      await writeFile(notJson, "{");
      const badFile = await gw.api<ErrorBody>("POST", "/pricing/refresh", { file: notJson });
      assert.equal(badFile.status, 502);
      assert.match(badFile.body.error.message, /not valid JSON/);
      const missing = await gw.api("POST", "/pricing/refresh", { file: join(tmp.dir, "missing.json") });
      assert.equal(missing.status, 502);
      assert.equal(gw.gateway.prices.catalogVersion, catalogVersion);
    });

    it("refreshes the catalog from a file and from a URL, without restart", async () => {
      const file = join(tmp.dir, "catalog.json");
      await writeFile(file, JSON.stringify(TINY_CATALOG));
      const fromFile = await gw.api<Refreshed>("POST", "/pricing/refresh", { file });
      assert.equal(fromFile.status, 200, fromFile.text);
      assert.match(fromFile.body.catalogVersion, /^genai-prices@.+\+[0-9a-f]{12}$/);
      assert.equal(fromFile.body.version, gw.gateway.prices.version);
      // acme-1: $2/M input → 1000 tokens = 2,000,000 nano-USD.
      assert.equal(gw.gateway.prices.cost("acme-cloud", "acme-1", usage1kIn).costNanoUsd, 2_000_000);
      assert.equal(gw.gateway.prices.cost("anthropic", "claude-sonnet-4-5", usage1kIn).costNanoUsd, null);

      const fromUrl = await gw.api<Refreshed>("POST", "/pricing/refresh", { url: `${base}/data.json` });
      assert.equal(fromUrl.status, 200, fromUrl.text);
      assert.equal(fromUrl.body.catalogVersion, fromFile.body.catalogVersion, "same data, same version");
      assert.equal(fromUrl.body.source, `${base}/data.json`);
    });
  });
});

describe("stored price overrides across restarts", () => {
  it("are applied again on start, after the config-file ones", async () => {
    const tmp = await tempDir();
    try {
      const configFile = { pricing: { overrides: [{ model: "claude-sonnet-4-5", inputPerMTok: "9" }] } };
      const first = await startGateway({ dataDir: tmp.dataDir, configFile });
      const added = await first.api<Changed>("POST", "/pricing/overrides", {
        provider: "anthropic",
        model: "claude-sonnet-4-5",
        inputPerMTok: "0.5",
      });
      assert.equal(added.status, 201);
      const version = first.gateway.prices.version;
      await first.close();

      const second = await startGateway({ dataDir: tmp.dataDir, configFile });
      try {
        assert.equal(second.gateway.prices.version, version);
        // The stored override names a provider, so it is more specific than the config file's and wins.
        assert.equal(second.gateway.prices.cost("anthropic", "claude-sonnet-4-5", usage1kIn).costNanoUsd, 500_000);
        assert.deepEqual(
          (await second.api<PricingBody>("GET", "/pricing")).body.overrides.map((o) => o.source),
          ["config", "api"],
        );
      } finally {
        await second.close();
      }
    } finally {
      await tmp.remove();
    }
  });
});
