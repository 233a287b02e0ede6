import { type FormEvent, useMemo, useState } from "react";
import {
  AGENT_LABELS,
  AGENTS,
  type AgentName,
  cursorInstructions,
  wireAgent,
  wiringAsShell,
} from "../../../src/shared/agent-wiring.ts";
import { api, type Page, useApi } from "../api.ts";
import { BudgetEditor } from "../budget-editor.tsx";
import { type BudgetDraft, BudgetFields, listOrNull } from "../budget-form.tsx";
import {
  BudgetBar,
  type BudgetStanding,
  Card,
  CopyButton,
  Dialog,
  Empty,
  ErrorBox,
  Field,
  Loading,
} from "../components.tsx";
import { dateTime } from "../format.ts";
import { useNames } from "../names.tsx";
import type { VirtualKey } from "../types.ts";

type SetupTab = AgentName | "cursor";
const TABS: SetupTab[] = [...AGENTS, "cursor"];
const TAB_LABELS: Record<SetupTab, string> = { ...AGENT_LABELS, cursor: "Cursor" };

/** The copy-paste set-up for each agent: the same text `tollgate launch <agent> --print-env` and `tollgate setup` print. */
export function setupSnippet(tab: SetupTab, key: string, gatewayUrl = location.origin): string {
  if (tab === "cursor") return cursorInstructions({ gatewayUrl, key });
  return wiringAsShell(wireAgent(tab, { gatewayUrl, key }));
}

export function NewSecret({ secret, name }: { secret: string; name: string }) {
  const [tab, setTab] = useState<SetupTab>("claude");
  const snippet = setupSnippet(tab, secret);
  return (
    <div>
      <p>
        <strong>Copy this key now</strong>: Tollgate keeps only its hash and cannot show it again.
      </p>
      <div className="actions" style={{ marginBottom: "0.75rem" }}>
        <code data-testid="new-secret" title={`Secret of ${name}`}>
          {secret}
        </code>
        <CopyButton text={secret} label="Copy key" />
      </div>
      <h3>Set up an agent</h3>
      <div className="tabs" role="tablist" aria-label="Agent">
        {TABS.map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            id={`tab-${t}`}
            aria-selected={tab === t}
            aria-controls="setup-panel"
            onClick={() => setTab(t)}
          >
            {TAB_LABELS[t]}
          </button>
        ))}
      </div>
      <div role="tabpanel" id="setup-panel" aria-labelledby={`tab-${tab}`}>
        <pre data-testid="setup-snippet">{snippet}</pre>
        <CopyButton text={snippet} label={`Copy ${TAB_LABELS[tab]} set-up`} />
      </div>
    </div>
  );
}

interface Created {
  name: string;
  secret: string;
}

export function KeysPage() {
  const keys = useApi<Page<VirtualKey>>("/api/virtual-keys?limit=1000");
  const budgets = useApi<{ data: BudgetStanding[] }>("/api/ui/budgets?scopeType=key");
  const names = useNames();
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<VirtualKey | null>(null);
  const [revoking, setRevoking] = useState<VirtualKey | null>(null);
  const [created, setCreated] = useState<Created | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const byKey = useMemo(() => {
    const m = new Map<string, BudgetStanding[]>();
    for (const b of budgets.data?.data ?? []) m.set(b.scopeId ?? "", [...(m.get(b.scopeId ?? "") ?? []), b]);
    return m;
  }, [budgets.data]);
  const refresh = () => {
    keys.reload();
    budgets.reload();
    names.reload();
  };
  const rotate = async (k: VirtualKey) => {
    setActionError(null);
    try {
      const r = await api<{ secret: string }>(`/api/virtual-keys/${k.id}/rotate`, { method: "POST", body: {} });
      setCreated({ name: k.name, secret: r.secret });
      refresh();
    } catch (err) {
      setActionError((err as Error).message);
    }
  };
  return (
    <div className="stack">
      <Card
        title="Virtual keys"
        actions={
          <button type="button" onClick={() => setCreating(true)}>
            New key
          </button>
        }
      >
        {actionError && (
          <p className="error-text" role="alert">
            {actionError}
          </p>
        )}
        {keys.data === undefined ? (
          keys.error ? (
            <ErrorBox error={keys.error} retry={keys.reload} />
          ) : (
            <Loading />
          )
        ) : keys.data.data.length === 0 ? (
          <Empty>No keys yet. Without keys, a gateway on loopback serves anonymous requests.</Empty>
        ) : (
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Virtual keys</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Key</th>
                  <th scope="col">Status</th>
                  <th scope="col">Team</th>
                  <th scope="col">Developer</th>
                  <th scope="col">Models</th>
                  <th scope="col">Budgets</th>
                  <th scope="col">Created</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {keys.data.data.map((k) => (
                  <tr key={k.id} data-key-name={k.name}>
                    <td>{k.name}</td>
                    <td>
                      <code>{k.displayPrefix}</code>
                    </td>
                    <td>
                      <span
                        className={`badge ${k.status === "active" ? "ok" : k.status === "revoked" ? "err" : "warn"}`}
                      >
                        {k.status}
                      </span>
                    </td>
                    <td>{names.name("team", k.teamId)}</td>
                    <td>{names.name("developer", k.developerId)}</td>
                    <td className="truncate" title={k.allowedModels?.join(", ") ?? "any"}>
                      {k.allowedModels?.join(", ") ?? "any"}
                    </td>
                    <td style={{ minWidth: "14rem", whiteSpace: "normal" }}>
                      {(byKey.get(k.id) ?? []).map((b) => (
                        <BudgetBar key={b.id} b={b} />
                      ))}
                    </td>
                    <td>{dateTime(k.createdAt)}</td>
                    <td>
                      {k.status !== "revoked" && (
                        <div className="actions">
                          <button
                            type="button"
                            className="secondary"
                            onClick={() => setEditing(k)}
                            aria-label={`Edit ${k.name}`}
                          >
                            Edit
                          </button>
                          <button
                            type="button"
                            className="secondary"
                            onClick={() => rotate(k)}
                            aria-label={`Rotate ${k.name}`}
                          >
                            Rotate
                          </button>
                          <button
                            type="button"
                            className="danger"
                            onClick={() => setRevoking(k)}
                            aria-label={`Revoke ${k.name}`}
                          >
                            Revoke
                          </button>
                        </div>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      <Dialog title="New virtual key" open={creating} onClose={() => setCreating(false)}>
        <KeyForm
          onDone={(c) => {
            setCreating(false);
            setCreated(c);
            refresh();
          }}
        />
      </Dialog>
      <Dialog title={`Edit ${editing?.name ?? ""}`} open={editing !== null} onClose={() => setEditing(null)}>
        {editing && (
          <>
            <EditKey
              k={editing}
              onDone={() => {
                setEditing(null);
                refresh();
              }}
            />
            <BudgetEditor scopeType="key" scopeId={editing.id} onChange={budgets.reload} />
          </>
        )}
      </Dialog>
      <Dialog title={`Revoke ${revoking?.name ?? ""}?`} open={revoking !== null} onClose={() => setRevoking(null)}>
        {revoking && (
          <Confirm
            text="Revocation is permanent: every request with this key is refused from now on."
            action="Revoke key"
            onConfirm={async () => {
              await api(`/api/virtual-keys/${revoking.id}/revoke`, { method: "POST", body: {} });
              setRevoking(null);
              refresh();
            }}
          />
        )}
      </Dialog>
      <Dialog
        title={created ? `Key ${created.name}` : "Key"}
        open={created !== null}
        onClose={() => setCreated(null)}
        wide
      >
        {created && <NewSecret secret={created.secret} name={created.name} />}
      </Dialog>
    </div>
  );
}

export function Confirm({ text, action, onConfirm }: { text: string; action: string; onConfirm: () => Promise<void> }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <div>
      <p>{text}</p>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      <button
        type="button"
        className="danger"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await onConfirm();
          } catch (err) {
            setError((err as Error).message);
          } finally {
            setBusy(false);
          }
        }}
      >
        {action}
      </button>
    </div>
  );
}

function KeyForm({ onDone }: { onDone: (c: Created) => void }) {
  const names = useNames();
  const [name, setName] = useState("");
  const [teamId, setTeamId] = useState("");
  const [developerId, setDeveloperId] = useState("");
  const [models, setModels] = useState("");
  const [budget, setBudget] = useState<BudgetDraft>({ limitUsd: "", period: "1mo" });
  const [rpm, setRpm] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body: Record<string, unknown> = { name: name.trim() };
      if (teamId) body.teamId = teamId;
      if (developerId) body.developerId = developerId;
      const allowed = listOrNull(models);
      if (allowed) body.allowedModels = allowed;
      if (budget.limitUsd.trim() !== "") body.budgets = [{ limitUsd: budget.limitUsd.trim(), period: budget.period }];
      if (rpm.trim() !== "") body.rateLimits = [{ window: "1m", maxRequests: Number(rpm) }];
      const r = await api<{ secret: string; name: string }>("/api/virtual-keys", { method: "POST", body });
      onDone({ name: r.name, secret: r.secret });
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} aria-label="New virtual key">
      <Field label="Name">
        {(id) => <input id={id} required value={name} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <div className="form-row">
        <Field label="Team">
          {(id) => (
            <select id={id} value={teamId} onChange={(e) => setTeamId(e.target.value)}>
              <option value="">(none)</option>
              {names.lists.team.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Developer">
          {(id) => (
            <select id={id} value={developerId} onChange={(e) => setDeveloperId(e.target.value)}>
              <option value="">(none)</option>
              {names.lists.developer.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <Field
        label="Allowed models (optional)"
        hint="Names or globs, comma-separated, e.g. claude-*, gpt-5*. Empty: any model."
      >
        {(id) => <input id={id} value={models} onChange={(e) => setModels(e.target.value)} />}
      </Field>
      <BudgetFields value={budget} onChange={setBudget} />
      <Field label="Requests per minute (optional)">
        {(id) => (
          <input
            id={id}
            inputMode="numeric"
            pattern="^[1-9]\d*$"
            value={rpm}
            onChange={(e) => setRpm(e.target.value)}
          />
        )}
      </Field>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? "Creating…" : "Create key"}
      </button>
    </form>
  );
}

function EditKey({ k, onDone }: { k: VirtualKey; onDone: () => void }) {
  const [name, setName] = useState(k.name);
  const [models, setModels] = useState(k.allowedModels?.join(", ") ?? "");
  const [active, setActive] = useState(k.active);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await api(`/api/virtual-keys/${k.id}`, {
        method: "PATCH",
        body: { name: name.trim(), allowedModels: listOrNull(models), active },
      });
      onDone();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <form onSubmit={submit} aria-label={`Edit ${k.name}`}>
      <Field label="Name">
        {(id) => <input id={id} required value={name} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <Field label="Allowed models" hint="Comma-separated names or globs; empty: any model.">
        {(id) => <input id={id} value={models} onChange={(e) => setModels(e.target.value)} />}
      </Field>
      <label className="check">
        <input type="checkbox" checked={active} onChange={(e) => setActive(e.target.checked)} /> Active
      </label>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      <button type="submit">Save</button>
    </form>
  );
}
