import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import type { z } from "zod";
import {
  authenticateVirtualKey,
  BudgetCreateSchema,
  BudgetPatchSchema,
  compileNameMatcher,
  type GovernanceSnapshot,
  generateVirtualKeySecret,
  hashVirtualKeySecret,
  isWellFormedVirtualKey,
  KeyCreateSchema,
  KeyPatchSchema,
  looksLikeVirtualKey,
  RateLimitCreateSchema,
  usdToNano,
} from "../../src/governance/entities/index.ts";

/** `path: message` for every issue of a failed parse. */
function problems(result: { success: boolean; error?: z.ZodError }): string[] {
  assert.equal(result.success, false, "expected the input to be refused");
  return (result.error?.issues ?? []).map((i) => `${i.path.join(".")}: ${i.message}`);
}

describe("virtual key material", () => {
  test("secrets are sk-tg- and 43 base64url characters, all different", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const { secret, hash, prefix } = generateVirtualKeySecret();
      assert.match(secret, /^sk-tg-[A-Za-z0-9_-]{43}$/);
      assert.equal(hash, createHash("sha256").update(secret).digest("hex"));
      assert.equal(prefix, secret.slice(0, 10));
      assert.ok(isWellFormedVirtualKey(secret));
      seen.add(secret);
    }
    assert.equal(seen.size, 500);
  });

  test("well-formedness is exact; sk-tg- alone marks an intended virtual key", () => {
    const { secret } = generateVirtualKeySecret();
    assert.equal(isWellFormedVirtualKey(secret.slice(0, -1)), false);
    assert.equal(isWellFormedVirtualKey(`${secret}A`), false);
    assert.equal(isWellFormedVirtualKey(`${secret.slice(0, -1)}=`), false);
    assert.equal(isWellFormedVirtualKey(secret.replace("sk-tg-", "sk-tx-")), false);
    assert.equal(looksLikeVirtualKey("sk-tg-short"), true);
    assert.equal(looksLikeVirtualKey("sk-ant-api03-xyz"), false);
    assert.equal(hashVirtualKeySecret("sk-tg-a"), hashVirtualKeySecret("sk-tg-a"));
    assert.notEqual(hashVirtualKeySecret("sk-tg-a"), hashVirtualKeySecret("sk-tg-b"));
  });

  test("authentication without a matching key says malformed or unknown", () => {
    const empty: GovernanceSnapshot = {
      loadedAt: 0,
      keysDefined: 0,
      byHash: new Map(),
      byId: new Map(),
      unscopedBudgets: [],
      unscopedRateLimits: [],
      budgetsById: new Map(),
    };
    const malformed = authenticateVirtualKey(empty, "sk-tg-nope", 0);
    assert.equal(malformed.ok ? "ok" : malformed.reason, "malformed");
    const unknown = authenticateVirtualKey(empty, generateVirtualKeySecret().secret, 0);
    assert.equal(unknown.ok ? "ok" : unknown.reason, "unknown");
    assert.ok(!unknown.ok && !unknown.message.includes("sk-tg-"), "never echoes the secret");
  });
});

describe("name globs", () => {
  test("exact names, * and ?, anchored; other characters are literal", () => {
    const m = compileNameMatcher(["gpt-4.1", "claude-*", "o?", "openrouter/*"]);
    assert.ok(m.matches("gpt-4.1"));
    assert.ok(!m.matches("gpt-4x1"), "the dot is literal");
    assert.ok(!m.matches("gpt-4.1-mini"), "exact names are exact");
    assert.ok(m.matches("claude-"));
    assert.ok(m.matches("claude-sonnet-4-5@20250929"));
    assert.ok(!m.matches("xclaude-3"), "anchored at the start");
    assert.ok(m.matches("o3"));
    assert.ok(!m.matches("o33"));
    assert.ok(m.matches("openrouter/meta-llama/llama-3"), "* crosses /");
    assert.ok(!compileNameMatcher([]).matches("anything"));
  });
});

describe("USD amounts", () => {
  test("exact nano-dollars from numbers and decimal strings", () => {
    assert.equal(usdToNano(5), 5_000_000_000);
    assert.equal(usdToNano(0.1), 100_000_000);
    assert.equal(usdToNano("12.50"), 12_500_000_000);
    assert.equal(usdToNano(1e-9), 1);
    assert.equal(usdToNano("0"), 0);
    assert.equal(usdToNano("9007199.254740991"), Number.MAX_SAFE_INTEGER);
  });

  test("refuses what is not exact, negative or too large", () => {
    for (const bad of [
      "0.0000000001",
      1e-10,
      -1,
      "-1",
      "abc",
      "",
      "1e3",
      "9007199.254740992",
      0.30000000000000004,
      NaN,
    ]) {
      assert.equal(usdToNano(bad), null, String(bad));
    }
  });
});

describe("input validation messages name the field", () => {
  test("virtual keys", () => {
    assert.deepEqual(problems(KeyCreateSchema.safeParse({})), ["name: required"]);
    assert.deepEqual(
      problems(
        KeyCreateSchema.safeParse({
          name: "k",
          expiresAt: "tomorrow",
          allowedModels: [],
          labels: { "Bad Label": "x" },
          credentialPolicy: "yes",
          bogus: 1,
        }),
      ).sort(),
      [
        ': Unrecognized key: "bogus"',
        "allowedModels: an empty list would allow nothing: use null for no restriction, or set active to false",
        'credentialPolicy: must be one of "deny", "allow-own-provider-key", "allow-subscription", "allow-all"',
        "expiresAt: must be epoch milliseconds or an ISO 8601 date-time such as 2026-07-01T00:00:00Z",
        "labels.Bad Label: label names are [a-z0-9_.-], at most 64 characters",
      ],
    );
    assert.deepEqual(problems(KeyCreateSchema.safeParse({ name: "k", secret: "sk-tg-mine" })), [
      "secret: secrets are generated by the gateway and shown once in the reply",
    ]);
    assert.deepEqual(problems(KeyPatchSchema.safeParse({ budgets: [] })), [
      "budgets: budgets are changed with /api/budgets",
    ]);
    const iso = KeyCreateSchema.parse({ name: "k", expiresAt: "2026-07-01T00:00:00Z" });
    assert.equal(iso.expiresAt, Date.UTC(2026, 6, 1));
  });

  test("budgets", () => {
    assert.deepEqual(problems(BudgetCreateSchema.safeParse({ scopeType: "team", limitUsd: 1, period: "1d" })), [
      'scopeId: required for scopeType "team"',
    ]);
    assert.deepEqual(
      problems(BudgetCreateSchema.safeParse({ scopeType: "global", scopeId: "x", model: "m", period: "1d" })).sort(),
      [
        'model: does not apply to scopeType "global"',
        'scopeId: does not apply to scopeType "global"',
        "limitUsd: required (or limitNanoUsd)",
      ].sort(),
    );
    assert.deepEqual(
      problems(BudgetCreateSchema.safeParse({ scopeType: "global", limitUsd: 1, limitNanoUsd: 1, period: "1d" })),
      ["limitNanoUsd: give limitUsd or limitNanoUsd, not both"],
    );
    const [badPeriod] = problems(BudgetCreateSchema.safeParse({ scopeType: "global", limitUsd: 1, period: "1m" }));
    assert.match(badPeriod ?? "", /^period: invalid budget period "1m": "m" means minutes/);
    const [calendar] = problems(BudgetCreateSchema.safeParse({ scopeType: "global", limitUsd: 1, period: "2w" }));
    assert.match(calendar ?? "", /^period: "2w" cannot be calendar-aligned/);
    assert.equal(
      BudgetCreateSchema.safeParse({ scopeType: "global", limitUsd: 1, period: "2w", mode: "rolling" }).success,
      true,
    );
    const [zone] = problems(
      BudgetCreateSchema.safeParse({ scopeType: "global", limitUsd: 1, period: "1d", timeZone: "Mars/Base" }),
    );
    assert.match(zone ?? "", /^timeZone: /);
    assert.deepEqual(problems(BudgetCreateSchema.safeParse({ scopeType: "global", limitUsd: -5, period: "1d" })), [
      "limitUsd: must be a non-negative USD amount with at most 9 decimals, below 9,007,199 USD",
    ]);
    assert.deepEqual(problems(BudgetPatchSchema.safeParse({ scopeId: "cus_x" })), [
      "scopeId: the scope of a budget cannot change: create a new budget (spend stays with this one)",
    ]);
    assert.equal(BudgetCreateSchema.parse({ scopeType: "global", limitUsd: 1, period: "1Y" }).period, "1y");
  });

  test("rate limits", () => {
    assert.deepEqual(problems(RateLimitCreateSchema.safeParse({ scopeType: "global" })), [
      "maxRequests: set at least one of maxRequests, maxTokens or maxConcurrent",
    ]);
    assert.deepEqual(problems(RateLimitCreateSchema.safeParse({ scopeType: "global", maxRequests: 5 })), [
      "window: required with maxRequests or maxTokens (e.g. 1s, 1m, 1h, 1d)",
    ]);
    assert.deepEqual(
      problems(RateLimitCreateSchema.safeParse({ scopeType: "global", maxConcurrent: 2, window: "1m" })),
      ["window: applies to maxRequests and maxTokens only"],
    );
    assert.deepEqual(
      problems(RateLimitCreateSchema.safeParse({ scopeType: "global", maxRequests: 1.5, window: "1m" })),
      ["maxRequests: must be an integer"],
    );
  });
});
