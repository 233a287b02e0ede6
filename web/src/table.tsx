import type { ReactNode } from "react";
import type { Loadable } from "./api.ts";
import { AsyncList, Card } from "./components.tsx";

/** The scrolling table every list uses: a screen-reader caption, a header row of column names, the body rows. */

export type Column = string | { label: string; num?: boolean; hidden?: boolean };

/** A right-aligned (numeric) column. */
export const num = (label: string): Column => ({ label, num: true });
/** The row-buttons column: named for screen readers only. */
export const ACTIONS: Column = { label: "Actions", hidden: true };

export function DataTable({
  caption,
  columns,
  children,
}: {
  caption?: ReactNode;
  /** `false` leaves a column out (for columns shown only for some kinds of row). */
  columns: (Column | false)[];
  children: ReactNode;
}) {
  return (
    <div className="table-wrap">
      <table>
        {caption !== undefined && <caption className="sr-only">{caption}</caption>}
        <thead>
          <tr>
            {columns.map((c) => {
              if (c === false) return null;
              const col = typeof c === "string" ? { label: c } : c;
              return (
                <th key={col.label} scope="col" className={col.num ? "num" : undefined}>
                  {col.hidden ? <span className="sr-only">{col.label}</span> : col.label}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** A row's action button, named with the row (`Edit alice`) for screen readers and tests. */
export function RowButton({
  verb,
  name,
  onClick,
  danger,
  children,
}: {
  verb: string;
  name: string;
  onClick: () => void;
  danger?: boolean;
  /** The visible text when it is not the verb. */
  children?: ReactNode;
}) {
  return (
    <button type="button" className={danger ? "danger" : "secondary"} onClick={onClick} aria-label={`${verb} ${name}`}>
      {children ?? verb}
    </button>
  );
}

/** The row-buttons cell; `show={false}` leaves it empty (rows that cannot be changed). */
export function ActionsCell({ show = true, children }: { show?: boolean; children: ReactNode }) {
  return <td>{show && <div className="actions">{children}</div>}</td>;
}

/** A page's main list: a card titled `title` with one button (`action`), the rows as a table, or `empty`. */
export function ListCard<T>({
  title,
  action,
  onAction,
  notice,
  state,
  empty,
  caption,
  columns,
  sort,
  children,
}: {
  title: string;
  action: string;
  onAction: () => void;
  /** Shown above the list (an action's error). */
  notice?: ReactNode;
  state: Loadable<{ data: T[] }>;
  empty: ReactNode;
  caption: ReactNode;
  columns: (Column | false)[];
  sort?: (a: T, b: T) => number;
  /** One `<tr>` per row. */
  children: (row: T) => ReactNode;
}) {
  return (
    <Card
      title={title}
      actions={
        <button type="button" onClick={onAction}>
          {action}
        </button>
      }
    >
      {notice}
      <AsyncList state={state} empty={empty}>
        {(rows) => (
          <DataTable caption={caption} columns={columns}>
            {(sort ? [...rows].sort(sort) : rows).map(children)}
          </DataTable>
        )}
      </AsyncList>
    </Card>
  );
}
