import assert from "node:assert/strict";
import { test } from "node:test";
import { cacheModeOf } from "../../src/cache/enablement.ts";
import type { CacheConfig } from "../../src/config/load.ts";
import type { VirtualKeySnapshot } from "../../src/governance/entities/index.ts";

const config = (exact: boolean): CacheConfig => ({ exact, ttlSeconds: 60, maxEntries: 10, share: "key" });
const key = (own: Record<string, string>, team: Record<string, string> = {}, customer: Record<string, string> = {}) =>
  ({ labels: own, ownerLabels: { team, customer } }) as unknown as VirtualKeySnapshot;

test("the request header wins, then the key's tollgate.cache label, its team's, its customer's, then the config", () => {
  const on = config(true);
  const off = config(false);
  assert.equal(cacheModeOf({}, null, off), "off");
  assert.equal(cacheModeOf({}, null, on), "exact");
  assert.equal(cacheModeOf({ "x-tollgate-cache": "semantic" }, null, off), "semantic");
  assert.equal(cacheModeOf({ "x-tollgate-cache": "off" }, key({ "tollgate.cache": "semantic" }), on), "off");
  assert.equal(cacheModeOf({ "x-tollgate-cache": "bogus" }, null, on), "exact", "unknown header values are ignored");
  assert.equal(cacheModeOf({}, key({ "tollgate.cache": "exact" }), off), "exact");
  assert.equal(cacheModeOf({}, key({}, { "tollgate.cache": "semantic" }), off), "semantic");
  assert.equal(cacheModeOf({}, key({}, {}, { "tollgate.cache": "exact" }), off), "exact");
  assert.equal(cacheModeOf({}, key({}, { "tollgate.cache": "off" }, { "tollgate.cache": "exact" }), on), "off");
  assert.equal(
    cacheModeOf({}, key({ "tollgate.cache": "exact" }, { "tollgate.cache": "off" }), off),
    "exact",
    "the key's own label over its team's",
  );
  assert.equal(cacheModeOf({}, key({ "tollgate.cache": "maybe" }, { "tollgate.cache": "semantic" }), off), "semantic");
  assert.equal(cacheModeOf({}, { labels: {} } as unknown as VirtualKeySnapshot, on), "exact", "no owner labels");
});
