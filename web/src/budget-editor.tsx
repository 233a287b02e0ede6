import { useState } from "react";
import { api, useApi } from "./api.ts";
import { type BudgetDraft, BudgetFields } from "./budget-form.tsx";
import { type BudgetStanding, Empty, ErrorBox, Loading } from "./components.tsx";
import { usd } from "./format.ts";

/** An owner's budgets in its edit dialog: raise or lower a limit, remove one, add one. */
export function BudgetEditor({
  scopeType,
  scopeId,
  onChange,
}: {
  scopeType: string;
  scopeId: string;
  onChange: () => void;
}) {
  const state = useApi<{ data: BudgetStanding[] }>(
    `/api/ui/budgets?scopeType=${scopeType}&scopeId=${encodeURIComponent(scopeId)}`,
  );
  const [limits, setLimits] = useState<Record<string, string>>({});
  const [draft, setDraft] = useState<BudgetDraft>({ limitUsd: "", period: "1mo" });
  const [error, setError] = useState<string | null>(null);
  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      state.reload();
      onChange();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  if (state.data === undefined)
    return state.error ? <ErrorBox error={state.error} retry={state.reload} /> : <Loading />;
  return (
    <div>
      <h3>Budgets</h3>
      {state.data.data.length === 0 && <Empty>No budgets.</Empty>}
      {state.data.data.map((b) => {
        const label = `${b.name ?? `${b.period} budget`} limit (USD)`;
        return (
          <div className="form-row" key={b.id}>
            <div className="field">
              <label htmlFor={`limit-${b.id}`}>{label}</label>
              <input
                id={`limit-${b.id}`}
                inputMode="decimal"
                value={limits[b.id] ?? String(Number(b.limitUsd))}
                onChange={(e) => setLimits({ ...limits, [b.id]: e.target.value })}
              />
              <div className="muted small">spent {usd(b.spentUsd)} this window</div>
            </div>
            <div className="actions field">
              <button
                type="button"
                className="secondary"
                onClick={() =>
                  act(() =>
                    api(`/api/budgets/${b.id}`, {
                      method: "PATCH",
                      body: { limitUsd: (limits[b.id] ?? b.limitUsd).trim() },
                    }),
                  )
                }
              >
                Save limit
              </button>
              <button
                type="button"
                className="danger"
                aria-label={`Remove ${b.period} budget`}
                onClick={() => act(() => api(`/api/budgets/${b.id}`, { method: "DELETE" }))}
              >
                Remove
              </button>
            </div>
          </div>
        );
      })}
      <BudgetFields value={draft} onChange={setDraft} />
      <button
        type="button"
        className="secondary"
        disabled={draft.limitUsd.trim() === ""}
        onClick={() =>
          act(async () => {
            await api("/api/budgets", {
              method: "POST",
              body: { scopeType, scopeId, limitUsd: draft.limitUsd.trim(), period: draft.period },
            });
            setDraft({ limitUsd: "", period: draft.period });
          })
        }
      >
        Add budget
      </button>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
