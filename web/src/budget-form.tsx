import { Field } from "./components.tsx";

/** The optional budget and rate-limit fields of the create forms. */

export const PERIODS = [
  ["1d", "per day"],
  ["1w", "per week"],
  ["1mo", "per month"],
  ["never", "in total (never resets)"],
] as const;

export interface BudgetDraft {
  limitUsd: string;
  period: string;
}

export function BudgetFields({ value, onChange }: { value: BudgetDraft; onChange: (v: BudgetDraft) => void }) {
  return (
    <div className="form-row">
      <Field label="Budget (USD, optional)">
        {(id) => (
          <input
            id={id}
            inputMode="decimal"
            pattern="^\d+(\.\d{1,9})?$"
            placeholder="e.g. 25"
            value={value.limitUsd}
            onChange={(e) => onChange({ ...value, limitUsd: e.target.value })}
          />
        )}
      </Field>
      <Field label="Budget period">
        {(id) => (
          <select id={id} value={value.period} onChange={(e) => onChange({ ...value, period: e.target.value })}>
            {PERIODS.map(([p, label]) => (
              <option key={p} value={p}>
                {label}
              </option>
            ))}
          </select>
        )}
      </Field>
    </div>
  );
}

/** Comma- or newline-separated list → array, or null when empty (no restriction). */
export function listOrNull(text: string): string[] | null {
  const items = text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
  return items.length === 0 ? null : items;
}
