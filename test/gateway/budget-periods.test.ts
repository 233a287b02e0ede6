import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ManualClock } from "../../src/clock.ts";
import type { RequestLogRecord } from "../../src/store/log-record.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, TEST_ADMIN_TOKEN, type TestGateway, type TestGatewayOptions } from "../helpers/gateway.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";

// claude-sonnet-4-5 ($3 in, $15 out per million), 10 input + 100 output tokens: $0.00153 per call. The admission
// estimate (output capped by max_tokens = 100, input from the body size) is a bit more, so a $0.004 budget admits
// two calls ($0.00306 spent) and refuses the third.
const USAGE = { input_tokens: 10, output_tokens: 100 };
const SMALL_LIMIT = "0.004";
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

interface BudgetView {
  id: string;
  spentUsd: string;
  heldUsd: string;
  limitUsd: string;
  windowStart: string;
  resetsAt: string | null;
}

/** One gateway-facing client: admin calls, model calls with a key, and the key's usage view. */
function client(base: () => string) {
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base()}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as Record<string, unknown>;
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const call = async (secret: string): Promise<number> => {
    const res = await fetch(`${base()}/anthropic/v1/messages`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "x-api-key": secret,
        "x-mock-script": JSON.stringify({ scenario: "text", usage: USAGE }),
      },
      body: JSON.stringify({
        model: "claude-sonnet-4-5",
        max_tokens: 100,
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    await res.arrayBuffer();
    return res.status;
  };
  const usage = async (secret: string): Promise<BudgetView> => {
    const res = await fetch(`${base()}/tollgate/usage`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { budgets: BudgetView[] };
    assert.equal(body.budgets.length, 1);
    return body.budgets[0] as BudgetView;
  };
  const createKey = async (name: string, budget: Record<string, unknown>) => {
    const key = await admin("POST", "/virtual-keys", {
      name,
      budgets: [{ name: "b", limitUsd: SMALL_LIMIT, ...budget }],
    });
    const budgets = key.budgets as { id: string }[];
    return { id: String(key.id), secret: String(key.secret), budgetId: String(budgets[0]?.id) };
  };
  /** Spends the budget down to its refusal: `admitted` calls pass, the next one gets a 402. */
  const exhaust = async (secret: string, admitted = 2) => {
    for (let i = 0; i < admitted; i++) assert.equal(await call(secret), 200, `call ${i + 1} admitted`);
    assert.equal(await call(secret), 402, "the budget is exhausted");
  };
  return { admin, call, usage, createKey, exhaust };
}

describe("budget periods through the gateway (manual clock)", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  const clock = new ManualClock(at("2026-01-05T10:17:23.456Z"));
  const c = client(() => gw.url);

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url, clock });
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
  });

  it("a rolling 1d budget resets exactly once, 24 h after its anchor, and the old spend stays behind", async () => {
    const anchor = at("2026-01-05T10:17:23.456Z");
    clock.set(anchor);
    const key = await c.createKey("rolling", { period: "1d", mode: "rolling" });
    await c.exhaust(key.secret);
    let view = await c.usage(key.secret);
    assert.deepEqual([view.spentUsd, view.windowStart, view.resetsAt], ["0.003060000", iso(anchor), iso(anchor + DAY)]);

    clock.set(anchor + 13 * HOUR);
    assert.equal(await c.call(key.secret), 402, "mid-window: still refused");
    clock.set(anchor + DAY - 1);
    assert.equal(await c.call(key.secret), 402, "1 ms before the reset: still refused");
    clock.set(anchor + DAY);
    assert.equal(await c.call(key.secret), 200, "at the reset: admitted");
    view = await c.usage(key.secret);
    assert.deepEqual(
      [view.spentUsd, view.windowStart, view.resetsAt],
      ["0.001530000", iso(anchor + DAY), iso(anchor + 2 * DAY)],
      "only the new window's call counts",
    );
    // Once per window: exhausted again, it stays refused until the next anchor multiple.
    await c.exhaust(key.secret, 1);
    clock.set(anchor + 2 * DAY - 1);
    assert.equal(await c.call(key.secret), 402);
    assert.equal((await c.usage(key.secret)).spentUsd, "0.003060000", "the first window's spend did not come back");
    clock.set(anchor + 2 * DAY);
    assert.equal(await c.call(key.secret), 200);
  });

  // Each case: a moment inside a window, the window's reset, and the reset after it (where the following window ends).
  const calendarCases: {
    name: string;
    budget: Record<string, unknown>;
    now: string;
    reset: string;
    next: string;
    /** Instants after `now` and before `reset` where a wrong implementation would reset. */
    traps: string[];
  }[] = [
    {
      name: "1mo calendar (UTC) resets at 00:00 on the 1st, after a 28-day February",
      budget: { period: "1mo", mode: "calendar" },
      now: "2026-02-14T09:30:00Z",
      reset: "2026-03-01T00:00:00Z",
      next: "2026-04-01T00:00:00Z",
      traps: ["2026-02-28T00:00:00Z"],
    },
    {
      name: "1mo calendar in America/New_York resets at local midnight on the 1st (EST, then across the DST change)",
      budget: { period: "1mo", mode: "calendar", timeZone: "America/New_York" },
      now: "2026-02-27T12:00:00-05:00",
      reset: "2026-03-01T00:00:00-05:00",
      next: "2026-04-01T00:00:00-04:00",
      traps: ["2026-03-01T00:00:00Z"],
    },
    {
      name: "1w calendar (UTC) resets at Monday 00:00",
      budget: { period: "1w", mode: "calendar" },
      now: "2026-01-08T15:00:00Z", // a Thursday
      reset: "2026-01-12T00:00:00Z",
      next: "2026-01-19T00:00:00Z",
      traps: ["2026-01-11T00:00:00Z", "2026-01-11T23:59:59.999Z"],
    },
    {
      name: "1w calendar in Asia/Tokyo resets at Monday 00:00 local (Sunday 15:00 UTC)",
      budget: { period: "1w", mode: "calendar", timeZone: "Asia/Tokyo" },
      now: "2026-01-10T12:00:00+09:00",
      reset: "2026-01-12T00:00:00+09:00",
      next: "2026-01-19T00:00:00+09:00",
      traps: [],
    },
    {
      name: "1d calendar in Europe/Berlin: the 23 h day of 29 March 2026 resets at local midnight",
      budget: { period: "1d", mode: "calendar", timeZone: "Europe/Berlin" },
      now: "2026-03-29T03:30:00+02:00", // just after the jump 02:00 → 03:00
      reset: "2026-03-30T00:00:00+02:00",
      next: "2026-03-31T00:00:00+02:00",
      traps: [],
    },
    {
      name: "1d calendar in Europe/Berlin: the 25 h day of 25 October 2026 resets once, at local midnight",
      budget: { period: "1d", mode: "calendar", timeZone: "Europe/Berlin" },
      now: "2026-10-25T02:30:00+02:00", // the first 02:30 (the hour repeats)
      reset: "2026-10-26T00:00:00+01:00",
      next: "2026-10-27T00:00:00+01:00",
      // The second 02:30, and 24 h after the day began (where a fixed-length day would end).
      traps: ["2026-10-25T02:30:00+01:00", "2026-10-25T23:00:00+01:00", "2026-10-25T23:59:59.999+01:00"],
    },
    {
      name: "1d calendar in America/New_York: the 25 h day of 1 November 2026 resets once, at local midnight",
      budget: { period: "1d", mode: "calendar", timeZone: "America/New_York" },
      now: "2026-11-01T01:30:00-04:00",
      reset: "2026-11-02T00:00:00-05:00",
      next: "2026-11-03T00:00:00-05:00",
      traps: ["2026-11-01T01:30:00-05:00", "2026-11-01T23:00:00-05:00"],
    },
  ];

  for (const k of calendarCases) {
    it(k.name, async () => {
      const reset = at(k.reset);
      clock.set(at(k.now));
      const key = await c.createKey(k.name.slice(0, 60), k.budget);
      await c.exhaust(key.secret);
      const view = await c.usage(key.secret);
      assert.equal(view.resetsAt, iso(reset), "the usage view names the reset instant");
      for (const trap of k.traps) {
        clock.set(at(trap));
        assert.equal(await c.call(key.secret), 402, `still refused at ${trap}`);
      }
      clock.set(reset - 1);
      assert.equal(await c.call(key.secret), 402, "1 ms before the reset: refused");
      clock.set(reset);
      assert.equal(await c.call(key.secret), 200, "at the reset: admitted");
      const after = await c.usage(key.secret);
      assert.deepEqual(
        [after.spentUsd, after.windowStart, after.resetsAt],
        ["0.001530000", iso(reset), iso(at(k.next))],
      );
      // Exactly once: the new window holds its own spend until its own end.
      await c.exhaust(key.secret, 1);
      clock.set(at(k.next) - 1);
      assert.equal(await c.call(key.secret), 402, "refused until the following reset");
      clock.set(at(k.next));
      assert.equal(await c.call(key.secret), 200);
    });
  }

  it("a daily Berlin budget resets at each local midnight across the spring change, never in between", async () => {
    // Walk four local days (24 h, 23 h, 24 h) hour by hour: the window start changes exactly at local midnights.
    clock.set(at("2026-03-28T00:00:00+01:00"));
    const key = await c.createKey("berlin-walk", { period: "1d", mode: "calendar", timeZone: "Europe/Berlin" });
    const starts = new Set<string>();
    for (let t = at("2026-03-28T00:00:00+01:00"); t < at("2026-03-31T00:00:00+02:00"); t += HOUR / 2) {
      clock.set(t);
      starts.add((await c.usage(key.secret)).windowStart);
    }
    assert.deepEqual(
      [...starts],
      ["2026-03-28T00:00:00+01:00", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"].map((s) => iso(at(s))),
    );
  });

  it("editing the key (name, allowed models, session caps) and the budget's limit keeps the spend", async () => {
    clock.set(at("2026-05-10T08:00:00Z"));
    const key = await c.createKey("edit-me", { period: "1d", mode: "calendar" });
    await c.exhaust(key.secret);
    await c.admin("PATCH", `/virtual-keys/${key.id}`, { name: "edited" });
    assert.equal((await c.usage(key.secret)).spentUsd, "0.003060000");
    assert.equal(await c.call(key.secret), 402, "renamed: still exhausted");
    await c.admin("PATCH", `/virtual-keys/${key.id}`, {
      allowedModels: ["claude-*"],
      sessionCaps: { maxRequests: 100 },
    });
    assert.equal(await c.call(key.secret), 402, "new allowed models and caps: still exhausted");
    // $0.005 leaves room for exactly one more call on top of the $0.00306 already spent.
    await c.admin("PATCH", `/budgets/${key.budgetId}`, { limitUsd: "0.005" });
    assert.equal((await c.usage(key.secret)).spentUsd, "0.003060000");
    assert.equal(await c.call(key.secret), 200);
    assert.equal(await c.call(key.secret), 402, "the raised limit is spent, not a fresh one");
    assert.equal((await c.usage(key.secret)).spentUsd, "0.004590000");
  });

  it("editing a key right after its rolling window rolled over keeps the new window's spend", async () => {
    const anchor = at("2026-06-01T12:00:00Z");
    clock.set(anchor);
    const key = await c.createKey("edit-after-rollover", { period: "1d", mode: "rolling" });
    await c.exhaust(key.secret);
    clock.set(anchor + DAY + HOUR);
    // This process saw the new window start; an edit must not rebuild its counter from the request log, which lags
    // behind by design (batched writes). The lag is made certain here by holding the new rows back.
    const writer = gw.gateway.logWriter;
    const held: RequestLogRecord[] = [];
    writer.write = (record) => void held.push(record);
    try {
      await c.exhaust(key.secret);
      await c.admin("PATCH", `/virtual-keys/${key.id}`, { name: "edited-after-rollover" });
      assert.equal((await c.usage(key.secret)).spentUsd, "0.003060000");
      assert.equal(await c.call(key.secret), 402, "still exhausted after the edit");
    } finally {
      Reflect.deleteProperty(writer, "write");
      for (const record of held) writer.write(record);
    }
    await c.admin("PATCH", `/budgets/${key.budgetId}`, { limitUsd: "0.005" });
    assert.equal((await c.usage(key.secret)).spentUsd, "0.003060000");
    assert.equal(await c.call(key.secret), 200);
    assert.equal(await c.call(key.secret), 402);
  });
});

/** Restart mid-period on the same store: spend kept, the reset neither early nor lost. */
function restartSuite(name: string, options: () => Partial<TestGatewayOptions>, cleanup: () => Promise<void>) {
  describe(name, () => {
    let mock: MockUpstream;
    let gw: TestGateway | undefined;
    let dataDir: string;
    const clock = new ManualClock(at("2026-02-10T10:00:00Z"));
    const c = client(() => gw?.url ?? "");
    const start = async () => {
      gw = await startTestGateway({ upstreamUrl: mock.url, clock, dataDir, ...options() });
    };

    before(async () => {
      mock = await startMockUpstream();
      dataDir = await mkdtemp(join(tmpdir(), "tollgate-budget-periods-"));
      await start();
    });
    after(async () => {
      await gw?.close();
      await mock?.close();
      await rm(dataDir, { recursive: true, force: true });
      await cleanup();
    });

    it("keeps the spend of the current window across restarts and still resets at the window's end", async () => {
      const reset = at("2026-03-01T00:00:00Z");
      const monthly = await c.createKey("monthly", { period: "1mo", mode: "calendar" });
      const anchor = clock.now();
      const rolling = await c.createKey("rolling", { period: "1d", mode: "rolling" });
      await c.exhaust(monthly.secret);
      await c.exhaust(rolling.secret);

      await gw?.close();
      clock.set(anchor + DAY - 1);
      await start();
      assert.equal((await c.usage(monthly.secret)).spentUsd, "0.003060000", "monthly spend survived the restart");
      assert.equal((await c.usage(rolling.secret)).spentUsd, "0.003060000", "rolling spend survived the restart");
      assert.equal(await c.call(monthly.secret), 402);
      assert.equal(await c.call(rolling.secret), 402, "1 ms before the rolling reset: refused");

      // Restarted inside the next rolling window: only that window's spend is rebuilt.
      clock.set(anchor + DAY);
      assert.equal(await c.call(rolling.secret), 200);
      await gw?.close();
      clock.set(anchor + DAY + HOUR);
      await start();
      const view = await c.usage(rolling.secret);
      assert.deepEqual([view.spentUsd, view.windowStart], ["0.001530000", iso(anchor + DAY)]);

      clock.set(reset - 1);
      await gw?.close();
      await start();
      assert.equal(await c.call(monthly.secret), 402, "restarted 1 ms before the month ends: still refused");
      clock.set(reset);
      assert.equal(await c.call(monthly.secret), 200, "the new month admits");
      assert.equal((await c.usage(monthly.secret)).spentUsd, "0.001530000");
    });
  });
}

restartSuite(
  "restart mid-period, SQLite",
  () => ({}),
  async () => {},
);

const pgUrl = testPostgresUrl();
const pgSkip = await requirePostgres(pgUrl);
const pgSchema = randomSchemaName("budget_periods");
if (pgSkip) {
  describe("restart mid-period, PostgreSQL", { skip: pgSkip }, () => {
    it("needs PostgreSQL", () => {});
  });
} else {
  restartSuite(
    "restart mid-period, PostgreSQL",
    () => ({ databaseUrl: pgUrl, databaseSchema: pgSchema }),
    () => dropSchema(pgUrl, pgSchema),
  );
}

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

/** Runs `tollgate start` as a real process and waits for its "listening" line. */
/** How long the real process may take to say it listens. */
const START_DEADLINE_MS = 60_000;

async function startCli(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [MAIN, "start", "--port", "0", "--host", "127.0.0.1"], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  // Generous: the CI machine is small and loaded. Past the deadline the child is killed, never left running.
  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    const m = /Tollgate listening on (http:\/\/\S+)/.exec(out);
    if (m?.[1]) return { child, url: m[1], output: () => out };
    const exited = child.exitCode !== null || child.signalCode !== null;
    if (exited || Date.now() > deadline) {
      if (!exited) {
        const gone = once(child, "exit");
        child.kill("SIGKILL");
        await gone;
      }
      throw new Error(
        `tollgate did not start${exited ? "" : ` within ${START_DEADLINE_MS / 1000} s (killed)`}:\n${out}`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("an ungraceful stop (SIGKILL) of the real process", () => {
  let mock: MockUpstream;
  let dataDir: string;
  let running: ChildProcess | null = null;
  let url = "";
  const c = client(() => url);

  before(async () => {
    mock = await startMockUpstream();
    dataDir = await mkdtemp(join(tmpdir(), "tollgate-budget-kill-"));
  });
  after(async () => {
    if (running && running.exitCode === null && running.signalCode === null) {
      running.kill("SIGKILL");
      await once(running, "exit");
    }
    await mock?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("loses no spend settled more than ~1 s before the kill", async () => {
    const env = {
      ANTHROPIC_API_KEY: "k",
      TOLLGATE_ANTHROPIC_BASE_URL: mock.url,
      TOLLGATE_DATA_DIR: dataDir,
      TOLLGATE_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    };
    let gw = await startCli(env);
    running = gw.child;
    url = gw.url;
    // `never`: the real clock cannot cross a reset between the kill and the restart.
    const key = await c.createKey("killed", { period: "never", limitUsd: "1" });
    for (let i = 0; i < 3; i++) assert.equal(await c.call(key.secret), 200);
    assert.equal((await c.usage(key.secret)).spentUsd, "0.004590000");
    // The one real wait: longer than the longest a settled row may sit in the log writer's memory.
    await new Promise((r) => setTimeout(r, 1_500));
    gw.child.kill("SIGKILL");
    await once(gw.child, "exit");

    gw = await startCli(env);
    running = gw.child;
    url = gw.url;
    assert.equal((await c.usage(key.secret)).spentUsd, "0.004590000", `spend after the kill:\n${gw.output()}`);
    gw.child.kill("SIGTERM");
    assert.equal((await once(gw.child, "exit"))[0], 0);
  });
});
