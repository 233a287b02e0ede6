import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { seededRandom } from "./seeded-random.ts";

/** Weighted targets through real traffic (issue 5, acceptance 4): 5,000 requests split 60/30/10 within 2 points. */
describe("weighted targets", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let dir: string;

  before(async () => {
    mock = await startMockUpstream({ validate: false });
    dir = await mkdtemp(join(tmpdir(), "tollgate-weighted-"));
    const config = join(dir, "tollgate.json");
    await writeFile(
      config,
      JSON.stringify({
        providers: {
          east: { preset: "anthropic", baseUrl: mock.url, apiKeys: ["east-key"] },
          west: { preset: "anthropic", baseUrl: mock.url, apiKeys: ["west-key"] },
        },
        routing: {
          rules: [
            {
              name: "spread",
              scope: { type: "global" },
              expression: "true",
              targets: [
                { provider: "anthropic", model: "claude-sonnet-4-5", weight: 6 },
                { provider: "east", model: "claude-sonnet-4-5", weight: 3 },
                { provider: "west", model: "claude-sonnet-4-5", weight: 1 },
              ],
            },
          ],
        },
      }),
    );
    gw = await startTestGateway({
      upstreamUrl: mock.url,
      env: { TOLLGATE_CONFIG: config },
      resilience: true,
      random: seededRandom(2026),
    });
  });
  after(async () => {
    await gw.close();
    await mock.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("each target's share is within 2 percentage points of its weight over 5,000 requests", async () => {
    const total = 5000;
    const body = JSON.stringify({
      model: "claude-sonnet-4-5",
      max_tokens: 8,
      messages: [{ role: "user", content: "hi" }],
    });
    let next = 0;
    const worker = async () => {
      while (next < total) {
        next += 1;
        const res = await fetch(`${gw.url}/anthropic/v1/messages`, {
          method: "POST",
          headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
          body,
        });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const counts = new Map<string, number>();
    for (const r of mock.requests) {
      const key = String(r.headers["x-api-key"]);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    assert.equal(mock.requests.length, total);
    const share = (key: string) => ((counts.get(key) ?? 0) / total) * 100;
    const expected: [string, number][] = [
      ["test-anthropic-key", 60],
      ["east-key", 30],
      ["west-key", 10],
    ];
    for (const [key, weight] of expected) {
      assert.ok(Math.abs(share(key) - weight) <= 2, `${key}: ${share(key).toFixed(2)} % (weight ${weight} %)`);
    }
  });
});
