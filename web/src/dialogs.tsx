import type { ReactNode } from "react";
import { Dialog } from "./components.tsx";
import { ErrorText, useAction } from "./form.tsx";

/** Dialogs about one row: open while a row is chosen, and the confirmation of a destructive action. */

/** Open while `target` is set; `children` get `done`, which closes it and then calls `onDone` (a refresh). */
export function TargetDialog<T>({
  title,
  target,
  onClose,
  onDone,
  wide,
  children,
}: {
  title: string;
  target: T | null;
  onClose: () => void;
  onDone?: () => void;
  wide?: boolean;
  children: (target: T, done: () => void) => ReactNode;
}) {
  const done = () => {
    onClose();
    onDone?.();
  };
  return (
    <Dialog title={title} open={target !== null} onClose={onClose} {...(wide ? { wide } : {})}>
      {target !== null && children(target, done)}
    </Dialog>
  );
}

export function Confirm({ text, action, onConfirm }: { text: string; action: string; onConfirm: () => Promise<void> }) {
  const { run, error, busy } = useAction(onConfirm);
  return (
    <div>
      <p>{text}</p>
      <ErrorText error={error} />
      <button type="button" className="danger" disabled={busy} onClick={run}>
        {action}
      </button>
    </div>
  );
}

/** "<verb> <name>?" with `text` and one danger button; once `run` succeeds it closes, then `onDone` refreshes. */
export function ConfirmDialog<T extends { name: string }>({
  verb,
  target,
  text,
  action,
  run,
  onClose,
  onDone,
}: {
  verb: string;
  target: T | null;
  text: string;
  action: string;
  run: (target: T) => Promise<unknown>;
  onClose: () => void;
  onDone: () => void;
}) {
  return (
    <TargetDialog title={`${verb} ${target?.name ?? ""}?`} target={target} onClose={onClose} onDone={onDone}>
      {(t, done) => (
        <Confirm
          text={text}
          action={action}
          onConfirm={async () => {
            await run(t);
            done();
          }}
        />
      )}
    </TargetDialog>
  );
}
