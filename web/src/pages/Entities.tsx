import { useState } from "react";
import { api } from "../api.ts";
import { type BudgetDraft, BudgetFields } from "../budget-form.tsx";
import { Dialog } from "../components.tsx";
import { ConfirmDialog } from "../dialogs.tsx";
import { ErrorText, NameSelect, TextField, useSubmit } from "../form.tsx";
import { dateTime } from "../format.ts";
import { useNames } from "../names.tsx";
import { BudgetsCell, OwnerEditDialog, useOwnerList } from "../owner-budgets.tsx";
import { ACTIONS, ActionsCell, ListCard, RowButton } from "../table.tsx";

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
  const { list, budgets, refresh } = useOwnerList<Entity>(`/api/${kind}?limit=1000`, SINGULAR[kind]);
  const names = useNames();
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Entity | null>(null);
  const [deleting, setDeleting] = useState<Entity | null>(null);
  const singular = SINGULAR[kind];
  return (
    <div className="stack">
      <ListCard
        title={`${singular[0]?.toUpperCase()}${singular.slice(1)}s`}
        action={`New ${singular}`}
        onAction={() => setCreating(true)}
        state={list}
        empty={`No ${kind} yet.`}
        caption={kind}
        columns={[
          "Name",
          kind === "developers" && "Email",
          kind === "developers" && "Team",
          kind === "teams" && "Customer",
          "Budgets",
          "Created",
          ACTIONS,
        ]}
      >
        {(e) => (
          <tr key={e.id} data-entity-name={e.name}>
            <td>{e.name}</td>
            {kind === "developers" && <td>{e.email ?? "—"}</td>}
            {kind === "developers" && <td>{names.name("team", e.teamId)}</td>}
            {kind === "teams" && <td>{names.name("customer", e.customerId)}</td>}
            <BudgetsCell budgets={budgets.of(e.id)} />
            <td>{dateTime(e.createdAt)}</td>
            <ActionsCell>
              <RowButton verb="Edit" name={e.name} onClick={() => setEditing(e)} />
              <RowButton verb="Delete" name={e.name} onClick={() => setDeleting(e)} danger />
            </ActionsCell>
          </tr>
        )}
      </ListCard>
      <Dialog title={`New ${singular}`} open={creating} onClose={() => setCreating(false)}>
        <EntityForm
          kind={kind}
          onDone={() => {
            setCreating(false);
            refresh();
          }}
        />
      </Dialog>
      <OwnerEditDialog
        target={editing}
        scopeType={singular}
        onClose={() => setEditing(null)}
        onDone={refresh}
        onBudgetsChange={budgets.reload}
      >
        {(entity, done) => <EntityForm kind={kind} entity={entity} onDone={done} />}
      </OwnerEditDialog>
      <ConfirmDialog
        verb="Delete"
        target={deleting}
        text={`Deletes the ${singular}. One that still owns keys or members is refused.`}
        action={`Delete ${singular}`}
        run={(e) => api(`/api/${kind}/${e.id}`, { method: "DELETE" })}
        onClose={() => setDeleting(null)}
        onDone={refresh}
      />
    </div>
  );
}

function EntityForm({ kind, entity, onDone }: { kind: Kind; entity?: Entity; onDone: () => void }) {
  const [name, setName] = useState(entity?.name ?? "");
  const [email, setEmail] = useState(entity?.email ?? "");
  const [teamId, setTeamId] = useState(entity?.teamId ?? "");
  const [customerId, setCustomerId] = useState(entity?.customerId ?? "");
  const [budget, setBudget] = useState<BudgetDraft>({ limitUsd: "", period: "1mo" });
  const { submit, error, busy } = useSubmit(async () => {
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
        body: { scopeType: SINGULAR[kind], scopeId: saved.id, limitUsd: budget.limitUsd.trim(), period: budget.period },
      });
    }
    onDone();
  });
  return (
    <form onSubmit={submit} aria-label={entity ? `Edit ${entity.name}` : `New ${SINGULAR[kind]}`}>
      <TextField label="Name" required value={name} onChange={setName} />
      {kind === "developers" && (
        <>
          <TextField label="Email (optional)" type="email" value={email} onChange={setEmail} />
          <NameSelect label="Team" kind="team" value={teamId} onChange={setTeamId} />
        </>
      )}
      {kind === "teams" && <NameSelect label="Customer" kind="customer" value={customerId} onChange={setCustomerId} />}
      {!entity && <BudgetFields value={budget} onChange={setBudget} />}
      <ErrorText error={error} />
      <button type="submit" disabled={busy}>
        {entity ? "Save" : `Create ${SINGULAR[kind]}`}
      </button>
    </form>
  );
}
