import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { BudgetSpendView } from "../../src/admin/governance-routes.ts";
import { createGateway, type Gateway } from "../../src/app.ts";
import { ManualClock } from "../../src/clock.ts";
import { loadConfig } from "../../src/config/load.ts";
import {
  authenticateVirtualKey,
  type GovernanceChange,
  hashVirtualKeySecret,
  loadKeySnapshot,
} from "../../src/governance/entities/index.ts";
import { ADMIN_TOKEN, type ApiResponse, assertNoSecretIn, type ErrorBody, tempDir } from "./support.ts";

/** The governance routes through a real gateway (SQLite in a temp dir, port 0), behind the real admin token. */
interface Entity {
  id: string;
  name: string;
  createdAt: number;
  updatedAt: number;
}
interface Customer extends Entity {
  description: string | null;
  labels: Record<string, string>;
}
interface Team extends Entity {
  customerId: string | null;
}
interface Developer extends Entity {
  email: string | null;
  teamId: string | null;
}
interface Budget {
  id: string;
  name: string | null;
  scopeType: string;
  scopeId: string | null;
  provider: string | null;
  limitUsd: string;
  limitNanoUsd: number;
  period: string;
  mode: string;
  spend: BudgetSpendView | null;
}
interface RateLimit {
  id: string;
  scopeType: string;
  window: string | null;
  maxRequests: number | null;
  maxConcurrent: number | null;
}
interface Key extends Entity {
  displayPrefix: string;
  status: string;
  active: boolean;
  teamId: string | null;
  customerId: string | null;
  developerId: string | null;
  allowedModels: string[] | null;
  previousSecretValidUntil: number | null;
  secret?: string;
  notice?: string;
  budgets?: Budget[];
  rateLimits?: RateLimit[];
}
interface WithLimits {
  budgets: Budget[];
  rateLimits: RateLimit[];
}
interface Page<T> {
  data: T[];
  nextCursor: string | null;
}
interface Deleted {
  deleted: string;
  cascaded: { teams: string[]; virtualKeys: string[]; budgets: string[]; rateLimits: string[] };
  detached: { developers: string[] };
}

const HOUR = 3_600_000;

describe("governance management API", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let gateway: Gateway;
  let url: string;
  const clock = new ManualClock(Date.UTC(2026, 3, 1, 9));
  const changes: GovernanceChange[] = [];
  /** Every response text, and those that may hold a secret (create, rotate). */
  const responses: string[] = [];
  const secretReplies = new Set<string>();
  const secrets: string[] = [];

  async function api<T>(method: string, path: string, body?: unknown, raw?: string): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_TOKEN}` };
    let payload: string | undefined;
    if (body !== undefined || raw !== undefined) {
      headers["content-type"] = "application/json";
      payload = raw ?? JSON.stringify(body);
    }
    const res = await fetch(`${url}/api${path}`, {
      method,
      headers,
      ...(payload === undefined ? {} : { body: payload }),
    });
    const text = await res.text();
    responses.push(text);
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
    return { status: res.status, contentType: res.headers.get("content-type") ?? "", body: parsed as T, text };
  }

  /** Creates a key; remembers its secret so later checks can assert it never appears again. */
  async function createKey(body: Record<string, unknown>): Promise<Key & { secret: string }> {
    const res = await api<Key>("POST", "/virtual-keys", body);
    assert.equal(res.status, 201, res.text);
    const secret = res.body.secret;
    assert.ok(secret);
    secrets.push(secret);
    secretReplies.add(res.text);
    return { ...res.body, secret };
  }

  before(async () => {
    tmp = await tempDir("tollgate-governance-");
    const config = await loadConfig({
      env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN },
      flags: { port: 0, dataDir: tmp.dataDir },
    });
    gateway = await createGateway(config, {
      clock,
      warn: () => {},
      governance: {
        onChange: (c) => void changes.push(c),
        budgetSpend: (b): BudgetSpendView | null =>
          b.name === "metered"
            ? { windowStart: 0, resetsAt: null, spentNanoUsd: 1_500_000_000, reservedNanoUsd: 0 }
            : null,
      },
    });
    url = await gateway.listen();
  });

  after(async () => {
    // No secret in any reply but the one that issued it, and no hash of one anywhere.
    assertNoSecretIn(
      responses.filter((r) => !secretReplies.has(r)),
      secrets,
    );
    assertNoSecretIn(
      responses,
      secrets.map((s) => hashVirtualKeySecret(s)),
    );
    await gateway.close(1000);
    await tmp.remove();
  });

  it("customers: create, list, get, patch, delete", async () => {
    const created = await api<Customer>("POST", "/customers", { name: "Acme", labels: { tier: "gold" } });
    assert.equal(created.status, 201);
    assert.match(created.body.id, /^cus_/);
    assert.equal(created.body.createdAt, clock.now());
    assert.deepEqual(changes.at(-1), { entity: "customer", action: "create", id: created.body.id });

    const dup = await api<ErrorBody>("POST", "/customers", { name: "Acme" });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.type, "conflict");
    assert.match(dup.body.error.message, /A customer named "Acme" already exists/);

    const list = await api<Page<Customer>>("GET", "/customers");
    assert.deepEqual(
      list.body.data.map((c) => c.name),
      ["Acme"],
    );
    assert.equal(list.body.nextCursor, null);

    const one = await api<Customer & WithLimits>("GET", `/customers/${created.body.id}`);
    assert.equal(one.status, 200);
    assert.deepEqual([one.body.budgets, one.body.rateLimits], [[], []]);

    clock.advance(1000);
    const patched = await api<Customer>("PATCH", `/customers/${created.body.id}`, { description: "widgets" });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.description, "widgets");
    assert.equal(patched.body.name, "Acme");
    assert.equal(patched.body.updatedAt, clock.now());

    const removed = await api<Deleted>("DELETE", `/customers/${created.body.id}`);
    assert.equal(removed.status, 200);
    assert.equal(removed.body.deleted, created.body.id);
    assert.equal((await api("GET", `/customers/${created.body.id}`)).status, 404);
    assert.equal((await api("PATCH", `/customers/${created.body.id}`, { name: "x" })).status, 404);
    assert.equal((await api("DELETE", `/customers/${created.body.id}`)).status, 404);
  });

  it("answers 400 with field-level details", async () => {
    const missing = await api<ErrorBody>("POST", "/customers", { labels: { "Not OK": "x" } });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.type, "invalid_request");
    assert.deepEqual(missing.body.error.details, [
      { path: ["name"], message: "required" },
      { path: ["labels", "Not OK"], message: "label names are [a-z0-9_.-], at most 64 characters" },
    ]);
    assert.match(missing.body.error.message, /^Invalid customer: name: required; labels\.Not OK: /);

    const notObject = await api<ErrorBody>("POST", "/teams", [1, 2]);
    assert.equal(notObject.status, 400);
    assert.equal(notObject.body.error.message, "Invalid team: the request body must be a JSON object.");
    const noBody = await api<ErrorBody>("POST", "/developers");
    assert.equal(noBody.status, 400);
    const broken = await api<ErrorBody>("POST", "/customers", undefined, "{not json");
    assert.equal(broken.status, 400);

    const query = await api<ErrorBody>("GET", "/customers?limit=0");
    assert.equal(query.status, 400);
    assert.match(query.body.error.message, /limit: must be 1 to 1000/);
    const unknownFilter = await api<ErrorBody>("GET", "/customers?teamId=x");
    assert.equal(unknownFilter.status, 400);
  });

  it("teams and developers: references must exist; owners refuse deletion unless cascading", async () => {
    const badRef = await api<ErrorBody>("POST", "/teams", { name: "platform", customerId: "cus_nope" });
    assert.equal(badRef.status, 400);
    assert.deepEqual(badRef.body.error.details, [{ path: ["customerId"], message: 'no customer "cus_nope"' }]);

    const acme = (await api<Customer>("POST", "/customers", { name: "Acme Two" })).body;
    const team = await api<Team>("POST", "/teams", { name: "platform", customerId: acme.id });
    assert.equal(team.status, 201);
    assert.equal(team.body.customerId, acme.id);
    const dev = await api<Developer>("POST", "/developers", { name: "Ada", email: "ADA@x.io", teamId: team.body.id });
    assert.equal(dev.status, 201);
    assert.equal(dev.body.email, "ada@x.io");
    const badEmail = await api<ErrorBody>("POST", "/developers", { name: "Bob", email: "bob" });
    assert.deepEqual(badEmail.body.error.details, [{ path: ["email"], message: "must be an email address" }]);

    const teams = await api<Page<Team>>("GET", `/teams?customerId=${acme.id}`);
    assert.deepEqual(
      teams.body.data.map((t) => t.id),
      [team.body.id],
    );
    const devs = await api<Page<Developer>>("GET", `/developers?teamId=${team.body.id}`);
    assert.deepEqual(
      devs.body.data.map((d) => d.id),
      [dev.body.id],
    );
    assert.equal((await api<Developer>("PATCH", `/developers/${dev.body.id}`, { name: "Ada L." })).body.name, "Ada L.");
    assert.equal((await api<Team>("GET", `/teams/${team.body.id}`)).status, 200);

    const refused = await api<ErrorBody>("DELETE", `/customers/${acme.id}`);
    assert.equal(refused.status, 409);
    assert.match(refused.body.error.message, /has 1 team; .*\?cascade=true/);
    assert.equal((await api<ErrorBody>("DELETE", `/customers/${acme.id}?cascade=maybe`)).status, 400);
    const cascaded = await api<Deleted>("DELETE", `/customers/${acme.id}?cascade=true`);
    assert.equal(cascaded.status, 200);
    assert.deepEqual(cascaded.body.cascaded.teams, [team.body.id]);
    assert.deepEqual(cascaded.body.detached.developers, [dev.body.id]);
    assert.equal((await api<Developer>("GET", `/developers/${dev.body.id}`)).body.teamId, null);
    assert.equal((await api<Deleted>("DELETE", `/developers/${dev.body.id}`)).status, 200);
  });

  it("virtual keys: the secret is shown once, never again; rotation and revocation", async () => {
    const platform = (await api<Team>("POST", "/teams", { name: "keys-team" })).body;
    const created = await createKey({
      name: "ci",
      teamId: platform.id,
      allowedModels: ["claude-*"],
      budgets: [{ limitUsd: 5, period: "1d" }],
      rateLimits: [{ window: "1m", maxRequests: 30 }],
    });
    assert.match(created.secret, /^sk-tg-[A-Za-z0-9_-]{43}$/);
    assert.match(created.notice ?? "", /cannot show it again/);
    assert.equal(created.displayPrefix, `${created.secret.slice(0, 10)}…`);
    assert.equal(created.budgets?.[0]?.scopeType, "key");
    assert.equal(created.budgets?.[0]?.limitUsd, "5");
    assert.equal(created.rateLimits?.[0]?.maxRequests, 30);

    const one = await api<Key & WithLimits>("GET", `/virtual-keys/${created.id}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.secret, undefined);
    assert.equal(one.body.budgets.length, 1);
    assert.equal(one.body.rateLimits.length, 1);
    const list = await api<Page<Key>>("GET", `/virtual-keys?teamId=${platform.id}`);
    assert.deepEqual(
      list.body.data.map((k) => k.id),
      [created.id],
    );
    assert.ok(list.body.data.every((k) => k.secret === undefined));

    const patched = await api<Key>("PATCH", `/virtual-keys/${created.id}`, { allowedModels: null, active: false });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.allowedModels, null);
    assert.equal(patched.body.status, "inactive");
    const noSecretPatch = await api<ErrorBody>("PATCH", `/virtual-keys/${created.id}`, { secret: "sk-tg-x" });
    assert.equal(noSecretPatch.status, 400);
    assert.match(noSecretPatch.body.error.message, /rotate/);
    await api("PATCH", `/virtual-keys/${created.id}`, { active: true });

    // Rotation with a one-hour grace: both secrets work, then only the new one.
    const badGrace = await api<ErrorBody>("POST", `/virtual-keys/${created.id}/rotate`, { gracePeriodSeconds: -1 });
    assert.deepEqual(badGrace.body.error.details, [{ path: ["gracePeriodSeconds"], message: "must not be negative" }]);
    const rotated = await api<Key>("POST", `/virtual-keys/${created.id}/rotate`, { gracePeriodSeconds: 3600 });
    assert.equal(rotated.status, 200, rotated.text);
    secretReplies.add(rotated.text);
    const newSecret = rotated.body.secret ?? "";
    secrets.push(newSecret);
    assert.notEqual(newSecret, created.secret);
    assert.equal(rotated.body.previousSecretValidUntil, clock.now() + HOUR);
    assert.match(rotated.body.notice ?? "", /keeps working until/);
    assert.deepEqual(changes.at(-1), { entity: "virtual-key", action: "rotate", id: created.id });

    const snapshot = await loadKeySnapshot(gateway.database.db, { clock });
    assert.equal(authenticateVirtualKey(snapshot, created.secret, clock.now()).ok, true);
    assert.equal(authenticateVirtualKey(snapshot, newSecret, clock.now()).ok, true);
    clock.advance(HOUR);
    const old = authenticateVirtualKey(snapshot, created.secret, clock.now());
    assert.equal(old.ok ? "ok" : old.reason, "rotated");
    assert.equal((await api<Key>("GET", `/virtual-keys/${created.id}`)).body.previousSecretValidUntil, null);

    // A rotation without a body uses the default grace (24 h).
    const again = await api<Key>("POST", `/virtual-keys/${created.id}/rotate`);
    secretReplies.add(again.text);
    secrets.push(again.body.secret ?? "");
    assert.equal(again.body.previousSecretValidUntil, clock.now() + 24 * HOUR);

    const revoked = await api<Key>("POST", `/virtual-keys/${created.id}/revoke`);
    assert.equal(revoked.status, 200);
    assert.equal(revoked.body.status, "revoked");
    const afterRevoke = await loadKeySnapshot(gateway.database.db, { clock });
    for (const secret of [newSecret, again.body.secret ?? ""]) {
      const result = authenticateVirtualKey(afterRevoke, secret, clock.now());
      assert.equal(result.ok ? "ok" : result.reason, "revoked");
    }
    const rotateRevoked = await api<ErrorBody>("POST", `/virtual-keys/${created.id}/rotate`);
    assert.equal(rotateRevoked.status, 409);
    assert.equal((await api("POST", "/virtual-keys/vk_nope/revoke")).status, 404);
    assert.equal((await api("POST", "/virtual-keys/vk_nope/rotate")).status, 404);

    const removed = await api<Deleted>("DELETE", `/virtual-keys/${created.id}`);
    assert.equal(removed.status, 200);
    assert.equal(removed.body.cascaded.budgets.length, 1);
    assert.equal((await api("GET", `/virtual-keys/${created.id}`)).status, 404);
  });

  it("virtual keys: expiry, owner rules and validation", async () => {
    const past = await api<ErrorBody>("POST", "/virtual-keys", { name: "old", expiresAt: clock.now() - 1 });
    assert.equal(past.status, 400);
    assert.deepEqual(past.body.error.details, [{ path: ["expiresAt"], message: "must be in the future" }]);
    const both = await api<ErrorBody>("POST", "/virtual-keys", { name: "x", teamId: "team_a", customerId: "cus_b" });
    assert.equal(both.status, 400);
    assert.match(both.body.error.message, /customerId: a key belongs to a team or directly to a customer, not both/);
    const missingDev = await api<ErrorBody>("POST", "/virtual-keys", { name: "x", developerId: "dev_nope" });
    assert.deepEqual(missingDev.body.error.details, [{ path: ["developerId"], message: 'no developer "dev_nope"' }]);

    const soon = await createKey({ name: "soon", expiresAt: new Date(clock.now() + HOUR).toISOString() });
    assert.equal(soon.status, "active");
    clock.advance(HOUR);
    assert.equal((await api<Key>("GET", `/virtual-keys/${soon.id}`)).body.status, "expired");
    const snapshot = await loadKeySnapshot(gateway.database.db, { clock });
    const result = authenticateVirtualKey(snapshot, soon.secret, clock.now());
    assert.equal(result.ok ? "ok" : result.reason, "expired");
  });

  it("budgets: CRUD, USD amounts, the spend hook, twins and scope rules", async () => {
    const customer = (await api<Customer>("POST", "/customers", { name: "Budgeted" })).body;
    const created = await api<Budget>("POST", "/budgets", {
      scopeType: "customer",
      scopeId: customer.id,
      limitUsd: "12.5",
      period: "1M",
      name: "metered",
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.limitUsd, "12.5");
    assert.equal(created.body.limitNanoUsd, 12_500_000_000);
    assert.equal(created.body.period, "1mo");
    assert.equal(created.body.mode, "calendar");
    assert.deepEqual(created.body.spend, {
      windowStart: 0,
      resetsAt: null,
      spentNanoUsd: 1_500_000_000,
      reservedNanoUsd: 0,
    });

    const plain = await api<Budget>("POST", "/budgets", { scopeType: "global", limitUsd: 100, period: "1d" });
    assert.equal(plain.body.spend, null, "no counters source yet: spend is null");

    const twin = await api<ErrorBody>("POST", "/budgets", {
      scopeType: "customer",
      scopeId: customer.id,
      limitUsd: 1,
      period: "1mo",
    });
    assert.equal(twin.status, 409);
    assert.match(twin.body.error.message, new RegExp(`PATCH /api/budgets/${created.body.id}`));

    const noScope = await api<ErrorBody>("POST", "/budgets", {
      scopeType: "team",
      scopeId: "team_x",
      limitUsd: 1,
      period: "1d",
    });
    assert.equal(noScope.status, 400);
    assert.deepEqual(noScope.body.error.details, [{ path: ["scopeId"], message: 'no team "team_x"' }]);
    const shape = await api<ErrorBody>("POST", "/budgets", { scopeType: "key-provider", limitUsd: 1, period: "1d" });
    assert.deepEqual(
      shape.body.error.details?.map((d) => d.path[0]),
      ["scopeId", "provider"],
    );

    const patched = await api<Budget>("PATCH", `/budgets/${created.body.id}`, { limitUsd: 20 });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.limitUsd, "20");
    const moveScope = await api<ErrorBody>("PATCH", `/budgets/${created.body.id}`, { scopeType: "global" });
    assert.equal(moveScope.status, 400);
    assert.match(moveScope.body.error.message, /cannot change/);

    const listed = await api<Page<Budget>>("GET", `/budgets?scopeType=customer&scopeId=${customer.id}`);
    assert.deepEqual(
      listed.body.data.map((b) => b.id),
      [created.body.id],
    );
    assert.equal(listed.body.data[0]?.spend?.spentNanoUsd, 1_500_000_000);
    const withLimits = await api<WithLimits>("GET", `/customers/${customer.id}`);
    assert.deepEqual(
      withLimits.body.budgets.map((b) => b.id),
      [created.body.id],
    );

    assert.equal(
      (await api<{ deleted: string }>("DELETE", `/budgets/${created.body.id}`)).body.deleted,
      created.body.id,
    );
    assert.equal((await api("GET", `/budgets/${created.body.id}`)).status, 404);
    assert.equal((await api("DELETE", `/budgets/${created.body.id}`)).status, 404);
    assert.equal((await api("DELETE", `/budgets/${plain.body.id}`)).status, 200);
  });

  it("rate limits: CRUD and validation", async () => {
    const created = await api<RateLimit>("POST", "/rate-limits", {
      scopeType: "provider",
      provider: "anthropic",
      window: "1m",
      maxRequests: 100,
    });
    assert.equal(created.status, 201, created.text);
    assert.equal((await api<RateLimit>("GET", `/rate-limits/${created.body.id}`)).body.maxRequests, 100);
    const patched = await api<RateLimit>("PATCH", `/rate-limits/${created.body.id}`, { maxConcurrent: 5 });
    assert.equal(patched.body.maxConcurrent, 5);
    const emptied = await api<ErrorBody>("PATCH", `/rate-limits/${created.body.id}`, {
      maxRequests: null,
      maxConcurrent: null,
    });
    assert.equal(emptied.status, 400);
    assert.match(emptied.body.error.message, /at least one of/);
    const badWindow = await api<ErrorBody>("POST", "/rate-limits", {
      scopeType: "global",
      window: "1w",
      maxRequests: 1,
    });
    assert.equal(badWindow.status, 400);
    assert.match(badWindow.body.error.message, /^Invalid rate limit: window: invalid rate-limit window "1w"/);
    assert.equal((await api<Page<RateLimit>>("GET", "/rate-limits?scopeType=provider")).body.data.length, 1);
    assert.equal((await api("DELETE", `/rate-limits/${created.body.id}`)).status, 200);
    assert.equal((await api("GET", `/rate-limits/${created.body.id}`)).status, 404);
  });
});
