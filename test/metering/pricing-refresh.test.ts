/** Replacing the catalog at runtime, from a file and from a local HTTP server (never the real remote URL). */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { waitForUpdate } from "@pydantic/genai-prices";
import { ManualClock } from "../../src/clock.ts";
import { BUNDLED_CATALOG_VERSION, PriceBook } from "../../src/metering/pricing/index.ts";
import type { Usage } from "../../src/metering/usage.ts";
import { ZERO_USAGE } from "../../src/metering/usage.ts";

const SONNET_REQUEST: Usage = {
  ...ZERO_USAGE,
  input: 1200,
  cacheRead: 3000,
  cacheWrite5m: 100,
  cacheWrite1h: 50,
  output: 400,
};

/** The bundled catalog as JSON, with Claude Sonnet 4.5's base price for one key replaced. */
async function catalogWithSonnetPrice(priceKey: string, base: number): Promise<string> {
  const data: unknown = JSON.parse(JSON.stringify(await waitForUpdate()));
  assert.ok(Array.isArray(data));
  const anthropic: unknown = data.find((provider: { id?: unknown }) => provider.id === "anthropic");
  assert.ok(anthropic && typeof anthropic === "object" && "models" in anthropic && Array.isArray(anthropic.models));
  const sonnet: { prices: Record<string, { base: number }> } = anthropic.models.find(
    (model: { id?: unknown }) => model.id === "claude-sonnet-4-5",
  );
  const price = sonnet.prices[priceKey];
  assert.ok(price);
  price.base = base;
  return JSON.stringify(data);
}

function dataVersion(text: string): string {
  return `${BUNDLED_CATALOG_VERSION}+${createHash("sha256").update(text).digest("hex").slice(0, 12)}`;
}

describe("catalog refresh", () => {
  let dir = "";
  let server: Server;
  let baseUrl = "";
  const served = new Map<string, { status: number; body: string }>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "tollgate-pricing-"));
    server = createServer((request, response) => {
      const entry = served.get(request.url ?? "") ?? { status: 404, body: "not found" };
      response.writeHead(entry.status, { "content-type": "application/json" });
      response.end(entry.body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  it("from a file: later lookups use the new prices and the new version", async () => {
    const book = new PriceBook({ clock: new ManualClock() });
    // Bundled: 1200 × 3 + 3000 × 0.30 + 100 × 3.75 + 50 × 6 + 400 × 15 = 11175 $·tok/M = 11,175,000 nano-USD
    assert.equal(book.cost("anthropic", "claude-sonnet-4-5-20250929", SONNET_REQUEST).costNanoUsd, 11_175_000);
    assert.equal(book.version, BUNDLED_CATALOG_VERSION);

    const text = await catalogWithSonnetPrice("input_mtok", 4);
    const path = join(dir, "data.json");
    await writeFile(path, text);
    await book.refreshFromFile(path);

    // Input now $4: 1200 × 4 + 900 + 375 + 300 + 6000 = 4800 + 7575 = 12375 $·tok/M = 12,375,000 nano-USD
    const result = book.cost("anthropic", "claude-sonnet-4-5-20250929", SONNET_REQUEST);
    assert.equal(result.costNanoUsd, 12_375_000);
    assert.equal(result.priceVersion, dataVersion(text));
    assert.equal(book.version, dataVersion(text));
    assert.equal(book.catalogVersion, dataVersion(text));
  });

  it("from a URL: later lookups use the new prices and the new version", async () => {
    const book = new PriceBook({ clock: new ManualClock() });
    book.cost("anthropic", "claude-sonnet-4-5-20250929", SONNET_REQUEST); // warm the lookup cache
    const text = await catalogWithSonnetPrice("output_mtok", 16);
    served.set("/v2/data.json", { status: 200, body: text });
    await book.refreshFromUrl(`${baseUrl}/v2/data.json`);

    // Output now $16: 3600 + 900 + 375 + 300 + 400 × 16 = 5175 + 6400 = 11575 $·tok/M = 11,575,000 nano-USD
    const result = book.cost("anthropic", "claude-sonnet-4-5-20250929", SONNET_REQUEST);
    assert.equal(result.costNanoUsd, 11_575_000);
    assert.equal(result.priceVersion, dataVersion(text));
  });

  it("keeps overrides (and their version suffix) across a refresh", async () => {
    const book = new PriceBook({ clock: new ManualClock(), overrides: [{ model: "gpt-4o", inputPerMTok: "1" }] });
    const suffix = book.version.slice(BUNDLED_CATALOG_VERSION.length);
    assert.match(suffix, /^\+overrides:[0-9a-f]{8}$/);
    const text = await catalogWithSonnetPrice("input_mtok", 4);
    served.set("/with-overrides.json", { status: 200, body: text });
    await book.refreshFromUrl(`${baseUrl}/with-overrides.json`);
    assert.equal(book.version, `${dataVersion(text)}${suffix}`);
    assert.equal(book.priceFor("openai", "gpt-4o")?.base.input, 1_000_000_000);
  });

  it("a failed refresh changes nothing", async () => {
    const book = new PriceBook({ clock: new ManualClock() });
    served.set("/broken", { status: 500, body: "{}" });
    await assert.rejects(book.refreshFromUrl(`${baseUrl}/broken`), /HTTP 500/);
    served.set("/not-json", { status: 200, body: "<html>" });
    await assert.rejects(book.refreshFromUrl(`${baseUrl}/not-json`), /not valid JSON/);
    served.set("/wrong-shape", { status: 200, body: JSON.stringify([{ id: "x", models: [{ id: "m" }] }]) });
    await assert.rejects(book.refreshFromUrl(`${baseUrl}/wrong-shape`), /invalid price catalog/);
    await assert.rejects(book.refreshFromFile(join(dir, "missing.json")));

    assert.equal(book.version, BUNDLED_CATALOG_VERSION);
    assert.equal(book.cost("anthropic", "claude-sonnet-4-5-20250929", SONNET_REQUEST).costNanoUsd, 11_175_000);
  });

  it("accepts the remote format: wrapped payload and constraints without `type`", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const book = new PriceBook({ clock });
    const text = JSON.stringify({
      providers: [
        {
          id: "acme",
          name: "Acme",
          api_pattern: "https://api\\.acme\\.test",
          models: [
            {
              id: "acme-1",
              match: { starts_with: "acme-1" },
              prices: [
                { prices: { input_mtok: 1, output_mtok: 2 } },
                { constraint: { start_date: "2026-02-01" }, prices: { input_mtok: 0.5, output_mtok: 1 } },
              ],
            },
          ],
        },
      ],
      units: {},
    });
    const path = join(dir, "wrapped.json");
    await writeFile(path, text);
    await book.refreshFromFile(path);
    const request: Usage = { ...ZERO_USAGE, input: 1000, output: 1000 };
    // Before 2026-02-01: 1000 × 1 + 1000 × 2 = 3000 $·tok/M = 3,000,000 nano-USD
    assert.equal(book.cost("acme", "acme-1-20260101", request).costNanoUsd, 3_000_000);
    clock.set(Date.UTC(2026, 1, 1));
    // From 2026-02-01: 1000 × 0.5 + 1000 × 1 = 1500 $·tok/M = 1,500,000 nano-USD
    assert.equal(book.cost("acme", "acme-1-20260101", request).costNanoUsd, 1_500_000);
    // The new catalog replaced the old one entirely.
    assert.equal(book.cost("anthropic", "claude-sonnet-4-5", request).costNanoUsd, null);
  });
});
