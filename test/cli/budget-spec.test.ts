import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  parseBudgetSpec,
  parseLabels,
  parseList,
  parseRateSpec,
  parseTimeAgo,
  SpecError,
} from "../../src/cli/budget-spec.ts";
import { parseExpiry } from "../../src/cli/commands/keys.ts";
import { parseGroupBy } from "../../src/cli/commands/spend.ts";
import { formatUsd, renderTable } from "../../src/cli/format.ts";

describe("--budget AMOUNT/PERIOD", () => {
  it("reads the spellings the docs show", () => {
    assert.deepEqual(parseBudgetSpec("50/month"), { limitUsd: "50", period: "1mo", mode: "calendar" });
    assert.deepEqual(parseBudgetSpec("50/1mo"), { limitUsd: "50", period: "1mo", mode: "calendar" });
    assert.deepEqual(parseBudgetSpec("5/day"), { limitUsd: "5", period: "1d", mode: "calendar" });
    assert.deepEqual(parseBudgetSpec("200/never"), { limitUsd: "200", period: "never", mode: "calendar" });
    assert.deepEqual(parseBudgetSpec("$12.50/week"), { limitUsd: "12.5", period: "1w", mode: "calendar" });
    assert.deepEqual(parseBudgetSpec("0.000000001/1M"), { limitUsd: "0.000000001", period: "1mo", mode: "calendar" });
    assert.deepEqual(parseBudgetSpec("007.10/quarter"), { limitUsd: "7.1", period: "1q", mode: "calendar" });
    assert.deepEqual(parseBudgetSpec(" 3/6h "), { limitUsd: "3", period: "6h", mode: "calendar" });
    assert.deepEqual(parseBudgetSpec("1000/year"), { limitUsd: "1000", period: "1y", mode: "calendar" });
  });

  it("takes a mode after a colon; a period that cannot tile the calendar needs rolling", () => {
    assert.deepEqual(parseBudgetSpec("20/2w:rolling"), { limitUsd: "20", period: "2w", mode: "rolling" });
    assert.deepEqual(parseBudgetSpec("20/1d:calendar"), { limitUsd: "20", period: "1d", mode: "calendar" });
    assert.throws(() => parseBudgetSpec("20/2w"), /cannot be calendar-aligned.*write "20\/2w:rolling"/);
    assert.throws(() => parseBudgetSpec("20/5h"), /calendar hours must divide a day/);
    assert.throws(() => parseBudgetSpec("20/1d:sliding"), /"calendar" or "rolling"/);
  });

  it("refuses what is not a budget, saying what to write", () => {
    const bad: Array<[string, RegExp]> = [
      ["50", /expected AMOUNT\/PERIOD/],
      ["fifty/month", /"fifty" is not a USD amount/],
      ["-5/day", /not a USD amount/],
      ["1.0000000001/day", /not a USD amount/],
      ["1e3/day", /not a USD amount/],
      ["9007200/day", /below 9,007,199 USD/],
      ["5/fortnight", /expected "never" or a count and a unit/],
      ["5/1m", /"m" means minutes.*"1mo"/],
      ["5/", /it is empty/],
    ];
    for (const [text, message] of bad) {
      assert.throws(
        () => parseBudgetSpec(text),
        (err: unknown) => err instanceof SpecError && message.test(err.message),
        text,
      );
    }
  });
});

describe("--rate", () => {
  it("reads per-second/minute/hour/day requests and tokens, concurrency, and any window", () => {
    assert.deepEqual(parseRateSpec("60rpm"), { window: "1m", maxRequests: 60 });
    assert.deepEqual(parseRateSpec("10rps"), { window: "1s", maxRequests: 10 });
    assert.deepEqual(parseRateSpec("1000rph"), { window: "1h", maxRequests: 1000 });
    assert.deepEqual(parseRateSpec("5000rpd"), { window: "1d", maxRequests: 5000 });
    assert.deepEqual(parseRateSpec("100000tpm"), { window: "1m", maxTokens: 100_000 });
    assert.deepEqual(parseRateSpec("100ktpm"), { window: "1m", maxTokens: 100_000 });
    assert.deepEqual(parseRateSpec("2Mtpd"), { window: "1d", maxTokens: 2_000_000 });
    assert.deepEqual(parseRateSpec("5concurrent"), { maxConcurrent: 5 });
    assert.deepEqual(parseRateSpec("500req/10s"), { window: "10s", maxRequests: 500 });
    assert.deepEqual(parseRateSpec("2Mtok/1d"), { window: "1d", maxTokens: 2_000_000 });
    assert.deepEqual(parseRateSpec("300 tokens/ 5m"), { window: "5m", maxTokens: 300 });
  });

  it("refuses the rest", () => {
    for (const text of [
      "60",
      "60rpw",
      "0rpm",
      "60/m",
      "5 parallel",
      "10req/0s",
      "10req/1001s",
      "2000000concurrent",
      "1mtpm",
    ]) {
      assert.throws(() => parseRateSpec(text), SpecError, text);
    }
  });
});

describe("other option values", () => {
  const now = Date.UTC(2026, 4, 15, 12);

  it("--since: a duration back, a date, or epoch ms", () => {
    assert.equal(parseTimeAgo("7d", now), now - 7 * 86_400_000);
    assert.equal(parseTimeAgo("12h", now), now - 12 * 3_600_000);
    assert.equal(parseTimeAgo("30m", now), now - 30 * 60_000);
    assert.equal(parseTimeAgo("2026-05-01", now), Date.UTC(2026, 4, 1));
    assert.equal(parseTimeAgo("2026-05-01T10:00:00+02:00", now), Date.UTC(2026, 4, 1, 8));
    assert.equal(parseTimeAgo("1778000000000", now), 1_778_000_000_000);
    assert.throws(() => parseTimeAgo("last week", now), /expected a duration/);
  });

  it("--expires: a duration ahead, a date, or never", () => {
    assert.equal(parseExpiry("30d", now), now + 30 * 86_400_000);
    assert.equal(parseExpiry("2026-12-31", now), Date.UTC(2026, 11, 31));
    assert.equal(parseExpiry("never", now), null);
    assert.throws(() => parseExpiry("soon", now), SpecError);
  });

  it("--by, --label, --models", () => {
    assert.deepEqual(parseGroupBy("team, day,label:env"), ["team", "day", "label:env"]);
    assert.throws(() => parseGroupBy("team,week"), /invalid --by "week"/);
    assert.deepEqual(parseLabels(["env=ci", "owner = ada"]), { env: "ci", owner: "ada" });
    assert.throws(() => parseLabels(["env"]), /NAME=VALUE/);
    assert.deepEqual(parseList("claude-*, gpt-4.1"), ["claude-*", "gpt-4.1"]);
    assert.equal(parseList("none"), null);
  });

  it("money is shown exactly, at least to the cent", () => {
    assert.equal(formatUsd(0), "$0.00");
    assert.equal(formatUsd(1_500_000_000), "$1.50");
    assert.equal(formatUsd(123), "$0.000000123");
    assert.equal(formatUsd(null), "-");
  });

  it("tables pad columns and right-align numbers (no colour off a TTY)", () => {
    const rows = [
      { name: "a", n: 5 },
      { name: "bbbb", n: 1234 },
    ];
    const table = renderTable(
      [
        { header: "NAME", value: (r: (typeof rows)[number]) => r.name },
        { header: "N", value: (r: (typeof rows)[number]) => String(r.n), align: "right" },
      ],
      rows,
    );
    assert.equal(table, "NAME     N\na        5\nbbbb  1234");
  });
});
