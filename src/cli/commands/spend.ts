import type { Command } from "commander";
import {
  type AdminClient,
  action,
  addConnectionOptions,
  clientFor,
  type EntityKind,
  entityPath,
  resolveId,
  type SpendReport,
  type SpendRow,
} from "../api-client.ts";
import { parseTimeAgo, SpecError } from "../budget-spec.ts";
import {
  addFormatOption,
  type Column,
  formatCount,
  formatTime,
  formatUsd,
  print,
  renderTable,
  style,
} from "../format.ts";
import { withProgress } from "../progress.ts";

/** `tollgate spend`: GET /api/spend, grouped and filtered, as a table, JSON (the API's answer) or CSV. */

const DIMENSIONS = [
  "customer",
  "team",
  "developer",
  "key",
  "provider",
  "model",
  "agent",
  "session",
  "hour",
  "day",
  "month",
] as const;

/** Dimensions whose values are entity ids: the table shows their names beside them. */
const ENTITY_DIMENSIONS: Partial<Record<string, EntityKind>> = {
  customer: "customer",
  team: "team",
  developer: "developer",
  key: "key",
};

/** Filters: option → query parameter; entity filters take an id or a name. */
const FILTERS: Array<{ option: string; entity?: EntityKind; help: string }> = [
  { option: "customer", entity: "customer", help: "only this customer (id or name)" },
  { option: "team", entity: "team", help: "only this team (id or name)" },
  { option: "developer", entity: "developer", help: "only this developer (id or name)" },
  { option: "key", entity: "key", help: "only this virtual key (id or name)" },
  { option: "provider", help: "only this provider" },
  { option: "model", help: "only this model" },
  { option: "agent", help: "only this agent (claude-code, codex, …)" },
  { option: "session", help: "only this agent session" },
  { option: "label", help: "only requests with this label, NAME:VALUE" },
];

/** `team,day` → ["team", "day"]; each a dimension or `label:<name>`. */
export function parseGroupBy(text: string): string[] {
  const dims = text
    .split(",")
    .map((d) => d.trim())
    .filter((d) => d !== "");
  for (const dim of dims) {
    if (!(DIMENSIONS as readonly string[]).includes(dim) && !/^label:[a-z0-9][a-z0-9_.-]{0,63}$/.test(dim))
      throw new SpecError(`invalid --by "${dim}": use ${DIMENSIONS.join(", ")} or label:<name> (comma-separated)`);
  }
  return dims;
}

interface SpendOptions {
  by?: string;
  since?: string;
  until?: string;
  format: "table" | "json" | "csv";
  [filter: string]: string | undefined;
}

/** Names of the entities a report's rows name (best effort: a list that fails leaves the ids alone). */
async function namesFor(client: AdminClient, groupBy: string[]): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  await Promise.all(
    groupBy.map(async (dim) => {
      const kind = ENTITY_DIMENSIONS[dim];
      if (!kind) return;
      try {
        for (const e of await client.list<{ id: string; name: string }>(entityPath(kind))) names.set(e.id, e.name);
      } catch {
        // ids are still shown
      }
    }),
  );
  return names;
}

export function spendTable(report: SpendReport, names: Map<string, string> = new Map()): string {
  const total: SpendRow = { group: {}, ...report.totals };
  const dimColumns: Column<SpendRow>[] = report.groupBy.map((dim, i) => ({
    header: dim.toUpperCase(),
    value: (row) => {
      if (row === total) return i === 0 ? style("bold", "TOTAL") : "";
      const value = row.group[dim];
      if (value === null || value === undefined) return "(none)";
      const name = ENTITY_DIMENSIONS[dim] ? names.get(value) : undefined;
      return name ? `${name} (${value})` : value;
    },
  }));
  const table = renderTable<SpendRow>(
    [
      ...dimColumns,
      { header: "REQUESTS", value: (r) => formatCount(r.requests), align: "right" },
      { header: "COST", value: (r) => formatUsd(r.costNanoUsd), align: "right" },
      { header: "INPUT", value: (r) => formatCount(r.tokens.input), align: "right" },
      { header: "CACHE READ", value: (r) => formatCount(r.tokens.cacheRead), align: "right" },
      {
        header: "CACHE WRITE",
        value: (r) => formatCount(r.tokens.cacheWrite5m + r.tokens.cacheWrite1h),
        align: "right",
      },
      { header: "OUTPUT", value: (r) => formatCount(r.tokens.output), align: "right" },
      // Response-cache columns only once the cache has answered something in the period.
      ...(report.totals.cacheHits > 0
        ? [
            { header: "CACHE HITS", value: (r: SpendRow) => formatCount(r.cacheHits), align: "right" as const },
            {
              header: "CACHE SAVED",
              value: (r: SpendRow) => formatUsd(r.responseCacheSavingsNanoUsd),
              align: "right" as const,
            },
          ]
        : []),
    ],
    report.groupBy.length > 0 && report.data.length > 1 ? [...report.data, total] : report.data,
    "no requests in this period",
  );
  const lines = [style("dim", `Spend ${formatTime(report.from)} → ${formatTime(report.to)}`), table];
  if (report.totals.unpricedRequests > 0)
    lines.push(style("yellow", `${report.totals.unpricedRequests} request(s) had no known price and add no cost.`));
  return lines.join("\n");
}

export function registerSpend(program: Command): void {
  const spend = program
    .command("spend")
    .description("what was spent, grouped and filtered (GET /api/spend)")
    .option("--by <dimensions>", `group by, comma-separated: ${DIMENSIONS.join(", ")}, label:<name> (none: one total)`)
    .option("--since <when>", "from: a duration back (7d, 12h, 30m) or a date (2026-05-01); default 30 days ago")
    .option("--until <when>", "to (exclusive): a duration back or a date; default now");
  for (const f of FILTERS) spend.option(`--${f.option} <${f.option}>`, f.help);
  addFormatOption(addConnectionOptions(spend), ["table", "json", "csv"])
    .addHelpText(
      "after",
      `
Examples:
  $ tollgate spend --by team --since 7d
  $ tollgate spend --by key,model --since 2026-05-01 --format csv > spend.csv
  $ tollgate spend --by day --team Payments --format json`,
    )
    .action(
      action(async (opts: SpendOptions, cmd: Command) => {
        const groupBy = opts.by === undefined ? [] : parseGroupBy(opts.by);
        const now = Date.now();
        const query: Record<string, string | number | undefined> = {
          group_by: groupBy.length > 0 ? groupBy.join(",") : undefined,
          from: opts.since === undefined ? undefined : parseTimeAgo(opts.since, now),
          to: opts.until === undefined ? undefined : parseTimeAgo(opts.until, now),
        };
        const client = await clientFor(cmd);
        // A report over a long period can take a while: a terminal sees a progress line on stderr meanwhile.
        const output = await withProgress(`asking ${client.gateway} for the spend report`, async () => {
          for (const f of FILTERS) {
            const value = opts[f.option];
            if (value === undefined) continue;
            query[f.option] = f.entity ? await resolveId(client, f.entity, value) : value;
          }
          // CSV as the API writes it (one format for scripts, with spreadsheet-formula escaping).
          if (opts.format === "csv") return client.text("/spend", { ...query, format: "csv" }, "text/csv");
          const report = await client.get<SpendReport>("/spend", query);
          if (opts.format === "json") return `${JSON.stringify(report, null, 2)}\n`;
          return spendTable(report, await namesFor(client, report.groupBy));
        });
        if (opts.format === "csv") process.stdout.write(output);
        else print(output);
      }),
    );
}
