import { Card, DetailView } from "../components.tsx";
import { dateTime, duration, int, percent, usd } from "../format.ts";
import { useNames } from "../names.tsx";
import { PagedList, usePagedApi } from "../paging.tsx";
import { href, type Route } from "../router.ts";
import { DataTable, num } from "../table.tsx";

interface SessionItem {
  id: string;
  firstSeen: number;
  lastSeen: number;
  agent: string | null;
  virtualKeyId: string | null;
  developerId: string | null;
  teamId: string | null;
  models: string[];
  requests: number;
  costUsd: string;
  cacheHitRatio: number | null;
}

interface SessionDetail {
  id: string;
  firstSeen: number;
  lastSeen: number;
  durationMs: number;
  agent: string | null;
  agentVersion: string | null;
  virtualKeyId: string | null;
  developerId: string | null;
  teamId: string | null;
  totals: { requests: number; costUsd: string };
  cacheHitRatio: number | null;
  wasted: { requests: number; costUsd: string };
  models: { model: string; requests: number; costUsd: string }[];
  requests: {
    id: string;
    startedAt: number;
    model: string | null;
    status: number;
    costUsd: string | null;
    latencyMs: number;
    agentId?: string | null;
    inputTokens?: number;
    outputTokens?: number;
  }[];
  requestsTruncated: boolean;
}

export function SessionsPage({ route }: { route: Route }) {
  if (route.id) return <SessionView id={route.id} />;
  return <SessionList />;
}

function SessionList() {
  const { state, paging } = usePagedApi<SessionItem>("/api/sessions", { limit: "50" });
  const names = useNames();
  return (
    <Card title="Sessions (last 30 days)">
      <PagedList
        state={state}
        paging={paging}
        empty="No agent sessions yet: requests that carry a session id (Claude Code, Codex, Gemini CLI, opencode) appear here."
      >
        {(items) => (
          <DataTable
            caption="Sessions, most recent first"
            columns={[
              "Session",
              "Agent",
              "Key",
              "Developer",
              "Last active",
              num("Duration"),
              num("Requests"),
              num("Cost"),
              num("Cache hits"),
              "Models",
            ]}
          >
            {items.map((s) => (
              <tr key={s.id}>
                <td className="truncate">
                  <a href={href("sessions", s.id)} title={s.id}>
                    {s.id}
                  </a>
                </td>
                <td>{s.agent ?? "—"}</td>
                <td>{names.name("key", s.virtualKeyId)}</td>
                <td>{names.name("developer", s.developerId)}</td>
                <td>{dateTime(s.lastSeen)}</td>
                <td className="num">{duration(s.lastSeen - s.firstSeen)}</td>
                <td className="num">{int(s.requests)}</td>
                <td className="num">{usd(s.costUsd)}</td>
                <td className="num">{percent(s.cacheHitRatio)}</td>
                <td>{s.models.join(", ")}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </PagedList>
    </Card>
  );
}

function SessionView({ id }: { id: string }) {
  const names = useNames();
  return (
    <DetailView<SessionDetail>
      path={`/api/sessions/${encodeURIComponent(id)}`}
      links={
        <>
          <a href={href("sessions")}>← All sessions</a> ·{" "}
          <a href={href("logs", null, { session: id })}>This session in Logs</a>
        </>
      }
    >
      {(s) => (
        <>
          <div className="grid">
            <Card title="Session">
              <dl className="kv">
                <dt>Id</dt>
                <dd>
                  <code>{s.id}</code>
                </dd>
                <dt>Agent</dt>
                <dd>
                  {s.agent ?? "—"} {s.agentVersion ?? ""}
                </dd>
                <dt>Key</dt>
                <dd>{names.name("key", s.virtualKeyId)}</dd>
                <dt>Developer</dt>
                <dd>{names.name("developer", s.developerId)}</dd>
                <dt>Started</dt>
                <dd>{dateTime(s.firstSeen)}</dd>
                <dt>Duration</dt>
                <dd>{duration(s.durationMs)}</dd>
              </dl>
            </Card>
            <Card title="Totals">
              <dl className="kv">
                <dt>Cost</dt>
                <dd>{usd(s.totals.costUsd)}</dd>
                <dt>Requests</dt>
                <dd>{int(s.totals.requests)}</dd>
                <dt>Cache hits</dt>
                <dd>{percent(s.cacheHitRatio)}</dd>
                <dt>Failed (wasted)</dt>
                <dd>
                  {int(s.wasted.requests)} requests, {usd(s.wasted.costUsd)}
                </dd>
                <dt>Models</dt>
                <dd>{s.models.map((m) => `${m.model} (${usd(m.costUsd)})`).join(", ")}</dd>
              </dl>
            </Card>
          </div>
          <Card title="Timeline">
            <ol className="timeline">
              {s.requests.map((r) => (
                <li key={r.id}>
                  <a href={href("logs", r.id)}>{dateTime(r.startedAt)}</a> · {r.model ?? "—"} · {r.status} ·{" "}
                  {usd(r.costUsd)} · {duration(r.latencyMs)}
                  {r.agentId ? ` · subagent ${r.agentId}` : ""}
                </li>
              ))}
            </ol>
            {s.requestsTruncated && <p className="muted">Only the first requests are shown.</p>}
          </Card>
        </>
      )}
    </DetailView>
  );
}
