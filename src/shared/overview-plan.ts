/**
 * What the dashboard's overview asks the management API, as data: the calendar periods (today, this week, this
 * month in the viewer's local time, each against the same elapsed span of the period before) and the request
 * paths. Pure (no Node or DOM APIs): the web app renders from it, and the bench times exactly these requests.
 */

export const BREAKDOWNS = ["team", "developer", "model", "provider", "agent"] as const;
export type Breakdown = (typeof BREAKDOWNS)[number];

export const TOP_DIMENSIONS = ["key", "developer", "team", "model", "agent"] as const;
export type TopDimension = (typeof TOP_DIMENSIONS)[number];

export const CHART_RANGES = ["24h", "7d", "30d"] as const;
export type ChartRange = (typeof CHART_RANGES)[number];

export interface Period {
  id: "today" | "week" | "month";
  label: string;
  /** [from, to): from the period's start to now, epoch ms. */
  from: number;
  to: number;
  /** The same elapsed span at the start of the previous period. */
  prevFrom: number;
  prevTo: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Local calendar periods at `now`; weeks start on Monday. */
export function overviewPeriods(now: number): Period[] {
  const d = new Date(now);
  const today = new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const yesterday = new Date(d.getFullYear(), d.getMonth(), d.getDate() - 1).getTime();
  const mondayOffset = (d.getDay() + 6) % 7;
  const week = new Date(d.getFullYear(), d.getMonth(), d.getDate() - mondayOffset).getTime();
  const prevWeek = new Date(d.getFullYear(), d.getMonth(), d.getDate() - mondayOffset - 7).getTime();
  const month = new Date(d.getFullYear(), d.getMonth(), 1).getTime();
  const prevMonth = new Date(d.getFullYear(), d.getMonth() - 1, 1).getTime();
  const span = (id: Period["id"], label: string, from: number, prevFrom: number): Period => ({
    id,
    label,
    from,
    // Never an empty range (the API refuses from >= to), even at the stroke of midnight.
    to: Math.max(now, from + 1),
    prevFrom,
    // A shorter previous month ends at its own end, never inside the current period.
    prevTo: Math.max(prevFrom + 1, Math.min(prevFrom + (now - from), from)),
  });
  return [
    span("today", "Today", today, yesterday),
    span("week", "This week", week, prevWeek),
    span("month", "This month", month, prevMonth),
  ];
}

/** The spend-over-time query: hourly for a day or a week, by UTC day for 30 days. */
export function chartWindow(range: ChartRange, now: number): { from: number; to: number; unit: "hour" | "day" } {
  if (range === "30d") return { from: Math.floor(now / DAY_MS) * DAY_MS - 29 * DAY_MS, to: now, unit: "day" };
  const hours = range === "24h" ? 23 : 7 * 24 - 1;
  return { from: Math.floor(now / HOUR_MS) * HOUR_MS - hours * HOUR_MS, to: now, unit: "hour" };
}

export function spendPath(params: { from: number; to: number; groupBy?: readonly string[] }): string {
  const q = new URLSearchParams({ from: String(params.from), to: String(params.to) });
  if (params.groupBy && params.groupBy.length > 0) q.set("group_by", params.groupBy.join(","));
  return `/api/spend?${q}`;
}

export interface OverviewRequests {
  /** Per period: current and previous totals. */
  periods: { period: Period; current: string; previous: string }[];
  chart: string;
  top: Record<TopDimension, string>;
  budgets: string;
  /** Errors and rejections over the last 24 hours. */
  outcomes: string;
}

/** Every request the overview makes at `now` (names for ids come from the entity lists, loaded once per visit). */
export function overviewRequests(now: number, breakdown: Breakdown, range: ChartRange): OverviewRequests {
  const periods = overviewPeriods(now);
  const month = periods[2] as Period;
  const chart = chartWindow(range, now);
  const top = Object.fromEntries(
    TOP_DIMENSIONS.map((d) => [d, spendPath({ from: month.from, to: month.to, groupBy: [d] })]),
  ) as Record<TopDimension, string>;
  return {
    periods: periods.map((p) => ({
      period: p,
      current: spendPath({ from: p.from, to: p.to }),
      previous: spendPath({ from: p.prevFrom, to: p.prevTo }),
    })),
    chart: spendPath({ from: chart.from, to: chart.to, groupBy: [chart.unit, breakdown] }),
    top,
    budgets: "/api/ui/budgets?limit=8",
    outcomes: `/api/ui/outcomes?${new URLSearchParams({ from: String(now - DAY_MS), to: String(now) })}`,
  };
}

/** Every path of one overview load, for timing it. */
export function allOverviewPaths(r: OverviewRequests): string[] {
  return [
    ...r.periods.flatMap((p) => [p.current, p.previous]),
    r.chart,
    ...Object.values(r.top),
    r.budgets,
    r.outcomes,
  ];
}
