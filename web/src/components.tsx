import { type ReactNode, useEffect, useId, useRef, useState } from "react";
import { useApi } from "./api.ts";
import { usd } from "./format.ts";

/** Shared pieces: loading, empty and error states, cards, dialogs, the copy button, budget bars. */

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="state" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function ErrorBox({ error, retry }: { error: Error; retry?: () => void }) {
  return (
    <div className="state error" role="alert">
      <strong>Could not load:</strong> {error.message}
      {retry && (
        <button type="button" className="link" onClick={retry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="state empty">{children}</div>;
}

/** Data, or the loading/error state in its place (keeps stale data shown while it reloads). */
export function Async<T>({
  state,
  children,
  label,
}: {
  state: { data: T | undefined; error: Error | undefined; loading: boolean; reload: () => void };
  children: (data: T) => ReactNode;
  label?: string;
}) {
  if (state.data !== undefined) return <>{children(state.data)}</>;
  if (state.error) return <ErrorBox error={state.error} retry={state.reload} />;
  return <Loading {...(label ? { label } : {})} />;
}

/** A loaded list: `empty` when it has no rows, else what `children` makes of them. */
export function AsyncList<T>({
  state,
  empty,
  children,
}: {
  state: { data: { data: T[] } | undefined; error: Error | undefined; loading: boolean; reload: () => void };
  empty: ReactNode;
  children: (rows: T[]) => ReactNode;
}) {
  return <Async state={state}>{({ data }) => (data.length === 0 ? <Empty>{empty}</Empty> : children(data))}</Async>;
}

/** One record's page: the links back above it, then the record (or its loading/error state). */
export function DetailView<T>({
  path,
  links,
  children,
}: {
  path: string;
  links: ReactNode;
  children: (data: T) => ReactNode;
}) {
  const state = useApi<T>(path);
  return (
    <div className="stack">
      <p>{links}</p>
      <Async state={state}>{children}</Async>
    </div>
  );
}

export function Card({
  title,
  children,
  actions,
  className,
}: {
  title?: string;
  children: ReactNode;
  actions?: ReactNode;
  className?: string;
}) {
  const id = useId();
  return (
    <section className={`card ${className ?? ""}`} aria-labelledby={title ? id : undefined}>
      {(title || actions) && (
        <div className="card-head">
          {title && <h2 id={id}>{title}</h2>}
          {actions && <div className="actions">{actions}</div>}
        </div>
      )}
      {children}
    </section>
  );
}

/** A modal on the native <dialog> (focus trap, Escape to close). */
export function Dialog({
  title,
  open,
  onClose,
  children,
  wide,
}: {
  title: string;
  open: boolean;
  onClose: () => void;
  children: ReactNode;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} className={wide ? "wide" : ""} aria-labelledby={id} onClose={onClose}>
      <div className="dialog-head">
        <h2 id={id}>{title}</h2>
        <button type="button" className="icon" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </div>
      {open && children}
    </dialog>
  );
}

/** The Clipboard API where the page is a secure context (https, localhost); else the older selection copy. */
async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Refused: try the fallback.
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.append(area);
  area.select();
  try {
    return document.execCommand("copy");
  } catch {
    return false;
  } finally {
    area.remove();
  }
}

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [done, setDone] = useState<boolean | null>(null);
  return (
    <button
      type="button"
      className="secondary"
      aria-live="polite"
      onClick={async () => {
        setDone(await copyText(text));
        setTimeout(() => setDone(null), 1500);
      }}
    >
      {done === null ? label : done ? "Copied" : "Select and copy the text"}
    </button>
  );
}

export interface BudgetStanding {
  id: string;
  name: string | null;
  scopeType: string;
  scopeId: string | null;
  scopeName: string | null;
  provider: string | null;
  model: string | null;
  period: string;
  mode: string;
  limitUsd: string;
  spentUsd: string;
  usedFraction: number;
  resetsAt: string | null;
  forecast: { projectedExhaustionAt: string | null; spendRateUsdPerHour: string; exhausted: boolean };
}

export function BudgetBar({ b }: { b: BudgetStanding }) {
  const pct = Math.min(100, Math.round(b.usedFraction * 1000) / 10);
  const level = pct >= 95 ? "crit" : pct >= 80 ? "warn" : "ok";
  const label = `${b.name ?? `${b.period} budget`}: ${usd(b.spentUsd)} of ${usd(b.limitUsd)}`;
  return (
    <div className="budget">
      <div className="budget-line">
        <span>{b.name ?? `${b.period} budget`}</span>
        <span>
          {usd(b.spentUsd)} / {usd(b.limitUsd)}
        </span>
      </div>
      <div
        className={`bar ${level}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
      >
        <div style={{ width: `${pct}%` }} />
      </div>
      <div className="muted small">
        {b.resetsAt ? `Resets ${new Date(b.resetsAt).toLocaleString()}` : "Never resets"}
        {b.forecast.exhausted
          ? " · exhausted"
          : b.forecast.projectedExhaustionAt
            ? ` · runs out ~${new Date(b.forecast.projectedExhaustionAt).toLocaleString()}`
            : ""}
      </div>
    </div>
  );
}

/** A labelled form field. */
export function Field({
  label,
  children,
  hint,
}: {
  label: string;
  children: (id: string) => ReactNode;
  hint?: string;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(id)}
      {hint && <div className="muted small">{hint}</div>}
    </div>
  );
}
