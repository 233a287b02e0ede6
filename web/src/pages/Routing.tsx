import { useEffect, useState } from "react";
import { api, useApi } from "../api.ts";
import { Card, Field } from "../components.tsx";
import { ConfirmDialog, TargetDialog } from "../dialogs.tsx";
import { Check, ErrorText, NameSelect, TextField, useSubmit } from "../form.tsx";
import { ACTIONS, ActionsCell, ListCard, num, RowButton } from "../table.tsx";
import type { RoutingRule } from "../types.ts";

/** Routing rules: list, create/edit with CEL validation as you type, and the explain dry-run. */

type Target = RoutingRule["targets"][number];
type Fallback = RoutingRule["fallbacks"][number];

const targetText = (t: { provider: string | null; model: string; key: string | null }, weight?: number) =>
  `${t.provider ? `${t.provider}/` : ""}${t.model}${t.key ? ` key=${t.key}` : ""}${weight !== undefined && weight !== 1 ? ` weight=${weight}` : ""}`;

/** One target per line: `provider/model [key=<id>] [weight=<n>]`. */
function parseTargets(text: string): Target[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .map((line) => {
      const [spec = "", ...opts] = line.split(/\s+/);
      const slash = spec.indexOf("/");
      const provider = slash > 0 ? spec.slice(0, slash) : null;
      const model = slash > 0 ? spec.slice(slash + 1) : spec;
      const opt = (name: string) => opts.find((o) => o.startsWith(`${name}=`))?.slice(name.length + 1) ?? null;
      return { provider, model, key: opt("key"), weight: Number(opt("weight") ?? 1) };
    });
}

export function RoutingPage() {
  const state = useApi<{ data: RoutingRule[] }>("/api/routing-rules");
  const [editing, setEditing] = useState<RoutingRule | "new" | null>(null);
  const [deleting, setDeleting] = useState<RoutingRule | null>(null);
  return (
    <div className="stack">
      <ListCard
        title="Rules (highest priority first)"
        action="New rule"
        onAction={() => setEditing("new")}
        state={state}
        empty="No routing rules: every request goes to the model it names."
        caption="Routing rules"
        columns={[num("Priority"), "Name", "Scope", "When", "Targets", "Fallbacks", "State", ACTIONS]}
        sort={(a, b) => b.priority - a.priority}
      >
        {(r) => (
          <tr key={r.id} data-rule-name={r.name}>
            <td className="num">{r.priority}</td>
            <td>{r.name}</td>
            <td>{r.scope.type === "global" ? "global" : `${r.scope.type} ${r.scope.id}`}</td>
            <td className="truncate" title={r.expression}>
              <code>{r.expression}</code>
            </td>
            <td>{r.targets.map((t) => targetText(t, t.weight)).join(", ")}</td>
            <td>{r.fallbacks.map((t) => targetText(t)).join(", ") || "—"}</td>
            <td>
              <span className={`badge ${r.enabled ? "ok" : "warn"}`}>{r.enabled ? "enabled" : "disabled"}</span>
              {r.source === "config" ? " (config file)" : ""}
            </td>
            <ActionsCell show={r.source === "api"}>
              <RowButton verb="Edit" name={r.name} onClick={() => setEditing(r)} />
              <RowButton verb="Delete" name={r.name} onClick={() => setDeleting(r)} danger />
            </ActionsCell>
          </tr>
        )}
      </ListCard>
      <Explain />
      <TargetDialog
        title={editing === "new" ? "New routing rule" : `Edit ${editing?.name ?? ""}`}
        target={editing}
        onClose={() => setEditing(null)}
        onDone={state.reload}
        wide
      >
        {(rule, done) => <RuleForm rule={rule === "new" ? null : rule} onDone={done} />}
      </TargetDialog>
      <ConfirmDialog
        verb="Delete"
        target={deleting}
        text="Requests it matched go to the next matching rule, or to the model they name."
        action="Delete rule"
        run={(r) => api(`/api/routing-rules/${r.id}`, { method: "DELETE" })}
        onClose={() => setDeleting(null)}
        onDone={state.reload}
      />
    </div>
  );
}

function useCelValidation(expression: string): { valid: boolean | null; error: string | null } {
  const [result, setResult] = useState<{ valid: boolean | null; error: string | null }>({ valid: null, error: null });
  useEffect(() => {
    if (expression.trim() === "") {
      setResult({ valid: null, error: null });
      return;
    }
    let live = true;
    const t = setTimeout(() => {
      api<{ valid: boolean; error?: string | { message?: string } }>("/api/routing-rules/validate", {
        method: "POST",
        body: { expression },
      }).then(
        (r) => {
          const error = typeof r.error === "string" ? r.error : (r.error?.message ?? null);
          if (live) setResult({ valid: r.valid, error: r.valid ? null : error });
        },
        (err: Error) => live && setResult({ valid: false, error: err.message }),
      );
    }, 300);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [expression]);
  return result;
}

function RuleForm({ rule, onDone }: { rule: RoutingRule | null; onDone: () => void }) {
  const [name, setName] = useState(rule?.name ?? "");
  const [description, setDescription] = useState(rule?.description ?? "");
  const [priority, setPriority] = useState(String(rule?.priority ?? 0));
  const [enabled, setEnabled] = useState(rule?.enabled ?? true);
  const [scopeType, setScopeType] = useState<RoutingRule["scope"]["type"]>(rule?.scope.type ?? "global");
  const [scopeId, setScopeId] = useState(rule?.scope.id ?? "");
  const [expression, setExpression] = useState(rule?.expression ?? "true");
  const [targets, setTargets] = useState((rule?.targets ?? []).map((t) => targetText(t, t.weight)).join("\n"));
  const [fallbacks, setFallbacks] = useState((rule?.fallbacks ?? []).map((t: Fallback) => targetText(t)).join("\n"));
  const validation = useCelValidation(expression);
  const { submit, error } = useSubmit(async () => {
    const body = {
      name: name.trim(),
      description: description.trim() === "" ? null : description.trim(),
      priority: Number(priority),
      enabled,
      scope: { type: scopeType, id: scopeType === "global" ? null : scopeId.trim() },
      expression,
      targets: parseTargets(targets),
      fallbacks: parseTargets(fallbacks).map(({ weight: _w, ...f }) => f),
    };
    if (rule) await api(`/api/routing-rules/${rule.id}`, { method: "PATCH", body });
    else await api("/api/routing-rules", { method: "POST", body });
    onDone();
  });
  return (
    <form onSubmit={submit} aria-label={rule ? `Edit ${rule.name}` : "New routing rule"}>
      <div className="form-row">
        <TextField label="Name" required value={name} onChange={setName} />
        <TextField
          label="Priority (higher first)"
          type="number"
          step="1"
          required
          value={priority}
          onChange={setPriority}
        />
      </div>
      <TextField label="Description" value={description} onChange={setDescription} />
      <div className="form-row">
        <Field label="Scope">
          {(id) => (
            <select
              id={id}
              value={scopeType}
              onChange={(e) => setScopeType(e.target.value as RoutingRule["scope"]["type"])}
            >
              {["global", "customer", "team", "developer", "key"].map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          )}
        </Field>
        {scopeType !== "global" && (
          <TextField label={`${scopeType} id`} required value={scopeId} onChange={setScopeId} />
        )}
      </div>
      <Field
        label="Condition (CEL)"
        hint='e.g. model.startsWith("claude") && input_tokens > 100000 (variables: model, provider, headers, key, developer, team, customer, agent, session_id, input_tokens, has_tools, budget_used, hour, weekday)'
      >
        {(id) => (
          <textarea
            id={id}
            rows={3}
            required
            value={expression}
            aria-invalid={validation.valid === false}
            aria-describedby="cel-status"
            onChange={(e) => setExpression(e.target.value)}
          />
        )}
      </Field>
      <p
        id="cel-status"
        className={validation.valid === false ? "error-text" : "muted small"}
        role="status"
        data-testid="cel-status"
      >
        {validation.valid === null
          ? ""
          : validation.valid
            ? "Expression is valid."
            : `Invalid: ${validation.error ?? ""}`}
      </p>
      <Field label="Targets" hint="One per line: provider/model [key=<provider key id>] [weight=<n>]">
        {(id) => <textarea id={id} rows={3} required value={targets} onChange={(e) => setTargets(e.target.value)} />}
      </Field>
      <Field label="Fallbacks" hint="One per line, tried in order: provider/model [key=<id>]">
        {(id) => <textarea id={id} rows={2} value={fallbacks} onChange={(e) => setFallbacks(e.target.value)} />}
      </Field>
      <Check label="Enabled" checked={enabled} onChange={setEnabled} />
      <ErrorText error={error} />
      <button type="submit" disabled={validation.valid === false}>
        {rule ? "Save rule" : "Create rule"}
      </button>
    </form>
  );
}

interface Explanation {
  decision: { rule: { id: string; name: string } | null; target: Target | null; fallbacks: Fallback[] };
  evaluated: { id: string; name: string; scope: unknown; priority: number; matched: boolean; error?: string }[];
  variables: unknown;
}

function Explain() {
  const [model, setModel] = useState("");
  const [key, setKey] = useState("");
  const [agent, setAgent] = useState("");
  const [tokens, setTokens] = useState("");
  const [hasTools, setHasTools] = useState(false);
  const [result, setResult] = useState<Explanation | null>(null);
  const { submit, error } = useSubmit(async () => {
    const body: Record<string, unknown> = { model: model.trim() };
    if (key) body.key = key;
    if (agent.trim()) body.agent = agent.trim();
    if (tokens.trim()) body.estimated_input_tokens = Number(tokens);
    if (hasTools) body.has_tools = true;
    try {
      setResult(await api<Explanation>("/api/routing/explain", { method: "POST", body }));
    } catch (err) {
      setResult(null);
      throw err;
    }
  });
  return (
    <Card title="Explain: where would a request go?">
      <form onSubmit={submit} aria-label="Explain routing">
        <div className="form-row">
          <TextField label="Model" required value={model} onChange={setModel} />
          <NameSelect label="Virtual key" kind="key" value={key} onChange={setKey} />
          <TextField label="Agent" placeholder="claude-code" value={agent} onChange={setAgent} />
          <TextField label="Input tokens (estimate)" inputMode="numeric" value={tokens} onChange={setTokens} />
        </div>
        <Check label="Request has tools" checked={hasTools} onChange={setHasTools} />
        <button type="submit">Explain</button>
      </form>
      <ErrorText error={error} />
      {result && (
        <div data-testid="explain-result" role="status">
          <h3>Decision</h3>
          <p>
            {result.decision.rule
              ? `Rule "${result.decision.rule.name}" → ${result.decision.target ? targetText(result.decision.target) : "—"}`
              : "No rule matched: the request goes to the model it names."}
            {result.decision.fallbacks.length > 0 &&
              ` (fallbacks: ${result.decision.fallbacks.map((f) => targetText(f)).join(", ")})`}
          </p>
          <h3>Rules evaluated</h3>
          <ul>
            {result.evaluated.map((r) => (
              <li key={r.id}>
                {r.name} (priority {r.priority}): {r.matched ? "matched" : "no match"}
                {r.error ? ` — error: ${r.error}` : ""}
              </li>
            ))}
          </ul>
          <details>
            <summary>Variables</summary>
            <pre>{JSON.stringify(result.variables, null, 2)}</pre>
          </details>
        </div>
      )}
    </Card>
  );
}
