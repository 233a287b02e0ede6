import { type CSSProperties, type FormEvent, type InputHTMLAttributes, useState } from "react";
import { Field } from "./components.tsx";
import { useNames } from "./names.tsx";

/** Form pieces every page repeats: the submit/busy/error cycle, text fields, name pickers, checkboxes. */

/** Runs `action` on demand: busy meanwhile, its failure's message as `error` (cleared on the next run). */
export function useAction(action: () => Promise<void>): {
  run: () => Promise<void>;
  error: string | null;
  busy: boolean;
} {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return { run, error, busy };
}

/** A form's submit handler: no page reload, then `useAction`. */
export function useSubmit(action: () => Promise<void>): {
  submit: (e: FormEvent) => Promise<void>;
  error: string | null;
  busy: boolean;
} {
  const { run, error, busy } = useAction(action);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    return run();
  };
  return { submit, error, busy };
}

/** A failed action's message, announced to screen readers. */
export function ErrorText({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <p className="error-text" role="alert">
      {error}
    </p>
  );
}

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, "id" | "value" | "onChange">;

/** A labelled single-line input holding a string. */
export function TextField({
  label,
  hint,
  value,
  onChange,
  ...input
}: { label: string; hint?: string; value: string; onChange: (value: string) => void } & InputProps) {
  return (
    <Field label={label} {...(hint ? { hint } : {})}>
      {(id) => <input id={id} {...input} value={value} onChange={(e) => onChange(e.target.value)} />}
    </Field>
  );
}

/** A write-only secret: never autofilled unless `autoComplete` says otherwise. */
export function SecretField(props: Parameters<typeof TextField>[0]) {
  return <TextField type="password" autoComplete="off" {...props} />;
}

/** A labelled select of a key, developer, team or customer by name, with "(none)" first. */
export function NameSelect({
  label,
  kind,
  value,
  onChange,
}: {
  label: string;
  kind: "key" | "developer" | "team" | "customer";
  value: string;
  onChange: (id: string) => void;
}) {
  const names = useNames();
  return (
    <Field label={label}>
      {(id) => (
        <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
          <option value="">(none)</option>
          {names.lists[kind].map((n) => (
            <option key={n.id} value={n.id}>
              {n.name}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** A checkbox with its label text after it. */
export function Check({
  label,
  checked,
  onChange,
  disabled,
  style,
}: {
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
  disabled?: boolean;
  style?: CSSProperties;
}) {
  return (
    <label className="check" style={style}>
      <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} disabled={disabled} />{" "}
      {label}
    </label>
  );
}
