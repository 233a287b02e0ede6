import { type ReactNode, useMemo } from "react";
import { type Page, useApi } from "./api.ts";
import { BudgetEditor } from "./budget-editor.tsx";
import { BudgetBar, type BudgetStanding } from "./components.tsx";
import { TargetDialog } from "./dialogs.tsx";
import { useNames } from "./names.tsx";

/** The budgets of every owner of one kind (key, developer, team, customer), for the Budgets column of a list. */
export function useOwnerBudgets(scopeType: string): { of: (ownerId: string) => BudgetStanding[]; reload: () => void } {
  const budgets = useApi<{ data: BudgetStanding[] }>(`/api/ui/budgets?scopeType=${scopeType}`);
  const byOwner = useMemo(() => {
    const m = new Map<string, BudgetStanding[]>();
    for (const b of budgets.data?.data ?? []) m.set(b.scopeId ?? "", [...(m.get(b.scopeId ?? "") ?? []), b]);
    return m;
  }, [budgets.data]);
  return { of: (id) => byOwner.get(id) ?? [], reload: budgets.reload };
}

export function BudgetsCell({ budgets }: { budgets: BudgetStanding[] }) {
  return (
    <td style={{ minWidth: "14rem", whiteSpace: "normal" }}>
      {budgets.map((b) => (
        <BudgetBar key={b.id} b={b} />
      ))}
    </td>
  );
}

/** The edit dialog of a budget owner: its own form (from `children`, see TargetDialog), then its budgets. */
export function OwnerEditDialog<T extends { id: string; name: string }>({
  target,
  scopeType,
  onClose,
  onDone,
  onBudgetsChange,
  children,
}: {
  target: T | null;
  scopeType: string;
  onClose: () => void;
  onDone: () => void;
  onBudgetsChange: () => void;
  children: (target: T, done: () => void) => ReactNode;
}) {
  return (
    <TargetDialog title={`Edit ${target?.name ?? ""}`} target={target} onClose={onClose} onDone={onDone}>
      {(t, done) => (
        <>
          {children(t, done)}
          <BudgetEditor scopeType={scopeType} scopeId={t.id} onChange={onBudgetsChange} />
        </>
      )}
    </TargetDialog>
  );
}

/** A page's list of budget owners and their budgets; `refresh` reloads both and the id → name lookup. */
export function useOwnerList<T>(path: string, scopeType: string) {
  const list = useApi<Page<T>>(path);
  const budgets = useOwnerBudgets(scopeType);
  const names = useNames();
  const refresh = () => {
    list.reload();
    budgets.reload();
    names.reload();
  };
  return { list, budgets, refresh };
}
