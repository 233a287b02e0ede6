import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SpendFigures, SpendReport } from "../../src/cli/api-client.ts";
import { spendTable } from "../../src/cli/commands/spend.ts";

const figures = (cacheHits: number, saved: number): SpendFigures => ({
  requests: 10,
  unpricedRequests: 0,
  costNanoUsd: 1_500_000_000,
  costUsd: "1.500000000",
  tokens: { input: 100, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0, output: 50, reasoning: 0 },
  cacheSavingsUsd: "0.000000000",
  cacheHits,
  responseCacheSavingsNanoUsd: saved,
});
const report = (cacheHits: number, saved: number): SpendReport => ({
  from: Date.UTC(2026, 10, 1),
  to: Date.UTC(2026, 10, 2),
  groupBy: ["model"],
  data: [{ group: { model: "claude-sonnet-4-5" }, ...figures(cacheHits, saved) }],
  totals: figures(cacheHits, saved),
});

describe("tollgate spend's table", () => {
  it("shows response-cache hits and savings once the cache answered something", () => {
    const table = spendTable(report(3, 24_000_000));
    assert.match(table, /CACHE HITS/);
    assert.match(table, /CACHE SAVED/);
    assert.match(table, /\$0\.024/);
  });

  it("leaves the cache columns out when nothing was served from the cache", () => {
    const table = spendTable(report(0, 0));
    assert.doesNotMatch(table, /CACHE HITS|CACHE SAVED/);
  });
});
