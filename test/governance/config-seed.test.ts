import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { ManualClock } from "../../src/clock.ts";
import { ConfigError, loadConfig, resolveGovernance } from "../../src/config/load.ts";
import { type ConfigGovernance, GovernanceSectionSchema } from "../../src/config/schema.ts";
import { reconcileConfigEntities } from "../../src/governance/config-seed.ts";
import {
  authenticateVirtualKey,
  CustomerCreateSchema,
  GovernanceRepository,
  generateVirtualKeySecret,
  governanceDb,
  KeyCreateSchema,
  loadKeySnapshot,
} from "../../src/governance/entities/index.ts";
import { type Database, openDatabase } from "../../src/store/database.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";

// Parents first (deleted in reverse).
const TABLES = ["customers", "teams", "developers", "virtual_keys", "budgets", "budget_spend", "rate_limits"] as const;

/** The governance section as loadConfig would hand it over (parsed, secrets resolved and hashed). */
function declared(section: unknown, env: Record<string, string> = {}): ConfigGovernance {
  return resolveGovernance(GovernanceSectionSchema.parse(section), env);
}

const CI_SECRET = generateVirtualKeySecret().secret;
const LAPTOP_SECRET = generateVirtualKeySecret().secret;

function baseSection() {
  return {
    customers: [{ name: "Acme", labels: { tier: "gold" }, budgets: [{ limitUsd: "500", period: "1mo" }] }],
    teams: [{ name: "Payments", customer: "Acme", description: "pays" }],
    developers: [{ name: "Ada", email: "Ada@Example.com", team: "Payments" }],
    virtualKeys: [
      {
        name: "ci-bot",
        team: "Payments",
        keyEnv: "TG_CI_KEY",
        allowedModels: ["claude-*"],
        labels: { env: "ci" },
        sessionCaps: { maxUsd: "2", maxRequests: 100 },
        budgets: [
          { name: "daily", limitUsd: "5", period: "1d" },
          { provider: "anthropic", limitUsd: "3", period: "1d" },
        ],
        rateLimits: [{ window: "1m", maxRequests: 60 }],
      },
      { name: "ada-laptop", developer: "Ada", customer: "Acme", key: LAPTOP_SECRET, credentialPolicy: "allow-all" },
    ],
    budgets: [{ scopeType: "global", limitUsd: 1000, period: "1mo" }],
    rateLimits: [{ scopeType: "provider", provider: "anthropic", maxConcurrent: 20 }],
  };
}
const ENV = { TG_CI_KEY: CI_SECRET };

/** Every governance row, for "nothing changed" comparisons. */
async function everything(database: Database) {
  const db = governanceDb(database.db);
  const out: Record<string, unknown[]> = {};
  for (const table of TABLES)
    out[table] = await db
      .selectFrom(table)
      .selectAll()
      .orderBy("budget_spend" === table ? "budget_id" : "id")
      .execute();
  return out;
}

async function rejects(work: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(work, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

function registerCases(
  name: string,
  skip: string | undefined,
  open: () => Promise<Database>,
  cleanup: () => Promise<void>,
) {
  describe(`config-file entities: ${name}`, { skip: skip ?? false }, () => {
    let database: Database;
    let clock: ManualClock;
    let repo: GovernanceRepository;

    before(async () => {
      database = await open();
    });
    after(async () => {
      await database?.close();
      await cleanup();
    });
    beforeEach(async () => {
      const db = governanceDb(database.db);
      for (const table of [...TABLES].reverse()) await db.deleteFrom(table).execute();
      clock = new ManualClock(Date.UTC(2026, 2, 1, 12));
      repo = new GovernanceRepository({ db: database.db, clock });
    });

    const seed = (section: unknown = baseSection(), env: Record<string, string> = ENV) =>
      reconcileConfigEntities(database.db, declared(section, env), clock);

    test("seeds every declared entity, with references by name and the key's secret from the environment", async () => {
      const result = await seed();
      assert.equal(result.created.length, 11, result.created.join("\n"));
      assert.deepEqual([result.updated, result.deactivated, result.deleted, result.warnings], [[], [], [], []]);

      const [acme] = (await repo.listCustomers()).data;
      assert.equal(acme?.name, "Acme");
      assert.deepEqual(acme?.labels, { tier: "gold" });
      const [payments] = (await repo.listTeams()).data;
      assert.equal(payments?.customerId, acme?.id);
      const [ada] = (await repo.listDevelopers()).data;
      assert.equal(ada?.email, "ada@example.com");
      assert.equal(ada?.teamId, payments?.id);

      const snapshot = await loadKeySnapshot(database.db, { clock });
      const ci = authenticateVirtualKey(snapshot, CI_SECRET, clock.now());
      assert.ok(ci.ok, JSON.stringify(ci));
      assert.equal(ci.key.name, "ci-bot");
      assert.equal(ci.key.team?.id, payments?.id);
      assert.equal(ci.key.customer?.id, acme?.id);
      assert.deepEqual(ci.key.allowedModels, ["claude-*"]);
      assert.deepEqual(ci.key.sessionCaps, { maxNanoUsd: 2_000_000_000, maxRequests: 100, loopGuard: null });
      assert.deepEqual(
        ci.key.budgets.map((b) => [b.scopeType, b.provider, b.limitNanoUsd]).sort(),
        [
          ["customer", null, 500_000_000_000],
          ["key", null, 5_000_000_000],
          ["key-provider", "anthropic", 3_000_000_000],
        ].sort(),
      );
      const laptop = authenticateVirtualKey(snapshot, LAPTOP_SECRET, clock.now());
      assert.ok(laptop.ok);
      assert.equal(laptop.key.developer?.id, ada?.id);
      assert.equal(laptop.key.credentialPolicy, "allow-all");

      const budgets = (await repo.listBudgets()).data;
      assert.deepEqual(budgets.map((b) => b.scopeType).sort(), ["customer", "global", "key", "key-provider"]);
      const limits = (await repo.listRateLimits()).data;
      assert.deepEqual(limits.map((l) => [l.scopeType, l.window, l.maxRequests, l.maxConcurrent]).sort(), [
        ["key", "1m", 60, null],
        ["provider", null, null, 20],
      ]);
      // The secret is stored only as its hash, like an API-created key's.
      const stored = JSON.stringify(await everything(database));
      assert.ok(!stored.includes(CI_SECRET) && !stored.includes(LAPTOP_SECRET));
    });

    test("a restart with the same file writes nothing", async () => {
      await seed();
      const first = await everything(database);
      clock.advance(3_600_000);
      const again = await seed();
      assert.deepEqual([again.created, again.updated, again.deactivated, again.deleted], [[], [], [], []]);
      assert.deepEqual(await everything(database), first, "no row (and no updatedAt) changed");
    });

    test("a changed budget limit updates the budget in place: same id, its recorded spend stays", async () => {
      await seed();
      const before = (await repo.listBudgets({ scopeType: "key" })).data[0];
      assert.ok(before);
      const db = governanceDb(database.db);
      await db
        .insertInto("budget_spend")
        .values({ budget_id: before.id, window_start: Date.UTC(2026, 2, 1), spent_nano_usd: 1_234, updated_at: 1 })
        .execute();

      clock.advance(60_000);
      const section = baseSection();
      const ci = section.virtualKeys[0];
      assert.ok(ci?.budgets?.[0]);
      ci.budgets[0].limitUsd = "7.5";
      const result = await seed(section);
      assert.deepEqual(result.created, []);
      assert.equal(result.updated.length, 1, result.updated.join("\n"));
      assert.match(result.updated[0] ?? "", /budget "daily" 1d calendar on key/);

      const after = await repo.getBudget(before.id);
      assert.equal(after?.limitNanoUsd, 7_500_000_000);
      assert.equal(after?.updatedAt, clock.now());
      assert.equal(after?.createdAt, before.createdAt);
      const spend = await db.selectFrom("budget_spend").selectAll().execute();
      assert.deepEqual(
        spend.map((r) => [r.budget_id, Number(r.spent_nano_usd)]),
        [[before.id, 1_234]],
      );
    });

    test("changed fields of a key update it in place; a new secret in the file replaces the old one", async () => {
      await seed();
      const snapshot = await loadKeySnapshot(database.db, { clock });
      const ci = authenticateVirtualKey(snapshot, CI_SECRET, clock.now());
      assert.ok(ci.ok);
      const rotated = generateVirtualKeySecret().secret;
      const section = baseSection();
      const key = section.virtualKeys[0];
      assert.ok(key);
      key.allowedModels = ["claude-*", "gpt-*"];
      clock.advance(1000);
      const result = await seed(section, { TG_CI_KEY: rotated });
      assert.deepEqual(result.updated, [`virtual key "ci-bot" (${ci.key.id})`]);
      const next = await loadKeySnapshot(database.db, { clock });
      assert.equal(authenticateVirtualKey(next, CI_SECRET, clock.now()).ok, false);
      const now = authenticateVirtualKey(next, rotated, clock.now());
      assert.ok(now.ok);
      assert.equal(now.key.id, ci.key.id);
      assert.deepEqual(now.key.allowedModels, ["claude-*", "gpt-*"]);
    });

    test("entities dropped from the file are deactivated or deleted; API-created ones are never touched", async () => {
      // Created through the API, one of them under a config-file team.
      const apiCustomer = await repo.createCustomer(CustomerCreateSchema.parse({ name: "Globex" }));
      const apiKey = await repo.createKey(
        KeyCreateSchema.parse({ name: "ci-bot", budgets: [{ limitUsd: 1, period: "1d" }] }),
      );
      await seed();
      const payments = (await repo.listTeams()).data[0];
      assert.ok(payments);
      const apiTeamKey = await repo.createKey(KeyCreateSchema.parse({ name: "manual", teamId: payments.id }));
      const apiRows = {
        customer: await repo.getCustomer(apiCustomer.id),
        key: await repo.getKey(apiKey.key.id),
        teamKey: await repo.getKey(apiTeamKey.key.id),
        budgets: await repo.budgetsOf("key", apiKey.key.id),
      };

      clock.advance(1000);
      // Only the customer is left, without budgets.
      const result = await seed({ customers: [{ name: "Acme", labels: { tier: "gold" } }] });
      assert.deepEqual(result.created, []);
      assert.equal(result.deactivated.length, 2);
      assert.ok(result.deactivated.every((d) => d.startsWith("virtual key ")));
      // Deleted: ci-bot's two budgets, Acme's, the global one, both rate limits. Kept with a warning: Payments and
      // Ada, still referred to by the (deactivated) keys.
      assert.equal(result.deleted.filter((d) => d.startsWith("budget ")).length, 4, result.deleted.join("\n"));
      assert.equal(result.deleted.filter((d) => d.startsWith("rate limit ")).length, 2);
      assert.equal(result.warnings.length, 2, result.warnings.join("\n"));
      assert.match(
        result.warnings.join("\n"),
        /team "Payments" .* is no longer in the config file but is kept: 2 virtual key/,
      );
      assert.match(result.warnings.join("\n"), /developer "Ada" .* kept: 1 virtual key/);

      const keys = (await repo.listKeys()).data;
      const byName = new Map(keys.map((k) => [k.name + (k.id === apiKey.key.id ? " (api)" : ""), k]));
      assert.equal(byName.get("ci-bot")?.active, false);
      assert.equal(byName.get("ci-bot")?.status, "inactive");
      assert.equal(byName.get("ada-laptop")?.active, false);
      assert.deepEqual(await repo.getCustomer(apiCustomer.id), apiRows.customer);
      assert.deepEqual(await repo.getKey(apiKey.key.id), apiRows.key);
      assert.deepEqual(await repo.getKey(apiTeamKey.key.id), apiRows.teamKey);
      assert.deepEqual(await repo.budgetsOf("key", apiKey.key.id), apiRows.budgets);
      const snapshot = await loadKeySnapshot(database.db, { clock });
      assert.equal(authenticateVirtualKey(snapshot, CI_SECRET, clock.now()).ok, false);

      // Declared again: the same key comes back, active.
      clock.advance(1000);
      const back = await seed();
      const ci = (await repo.listKeys()).data.find((k) => k.name === "ci-bot" && k.id !== apiKey.key.id);
      assert.equal(ci?.id, byName.get("ci-bot")?.id);
      assert.equal(ci?.active, true);
      assert.ok(back.updated.some((u) => u.startsWith('virtual key "ci-bot"')));
    });

    test("a dropped customer, team or developer nothing refers to is deleted", async () => {
      await seed({
        customers: [{ name: "Acme" }, { name: "Initech" }],
        teams: [{ name: "Ops", customer: "Initech", budgets: [{ limitUsd: 1, period: "1d" }] }],
        developers: [{ name: "Bob", team: "Ops" }],
      });
      const result = await seed({ customers: [{ name: "Acme" }] });
      assert.deepEqual(
        result.deleted.map((d) => d.replace(/ \(\w+\)$/, "").replace(/team_\w+/, "team_…")).sort(),
        ["budget 1d calendar on team team_…", 'customer "Initech"', 'developer "Bob"', 'team "Ops"'].sort(),
      );
      assert.deepEqual(
        (await repo.listCustomers()).data.map((c) => c.name),
        ["Acme"],
      );
      assert.deepEqual((await repo.listTeams()).data, []);
    });

    test("a key renamed in the file with the same secret keeps its id", async () => {
      await seed();
      const before = (await repo.listKeys()).data.find((k) => k.name === "ci-bot");
      const section = baseSection();
      const key = section.virtualKeys[0];
      assert.ok(key);
      key.name = "ci-runner";
      const result = await seed(section);
      assert.deepEqual(result.created, []);
      assert.deepEqual(result.deactivated, []);
      const after = await repo.getKey(before?.id ?? "");
      assert.equal(after?.name, "ci-runner");
      assert.equal(after?.active, true);
    });

    test("an entity that collides with an API-created one is a config error, and nothing is written", async () => {
      await repo.createCustomer(CustomerCreateSchema.parse({ name: "Acme" }));
      const before = await everything(database);
      await rejects(
        seed(),
        /governance\.customers\.0 \(customer "Acme"\): a customer named "Acme" already exists \(cus_\w+\), not created by the config file/,
      );
      assert.deepEqual(await everything(database), before);

      const api = await repo.createKey(KeyCreateSchema.parse({ name: "api" }));
      await rejects(
        seed({ virtualKeys: [{ name: "x", key: api.secret }] }),
        new RegExp(
          `governance\\.virtualKeys\\.0 \\(virtual key "x"\\): its secret is already the secret of virtual key ${api.key.id}`,
        ),
      );
      await repo.createBudget({ scopeType: "global", period: "1mo", limitNanoUsd: 5 });
      await rejects(
        seed({ budgets: [{ scopeType: "global", limitUsd: 1000, period: "1mo" }] }),
        /governance\.budgets\.0: a 1mo calendar budget on global already exists \(bud_\w+\), not created by the config file/,
      );
    });

    test("a reference to an entity the file does not declare names the entity and the field", async () => {
      const section = declared(baseSection(), ENV);
      const [ci, laptop] = section.virtualKeys;
      assert.ok(ci && laptop);
      await rejects(
        reconcileConfigEntities(database.db, { ...section, virtualKeys: [laptop, { ...ci, team: "Paymnts" }] }, clock),
        /governance\.virtualKeys\.1 \(virtual key "ci-bot"\)\.team: no team "Paymnts" in governance\.teams/,
      );
      assert.deepEqual((await repo.listCustomers()).data, [], "rolled back");
    });
  });
}

const dataDir = await mkdtemp(join(tmpdir(), "tollgate-config-seed-"));
registerCases(
  "SQLite",
  undefined,
  () => openDatabase({ dataDir }),
  () => rm(dataDir, { recursive: true, force: true }),
);

const pgUrl = testPostgresUrl();
const pgSchema = randomSchemaName("config_seed");
registerCases(
  "PostgreSQL",
  await requirePostgres(pgUrl),
  () => openDatabase({ url: pgUrl, dataDir: tmpdir(), schema: pgSchema }),
  () => dropSchema(pgUrl, pgSchema),
);

describe("config file: governance section", () => {
  async function configFile(text: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "tollgate-config-"));
    const path = join(dir, "tollgate.yaml");
    await writeFile(path, text);
    return path;
  }

  async function loadError(path: string): Promise<string[]> {
    const err = await loadConfig({ env: { TOLLGATE_CONFIG: path } }).then(
      () => assert.fail("expected a ConfigError"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConfigError);
    const lines = err.message.split("\n");
    assert.equal(lines[0], `Config file ${path} is invalid:`);
    return lines;
  }
  function hasLines(lines: string[], expected: string[]) {
    for (const line of expected)
      assert.ok(
        lines.some((l) => l.startsWith(line)),
        `missing ${line}\n${lines.join("\n")}`,
      );
  }

  test("a bad governance section stops loading with one readable line per problem", async () => {
    const path = await configFile(
      [
        "governance:",
        "  virtualKeys:",
        "    - { name: ci-bot, keyEnv: CI_KEY, budgets: [{ limitUsd: lots, period: 1d }] }",
        "    - { name: laptop }",
        "    - { name: short, key: sk-tg-tooshort }",
        "    - { name: both, team: T, customer: C, keyEnv: A }",
        "  budgets: [{ scopeType: team, scopeId: team_1, limitUsd: 5, period: 2w }]",
      ].join("\n"),
    );
    const lines = await loadError(path);
    hasLines(lines, [
      "  - governance.virtualKeys.0.budgets.0.limitUsd: must be a non-negative USD amount with at most 9 decimals",
      '  - governance.virtualKeys.1.key: required: key ("sk-tg-…") or keyEnv (an environment variable holding it).',
      "  - governance.virtualKeys.2.key: must be a Tollgate key: sk-tg- followed by 43 base64url characters",
      "  - governance.virtualKeys.3.customer: a key belongs to a team or directly to a customer, not both",
      "  - governance.budgets.0.period: ",
    ]);
    assert.ok(!lines.join("\n").includes("sk-tg-tooshort"), "a secret is never echoed");
  });

  test("references by name to entities the section does not declare, and repeated names, name the entry", async () => {
    const path = await configFile(
      [
        "governance:",
        "  customers: [{ name: Acme }, { name: Acme }]",
        "  teams: [{ name: Payments, customer: Acmee }]",
        "  developers: [{ name: Ada, team: Payments }]",
        "  virtualKeys:",
        "    - { name: ci-bot, team: Paymnts, developer: Ada, keyEnv: CI_KEY }",
        "    - { name: other, keyEnv: CI_KEY, budgets: [{ limitUsd: 1, period: 1d }, { limitUsd: 2, period: 1d }] }",
        "  budgets: [{ scopeType: team, scopeId: team_1, limitUsd: 5, period: 1d }]",
      ].join("\n"),
    );
    const lines = await loadError(path);
    hasLines(lines, [
      '  - governance.customers.1.name: repeats governance.customers.0 ("Acme"): names identify entities in the config file',
      '  - governance.teams.0.customer: no customer "Acmee" in governance.customers (team "Payments")',
      '  - governance.virtualKeys.0.team: no team "Paymnts" in governance.teams (virtual key "ci-bot")',
      "  - governance.virtualKeys.1.keyEnv: the same secret as governance.virtualKeys.0: each key needs its own",
      "  - governance.virtualKeys.1.budgets.1: repeats governance.virtualKeys.1.budgets.0 (same provider, period and mode)",
      "  - governance.budgets.0.scopeType: here only global, provider or model; declare a budget under `budgets:` on its",
    ]);
    assert.equal(lines.length, 7, lines.join("\n"));
  });

  test("keyEnv must be set and hold a well-formed key; the secret never appears in the message", async () => {
    const path = await configFile("governance:\n  virtualKeys: [{ name: ci-bot, keyEnv: CI_KEY }]\n");
    await rejects(
      loadConfig({ env: { TOLLGATE_CONFIG: path } }),
      /governance\.virtualKeys\.0\.keyEnv: CI_KEY is not set in the environment \(virtual key "ci-bot"\)/,
    );
    const bad = "sk-tg-not-a-real-key";
    await assert.rejects(loadConfig({ env: { TOLLGATE_CONFIG: path, CI_KEY: bad } }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /the value of CI_KEY must be a Tollgate key/);
      assert.ok(!err.message.includes(bad));
      return true;
    });
    const ok = await loadConfig({ env: { TOLLGATE_CONFIG: path, CI_KEY: CI_SECRET } });
    assert.equal(ok.governance?.virtualKeys[0]?.name, "ci-bot");
    assert.ok(!JSON.stringify(ok).includes(CI_SECRET), "the loaded config holds the hash, not the secret");
  });

  test("no governance section: null (the database is left alone)", async () => {
    const path = await configFile("port: 8080\n");
    assert.equal((await loadConfig({ env: { TOLLGATE_CONFIG: path } })).governance, null);
  });
});

describe("config-file keys through the gateway", () => {
  let mock: MockUpstream;
  let gw: TestGateway | undefined;
  let dir: string;

  before(async () => {
    mock = await startMockUpstream();
    dir = await mkdtemp(join(tmpdir(), "tollgate-config-gw-"));
  });
  after(async () => {
    await gw?.close();
    await mock.close();
    await rm(dir, { recursive: true, force: true });
  });

  const writeConfig = (limitUsd: string) =>
    writeFile(
      join(dir, "tollgate.yaml"),
      [
        "governance:",
        "  virtualKeys:",
        "    - name: ci-bot",
        "      keyEnv: TG_CI_KEY",
        `      budgets: [{ name: daily, limitUsd: "${limitUsd}", period: 1d }]`,
      ].join("\n"),
    );
  const start = () =>
    startTestGateway({
      upstreamUrl: mock.url,
      dataDir: join(dir, "data"),
      env: { TOLLGATE_CONFIG: join(dir, "tollgate.yaml"), TG_CI_KEY: CI_SECRET },
    });
  const usage = async () => {
    const res = await fetch(`${gw?.url}/tollgate/usage`, { headers: { authorization: `Bearer ${CI_SECRET}` } });
    assert.equal(res.status, 200);
    return (await res.json()) as { budgets: { id?: string; name: string; limitUsd: string; spentUsd: string }[] };
  };
  const budgetIds = async () => {
    const res = await fetch(`${gw?.url}/api/budgets`, { headers: { authorization: `Bearer ${gw?.adminToken}` } });
    return ((await res.json()) as { data: { id: string; limitNanoUsd: number }[] }).data.map((b) => [
      b.id,
      b.limitNanoUsd,
    ]);
  };

  test("a key declared with keyEnv authenticates; a changed limit after a restart keeps the budget and its spend", async () => {
    await writeConfig("1");
    gw = await start();
    const res = await fetch(`${gw.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "x-api-key": CI_SECRET,
        "x-mock-script": JSON.stringify({ scenario: "text", usage: { input_tokens: 10, output_tokens: 100 } }),
      },
      body: JSON.stringify({
        model: "claude-sonnet-4-5",
        max_tokens: 100,
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    assert.equal(res.status, 200, await res.text());
    await gw.waitForLogs(1);
    const ids = await budgetIds();
    assert.equal(ids.length, 1);
    const id = ids[0]?.[0];
    assert.deepEqual(
      (await usage()).budgets.map((b) => [b.name, b.limitUsd, b.spentUsd]),
      [["daily", "1.000000000", "0.001530000"]],
    );
    await gw.close();

    await writeConfig("2.5");
    gw = await start();
    assert.deepEqual(await budgetIds(), [[id, 2_500_000_000]]);
    assert.deepEqual(
      (await usage()).budgets.map((b) => [b.name, b.limitUsd, b.spentUsd]),
      [["daily", "2.500000000", "0.001530000"]],
    );
    const anonymous = await fetch(`${gw.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }),
    });
    assert.equal(anonymous.status, 401, "a declared key turns key requirement on, like an API-created one");
  });
});
