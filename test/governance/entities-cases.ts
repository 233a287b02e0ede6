import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, beforeEach, describe, test } from "node:test";
import { sql } from "kysely";
import { ManualClock } from "../../src/clock.ts";
import {
  authenticateVirtualKey,
  BudgetCreateSchema,
  BudgetPatchSchema,
  CustomerCreateSchema,
  checkKeyAccess,
  DeveloperCreateSchema,
  type GovernanceChange,
  GovernanceError,
  type GovernanceErrorKind,
  GovernanceRepository,
  governanceDb,
  KeyCreateSchema,
  KeyPatchSchema,
  RateLimitCreateSchema,
  RateLimitPatchSchema,
  TeamCreateSchema,
} from "../../src/governance/entities/index.ts";
import type { Database } from "../../src/store/database.ts";

/** One backend under test; every open() reaches the same data. */
export interface EntitiesBackend {
  name: string;
  skip?: string | undefined;
  open(): Promise<Database>;
  cleanup(): Promise<void>;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Awaits a repository call that must fail with a GovernanceError of `kind`; returns it for more checks. */
async function refused(work: Promise<unknown>, kind: GovernanceErrorKind, message?: RegExp): Promise<GovernanceError> {
  try {
    await work;
  } catch (err) {
    assert.ok(err instanceof GovernanceError, `expected a GovernanceError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected a ${kind} GovernanceError`);
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The repository cases every database backend must pass. */
export function registerEntitiesCases(backend: EntitiesBackend): void {
  describe(`governance entities: ${backend.name}`, { skip: backend.skip ?? false }, () => {
    let database: Database;
    let clock: ManualClock;
    let repo: GovernanceRepository;
    let changes: GovernanceChange[];

    before(async () => {
      database = await backend.open();
    });
    after(async () => {
      await database?.close();
      await backend.cleanup();
    });
    beforeEach(async () => {
      // Each test starts from empty governance tables (children first).
      const db = governanceDb(database.db);
      for (const table of [
        "budget_spend",
        "budgets",
        "rate_limits",
        "virtual_keys",
        "developers",
        "teams",
        "customers",
      ] as const) {
        await db.deleteFrom(table).execute();
      }
      clock = new ManualClock(Date.UTC(2026, 2, 1, 12));
      changes = [];
      repo = new GovernanceRepository({ db: database.db, clock, onChange: (c) => void changes.push(c) });
    });

    const customer = (name: string) => repo.createCustomer(CustomerCreateSchema.parse({ name }));
    const team = (name: string, customerId?: string) =>
      repo.createTeam(TeamCreateSchema.parse({ name, ...(customerId ? { customerId } : {}) }));
    const key = (body: Record<string, unknown> = {}) => repo.createKey(KeyCreateSchema.parse({ name: "k", ...body }));

    test("the migration creates every governance table", async () => {
      const db = governanceDb(database.db);
      for (const table of [
        "customers",
        "teams",
        "developers",
        "virtual_keys",
        "budgets",
        "budget_spend",
        "rate_limits",
      ] as const) {
        const rows = await db.selectFrom(table).selectAll().execute();
        assert.deepEqual(rows, [], table);
      }
    });

    test("customers: create, get, list, update; names are unique", async () => {
      const acme = await repo.createCustomer(
        CustomerCreateSchema.parse({ name: "Acme", description: "first", labels: { tier: "gold" } }),
      );
      assert.match(acme.id, /^cus_[0-9a-f]{32}$/);
      assert.equal(acme.createdAt, clock.now());
      assert.deepEqual(await repo.getCustomer(acme.id), acme);
      assert.equal(await repo.getCustomer("cus_missing"), null);

      await refused(customer("Acme"), "conflict", /already exists/);
      const globex = await customer("Globex");
      await refused(repo.updateCustomer(globex.id, { name: "Acme" }), "conflict");

      clock.advance(1000);
      const renamed = await repo.updateCustomer(acme.id, { name: "Acme Corp", description: null });
      assert.equal(renamed.name, "Acme Corp");
      assert.equal(renamed.description, null);
      assert.deepEqual(renamed.labels, { tier: "gold" }, "absent fields stay");
      assert.equal(renamed.updatedAt, acme.createdAt + 1000);
      await refused(repo.updateCustomer("cus_missing", { name: "x" }), "not_found");

      const list = await repo.listCustomers();
      assert.deepEqual(
        list.data.map((c) => c.name),
        ["Acme Corp", "Globex"],
      );
      assert.equal(list.nextCursor, null);
      assert.deepEqual(
        changes.map((c) => `${c.entity}:${c.action}`),
        ["customer:create", "customer:create", "customer:update"],
        "failed writes are not announced",
      );
    });

    test("racing creates of one name: exactly one wins, the other gets a conflict", async () => {
      const results = await Promise.allSettled([customer("Twin"), customer("Twin"), customer("Twin")]);
      assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
      for (const r of results) {
        if (r.status === "rejected") {
          assert.ok(r.reason instanceof GovernanceError, String(r.reason));
          assert.equal(r.reason.kind, "conflict");
        }
      }
    });

    test("lists are pages in creation order", async () => {
      for (const name of ["a", "b", "c", "d", "e"]) await customer(name);
      const names: string[] = [];
      let after: string | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = await repo.listCustomers({ limit: 2, ...(after ? { after } : {}) });
        names.push(...page.data.map((c) => c.name));
        if (page.nextCursor === null) break;
        after = page.nextCursor;
      }
      assert.deepEqual(names, ["a", "b", "c", "d", "e"]);
    });

    test("teams: the customer must exist; names are unique within a customer", async () => {
      const acme = await customer("Acme");
      const globex = await customer("Globex");
      const err = await refused(team("platform", "cus_nope"), "invalid");
      assert.deepEqual(err.issues, [{ path: ["customerId"], message: 'no customer "cus_nope"' }]);

      const acmePlatform = await team("platform", acme.id);
      await team("platform", globex.id);
      await team("platform");
      await refused(team("platform", acme.id), "conflict", /already has a team named "platform"/);
      await refused(team("platform"), "conflict", /without a customer/);

      // The database itself refuses a duplicate that skips the check (the expression index).
      await assert.rejects(
        governanceDb(database.db)
          .insertInto("teams")
          .values({ ...rawTeam("dup"), name: "platform", customer_id: null })
          .execute(),
        /unique/i,
      );

      const moved = await team("infra", acme.id);
      await refused(repo.updateTeam(moved.id, { customerId: globex.id, name: "platform" }), "conflict");
      const ok = await repo.updateTeam(moved.id, { customerId: globex.id });
      assert.equal(ok.customerId, globex.id);
      await refused(repo.updateTeam(moved.id, { customerId: "cus_nope" }), "invalid", /customerId/);

      const acmeTeams = await repo.listTeams({ customerId: acme.id });
      assert.deepEqual(
        acmeTeams.data.map((t) => t.id),
        [acmePlatform.id],
      );
    });

    test("developers: emails are lowercased and unique; the team must exist", async () => {
      const platform = await team("platform");
      const ada = await repo.createDeveloper(
        DeveloperCreateSchema.parse({ name: "Ada", email: "Ada@Example.com", teamId: platform.id }),
      );
      assert.equal(ada.email, "ada@example.com");
      await refused(
        repo.createDeveloper(DeveloperCreateSchema.parse({ name: "Imposter", email: "ADA@example.com" })),
        "conflict",
      );
      await refused(
        repo.createDeveloper(DeveloperCreateSchema.parse({ name: "Bob", teamId: "team_nope" })),
        "invalid",
        /teamId: no team/,
      );
      // Developers without email never collide.
      await repo.createDeveloper(DeveloperCreateSchema.parse({ name: "No Mail 1" }));
      await repo.createDeveloper(DeveloperCreateSchema.parse({ name: "No Mail 2" }));
      const updated = await repo.updateDeveloper(ada.id, { teamId: null, name: "Ada L." });
      assert.equal(updated.teamId, null);
      assert.equal((await repo.listDevelopers({ teamId: platform.id })).data.length, 0);
    });

    test("virtual keys: the secret is returned once and only its SHA-256 is stored", async () => {
      const created = await key({ name: "laptop", labels: { env: "dev" } });
      assert.match(created.secret, /^sk-tg-[A-Za-z0-9_-]{43}$/);
      assert.match(created.key.id, /^vk_/);
      assert.equal(created.key.displayPrefix, `${created.secret.slice(0, 10)}…`);
      assert.equal(created.key.status, "active");
      assert.equal(created.key.credentialPolicy, "deny");

      const row = await governanceDb(database.db)
        .selectFrom("virtual_keys")
        .selectAll()
        .where("id", "=", created.key.id)
        .executeTakeFirstOrThrow();
      assert.equal(row.secret_hash, sha256(created.secret));
      assert.ok(!JSON.stringify(row).includes(created.secret.slice(10)), "no column holds the secret");

      const fetched = await repo.getKey(created.key.id);
      assert.deepEqual(fetched, created.key);
      assert.ok(!JSON.stringify(fetched).includes(sha256(created.secret)), "views never carry the hash");
      assert.equal((await repo.findKeyBySecret(created.secret))?.id, created.key.id);
      assert.equal(await repo.findKeyBySecret(`${created.secret.slice(0, -1)}x`), null);

      // The hash column is unique: the database refuses a second row with the same hash.
      await assert.rejects(
        governanceDb(database.db)
          .insertInto("virtual_keys")
          .values({ ...row, id: "vk_copy" })
          .execute(),
        /unique/i,
      );
    });

    test("virtual keys: owners must exist, one of team or customer", async () => {
      const acme = await customer("Acme");
      const platform = await team("platform", acme.id);
      const ada = await repo.createDeveloper(DeveloperCreateSchema.parse({ name: "Ada" }));
      for (const [field, body] of [
        ["teamId", { teamId: "team_nope" }],
        ["customerId", { customerId: "cus_nope" }],
        ["developerId", { developerId: "dev_nope" }],
      ] as const) {
        const err = await refused(key(body), "invalid");
        assert.deepEqual(err.issues[0]?.path, [field]);
      }
      assert.equal(KeyCreateSchema.safeParse({ name: "k", teamId: platform.id, customerId: acme.id }).success, false);

      const teamKey = await key({ teamId: platform.id, developerId: ada.id });
      const err = await refused(repo.updateKey(teamKey.key.id, { customerId: acme.id }), "invalid");
      assert.deepEqual(err.issues[0]?.path, ["customerId"]);
      const moved = await repo.updateKey(teamKey.key.id, { customerId: acme.id, teamId: null });
      assert.equal(moved.customerId, acme.id);
      assert.equal(moved.teamId, null);
      assert.equal((await repo.listKeys({ customerId: acme.id })).data.length, 1);
      assert.equal((await repo.listKeys({ developerId: ada.id })).data.length, 1);
    });

    test("virtual keys: expiry must be in the future, and expires", async () => {
      await refused(key({ expiresAt: clock.now() }), "invalid", /expiresAt: must be in the future/);
      const created = await key({ expiresAt: clock.now() + HOUR });
      const snapshot = await repo.loadSnapshot();
      assert.equal(authenticateVirtualKey(snapshot, created.secret, clock.now()).ok, true);
      clock.advance(HOUR);
      const late = authenticateVirtualKey(snapshot, created.secret, clock.now());
      assert.equal(late.ok ? "ok" : late.reason, "expired");
      assert.equal((await repo.getKey(created.key.id))?.status, "expired");
    });

    test("rotation: the old secret works until the grace period ends, then never", async () => {
      const created = await key();
      clock.advance(1000);
      const rotated = await repo.rotateKey(created.key.id, { graceMs: 2 * HOUR });
      assert.notEqual(rotated.secret, created.secret);
      assert.equal(rotated.key.previousSecretValidUntil, clock.now() + 2 * HOUR);
      assert.deepEqual(changes.at(-1), { entity: "virtual-key", action: "rotate", id: created.key.id });

      const snapshot = await repo.loadSnapshot();
      const viaOld = authenticateVirtualKey(snapshot, created.secret, clock.now());
      assert.ok(viaOld.ok && viaOld.viaPreviousSecret);
      const viaNew = authenticateVirtualKey(snapshot, rotated.secret, clock.now());
      assert.ok(viaNew.ok && !viaNew.viaPreviousSecret);

      clock.advance(2 * HOUR - 1);
      assert.equal(authenticateVirtualKey(snapshot, created.secret, clock.now()).ok, true, "last millisecond");
      clock.advance(1);
      const expired = authenticateVirtualKey(snapshot, created.secret, clock.now());
      assert.equal(expired.ok ? "ok" : expired.reason, "rotated");
      assert.equal(authenticateVirtualKey(snapshot, rotated.secret, clock.now()).ok, true);
      assert.equal((await repo.getKey(created.key.id))?.previousSecretValidUntil, null);

      // Another rotation forgets the first secret at once; grace 0 stops the replaced one at once too.
      const third = await repo.rotateKey(created.key.id, { graceMs: 0 });
      const after = await repo.loadSnapshot();
      for (const old of [created.secret, rotated.secret]) {
        const result = authenticateVirtualKey(after, old, clock.now());
        assert.equal(result.ok ? "ok" : result.reason, "unknown");
      }
      assert.equal(authenticateVirtualKey(after, third.secret, clock.now()).ok, true);
    });

    test("rotation keeps the default grace of 24 hours", async () => {
      const created = await key();
      const rotated = await repo.rotateKey(created.key.id);
      assert.equal(rotated.key.previousSecretValidUntil, clock.now() + DAY);
    });

    test("revocation is immediate, permanent and covers the previous secret", async () => {
      const created = await key();
      const rotated = await repo.rotateKey(created.key.id);
      const revoked = await repo.revokeKey(created.key.id);
      assert.equal(revoked.status, "revoked");
      assert.equal(revoked.revokedAt, clock.now());
      assert.equal(revoked.previousSecretValidUntil, null);
      const snapshot = await repo.loadSnapshot();
      for (const secret of [created.secret, rotated.secret]) {
        const result = authenticateVirtualKey(snapshot, secret, clock.now());
        assert.equal(result.ok ? "ok" : result.reason, "revoked");
      }
      clock.advance(5000);
      assert.equal((await repo.revokeKey(created.key.id)).revokedAt, revoked.revokedAt, "idempotent");
      await refused(repo.rotateKey(created.key.id), "conflict", /revoked/);
      // Reactivating does not undo a revocation.
      const patched = await repo.updateKey(created.key.id, KeyPatchSchema.parse({ active: true }));
      assert.equal(patched.status, "revoked");
      await refused(repo.revokeKey("vk_nope"), "not_found");
    });

    test("inactive keys are refused until activated again", async () => {
      const created = await key({ active: false });
      let snapshot = await repo.loadSnapshot();
      const result = authenticateVirtualKey(snapshot, created.secret, clock.now());
      assert.equal(result.ok ? "ok" : result.reason, "inactive");
      await repo.updateKey(created.key.id, KeyPatchSchema.parse({ active: true }));
      snapshot = await repo.loadSnapshot();
      assert.equal(authenticateVirtualKey(snapshot, created.secret, clock.now()).ok, true);
    });

    test("inline budgets and rate limits are created with the key, atomically", async () => {
      const created = await key({
        budgets: [
          { limitUsd: 5, period: "1d" },
          { limitUsd: "50.25", period: "1M", provider: "anthropic" },
        ],
        rateLimits: [
          { window: "1m", maxRequests: 60 },
          { maxConcurrent: 4, provider: "openai" },
        ],
      });
      assert.deepEqual(
        created.budgets.map((b) => [b.scopeType, b.scopeId, b.provider, b.limitNanoUsd, b.period]),
        [
          ["key", created.key.id, null, 5_000_000_000, "1d"],
          ["key-provider", created.key.id, "anthropic", 50_250_000_000, "1mo"],
        ],
      );
      assert.deepEqual(
        created.rateLimits.map((r) => [r.scopeType, r.provider, r.window, r.maxRequests, r.maxConcurrent]),
        [
          ["key", null, "1m", 60, null],
          ["key-provider", "openai", null, null, 4],
        ],
      );
      assert.equal((await repo.budgetsOf("key", created.key.id)).length, 2);

      const err = await refused(
        key({
          name: "twins",
          budgets: [
            { limitUsd: 1, period: "1d" },
            { limitUsd: 2, period: "1d" },
          ],
        }),
        "invalid",
      );
      assert.deepEqual(err.issues[0]?.path, ["budgets.1"]);
      assert.equal((await repo.listKeys()).data.length, 1, "the refused key was not created");
    });

    test("budgets: scopes must exist, one per scope, period and mode", async () => {
      const acme = await customer("Acme");
      const budget = BudgetCreateSchema.parse({
        scopeType: "customer",
        scopeId: acme.id,
        limitUsd: 100,
        period: "1mo",
      });
      const created = await repo.createBudget(budget);
      assert.equal(created.mode, "calendar");
      assert.equal(created.timeZone, "UTC");
      assert.equal(created.anchorAt, null);
      await refused(repo.createBudget(budget), "conflict", new RegExp(`PATCH /api/budgets/${created.id}`));
      const rolling = await repo.createBudget({ ...budget, mode: "rolling" });
      assert.equal(rolling.anchorAt, clock.now(), "a rolling window starts when the budget is created");

      const missing = await refused(
        repo.createBudget(
          BudgetCreateSchema.parse({ scopeType: "team", scopeId: "team_x", limitUsd: 1, period: "1d" }),
        ),
        "invalid",
      );
      assert.deepEqual(missing.issues, [{ path: ["scopeId"], message: 'no team "team_x"' }]);

      const global = await repo.createBudget(
        BudgetCreateSchema.parse({ scopeType: "global", limitNanoUsd: 7, period: "never" }),
      );
      assert.equal(global.scopeId, null);
      const perModel = await repo.createBudget(
        BudgetCreateSchema.parse({ scopeType: "model", model: "claude-opus-*", limitUsd: 10, period: "1w" }),
      );
      assert.equal(perModel.model, "claude-opus-*");

      clock.advance(1000);
      const patched = await repo.updateBudget(created.id, BudgetPatchSchema.parse({ limitUsd: "120.5" }));
      assert.equal(patched.limitNanoUsd, 120_500_000_000);
      assert.equal(patched.period, "1mo");
      await refused(repo.updateBudget(created.id, BudgetPatchSchema.parse({ mode: "rolling" })), "conflict");
      await refused(
        repo.updateBudget(created.id, BudgetPatchSchema.parse({ period: "2w" })),
        "invalid",
        /cannot be calendar-aligned/,
      );
      const nowRolling = await repo.updateBudget(perModel.id, BudgetPatchSchema.parse({ mode: "rolling" }));
      assert.equal(nowRolling.anchorAt, clock.now());

      assert.deepEqual(
        (await repo.listBudgets({ scopeType: "customer", scopeId: acme.id })).data.map((b) => b.id),
        [created.id, rolling.id],
      );
    });

    test("deleting a budget deletes its recorded spend, and nothing else", async () => {
      const acme = await customer("Acme");
      const a = await repo.createBudget(
        BudgetCreateSchema.parse({ scopeType: "customer", scopeId: acme.id, limitUsd: 1, period: "1d" }),
      );
      const b = await repo.createBudget(
        BudgetCreateSchema.parse({ scopeType: "customer", scopeId: acme.id, limitUsd: 9, period: "1mo" }),
      );
      const db = governanceDb(database.db);
      const spend = (budgetId: string, windowStart: number) => ({
        budget_id: budgetId,
        window_start: windowStart,
        spent_nano_usd: 123,
        updated_at: clock.now(),
      });
      await db
        .insertInto("budget_spend")
        .values([spend(a.id, 0), spend(a.id, DAY), spend(b.id, 0)])
        .execute();
      // Editing a budget never touches its spend.
      await repo.updateBudget(a.id, BudgetPatchSchema.parse({ limitUsd: 2 }));
      assert.equal((await db.selectFrom("budget_spend").selectAll().execute()).length, 3);
      await repo.deleteBudget(a.id);
      const left = await db.selectFrom("budget_spend").select("budget_id").execute();
      assert.deepEqual(
        left.map((r) => r.budget_id),
        [b.id],
      );
      await refused(repo.deleteBudget(a.id), "not_found");
    });

    test("rate limits: at least one limit, a window for counts, one per scope and window", async () => {
      const created = await repo.createRateLimit(
        RateLimitCreateSchema.parse({ scopeType: "provider", provider: "anthropic", window: "1m", maxTokens: 1000 }),
      );
      await refused(
        repo.createRateLimit(
          RateLimitCreateSchema.parse({ scopeType: "provider", provider: "anthropic", window: "1m", maxRequests: 5 }),
        ),
        "conflict",
      );
      const err = await refused(
        repo.updateRateLimit(created.id, RateLimitPatchSchema.parse({ maxTokens: null })),
        "invalid",
      );
      assert.match(err.message, /at least one of maxRequests, maxTokens or maxConcurrent/);
      const patched = await repo.updateRateLimit(
        created.id,
        RateLimitPatchSchema.parse({ maxConcurrent: 3, maxTokens: null, window: null }),
      );
      assert.deepEqual([patched.window, patched.maxTokens, patched.maxConcurrent], [null, null, 3]);
      await repo.deleteRateLimit(created.id);
      assert.equal(await repo.getRateLimit(created.id), null);
    });

    test("deleting an owner is refused while it owns something, unless cascading", async () => {
      const acme = await customer("Acme");
      const platform = await team("platform", acme.id);
      const ada = await repo.createDeveloper(DeveloperCreateSchema.parse({ name: "Ada", teamId: platform.id }));
      const teamKey = await key({ teamId: platform.id, budgets: [{ limitUsd: 1, period: "1d" }] });
      const directKey = await key({ customerId: acme.id });
      const teamBudget = await repo.createBudget(
        BudgetCreateSchema.parse({ scopeType: "team", scopeId: platform.id, limitUsd: 1, period: "1d" }),
      );
      const customerLimit = await repo.createRateLimit(
        RateLimitCreateSchema.parse({ scopeType: "customer", scopeId: acme.id, maxConcurrent: 10 }),
      );

      await refused(repo.deleteCustomer(acme.id), "conflict", /1 team and 1 virtual key.*cascade=true/);
      await refused(repo.deleteTeam(platform.id), "conflict", /1 virtual key/);
      const before = changes.length;
      const result = await repo.deleteCustomer(acme.id, { cascade: true });
      assert.equal(changes.length, before + 1);
      assert.deepEqual(result.cascaded.teams, [platform.id]);
      assert.deepEqual(new Set(result.cascaded.virtualKeys), new Set([teamKey.key.id, directKey.key.id]));
      assert.deepEqual(new Set(result.cascaded.budgets), new Set([teamKey.budgets[0]?.id, teamBudget.id]));
      assert.deepEqual(result.cascaded.rateLimits, [customerLimit.id]);
      assert.deepEqual(result.detached.developers, [ada.id]);

      assert.equal(await repo.getCustomer(acme.id), null);
      assert.equal(await repo.getTeam(platform.id), null);
      assert.equal(await repo.getKey(teamKey.key.id), null);
      assert.equal((await repo.getDeveloper(ada.id))?.teamId, null, "developers stay, without a team");
      assert.equal((await repo.listBudgets()).data.length, 0);
      await refused(repo.deleteCustomer(acme.id), "not_found");
    });

    test("deleting a developer with keys needs cascade; deleting a team detaches its developers", async () => {
      const platform = await team("platform");
      const ada = await repo.createDeveloper(DeveloperCreateSchema.parse({ name: "Ada", teamId: platform.id }));
      const adaKey = await key({ developerId: ada.id });
      await refused(repo.deleteDeveloper(ada.id), "conflict", /holds 1 virtual key/);
      const team2 = await repo.deleteTeam(platform.id);
      assert.deepEqual(team2.detached.developers, [ada.id]);
      const gone = await repo.deleteDeveloper(ada.id, { cascade: true });
      assert.deepEqual(gone.cascaded.virtualKeys, [adaKey.key.id]);
      const lone = await key();
      assert.deepEqual((await repo.deleteKey(lone.key.id)).id, lone.key.id);
      assert.equal((await repo.listKeys()).data.length, 0);
    });

    test("the snapshot resolves owners, budgets, limits and allow-lists for the hot path", async () => {
      const acme = await customer("Acme");
      const platform = await team("platform", acme.id);
      const ada = await repo.createDeveloper(
        DeveloperCreateSchema.parse({ name: "Ada", email: "ada@example.com", teamId: platform.id }),
      );
      const created = await key({
        name: "ada-laptop",
        teamId: platform.id,
        developerId: ada.id,
        allowedProviders: ["anthropic", "open*"],
        allowedModels: ["claude-*", "gpt-5?", "openai/o3"],
        providerSettings: { anthropic: { allowedModels: ["claude-sonnet-*"] } },
        credentialPolicy: "allow-subscription",
        budgets: [
          { limitUsd: 5, period: "1d" },
          { limitUsd: 2, period: "1d", provider: "anthropic" },
        ],
      });
      const other = await key({ name: "other" });
      await repo.revokeKey(other.key.id);
      const byCustomer = await repo.createBudget(
        BudgetCreateSchema.parse({ scopeType: "customer", scopeId: acme.id, limitUsd: 100, period: "1mo" }),
      );
      await repo.createBudget(
        BudgetCreateSchema.parse({ scopeType: "team", scopeId: platform.id, limitUsd: 50, period: "1mo" }),
      );
      await repo.createBudget(
        BudgetCreateSchema.parse({ scopeType: "developer", scopeId: ada.id, limitUsd: 20, period: "1w" }),
      );
      const global = await repo.createBudget(
        BudgetCreateSchema.parse({ scopeType: "global", limitUsd: 1000, period: "1mo" }),
      );
      await repo.createRateLimit(
        RateLimitCreateSchema.parse({ scopeType: "team", scopeId: platform.id, maxConcurrent: 8 }),
      );

      const snapshot = await repo.loadSnapshot();
      assert.equal(snapshot.keysDefined, 2, "revoked keys count: anonymous mode stays off");
      assert.equal(snapshot.byHash.size, 2);
      const auth = authenticateVirtualKey(snapshot, created.secret, clock.now());
      assert.ok(auth.ok);
      const k = auth.key;
      assert.equal(k, snapshot.byId.get(created.key.id));
      assert.deepEqual(k.team, { id: platform.id, name: "platform" });
      assert.deepEqual(k.customer, { id: acme.id, name: "Acme" }, "a team key's customer is its team's");
      assert.deepEqual(k.developer, { id: ada.id, name: "Ada", email: "ada@example.com" });
      assert.equal(k.credentialPolicy, "allow-subscription");
      assert.deepEqual(k.budgets.map((b) => `${b.scopeType}:${b.provider ?? ""}:${b.scopeName}`).sort(), [
        "customer::Acme",
        "developer::Ada",
        "key-provider:anthropic:ada-laptop",
        "key::ada-laptop",
        "team::platform",
      ]);
      assert.deepEqual(
        k.rateLimits.map((l) => l.maxConcurrent),
        [8],
      );
      assert.deepEqual(
        snapshot.unscopedBudgets.map((b) => b.id),
        [global.id],
      );
      assert.equal(snapshot.budgetsById.get(byCustomer.id)?.scopeName, "Acme");

      assert.deepEqual(checkKeyAccess(k, "anthropic", "claude-sonnet-4-5"), { ok: true });
      assert.deepEqual(checkKeyAccess(k, "openai", "gpt-5o"), { ok: true });
      assert.deepEqual(checkKeyAccess(k, "openai", "o3"), { ok: true }, "provider/model patterns match too");
      const deniedProvider = checkKeyAccess(k, "gemini", "gemini-2.5-pro");
      assert.equal(deniedProvider.ok ? "ok" : deniedProvider.reason, "provider");
      const deniedModel = checkKeyAccess(k, "openai", "gpt-4o");
      assert.equal(deniedModel.ok ? "ok" : deniedModel.reason, "model");
      const perProvider = checkKeyAccess(k, "anthropic", "claude-opus-4-1");
      assert.ok(!perProvider.ok && /on provider "anthropic"/.test(perProvider.message));
    });

    test("bigint columns read back as numbers", async () => {
      const created = await repo.createBudget(
        BudgetCreateSchema.parse({ scopeType: "global", limitUsd: "9007199.254740991", period: "never" }),
      );
      assert.equal(created.limitNanoUsd, Number.MAX_SAFE_INTEGER);
      const read = await repo.getBudget(created.id);
      assert.equal(read?.limitNanoUsd, Number.MAX_SAFE_INTEGER);
      assert.equal(typeof read?.createdAt, "number");
      const count = await sql<{ n: number | string }>`select count(*) as n from budgets`.execute(database.db);
      assert.equal(Number(count.rows[0]?.n), 1);
    });
  });
}

/** A team row for raw inserts that bypass the repository. */
function rawTeam(id: string) {
  return {
    id,
    name: id,
    customer_id: null,
    description: null,
    labels: "{}",
    created_at: 0,
    updated_at: 0,
  };
}
