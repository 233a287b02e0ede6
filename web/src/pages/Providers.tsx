import { useState } from "react";
import { api, useApi } from "../api.ts";
import { AsyncList, Card, Dialog, Field } from "../components.tsx";
import { TargetDialog } from "../dialogs.tsx";
import { ErrorText, SecretField, TextField, useSubmit } from "../form.tsx";
import { duration, percent } from "../format.ts";
import { ACTIONS, DataTable, num, RowButton } from "../table.tsx";

interface KeyHealth {
  id: string;
  state: "ok" | "cooling" | "flagged";
  reason?: string;
  ewmaLatencyMs: number | null;
  errorRate: number;
  requests: number;
}

interface Provider {
  name: string;
  kind: string;
  baseUrl: string;
  models: string[];
  source: string;
  preset: string | null;
  keyOptional: boolean;
  keys: { id: string; label: string | null; fingerprint: string; source: string; disabled: boolean }[];
  health?: { circuit: string; openUntil: number | null; keys: KeyHealth[] };
}

interface TestResult {
  ok: boolean;
  status?: number | null;
  latencyMs?: number;
  error?: string;
}

export function ProvidersPage() {
  const state = useApi<{ data: Provider[] }>("/api/providers");
  const [adding, setAdding] = useState(false);
  const [addingKey, setAddingKey] = useState<string | null>(null);
  const [results, setResults] = useState<Record<string, TestResult | "running">>({});
  const test = async (id: string, path: string) => {
    setResults((r) => ({ ...r, [id]: "running" }));
    try {
      const result = await api<TestResult>(path, { method: "POST", body: {} });
      setResults((r) => ({ ...r, [id]: result }));
    } catch (err) {
      setResults((r) => ({ ...r, [id]: { ok: false, error: (err as Error).message } }));
    }
  };
  const showResult = (id: string) => {
    const r = results[id];
    if (r === undefined) return null;
    if (r === "running")
      return (
        <span className="muted" role="status">
          Testing…
        </span>
      );
    return (
      <span role="status" className={`badge ${r.ok ? "ok" : "err"}`}>
        {r.ok ? `OK ${duration(r.latencyMs ?? null)}` : `Failed${r.status ? ` (${r.status})` : ""}: ${r.error ?? ""}`}
      </span>
    );
  };
  return (
    <div className="stack">
      <div className="actions">
        <button type="button" onClick={() => setAdding(true)}>
          Add provider
        </button>
      </div>
      <AsyncList state={state} empty="No providers: set ANTHROPIC_API_KEY, OPENAI_API_KEY … or add one here.">
        {(rows) =>
          rows.map((p) => (
            <Card
              key={p.name}
              title={p.name}
              actions={
                <>
                  {showResult(p.name)}
                  <button
                    type="button"
                    className="secondary"
                    onClick={() => test(p.name, `/api/providers/${p.name}/test`)}
                  >
                    Test {p.name}
                  </button>
                  <button type="button" className="secondary" onClick={() => setAddingKey(p.name)}>
                    Add key to {p.name}
                  </button>
                </>
              }
            >
              <dl className="kv">
                <dt>Kind</dt>
                <dd>
                  {p.kind}
                  {p.preset ? ` (preset ${p.preset})` : ""} · from {p.source}
                </dd>
                <dt>Base URL</dt>
                <dd>
                  <code>{p.baseUrl}</code>
                </dd>
                <dt>Health</dt>
                <dd>{p.health ? `circuit ${p.health.circuit}` : "—"}</dd>
                {p.models.length > 0 && (
                  <>
                    <dt>Models</dt>
                    <dd>{p.models.join(", ")}</dd>
                  </>
                )}
              </dl>
              {p.keys.length === 0 ? (
                <p className="muted">{p.keyOptional ? "No key needed." : "No API key."}</p>
              ) : (
                <DataTable
                  caption={`API keys of ${p.name}`}
                  columns={["Key", "Source", "State", num("Latency"), num("Errors"), ACTIONS]}
                >
                  {p.keys.map((k) => {
                    const h = p.health?.keys.find((x) => x.id === k.id);
                    const rid = `${p.name}/${k.id}`;
                    return (
                      <tr key={k.id}>
                        <td>
                          {k.label ?? k.id} <code className="muted">{k.fingerprint}</code>
                        </td>
                        <td>{k.source}</td>
                        <td>
                          {k.disabled ? "disabled" : (h?.state ?? "ok")}
                          {h?.reason ? ` (${h.reason})` : ""}
                        </td>
                        <td className="num">{duration(h?.ewmaLatencyMs ?? null)}</td>
                        <td className="num">{h ? percent(h.errorRate) : "—"}</td>
                        <td>
                          <div className="actions">
                            {showResult(rid)}
                            <RowButton
                              verb="Test"
                              name={`key ${k.label ?? k.id}`}
                              onClick={() => test(rid, `/api/providers/${p.name}/keys/${k.id}/test`)}
                            />
                            {k.source === "api" && (
                              <button
                                type="button"
                                className="secondary"
                                onClick={async () => {
                                  await api(`/api/providers/${p.name}/keys/${k.id}`, {
                                    method: "PATCH",
                                    body: { disabled: !k.disabled },
                                  });
                                  state.reload();
                                }}
                              >
                                {k.disabled ? "Enable" : "Disable"}
                              </button>
                            )}
                          </div>
                        </td>
                      </tr>
                    );
                  })}
                </DataTable>
              )}
            </Card>
          ))
        }
      </AsyncList>
      <Dialog title="Add provider" open={adding} onClose={() => setAdding(false)}>
        <ProviderForm
          onDone={() => {
            setAdding(false);
            state.reload();
          }}
        />
      </Dialog>
      <TargetDialog
        title={`Add a key to ${addingKey ?? ""}`}
        target={addingKey}
        onClose={() => setAddingKey(null)}
        onDone={state.reload}
      >
        {(provider, done) => <KeyForm provider={provider} onDone={done} />}
      </TargetDialog>
    </div>
  );
}

function ProviderForm({ onDone }: { onDone: () => void }) {
  const [name, setName] = useState("");
  const [kind, setKind] = useState("");
  const [baseUrl, setBaseUrl] = useState("");
  const [key, setKey] = useState("");
  const { submit, error } = useSubmit(async () => {
    const body: Record<string, unknown> = { name: name.trim() };
    if (kind) body.kind = kind;
    if (baseUrl.trim()) body.baseUrl = baseUrl.trim();
    if (key) body.apiKeys = [{ key }];
    await api("/api/providers", { method: "POST", body });
    onDone();
  });
  return (
    <form onSubmit={submit} aria-label="Add provider">
      <TextField
        label="Name"
        hint="A preset name (anthropic, openai, groq, openrouter …) or your own with a kind and base URL."
        required
        value={name}
        onChange={setName}
      />
      <div className="form-row">
        <Field label="Kind">
          {(id) => (
            <select id={id} value={kind} onChange={(e) => setKind(e.target.value)}>
              <option value="">(from the preset)</option>
              <option value="openai">OpenAI-compatible</option>
              <option value="anthropic">Anthropic</option>
              <option value="gemini">Gemini</option>
            </select>
          )}
        </Field>
        <TextField label="Base URL" type="url" value={baseUrl} onChange={setBaseUrl} />
      </div>
      <SecretField label="API key (write-only)" value={key} onChange={setKey} />
      <ErrorText error={error} />
      <button type="submit">Add provider</button>
    </form>
  );
}

function KeyForm({ provider, onDone }: { provider: string; onDone: () => void }) {
  const [key, setKey] = useState("");
  const [label, setLabel] = useState("");
  const { submit, error } = useSubmit(async () => {
    await api(`/api/providers/${provider}/keys`, {
      method: "POST",
      body: { key, ...(label.trim() ? { label: label.trim() } : {}) },
    });
    onDone();
  });
  return (
    <form onSubmit={submit} aria-label={`Add a key to ${provider}`}>
      <SecretField label="API key (write-only: never shown again)" required value={key} onChange={setKey} />
      <TextField label="Label (optional)" value={label} onChange={setLabel} />
      <ErrorText error={error} />
      <button type="submit">Add key</button>
    </form>
  );
}
