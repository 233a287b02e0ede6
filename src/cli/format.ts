import { styleText } from "node:util";
import { type Command, Option } from "commander";
import { formatNanoUsd } from "../metering/pricing/decimal.ts";
import type { BudgetView, RateLimit } from "./api-client.ts";

/** Output of the management commands: a table for people, JSON (the API's own objects) for scripts. */

export type Format = "table" | "json" | "csv";

/** `--format`, with the choices a command supports (table first: the default). */
export function addFormatOption(cmd: Command, choices: readonly Format[] = ["table", "json"]): Command {
  return cmd.addOption(new Option("--format <format>", "output format").choices(choices).default("table"));
}

type Style = Parameters<typeof styleText>[0];

/** Styled only when the stream is a TTY (styleText checks isTTY, NO_COLOR and FORCE_COLOR). */
export function style(format: Style, text: string, stream: NodeJS.WriteStream = process.stdout): string {
  return styleText(format, text, { stream });
}

export function print(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

export function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  /** Numbers read better right-aligned. */
  align?: "left" | "right";
}

/** A plain-text table: a header, then one line per row; an empty list says so instead. */
export function renderTable<T>(columns: Column<T>[], rows: readonly T[], empty = "(none)"): string {
  if (rows.length === 0) return style("dim", empty);
  const cells = rows.map((row) => columns.map((c) => c.value(row)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (columns[i]?.align === "right" ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [style("bold", line(columns.map((c) => c.header))), ...cells.map(line)].join("\n");
}

/** `label: value` lines, labels aligned; null / undefined values are left out. */
export function renderFields(fields: Array<[string, string | null | undefined]>): string {
  const shown = fields.filter((f): f is [string, string] => f[1] !== null && f[1] !== undefined);
  const width = Math.max(0, ...shown.map(([label]) => label.length));
  return shown.map(([label, value]) => `${style("dim", `${label}:`.padEnd(width + 1))} ${value}`).join("\n");
}

/** `2026-05-01 12:00Z` (UTC, minutes). */
export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "-";
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")}Z`;
}

/** Nano-dollars → `$0.0123`: exact, at least cents. */
export function formatUsd(nano: number | null | undefined): string {
  if (nano === null || nano === undefined) return "-";
  const text = formatNanoUsd(nano);
  const negative = text.startsWith("-");
  const [whole = "0", fraction = ""] = (negative ? text.slice(1) : text).split(".");
  return `${negative ? "-" : ""}$${whole}.${fraction.padEnd(2, "0")}`;
}

/** Decimal USD text (`"12.5"`) → `$12.50`. */
export function formatUsdText(text: string | null | undefined): string {
  if (text === null || text === undefined) return "-";
  const [whole = "0", fraction = ""] = text.split(".");
  return `$${whole}.${fraction.padEnd(2, "0")}`;
}

export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? "-" : n.toLocaleString("en-US");
}

export function formatLabels(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length === 0 ? "-" : entries.map(([k, v]) => `${k}=${v}`).join(",");
}

/** `60 requests/1m`, `100,000 tokens/1m`, `5 concurrent` — one rate limit's limits. */
export function formatRate(limit: RateLimit): string {
  const parts: string[] = [];
  if (limit.maxRequests !== null) parts.push(`${formatCount(limit.maxRequests)} requests/${limit.window}`);
  if (limit.maxTokens !== null) parts.push(`${formatCount(limit.maxTokens)} tokens/${limit.window}`);
  if (limit.maxConcurrent !== null) parts.push(`${formatCount(limit.maxConcurrent)} concurrent`);
  return parts.join(", ");
}

function scopeText(s: { scopeType: string; provider: string | null; model: string | null }): string {
  return [s.scopeType, s.provider, s.model].filter((p) => p !== null).join(" ");
}

/** `1mo calendar UTC`, `2w rolling`, `never`. */
function periodText(b: BudgetView): string {
  if (b.period === "never") return "never";
  return b.mode === "calendar" ? `${b.period} calendar ${b.timeZone}` : `${b.period} rolling`;
}

/** An entity's budgets and rate limits, as two small tables. */
export function renderLimits(budgets: readonly BudgetView[], rateLimits: readonly RateLimit[]): string {
  const budgetTable = renderTable<BudgetView>(
    [
      { header: "BUDGET", value: (b) => b.id },
      { header: "SCOPE", value: scopeText },
      { header: "LIMIT", value: (b) => formatUsdText(b.limitUsd), align: "right" },
      { header: "PERIOD", value: periodText },
      { header: "SPENT", value: (b) => formatUsd(b.spend?.spentNanoUsd), align: "right" },
      { header: "RESETS", value: (b) => (b.spend ? formatTime(b.spend.resetsAt) : "-") },
    ],
    budgets,
    "no budgets",
  );
  const rateTable = renderTable<RateLimit>(
    [
      { header: "RATE LIMIT", value: (r) => r.id },
      { header: "SCOPE", value: scopeText },
      { header: "LIMITS", value: formatRate },
    ],
    rateLimits,
    "no rate limits",
  );
  return `${budgetTable}\n\n${rateTable}`;
}
