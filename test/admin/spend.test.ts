import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import { formatUsd } from "../../src/pipeline/money.ts";
import type { RequestLogRecord } from "../../src/store/log-record.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";
import { makeRecord } from "../store/records.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Tokens {
  input: bigint;
  cacheRead: bigint;
  cacheWrite5m: bigint;
  cacheWrite1h: bigint;
  output: bigint;
  reasoning: bigint;
}

interface Numbers {
  requests: bigint;
  unpricedRequests: bigint;
  costNanoUsd: bigint;
  costUsd: string;
  tokens: Tokens;
  cacheSavingsUsd: string;
  cacheHits: bigint;
  responseCacheSavingsNanoUsd: bigint;
  responseCacheSavingsUsd: string;
}

interface SpendAnswer {
  from: bigint;
  to: bigint;
  groupBy: string[];
  data: (Numbers & { group: Record<string, string | null> })[];
  totals: Numbers;
}

/** JSON with every integer as a bigint (read from its source text), so sums past 2^53 are checked exactly. */
function parseExact(text: string): unknown {
  const parse = JSON.parse as (t: string, r: (k: string, v: unknown, c: { source?: string }) => unknown) => unknown;
  return parse(text, (_k, v, c) =>
    typeof v === "number" && c.source !== undefined && /^-?\d+$/.test(c.source) ? BigInt(c.source) : v,
  );
}

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

/** Varied rows over the last 80 days (none 25–40 days back, so the 30-day default edge cuts no row in between). */
function seedRecords(now: number): RequestLogRecord[] {
  const r = rng(42);
  const records: RequestLogRecord[] = [];
  const models: [string, string | null, string | null][] = [
    ["anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929"],
    ["anthropic", "claude-haiku-4-5", null],
    ["openai", "gpt-4o", "gpt-4o-2024-08-06"],
    ["openai", "gpt-4o-mini", "gpt-4o-mini"],
    ["openai", "mystery-model", "mystery-model"],
  ];
  for (let i = 0; i < 240; i++) {
    const ageDays = r() < 0.75 ? r() * 25 : 40 + r() * 40;
    const [provider, requested, served] = pick(r, models);
    const team = pick(r, ["team-a", "team-b", "team-c", null]);
    const labels: Record<string, string> = {};
    if (r() < 0.6) labels.ticket = pick(r, ["T-1", "T-2", 'a,"b"', "=cmd()"]);
    if (r() < 0.5) labels.env = pick(r, ["prod", "dev"]);
    const failed = r() < 0.1;
    const tokens = failed ? 0 : Math.floor(r() * 5000);
    const hit = !failed && r() < 0.25;
    const saved = r() < 0.1 ? null : Math.floor(r() * 40_000_000);
    records.push(
      makeRecord({
        startedAt: Math.floor(now - HOUR - ageDays * DAY),
        provider,
        requestedModel: requested,
        servedModel: served,
        status: failed ? pick(r, [429, 500, 402]) : 200,
        errorCode: failed ? "TG_TEST" : null,
        inputTokens: tokens,
        cacheReadTokens: failed ? 0 : Math.floor(r() * 20_000),
        cacheWrite5mTokens: failed ? 0 : Math.floor(r() * 300),
        cacheWrite1hTokens: failed ? 0 : Math.floor(r() * 50),
        outputTokens: failed ? 0 : Math.floor(r() * 2000),
        reasoningTokens: failed ? 0 : Math.floor(r() * 100),
        // Unknown prices (mystery-model, failures) stay null; refusals have no tokens and do not count as unpriced.
        costNanoUsd: requested === "mystery-model" || failed ? null : Math.floor(r() * 50_000_000),
        sessionId: pick(r, ["sess-1", "sess-2", "sess-3", null]),
        agent: pick(r, ["claude-code", "codex", "opencode", null]),
        agentId: r() < 0.2 ? "sub-1" : null,
        virtualKeyId: team === null ? null : `${team}-key-${Math.floor(r() * 2)}`,
        teamId: team,
        customerId: team === "team-c" ? "cust-2" : team === null ? null : "cust-1",
        developerId: pick(r, ["dev-x", "dev-y", null]),
        labels,
        // Some answered from the response cache: cost 0, the original call's cost saved (null when unpriced).
        ...(hit ? { cacheHit: pick(r, ["exact", "semantic"] as const), cacheSavedNanoUsd: saved } : {}),
      }),
    );
  }
  // Two rows whose sum passes 2^53 nano-dollars (~$9M): the answer must stay exact.
  for (const hoursAgo of [3, 5]) {
    records.push(
      makeRecord({
        startedAt: now - hoursAgo * HOUR,
        provider: "anthropic",
        requestedModel: "claude-sonnet-4-5",
        servedModel: null,
        teamId: "team-big",
        customerId: "cust-big",
        costNanoUsd: 4_600_000_000_000_001,
        // Savings are summed exactly too.
        cacheHit: "exact",
        cacheSavedNanoUsd: 4_600_000_000_000_003,
        labels: { ticket: "T-1" },
      }),
    );
  }
  return records;
}

/** Columns of the direct aggregation; time dimensions group by hour number here and are bucketed in JS below. */
const SQL_OF: Record<string, string> = {
  customer: "customer_id",
  team: "team_id",
  developer: "developer_id",
  key: "virtual_key_id",
  provider: "provider",
  model: "case when served_model is not null then served_model else requested_model end",
  agent: "agent",
  session: "session_id",
  hour: "started_at / 3600000",
  day: "started_at / 3600000",
  month: "started_at / 3600000",
};

function sqlOf(dimension: string): string {
  if (dimension.startsWith("label:")) {
    const name = dimension.slice(6).replaceAll("'", "''");
    return `(select value from request_log_labels where log_id = request_logs.id and name = '${name}')`;
  }
  return SQL_OF[dimension] as string;
}

function bucket(dimension: string, value: unknown): string | null {
  if (value === null) return null;
  if (dimension !== "hour" && dimension !== "day" && dimension !== "month") return String(value);
  const iso = new Date(Number(value) * HOUR).toISOString();
  return dimension === "hour" ? `${iso.slice(0, 13)}:00:00Z` : iso.slice(0, dimension === "day" ? 10 : 7);
}

type Expected = Omit<Numbers, "costUsd" | "cacheSavingsUsd" | "responseCacheSavingsUsd">;

/** The raw log aggregated with plain SQL (a different formulation from the repository's). */
async function directAggregation(
  gw: TestGateway,
  groupBy: string[],
  from: number,
  to: number,
): Promise<Map<string, Expected>> {
  const dims = groupBy.map((d, i) => `${sqlOf(d)} as d${i}`);
  const text = `select ${[...dims, ""].join(", ")}
      count(*) as n,
      cast(sum(case when cost_nano_usd is null and input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens + output_tokens > 0 then 1 else 0 end) as text) as unpriced,
      cast(coalesce(sum(cost_nano_usd), 0) as text) as cost,
      cast(sum(input_tokens) as text) as input, cast(sum(cache_read_tokens) as text) as cache_read,
      cast(sum(cache_write_5m_tokens) as text) as w5, cast(sum(cache_write_1h_tokens) as text) as w1,
      cast(sum(output_tokens) as text) as output, cast(sum(reasoning_tokens) as text) as reasoning,
      cast(count(cache_hit) as text) as hits, cast(coalesce(sum(cache_saved_nano_usd), 0) as text) as saved
    from request_logs where started_at >= ${from} and started_at < ${to}
    ${groupBy.length > 0 ? `group by ${groupBy.map((_, i) => `d${i}`).join(", ")}` : ""}`;
  const result = await sql.raw<Record<string, unknown>>(text).execute(gw.gateway.database.db);
  const out = new Map<string, Expected>();
  for (const row of result.rows) {
    if (Number(row.n) === 0) continue;
    const group: Record<string, string | null> = {};
    groupBy.forEach((d, i) => {
      group[d] = bucket(d, row[`d${i}`]);
    });
    const key = JSON.stringify(group);
    const prev = out.get(key);
    const add = (a: bigint | undefined, v: unknown) => (a ?? 0n) + BigInt(String(v ?? 0));
    out.set(key, {
      requests: add(prev?.requests, row.n),
      unpricedRequests: add(prev?.unpricedRequests, row.unpriced),
      costNanoUsd: add(prev?.costNanoUsd, row.cost),
      tokens: {
        input: add(prev?.tokens.input, row.input),
        cacheRead: add(prev?.tokens.cacheRead, row.cache_read),
        cacheWrite5m: add(prev?.tokens.cacheWrite5m, row.w5),
        cacheWrite1h: add(prev?.tokens.cacheWrite1h, row.w1),
        output: add(prev?.tokens.output, row.output),
        reasoning: add(prev?.tokens.reasoning, row.reasoning),
      },
      cacheHits: add(prev?.cacheHits, row.hits),
      responseCacheSavingsNanoUsd: add(prev?.responseCacheSavingsNanoUsd, row.saved),
    });
  }
  return out;
}

function numbersOf(n: Numbers): Expected {
  return {
    requests: n.requests,
    unpricedRequests: n.unpricedRequests,
    costNanoUsd: n.costNanoUsd,
    tokens: n.tokens,
    cacheHits: n.cacheHits,
    responseCacheSavingsNanoUsd: n.responseCacheSavingsNanoUsd,
  };
}

const DIMENSIONS = [
  "customer",
  "team",
  "developer",
  "key",
  "provider",
  "model",
  "agent",
  "session",
  "label:ticket",
  "hour",
  "day",
  "month",
];

const pgUrl = testPostgresUrl();
const pgSkip = await requirePostgres(pgUrl);

for (const backend of ["SQLite", "PostgreSQL"] as const) {
  const skip = backend === "PostgreSQL" ? pgSkip : undefined;
  describe(`GET /api/spend (${backend})`, { skip: skip ?? false }, () => {
    let mock: MockUpstream;
    let gw: TestGateway;
    const schema = randomSchemaName("spend");
    let now = 0;
    let from = 0;
    let to = 0;

    const get = async (query: string, token: string | null = gw.adminToken) => {
      const res = await fetch(
        `${gw.url}/api/spend${query}`,
        token ? { headers: { authorization: `Bearer ${token}` } } : {},
      );
      const text = await res.text();
      return { status: res.status, type: res.headers.get("content-type") ?? "", text, res };
    };
    const spend = async (query: string): Promise<SpendAnswer> => {
      const out = await get(query);
      assert.equal(out.status, 200, out.text);
      return parseExact(out.text) as SpendAnswer;
    };

    before(async () => {
      mock = await startMockUpstream();
      gw = await startTestGateway({
        upstreamUrl: mock.url,
        ...(backend === "PostgreSQL" ? { databaseUrl: pgUrl, databaseSchema: schema } : {}),
      });
      // Rows through the real request path: labels from headers, cache reads priced by the catalog.
      for (const ticket of ["T-1", "T-2"]) {
        mock.enqueue({ scenario: "text", usage: { input_tokens: 100, cache_read_input_tokens: 4000 } });
        const res = await fetch(`${gw.url}/v1/messages`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-api-key": "x",
            "anthropic-version": "2023-06-01",
            "x-tollgate-label-ticket": ticket,
            "x-claude-code-session-id": "sess-live",
          },
          body: JSON.stringify({
            model: "claude-haiku-4-5",
            max_tokens: 50,
            messages: [{ role: "user", content: "hi" }],
          }),
        });
        assert.equal(res.status, 200, await res.text());
      }
      now = Date.now();
      for (const record of seedRecords(now)) gw.gateway.logWriter.write(record);
      await gw.gateway.logWriter.flush();
      from = now - 90 * DAY;
      to = now + HOUR;
    });
    after(async () => {
      await gw?.close();
      await mock?.close();
      if (backend === "PostgreSQL") await dropSchema(pgUrl, schema);
    });

    for (const groupBy of [...DIMENSIONS.map((d) => [d]), ["team", "model"], ["label:ticket", "day"], []]) {
      it(`group_by=${groupBy.join(",") || "(none)"} equals a direct SQL aggregation`, async () => {
        const answer = await spend(`?group_by=${groupBy.join(",")}&from=${from}&to=${to}`);
        assert.deepEqual(answer.groupBy, groupBy);
        assert.equal(answer.from, BigInt(from));
        assert.equal(answer.to, BigInt(to));
        const expected = await directAggregation(gw, groupBy, from, to);
        const actual = new Map(answer.data.map((row) => [JSON.stringify(row.group), numbersOf(row)]));
        assert.deepEqual(actual, expected);
        // Totals are the sum over every row, whatever the grouping.
        const [all] = (await directAggregation(gw, [], from, to)).values();
        assert.deepEqual(numbersOf(answer.totals), all);
        for (const row of [...answer.data, answer.totals]) {
          const whole = row.costNanoUsd / 1_000_000_000n;
          const frac = (row.costNanoUsd % 1_000_000_000n).toString().padStart(9, "0");
          assert.equal(row.costUsd, `${whole}.${frac}`);
          const savedWhole = row.responseCacheSavingsNanoUsd / 1_000_000_000n;
          const savedFrac = (row.responseCacheSavingsNanoUsd % 1_000_000_000n).toString().padStart(9, "0");
          assert.equal(row.responseCacheSavingsUsd, `${savedWhole}.${savedFrac}`);
        }
        for (let i = 1; i < answer.data.length; i++) {
          assert.ok((answer.data[i - 1]?.costNanoUsd ?? 0n) >= (answer.data[i]?.costNanoUsd ?? 0n), "cost desc");
        }
        if (groupBy.length === 1 && groupBy[0] === "team") {
          assert.equal(answer.data.find((r) => r.group.team === "team-big")?.costNanoUsd, 9_200_000_000_000_002n);
          assert.equal(
            answer.data.find((r) => r.group.team === "team-big")?.responseCacheSavingsNanoUsd,
            9_200_000_000_000_006n,
          );
        }
      });
    }

    it("prices cache savings per model from the price book, and 0 when a price is unknown", async () => {
      // claude-haiku-4-5: input $1, cache read $0.10 per million → each cache-read token saved 900 nano-dollars.
      const live = await spend(`?group_by=model,label:ticket&session=sess-live&from=${from}&to=${to}`);
      assert.equal(live.data.length, 2);
      for (const row of live.data) {
        assert.equal(row.group.model, "claude-haiku-4-5");
        assert.equal(row.tokens.cacheRead, 4000n);
        assert.equal(row.cacheSavingsUsd, formatUsd(4000 * 900));
      }
      assert.equal(live.totals.cacheSavingsUsd, formatUsd(8000 * 900));
      const sonnet = await spend(`?group_by=model&model=claude-sonnet-4-5-20250929&from=${from}&to=${to}`);
      const read = sonnet.data[0]?.tokens.cacheRead ?? 0n;
      assert.ok(read > 0n);
      // $3 − $0.30 per million = 2700 nano-dollars per cache-read token.
      assert.equal(sonnet.data[0]?.cacheSavingsUsd, formatUsd(Number(read * 2700n)));
      const mystery = await spend(`?group_by=model&model=mystery-model&from=${from}&to=${to}`);
      assert.ok((mystery.data[0]?.tokens.cacheRead ?? 0n) > 0n);
      assert.equal(mystery.data[0]?.cacheSavingsUsd, "0.000000000");
      assert.ok((mystery.data[0]?.unpricedRequests ?? 0n) > 0n);
    });

    it("applies filters as exact matches on the log row", async () => {
      const answer = await spend(`?group_by=team&customer=cust-1&agent=codex&from=${from}&to=${to}`);
      const direct = await sql
        .raw<{ n: unknown }>(
          `select count(*) as n from request_logs where customer_id = 'cust-1' and agent = 'codex' and started_at >= ${from} and started_at < ${to}`,
        )
        .execute(gw.gateway.database.db);
      assert.equal(answer.totals.requests, BigInt(String(direct.rows[0]?.n)));
      assert.ok(answer.data.every((r) => r.group.team === "team-a" || r.group.team === "team-b"));
      const labelled = await spend(`?label=ticket:T-2&group_by=label:ticket&from=${from}&to=${to}`);
      assert.deepEqual(
        labelled.data.map((r) => r.group["label:ticket"]),
        ["T-2"],
      );
    });

    it("defaults to the last 30 days", async () => {
      const answer = await spend("");
      assert.ok(Math.abs(Number(answer.to) - Date.now()) < 60_000);
      assert.equal(Number(answer.to - answer.from), 30 * DAY);
      const direct = await sql
        .raw<{ n: unknown }>(`select count(*) as n from request_logs where started_at >= ${now - 30 * DAY}`)
        .execute(gw.gateway.database.db);
      assert.equal(answer.totals.requests, BigInt(String(direct.rows[0]?.n)));
      assert.deepEqual(answer.groupBy, []);
      assert.equal(answer.data.length, 1);
    });

    it("exports any query as CSV: a header row, one column per dimension, then the numbers", async () => {
      const query = `?group_by=team,label:ticket&from=${from}&to=${to}`;
      const json = await spend(query);
      const out = await get(`${query}&format=csv`);
      assert.equal(out.status, 200);
      assert.match(out.type, /^text\/csv/);
      assert.match(out.res.headers.get("content-disposition") ?? "", /^attachment; filename="tollgate-spend-.*\.csv"$/);
      const lines = out.text.split("\r\n");
      assert.equal(lines.pop(), "");
      assert.equal(
        lines[0],
        "team,label:ticket,requests,unpricedRequests,costNanoUsd,costUsd,inputTokens,cacheReadTokens,cacheWrite5mTokens,cacheWrite1hTokens,outputTokens,reasoningTokens,cacheSavingsUsd,cacheHits,responseCacheSavingsUsd",
      );
      assert.equal(lines.length - 1, json.data.length);
      json.data.forEach((row, i) => {
        const cell = (v: string | null) => {
          if (v === null) return "";
          const safe = /^[=+\-@]/.test(v) ? `'${v}` : v;
          return /[",]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
        };
        const t = row.tokens;
        const expected = [
          cell(row.group.team ?? null),
          cell(row.group["label:ticket"] ?? null),
          row.requests,
          row.unpricedRequests,
          row.costNanoUsd,
          row.costUsd,
          t.input,
          t.cacheRead,
          t.cacheWrite5m,
          t.cacheWrite1h,
          t.output,
          t.reasoning,
          row.cacheSavingsUsd,
          row.cacheHits,
          row.responseCacheSavingsUsd,
        ].join(",");
        assert.equal(lines[i + 1], expected);
      });
      assert.ok(
        lines.some((l) => l.includes(`"a,""b"""`)),
        "quotes and commas are escaped",
      );
      assert.ok(
        lines.some((l) => l.includes(",'=cmd()")),
        "formula-like values are defused",
      );
    });

    it("rejects bad parameters with a 400 naming the field", async () => {
      const cases: [string, RegExp][] = [
        ["?group_by=team,colour", /^group_by: unknown dimension "colour"/],
        ["?group_by=label:Bad Name", /^group_by: invalid label name/],
        ["?from=yesterday", /^from: expected ISO-8601/],
        ["?to=2026-13-45", /^to: expected ISO-8601/],
        [`?from=${now}&to=${now - 1}`, /^from: must be before to/],
        ["?format=xml", /^format: /],
        ["?teem=a", /teem/],
        ["?label=nocolon", /^label: label filter is name:value/],
      ];
      for (const [query, message] of cases) {
        const out = await get(query);
        assert.equal(out.status, 400, query);
        const body = JSON.parse(out.text) as { error: { type: string; message: string } };
        assert.equal(body.error.type, "invalid_request");
        assert.match(body.error.message, message, query);
      }
      assert.equal((await get("", null)).status, 401);
      assert.equal((await get("", "wrong")).status, 401);
    });

    it("accepts ISO dates and date-times with offsets", async () => {
      const day = new Date(now - 2 * DAY).toISOString().slice(0, 10);
      const answer = await spend(`?from=${day}&to=${day}T12:00:00%2B02:00&group_by=hour`);
      assert.equal(answer.from, BigInt(Date.parse(day)));
      assert.equal(answer.to, BigInt(Date.parse(`${day}T10:00:00Z`)));
      for (const row of answer.data) {
        const hour = row.group.hour ?? "";
        assert.match(hour, /^\d{4}-\d{2}-\d{2}T\d{2}:00:00Z$/);
        assert.ok(hour.startsWith(day) && hour < `${day}T10`);
      }
    });
  });
}
