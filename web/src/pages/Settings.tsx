import { useState } from "react";
import { api, useApi } from "../api.ts";
import { Async, AsyncList, Card, Empty, Field } from "../components.tsx";
import { ErrorText, SecretField, TextField, useSubmit } from "../form.tsx";
import { dateTime, usd } from "../format.ts";
import { ACTIONS, DataTable, num, RowButton } from "../table.tsx";

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
  const { submit, error } = useSubmit(async () => {
    await api("/api/alerts/webhooks", {
      method: "POST",
      body: { url: url.trim(), format, ...(secret ? { secret } : {}) },
    });
    setUrl("");
    setSecret("");
    state.reload();
  });
  /** A row action: the API call, then the list again. */
  const act = (path: string, init: { method: string; body?: unknown }) => async () => {
    await api(path, init);
    state.reload();
  };
  return (
    <Card title="Budget alert webhooks">
      <p className="muted small">Each budget alerts at 50, 80, 95 and 100 % of its limit, once per window.</p>
      <AsyncList state={state} empty="No webhooks.">
        {(rows) => (
          <DataTable caption="Webhooks" columns={["URL", "Format", "Scope", "Signed", "State", ACTIONS]}>
            {rows.map((w) => (
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
                      onClick={act(`/api/alerts/webhooks/${w.id}`, { method: "PATCH", body: { enabled: !w.enabled } })}
                    >
                      {w.enabled ? "Disable" : "Enable"}
                    </button>
                    <RowButton
                      verb="Delete"
                      name={`webhook ${w.url}`}
                      onClick={act(`/api/alerts/webhooks/${w.id}`, { method: "DELETE" })}
                      danger
                    />
                  </div>
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </AsyncList>
      <form onSubmit={submit} aria-label="Add webhook" style={{ marginTop: "1rem" }}>
        <div className="form-row">
          <TextField label="Webhook URL" type="url" required value={url} onChange={setUrl} />
          <Field label="Format">
            {(id) => (
              <select id={id} value={format} onChange={(e) => setFormat(e.target.value as "json" | "slack")}>
                <option value="json">JSON</option>
                <option value="slack">Slack</option>
              </select>
            )}
          </Field>
          <SecretField label="Signing secret (optional, write-only)" value={secret} onChange={setSecret} />
        </div>
        <ErrorText error={error} />
        <button type="submit">Add webhook</button>
      </form>
    </Card>
  );
}

function RecentAlerts() {
  const state = useApi<{ data: Alert[] }>("/api/alerts?limit=20");
  return (
    <Card title="Recent budget alerts">
      <AsyncList state={state} empty="No alerts yet.">
        {(rows) => (
          <ul>
            {rows.map((a) => (
              <li key={a.id}>
                {dateTime(a.createdAt)}: budget {a.budgetId} reached {a.thresholdPercent}% ({usd(a.spendUsd)} of{" "}
                {usd(a.limitUsd)})
              </li>
            ))}
          </ul>
        )}
      </AsyncList>
    </Card>
  );
}

function PriceOverrides() {
  const state = useApi<Pricing>("/api/pricing");
  const [provider, setProvider] = useState("");
  const [model, setModel] = useState("");
  const [input, setInput] = useState("");
  const [output, setOutput] = useState("");
  const { submit, error } = useSubmit(async () => {
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
  });
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
              <DataTable
                caption="Price overrides"
                columns={["Provider", "Model", num("Input $/M"), num("Output $/M"), "Source", ACTIONS]}
              >
                {p.overrides.map((o, i) => (
                  <tr key={o.id ?? `config-${i}`}>
                    <td>{o.provider ?? "any"}</td>
                    <td>{o.model}</td>
                    <td className="num">{String(o.inputPerMTok ?? "—")}</td>
                    <td className="num">{String(o.outputPerMTok ?? "—")}</td>
                    <td>{o.source}</td>
                    <td>
                      {o.id && (
                        <RowButton
                          verb="Delete"
                          name={`override ${o.model}`}
                          onClick={async () => {
                            await api(`/api/pricing/overrides/${o.id}`, { method: "DELETE" });
                            state.reload();
                          }}
                          danger
                        />
                      )}
                    </td>
                  </tr>
                ))}
              </DataTable>
            )}
          </>
        )}
      </Async>
      <form onSubmit={submit} aria-label="Add price override" style={{ marginTop: "1rem" }}>
        <div className="form-row">
          <TextField label="Provider (optional)" value={provider} onChange={setProvider} />
          <TextField label="Model or glob" required value={model} onChange={setModel} />
          <TextField label="Input USD per M tokens" inputMode="decimal" value={input} onChange={setInput} />
          <TextField label="Output USD per M tokens" inputMode="decimal" value={output} onChange={setOutput} />
        </div>
        <ErrorText error={error} />
        <button type="submit">Add override</button>
      </form>
    </Card>
  );
}
