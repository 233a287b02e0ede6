/**
 * Where catalog data comes from: the copy bundled in @pydantic/genai-prices, a JSON file, or a URL (by default the
 * genai-prices remote data, refreshed upstream as providers change prices). All I/O lives here and runs only on
 * refresh, never on a price lookup.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { REMOTE_DATA_JSON_URL, waitForUpdate } from "@pydantic/genai-prices";
import type { Catalog } from "./catalog.ts";
import { compileCatalog } from "./catalog.ts";

export { REMOTE_DATA_JSON_URL };

export interface LoadedCatalog {
  catalog: Catalog;
  /** `genai-prices@<package version>` for bundled data, `…+<sha256 prefix of the data>` for refreshed data. */
  version: string;
}

/** The installed package's version, read once at start-up (its `exports` hide package.json from import). */
function readPackageVersion(): string {
  try {
    const entry = import.meta.resolve("@pydantic/genai-prices");
    const pkg: unknown = JSON.parse(readFileSync(new URL("../package.json", entry), "utf8"));
    if (typeof pkg === "object" && pkg !== null && "version" in pkg && typeof pkg.version === "string") {
      return pkg.version;
    }
  } catch {
    // fall through: an unknown version is still a version string
  }
  return "unknown";
}

export const GENAI_PRICES_VERSION = readPackageVersion();
export const BUNDLED_CATALOG_VERSION = `genai-prices@${GENAI_PRICES_VERSION}`;

// The package exposes its bundled providers only through this promise; this module never calls `updatePrices`, so it
// resolves to the data shipped with the installed version. Top-level await keeps PriceBook construction synchronous.
const bundledData: unknown = await waitForUpdate();
let bundled: LoadedCatalog | undefined;

/** The bundled catalog, compiled on first use and shared by every PriceBook. */
export function bundledCatalog(): LoadedCatalog {
  bundled ??= { catalog: compileCatalog(bundledData), version: BUNDLED_CATALOG_VERSION };
  return bundled;
}

/** Parses and compiles catalog JSON text; throws (leaving nothing changed) if it is not a valid catalog. */
export function catalogFromText(text: string): LoadedCatalog {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new Error(`price catalog is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const catalog = compileCatalog(data);
  const digest = createHash("sha256").update(text).digest("hex").slice(0, 12);
  return { catalog, version: `${BUNDLED_CATALOG_VERSION}+${digest}` };
}

export async function catalogFromFile(path: string): Promise<LoadedCatalog> {
  return catalogFromText(await readFile(path, "utf8"));
}

export interface FetchCatalogOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
}

export async function catalogFromUrl(url: string, options: FetchCatalogOptions = {}): Promise<LoadedCatalog> {
  const response = await fetch(url, {
    headers: { accept: "application/json" },
    signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`price catalog fetch from ${url} failed: HTTP ${response.status}`);
  }
  return catalogFromText(await response.text());
}
