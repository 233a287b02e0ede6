import { useEffect, useMemo, useState } from "react";
import {
  BREAKDOWNS,
  type Breakdown,
  CHART_RANGES,
  type ChartRange,
  chartWindow,
  overviewRequests,
  TOP_DIMENSIONS,
  type TopDimension,
} from "../../../src/shared/overview-plan.ts";
import { useApi } from "../api.ts";
import { Async, BudgetBar, type BudgetStanding, Card, Empty, Field } from "../components.tsx";
import { change, int, percent, usd } from "../format.ts";
import { useNames } from "../names.tsx";
import { href } from "../router.ts";
import { SpendChart, type StackedSeries } from "../SpendChart.tsx";
import type { SpendAnswer } from "../types.ts";

const TOP_LABELS: Record<TopDimension, string> = {
  key: "Top keys",
  developer: "Top developers",
  team: "Top teams",
  model: "Top models",
  agent: "Top agents",
};

const REFRESH_MS = 60_000;

export function OverviewPage() {
  const [now, setNow] = useState(() => Date.now());
  const [breakdown, setBreakdown] = useState<Breakdown>("model");
  const [range, setRange] = useState<ChartRange>("30d");
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), REFRESH_MS);
    return () => clearInterval(t);
  }, []);
  const plan = useMemo(() => overviewRequests(now, breakdown, range), [now, breakdown, range]);
  return (
    <div className="stack">
      <div className="grid">
        {plan.periods.map((p) => (
          <PeriodCard
            key={p.period.id}
            id={p.period.id}
            label={p.period.label}
            current={p.current}
            previous={p.previous}
          />
        ))}
        <OutcomesCard path={plan.outcomes} />
      </div>
      <Card
        title="Spend over time"
        actions={
          <>
            <Field label="Stack by">
              {(id) => (
                <select id={id} value={breakdown} onChange={(e) => setBreakdown(e.target.value as Breakdown)}>
                  {BREAKDOWNS.map((b) => (
                    <option key={b} value={b}>
                      {b}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Range">
              {(id) => (
                <select id={id} value={range} onChange={(e) => setRange(e.target.value as ChartRange)}>
                  {CHART_RANGES.map((r) => (
                    <option key={r} value={r}>
                      {r === "24h" ? "Last 24 hours" : r === "7d" ? "Last 7 days" : "Last 30 days"}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          </>
        }
      >
        <Chart path={plan.chart} breakdown={breakdown} range={range} now={now} />
      </Card>
      <div className="grid">
        {TOP_DIMENSIONS.map((d) => (
          <TopList key={d} dimension={d} path={plan.top[d]} />
        ))}
      </div>
      <div className="grid">
        <BudgetsCard path={plan.budgets} />
        <SavingsCard path={plan.periods[2]?.current ?? null} />
      </div>
    </div>
  );
}

function PeriodCard({
  id,
  label,
  current,
  previous,
}: {
  id: string;
  label: string;
  current: string;
  previous: string;
}) {
  const cur = useApi<SpendAnswer>(current);
  const prev = useApi<SpendAnswer>(previous);
  return (
    <Card className="kpi">
      <div className="label">{label}</div>
      <Async state={cur}>
        {(c) => {
          const d = prev.data ? change(Number(c.totals.costNanoUsd), Number(prev.data.totals.costNanoUsd)) : null;
          return (
            <div data-testid={`kpi-${id}`} data-cost-usd={c.totals.costUsd} data-requests={String(c.totals.requests)}>
              <div className="value">{usd(c.totals.costUsd)}</div>
              <div className="muted small">
                {int(c.totals.requests)} requests
                {d && (
                  <>
                    {" · "}
                    <span className={`delta-${d.direction}`}>{d.text}</span> vs same time last{" "}
                    {id === "today" ? "day" : id}
                  </>
                )}
              </div>
            </div>
          );
        }}
      </Async>
    </Card>
  );
}

interface Outcomes {
  requests: number;
  errors: number;
  rejections: number;
  clientErrors: number;
}

function OutcomesCard({ path }: { path: string }) {
  const state = useApi<Outcomes>(path);
  return (
    <Card className="kpi">
      <div className="label">Errors · rejections (24 h)</div>
      <Async state={state}>
        {(o) => (
          <div data-testid="kpi-outcomes">
            <div className="value">
              {percent(o.requests ? o.errors / o.requests : 0)} · {percent(o.requests ? o.rejections / o.requests : 0)}
            </div>
            <div className="muted small">
              {int(o.errors)} errors, {int(o.rejections)} rejected (auth, budget, rate) of {int(o.requests)}
            </div>
          </div>
        )}
      </Async>
    </Card>
  );
}

function Chart({
  path,
  breakdown,
  range,
  now,
}: {
  path: string;
  breakdown: Breakdown;
  range: ChartRange;
  now: number;
}) {
  const state = useApi<SpendAnswer>(path);
  const names = useNames();
  const label = (v: string | null) =>
    v === null ? "(none)" : breakdown === "team" || breakdown === "developer" ? names.name(breakdown, v) : v;
  return (
    <Async state={state}>
      {(answer) => {
        const win = chartWindow(range, now);
        const step = win.unit === "hour" ? 3_600_000 : 86_400_000;
        const times: number[] = [];
        for (let t = win.from; t < win.to; t += step) times.push(t);
        const index = new Map(times.map((t, i) => [t, i]));
        const byGroup = new Map<string | null, number[]>();
        const sums = new Map<string | null, number>();
        for (const row of answer.data) {
          const t = Date.parse(row.group[win.unit] ?? "");
          const i = index.get(t);
          if (i === undefined) continue;
          const g = row.group[breakdown] ?? null;
          let values = byGroup.get(g);
          if (!values) {
            values = times.map(() => 0);
            byGroup.set(g, values);
          }
          const v = Number(row.costUsd);
          values[i] = (values[i] ?? 0) + v;
          sums.set(g, (sums.get(g) ?? 0) + v);
        }
        if (byGroup.size === 0) return <Empty>No spend in this range yet.</Empty>;
        const ranked = [...byGroup.keys()].sort((a, b) => (sums.get(b) ?? 0) - (sums.get(a) ?? 0));
        const series: StackedSeries[] = ranked
          .slice(0, 7)
          .map((g) => ({ label: label(g), values: byGroup.get(g) ?? [] }));
        if (ranked.length > 7) {
          const other = times.map(() => 0);
          for (const g of ranked.slice(7)) {
            (byGroup.get(g) ?? []).forEach((v, i) => {
              other[i] = (other[i] ?? 0) + v;
            });
          }
          series.push({ label: "Other", values: other });
        }
        return <SpendChart times={times} series={series} unit={win.unit} />;
      }}
    </Async>
  );
}

function TopList({ dimension, path }: { dimension: TopDimension; path: string }) {
  const state = useApi<SpendAnswer>(path);
  const names = useNames();
  const show = (v: string | null) =>
    v === null
      ? "(none)"
      : dimension === "key" || dimension === "developer" || dimension === "team"
        ? names.name(dimension, v)
        : v;
  return (
    <Card title={`${TOP_LABELS[dimension]} (month)`}>
      <Async state={state}>
        {(answer) => {
          const rows = [...answer.data].sort((a, b) => Number(b.costNanoUsd) - Number(a.costNanoUsd)).slice(0, 5);
          if (rows.length === 0) return <Empty>No requests this month.</Empty>;
          return (
            <ul className="toplist" data-testid={`top-${dimension}`}>
              {rows.map((r) => (
                <li key={String(r.group[dimension])}>
                  <span title={r.group[dimension] ?? ""}>{show(r.group[dimension] ?? null)}</span>
                  <span>{usd(r.costUsd)}</span>
                </li>
              ))}
            </ul>
          );
        }}
      </Async>
    </Card>
  );
}

const SCOPE_PAGES: Record<string, string> = {
  key: "keys",
  team: "teams",
  developer: "developers",
  customer: "customers",
};

function BudgetsCard({ path }: { path: string }) {
  const state = useApi<{ data: BudgetStanding[] }>(path);
  return (
    <Card title="Budgets nearest exhaustion">
      <Async state={state}>
        {({ data }) =>
          data.length === 0 ? (
            <Empty>
              No budgets yet. <a href={href("keys")}>Add one to a key</a>.
            </Empty>
          ) : (
            <div>
              {data.map((b) => (
                <div key={b.id}>
                  <div className="small muted">
                    {b.scopeType}
                    {b.scopeName || b.scopeId ? ": " : ""}
                    {SCOPE_PAGES[b.scopeType] ? (
                      <a href={href(SCOPE_PAGES[b.scopeType] as string)}>{b.scopeName ?? b.scopeId}</a>
                    ) : (
                      (b.provider ?? b.model ?? "")
                    )}
                  </div>
                  <BudgetBar b={b} />
                </div>
              ))}
            </div>
          )
        }
      </Async>
    </Card>
  );
}

function SavingsCard({ path }: { path: string | null }) {
  const state = useApi<SpendAnswer>(path);
  return (
    <Card title="Cache savings (month)">
      <Async state={state}>
        {(a) => {
          const t = a.totals.tokens;
          const input = Number(t.input) + Number(t.cacheRead) + Number(t.cacheWrite5m) + Number(t.cacheWrite1h);
          return (
            <div className="kpi" data-testid="cache-savings">
              <div className="value">{usd(a.totals.cacheSavingsUsd)}</div>
              <div className="muted small">
                saved by prompt-cache reads · {percent(input ? Number(t.cacheRead) / input : null)} of input tokens read
                from cache
              </div>
              <div
                className="value"
                data-testid="response-cache-savings"
                data-usd={a.totals.responseCacheSavingsUsd}
                data-hits={String(a.totals.cacheHits)}
              >
                {usd(a.totals.responseCacheSavingsUsd)}
              </div>
              <div className="muted small">
                saved by the response cache · {Number(a.totals.cacheHits).toLocaleString()} requests answered from it
              </div>
            </div>
          );
        }}
      </Async>
    </Card>
  );
}
