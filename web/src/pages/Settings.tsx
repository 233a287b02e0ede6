import { type FormEvent, useState } from "react";
import { api, useApi } from "../api.ts";
import { Async, Card, Empty, Field } from "../components.tsx";
import { dateTime, usd } from "../format.ts";

/** Alerts and webhooks, price overrides, retention. */

interface Webhook {
  id: string;
  name: string | null;
  url: string;
  format: "json" | "slack";
  scopeType: string;
  scopeId: string | null;
  enabled: boolean;
  hasSecret: boolean;
}

interface Alert {
  id: string;
  budgetId: string;
  thresholdPercent: number;
  spendUsd: string;
  limitUsd: string;
  createdAt: number;
}

interface Pricing {
  version: string;
  catalogVersion: string;
  overrides: ({ id: string | null; source: string; provider?: string; model: string } & Record<string, unknown>)[];
  unpriced: unknown[];
}

export function SettingsPage() {
  return (
    <div className="stack">
      <Webhooks />
      <RecentAlerts />
      <PriceOverrides />
      <Retention />
    </div>
  );
}

function Retention() {
  const state = useApi<{ retention: { logsDays: number; source: "default" | "config" } }>("/api/ui/settings");
  return (
    <Card title="Retention">
      <Async state={state}>
        {({ retention }) => (
          <p data-testid="retention">
            {retention.logsDays === 0
              ? "Raw request logs are kept forever."
              : `Raw request logs are kept ${retention.logsDays} days${retention.source === "default" ? " (the default)" : ""}, then deleted in the background.`}{" "}
            Spend rollups (hourly and daily totals) are kept forever, so past spend never changes. Set{" "}
            <code>retention.logsDays</code> in the config file to change it (0 keeps logs forever).
          </p>
        )}
      </Async>
    </Card>
  );
}

function Webhooks() {
  const state = useApi<{ data: Webhook[] }>("/api/alerts/webhooks");
  const [url, setUrl] = useState("");
  const [format, setFormat] = useState<"json" | "slack">("json");
  const [secret, setSecret] = useState("");
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      await api("/api/alerts/webhooks", {
        method: "POST",
        body: { url: url.trim(), format, ...(secret ? { secret } : {}) },
      });
      setUrl("");
      setSecret("");
      state.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <Card title="Budget alert webhooks">
      <p className="muted small">Each budget alerts at 50, 80, 95 and 100 % of its limit, once per window.</p>
      <Async state={state}>
        {({ data }) =>
          data.length === 0 ? (
            <Empty>No webhooks.</Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <caption className="sr-only">Webhooks</caption>
                <thead>
                  <tr>
                    <th scope="col">URL</th>
                    <th scope="col">Format</th>
                    <th scope="col">Scope</th>
                    <th scope="col">Signed</th>
                    <th scope="col">State</th>
                    <th scope="col">
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.map((w) => (
                    <tr key={w.id}>
                      <td className="truncate" title={w.url}>
                        {w.url}
                      </td>
                      <td>{w.format}</td>
                      <td>{w.scopeType === "global" ? "global" : `${w.scopeType} ${w.scopeId}`}</td>
                      <td>{w.hasSecret ? "yes" : "no"}</td>
                      <td>{w.enabled ? "enabled" : "disabled"}</td>
                      <td>
                        <div className="actions">
                          <button
                            type="button"
                            className="secondary"
                            onClick={async () => {
                              await api(`/api/alerts/webhooks/${w.id}`, {
                                method: "PATCH",
                                body: { enabled: !w.enabled },
                              });
                              state.reload();
                            }}
                          >
                            {w.enabled ? "Disable" : "Enable"}
                          </button>
                          <button
                            type="button"
                            className="danger"
                            aria-label={`Delete webhook ${w.url}`}
                            onClick={async () => {
                              await api(`/api/alerts/webhooks/${w.id}`, { method: "DELETE" });
                              state.reload();
                            }}
                          >
                            Delete
                          </button>
                        </div>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Async>
      <form onSubmit={submit} aria-label="Add webhook" style={{ marginTop: "1rem" }}>
        <div className="form-row">
          <Field label="Webhook URL">
            {(id) => <input id={id} type="url" required value={url} onChange={(e) => setUrl(e.target.value)} />}
          </Field>
          <Field label="Format">
            {(id) => (
              <select id={id} value={format} onChange={(e) => setFormat(e.target.value as "json" | "slack")}>
                <option value="json">JSON</option>
                <option value="slack">Slack</option>
              </select>
            )}
          </Field>
          <Field label="Signing secret (optional, write-only)">
            {(id) => (
              <input
                id={id}
                type="password"
                autoComplete="off"
                value={secret}
                onChange={(e) => setSecret(e.target.value)}
              />
            )}
          </Field>
        </div>
        {error && (
          <p className="error-text" role="alert">
            {error}
          </p>
        )}
        <button type="submit">Add webhook</button>
      </form>
    </Card>
  );
}

function RecentAlerts() {
  const state = useApi<{ data: Alert[] }>("/api/alerts?limit=20");
  return (
    <Card title="Recent budget alerts">
      <Async state={state}>
        {({ data }) =>
          data.length === 0 ? (
            <Empty>No alerts yet.</Empty>
          ) : (
            <ul>
              {data.map((a) => (
                <li key={a.id}>
                  {dateTime(a.createdAt)}: budget {a.budgetId} reached {a.thresholdPercent}% ({usd(a.spendUsd)} of{" "}
                  {usd(a.limitUsd)})
                </li>
              ))}
            </ul>
          )
        }
      </Async>
    </Card>
  );
}

function PriceOverrides() {
  const state = useApi<Pricing>("/api/pricing");
  const [provider, setProvider] = useState("");
  const [model, setModel] = useState("");
  const [input, setInput] = useState("");
  const [output, setOutput] = useState("");
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      await api("/api/pricing/overrides", {
        method: "POST",
        body: {
          ...(provider.trim() ? { provider: provider.trim() } : {}),
          model: model.trim(),
          ...(input.trim() ? { inputPerMTok: input.trim() } : {}),
          ...(output.trim() ? { outputPerMTok: output.trim() } : {}),
        },
      });
      setModel("");
      setInput("");
      setOutput("");
      state.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <Card title="Price overrides">
      <Async state={state}>
        {(p) => (
          <>
            <p className="muted small">
              Prices {p.version} (catalog {p.catalogVersion}).{" "}
              {p.unpriced.length > 0 ? `${p.unpriced.length} model(s) served without a known price.` : ""}
            </p>
            {p.overrides.length === 0 ? (
              <Empty>No overrides: catalog prices apply.</Empty>
            ) : (
              <div className="table-wrap">
                <table>
                  <caption className="sr-only">Price overrides</caption>
                  <thead>
                    <tr>
                      <th scope="col">Provider</th>
                      <th scope="col">Model</th>
                      <th scope="col" className="num">
                        Input $/M
                      </th>
                      <th scope="col" className="num">
                        Output $/M
                      </th>
                      <th scope="col">Source</th>
                      <th scope="col">
                        <span className="sr-only">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {p.overrides.map((o, i) => (
                      <tr key={o.id ?? `config-${i}`}>
                        <td>{o.provider ?? "any"}</td>
                        <td>{o.model}</td>
                        <td className="num">{String(o.inputPerMTok ?? "—")}</td>
                        <td className="num">{String(o.outputPerMTok ?? "—")}</td>
                        <td>{o.source}</td>
                        <td>
                          {o.id && (
                            <button
                              type="button"
                              className="danger"
                              aria-label={`Delete override ${o.model}`}
                              onClick={async () => {
                                await api(`/api/pricing/overrides/${o.id}`, { method: "DELETE" });
                                state.reload();
                              }}
                            >
                              Delete
                            </button>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </>
        )}
      </Async>
      <form onSubmit={submit} aria-label="Add price override" style={{ marginTop: "1rem" }}>
        <div className="form-row">
          <Field label="Provider (optional)">
            {(id) => <input id={id} value={provider} onChange={(e) => setProvider(e.target.value)} />}
          </Field>
          <Field label="Model or glob">
            {(id) => <input id={id} required value={model} onChange={(e) => setModel(e.target.value)} />}
          </Field>
          <Field label="Input USD per M tokens">
            {(id) => <input id={id} inputMode="decimal" value={input} onChange={(e) => setInput(e.target.value)} />}
          </Field>
          <Field label="Output USD per M tokens">
            {(id) => <input id={id} inputMode="decimal" value={output} onChange={(e) => setOutput(e.target.value)} />}
          </Field>
        </div>
        {error && (
          <p className="error-text" role="alert">
            {error}
          </p>
        )}
        <button type="submit">Add override</button>
      </form>
    </Card>
  );
}
