import { useState } from "react";
import {
  AGENT_LABELS,
  AGENTS,
  type AgentName,
  cursorInstructions,
  wireAgent,
  wiringAsShell,
} from "../../../src/shared/agent-wiring.ts";
import { api } from "../api.ts";
import { type BudgetDraft, BudgetFields, listOrNull } from "../budget-form.tsx";
import { CopyButton, Dialog } from "../components.tsx";
import { ConfirmDialog, TargetDialog } from "../dialogs.tsx";
import { Check, ErrorText, NameSelect, TextField, useSubmit } from "../form.tsx";
import { dateTime } from "../format.ts";
import { useNames } from "../names.tsx";
import { BudgetsCell, OwnerEditDialog, useOwnerList } from "../owner-budgets.tsx";
import { ACTIONS, ActionsCell, ListCard, RowButton } from "../table.tsx";
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
  const { list: keys, budgets, refresh } = useOwnerList<VirtualKey>("/api/virtual-keys?limit=1000", "key");
  const names = useNames();
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<VirtualKey | null>(null);
  const [revoking, setRevoking] = useState<VirtualKey | null>(null);
  const [created, setCreated] = useState<Created | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
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
      <ListCard
        title="Virtual keys"
        action="New key"
        onAction={() => setCreating(true)}
        notice={<ErrorText error={actionError} />}
        state={keys}
        empty="No keys yet. Without keys, a gateway on loopback serves anonymous requests."
        caption="Virtual keys"
        columns={["Name", "Key", "Status", "Team", "Developer", "Models", "Budgets", "Created", ACTIONS]}
      >
        {(k) => (
          <tr key={k.id} data-key-name={k.name}>
            <td>{k.name}</td>
            <td>
              <code>{k.displayPrefix}</code>
            </td>
            <td>
              <span className={`badge ${k.status === "active" ? "ok" : k.status === "revoked" ? "err" : "warn"}`}>
                {k.status}
              </span>
            </td>
            <td>{names.name("team", k.teamId)}</td>
            <td>{names.name("developer", k.developerId)}</td>
            <td className="truncate" title={k.allowedModels?.join(", ") ?? "any"}>
              {k.allowedModels?.join(", ") ?? "any"}
            </td>
            <BudgetsCell budgets={budgets.of(k.id)} />
            <td>{dateTime(k.createdAt)}</td>
            <ActionsCell show={k.status !== "revoked"}>
              <RowButton verb="Edit" name={k.name} onClick={() => setEditing(k)} />
              <RowButton verb="Rotate" name={k.name} onClick={() => rotate(k)} />
              <RowButton verb="Revoke" name={k.name} onClick={() => setRevoking(k)} danger />
            </ActionsCell>
          </tr>
        )}
      </ListCard>
      <Dialog title="New virtual key" open={creating} onClose={() => setCreating(false)}>
        <KeyForm
          onDone={(c) => {
            setCreating(false);
            setCreated(c);
            refresh();
          }}
        />
      </Dialog>
      <OwnerEditDialog
        target={editing}
        scopeType="key"
        onClose={() => setEditing(null)}
        onDone={refresh}
        onBudgetsChange={budgets.reload}
      >
        {(k, done) => <EditKey k={k} onDone={done} />}
      </OwnerEditDialog>
      <ConfirmDialog
        verb="Revoke"
        target={revoking}
        text="Revocation is permanent: every request with this key is refused from now on."
        action="Revoke key"
        run={(k) => api(`/api/virtual-keys/${k.id}/revoke`, { method: "POST", body: {} })}
        onClose={() => setRevoking(null)}
        onDone={refresh}
      />
      <TargetDialog
        title={created ? `Key ${created.name}` : "Key"}
        target={created}
        onClose={() => setCreated(null)}
        wide
      >
        {(c) => <NewSecret secret={c.secret} name={c.name} />}
      </TargetDialog>
    </div>
  );
}

function KeyForm({ onDone }: { onDone: (c: Created) => void }) {
  const [name, setName] = useState("");
  const [teamId, setTeamId] = useState("");
  const [developerId, setDeveloperId] = useState("");
  const [models, setModels] = useState("");
  const [budget, setBudget] = useState<BudgetDraft>({ limitUsd: "", period: "1mo" });
  const [rpm, setRpm] = useState("");
  const { submit, error, busy } = useSubmit(async () => {
    const body: Record<string, unknown> = { name: name.trim() };
    if (teamId) body.teamId = teamId;
    if (developerId) body.developerId = developerId;
    const allowed = listOrNull(models);
    if (allowed) body.allowedModels = allowed;
    if (budget.limitUsd.trim() !== "") body.budgets = [{ limitUsd: budget.limitUsd.trim(), period: budget.period }];
    if (rpm.trim() !== "") body.rateLimits = [{ window: "1m", maxRequests: Number(rpm) }];
    const r = await api<{ secret: string; name: string }>("/api/virtual-keys", { method: "POST", body });
    onDone({ name: r.name, secret: r.secret });
  });
  return (
    <form onSubmit={submit} aria-label="New virtual key">
      <TextField label="Name" required value={name} onChange={setName} />
      <div className="form-row">
        <NameSelect label="Team" kind="team" value={teamId} onChange={setTeamId} />
        <NameSelect label="Developer" kind="developer" value={developerId} onChange={setDeveloperId} />
      </div>
      <TextField
        label="Allowed models (optional)"
        hint="Names or globs, comma-separated, e.g. claude-*, gpt-5*. Empty: any model."
        value={models}
        onChange={setModels}
      />
      <BudgetFields value={budget} onChange={setBudget} />
      <TextField
        label="Requests per minute (optional)"
        inputMode="numeric"
        pattern="^[1-9]\d*$"
        value={rpm}
        onChange={setRpm}
      />
      <ErrorText error={error} />
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
  const { submit, error } = useSubmit(async () => {
    await api(`/api/virtual-keys/${k.id}`, {
      method: "PATCH",
      body: { name: name.trim(), allowedModels: listOrNull(models), active },
    });
    onDone();
  });
  return (
    <form onSubmit={submit} aria-label={`Edit ${k.name}`}>
      <TextField label="Name" required value={name} onChange={setName} />
      <TextField
        label="Allowed models"
        hint="Comma-separated names or globs; empty: any model."
        value={models}
        onChange={setModels}
      />
      <Check label="Active" checked={active} onChange={setActive} />
      <ErrorText error={error} />
      <button type="submit">Save</button>
    </form>
  );
}
