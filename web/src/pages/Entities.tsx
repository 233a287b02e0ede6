import { type FormEvent, useMemo, useState } from "react";
import { api, type Page, useApi } from "../api.ts";
import { BudgetEditor } from "../budget-editor.tsx";
import { type BudgetDraft, BudgetFields } from "../budget-form.tsx";
import { BudgetBar, type BudgetStanding, Card, Dialog, Empty, ErrorBox, Field, Loading } from "../components.tsx";
import { dateTime } from "../format.ts";
import { useNames } from "../names.tsx";
import { Confirm } from "./Keys.tsx";

/** Developers, teams and customers: one page shape, with each kind's own owner fields. */

type Kind = "developers" | "teams" | "customers";

interface Entity {
  id: string;
  name: string;
  email?: string | null;
  teamId?: string | null;
  customerId?: string | null;
  description?: string | null;
  createdAt: number;
}

const SINGULAR = { developers: "developer", teams: "team", customers: "customer" } as const;

export function EntitiesPage({ kind }: { kind: Kind }) {
  const list = useApi<Page<Entity>>(`/api/${kind}?limit=1000`);
  const budgets = useApi<{ data: BudgetStanding[] }>(`/api/ui/budgets?scopeType=${SINGULAR[kind]}`);
  const names = useNames();
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Entity | null>(null);
  const [deleting, setDeleting] = useState<Entity | null>(null);
  const byOwner = useMemo(() => {
    const m = new Map<string, BudgetStanding[]>();
    for (const b of budgets.data?.data ?? []) m.set(b.scopeId ?? "", [...(m.get(b.scopeId ?? "") ?? []), b]);
    return m;
  }, [budgets.data]);
  const refresh = () => {
    list.reload();
    budgets.reload();
    names.reload();
  };
  const singular = SINGULAR[kind];
  return (
    <div className="stack">
      <Card
        title={`${singular[0]?.toUpperCase()}${singular.slice(1)}s`}
        actions={
          <button type="button" onClick={() => setCreating(true)}>
            New {singular}
          </button>
        }
      >
        {list.data === undefined ? (
          list.error ? (
            <ErrorBox error={list.error} retry={list.reload} />
          ) : (
            <Loading />
          )
        ) : list.data.data.length === 0 ? (
          <Empty>No {kind} yet.</Empty>
        ) : (
          <div className="table-wrap">
            <table>
              <caption className="sr-only">{kind}</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  {kind === "developers" && <th scope="col">Email</th>}
                  {kind === "developers" && <th scope="col">Team</th>}
                  {kind === "teams" && <th scope="col">Customer</th>}
                  <th scope="col">Budgets</th>
                  <th scope="col">Created</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.data.data.map((e) => (
                  <tr key={e.id} data-entity-name={e.name}>
                    <td>{e.name}</td>
                    {kind === "developers" && <td>{e.email ?? "—"}</td>}
                    {kind === "developers" && <td>{names.name("team", e.teamId)}</td>}
                    {kind === "teams" && <td>{names.name("customer", e.customerId)}</td>}
                    <td style={{ minWidth: "14rem", whiteSpace: "normal" }}>
                      {(byOwner.get(e.id) ?? []).map((b) => (
                        <BudgetBar key={b.id} b={b} />
                      ))}
                    </td>
                    <td>{dateTime(e.createdAt)}</td>
                    <td>
                      <div className="actions">
                        <button
                          type="button"
                          className="secondary"
                          onClick={() => setEditing(e)}
                          aria-label={`Edit ${e.name}`}
                        >
                          Edit
                        </button>
                        <button
                          type="button"
                          className="danger"
                          onClick={() => setDeleting(e)}
                          aria-label={`Delete ${e.name}`}
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
        )}
      </Card>
      <Dialog title={`New ${singular}`} open={creating} onClose={() => setCreating(false)}>
        <EntityForm
          kind={kind}
          onDone={() => {
            setCreating(false);
            refresh();
          }}
        />
      </Dialog>
      <Dialog title={`Edit ${editing?.name ?? ""}`} open={editing !== null} onClose={() => setEditing(null)}>
        {editing && (
          <>
            <EntityForm
              kind={kind}
              entity={editing}
              onDone={() => {
                setEditing(null);
                refresh();
              }}
            />
            <BudgetEditor scopeType={SINGULAR[kind]} scopeId={editing.id} onChange={budgets.reload} />
          </>
        )}
      </Dialog>
      <Dialog title={`Delete ${deleting?.name ?? ""}?`} open={deleting !== null} onClose={() => setDeleting(null)}>
        {deleting && (
          <Confirm
            text={`Deletes the ${singular}. One that still owns keys or members is refused.`}
            action={`Delete ${singular}`}
            onConfirm={async () => {
              await api(`/api/${kind}/${deleting.id}`, { method: "DELETE" });
              setDeleting(null);
              refresh();
            }}
          />
        )}
      </Dialog>
    </div>
  );
}

function EntityForm({ kind, entity, onDone }: { kind: Kind; entity?: Entity; onDone: () => void }) {
  const names = useNames();
  const [name, setName] = useState(entity?.name ?? "");
  const [email, setEmail] = useState(entity?.email ?? "");
  const [teamId, setTeamId] = useState(entity?.teamId ?? "");
  const [customerId, setCustomerId] = useState(entity?.customerId ?? "");
  const [budget, setBudget] = useState<BudgetDraft>({ limitUsd: "", period: "1mo" });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body: Record<string, unknown> = { name: name.trim() };
      if (kind === "developers") {
        body.email = email.trim() === "" ? null : email.trim();
        body.teamId = teamId || null;
      }
      if (kind === "teams") body.customerId = customerId || null;
      const saved = entity
        ? await api<Entity>(`/api/${kind}/${entity.id}`, { method: "PATCH", body })
        : await api<Entity>(`/api/${kind}`, { method: "POST", body });
      if (budget.limitUsd.trim() !== "") {
        await api("/api/budgets", {
          method: "POST",
          body: {
            scopeType: SINGULAR[kind],
            scopeId: saved.id,
            limitUsd: budget.limitUsd.trim(),
            period: budget.period,
          },
        });
      }
      onDone();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} aria-label={entity ? `Edit ${entity.name}` : `New ${SINGULAR[kind]}`}>
      <Field label="Name">
        {(id) => <input id={id} required value={name} onChange={(e) => setName(e.target.value)} />}
      </Field>
      {kind === "developers" && (
        <>
          <Field label="Email (optional)">
            {(id) => <input id={id} type="email" value={email} onChange={(e) => setEmail(e.target.value)} />}
          </Field>
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
        </>
      )}
      {kind === "teams" && (
        <Field label="Customer">
          {(id) => (
            <select id={id} value={customerId} onChange={(e) => setCustomerId(e.target.value)}>
              <option value="">(none)</option>
              {names.lists.customer.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          )}
        </Field>
      )}
      {!entity && <BudgetFields value={budget} onChange={setBudget} />}
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {entity ? "Save" : `Create ${SINGULAR[kind]}`}
      </button>
    </form>
  );
}
