import { type FormEvent, useEffect, useState } from "react";
import { Card, DetailView, Empty } from "../components.tsx";
import { Check, TextField } from "../form.tsx";
import { dateTime, duration, int, usd } from "../format.ts";
import { useNames } from "../names.tsx";
import { PagedList, usePagedApi } from "../paging.tsx";
import { href, navigate, type Route } from "../router.ts";
import { DataTable, num } from "../table.tsx";
import type { LogRecord } from "../types.ts";

const FILTERS = ["session", "model", "provider", "agent", "status", "label"] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;
const PAGE_SIZE = 50;
const TAIL_MS = 3000;

export const nanoUsd = (n: number | null) => (n === null ? "—" : usd(n / 1e9));

function statusBadge(status: number) {
  return <span className={`badge ${status < 400 ? "ok" : status >= 500 ? "err" : "warn"}`}>{status}</span>;
}

export function LogsPage({ route }: { route: Route }) {
  if (route.id) return <LogDetail id={route.id} />;
  return <LogList route={route} />;
}

function LogList({ route }: { route: Route }) {
  const filters: Filters = Object.fromEntries(
    FILTERS.map((f) => [f, route.query.get(f) ?? undefined]).filter(([, v]) => v),
  );
  const [draft, setDraft] = useState<Filters>(filters);
  const [live, setLive] = useState(false);
  const { state, paging } = usePagedApi<LogRecord>("/api/logs", { limit: String(PAGE_SIZE), ...filters });
  const { cursor, reset } = paging;
  const routeKey = route.query.toString();
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new filter starts at the first page
  useEffect(() => {
    reset();
    setDraft(Object.fromEntries(FILTERS.map((f) => [f, route.query.get(f) ?? ""])));
  }, [routeKey]);
  const { reload } = state;
  useEffect(() => {
    if (!live || cursor) return;
    const t = setInterval(reload, TAIL_MS);
    return () => clearInterval(t);
  }, [live, cursor, reload]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    navigate(href("logs", null, draft));
  };
  return (
    <div className="stack">
      <Card title="Filter">
        <form onSubmit={submit} aria-label="Log filters">
          <div className="form-row">
            {FILTERS.map((f) => (
              <TextField
                key={f}
                label={f === "label" ? "Label (name:value)" : f[0]?.toUpperCase() + f.slice(1)}
                name={f}
                value={draft[f] ?? ""}
                placeholder={f === "status" ? "ok, error or 429" : ""}
                onChange={(v) => setDraft({ ...draft, [f]: v })}
              />
            ))}
          </div>
          <div className="actions">
            <button type="submit">Apply</button>
            <button type="button" className="secondary" onClick={() => navigate(href("logs"))}>
              Clear
            </button>
            <Check
              label="Live tail"
              checked={live}
              onChange={setLive}
              disabled={cursor !== undefined}
              style={{ margin: 0 }}
            />
          </div>
        </form>
      </Card>
      <Card>
        <PagedList state={state} paging={paging} empty="No requests match." showPage>
          {(items) => <LogTable items={items} />}
        </PagedList>
      </Card>
    </div>
  );
}

export function LogTable({ items }: { items: LogRecord[] }) {
  const names = useNames();
  return (
    <DataTable
      caption="Requests, newest first"
      columns={[
        "Time",
        "Key",
        "Developer",
        "Team",
        "Agent",
        "Session",
        "Model",
        "Provider",
        num("Tokens in/out"),
        num("Cost"),
        num("Latency"),
        "Status",
      ]}
    >
      {items.map((r) => (
        <tr key={r.id} className="clickable" data-log-id={r.id}>
          <td>
            <a href={href("logs", r.id)}>{dateTime(r.startedAt)}</a>
          </td>
          <td className="truncate">{names.name("key", r.virtualKeyId)}</td>
          <td className="truncate">{names.name("developer", r.developerId)}</td>
          <td className="truncate">{names.name("team", r.teamId)}</td>
          <td>{r.agent ?? "—"}</td>
          <td className="truncate">
            {r.sessionId ? (
              <a href={href("sessions", r.sessionId)} title={r.sessionId}>
                {r.sessionId}
              </a>
            ) : (
              "—"
            )}
          </td>
          <td>{r.servedModel ?? r.requestedModel ?? "—"}</td>
          <td>{r.provider ?? "—"}</td>
          <td className="num">
            {int(r.inputTokens + r.cacheReadTokens + r.cacheWrite5mTokens + r.cacheWrite1hTokens)} /{" "}
            {int(r.outputTokens)}
          </td>
          <td className="num">{nanoUsd(r.costNanoUsd)}</td>
          <td className="num">{duration(r.latencyMs)}</td>
          <td>{statusBadge(r.status)}</td>
        </tr>
      ))}
    </DataTable>
  );
}

function LogDetail({ id }: { id: string }) {
  const names = useNames();
  return (
    <DetailView<LogRecord>
      path={`/api/logs/${encodeURIComponent(id)}`}
      links={<a href={href("logs")}>← All requests</a>}
    >
      {(r) => (
        <>
          <Card title="Request">
            <dl className="kv" data-testid="log-detail">
              <dt>Id</dt>
              <dd>
                <code>{r.id}</code>
              </dd>
              <dt>Time</dt>
              <dd>{dateTime(r.startedAt)}</dd>
              <dt>Status</dt>
              <dd>
                {statusBadge(r.status)} {r.errorCode ?? ""} {r.errorMessage ?? ""}
              </dd>
              <dt>Endpoint</dt>
              <dd>
                <code>{r.endpoint}</code> ({r.dialect}
                {r.upstreamDialect ? ` → ${r.upstreamDialect}` : ""}, {r.stream ? "streamed" : "not streamed"})
              </dd>
              <dt>Model</dt>
              <dd>
                {r.requestedModel ?? "—"}
                {r.servedModel && r.servedModel !== r.requestedModel ? ` → ${r.servedModel}` : ""} on{" "}
                {r.provider ?? "—"}
              </dd>
              <dt>Routing rule</dt>
              <dd>{r.routingRule ?? "none matched"}</dd>
              <dt>Key</dt>
              <dd>{names.name("key", r.virtualKeyId)}</dd>
              <dt>Developer · team</dt>
              <dd>
                {names.name("developer", r.developerId)} · {names.name("team", r.teamId)}
              </dd>
              <dt>Agent</dt>
              <dd>
                {r.agent ?? "—"} {r.agentVersion ?? ""}
              </dd>
              <dt>Session</dt>
              <dd>{r.sessionId ? <a href={href("sessions", r.sessionId)}>{r.sessionId}</a> : "—"}</dd>
              <dt>Latency</dt>
              <dd>
                {duration(r.latencyMs)} (first token {duration(r.ttftMs)})
              </dd>
              <dt>Cache</dt>
              <dd>{r.cacheHit ? `response cache hit (${r.cacheHit}), saved ${nanoUsd(r.cacheSavedNanoUsd)}` : "—"}</dd>
              {Object.keys(r.labels).length > 0 && (
                <>
                  <dt>Labels</dt>
                  <dd>
                    {Object.entries(r.labels)
                      .map(([k, v]) => `${k}=${v}`)
                      .join(", ")}
                  </dd>
                </>
              )}
              {r.warnings.length > 0 && (
                <>
                  <dt>Warnings</dt>
                  <dd>{r.warnings.join("; ")}</dd>
                </>
              )}
            </dl>
          </Card>
          <Card title="Tokens and cost">
            <DataTable columns={["Bucket", num("Tokens")]}>
              {(
                [
                  ["Input (uncached)", r.inputTokens],
                  ["Cache read", r.cacheReadTokens],
                  ["Cache write (5 min)", r.cacheWrite5mTokens],
                  ["Cache write (1 h)", r.cacheWrite1hTokens],
                  ["Output", r.outputTokens],
                  ["of which reasoning", r.reasoningTokens],
                ] as const
              ).map(([label, n]) => (
                <tr key={label}>
                  <td>{label}</td>
                  <td className="num">{int(n)}</td>
                </tr>
              ))}
            </DataTable>
            <p>
              Cost: <strong>{nanoUsd(r.costNanoUsd)}</strong>
              {r.costNanoUsd !== null ? ` (${r.costNanoUsd.toLocaleString("en-US")} nano-USD)` : " (no known price)"}
              {r.usageEstimated ? " · usage partly estimated" : ""} · prices {r.priceVersion ?? "—"}
            </p>
          </Card>
          <Card title="Upstream attempts">
            {r.attempts.length === 0 ? (
              <Empty>One attempt{r.provider ? ` at ${r.provider}` : ""}.</Empty>
            ) : (
              <DataTable columns={["#", "Provider", "Model", "Key", "Status", num("Latency"), "Error"]}>
                {r.attempts.map((a, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: attempts are ordered and never reordered
                  <tr key={i}>
                    <td>{i + 1}</td>
                    <td>{a.provider}</td>
                    <td>{a.model}</td>
                    <td>{a.providerKeyId ?? "—"}</td>
                    <td>{a.status ?? "—"}</td>
                    <td className="num">{duration(a.latencyMs)}</td>
                    <td>{a.error ?? "—"}</td>
                  </tr>
                ))}
              </DataTable>
            )}
          </Card>
        </>
      )}
    </DetailView>
  );
}
