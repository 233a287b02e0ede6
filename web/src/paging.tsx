import { type ReactNode, useState } from "react";
import { type Loadable, useApi } from "./api.ts";
import { Async, Empty } from "./components.tsx";

/** Cursor pagination (Logs, Sessions): a stack of cursors, newest page first, and its Newer/Older buttons. */

export interface CursorPage<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Paging {
  /** The current page's cursor; undefined on the first page. */
  cursor: string | undefined;
  /** 1-based page number. */
  page: number;
  reset: () => void;
  newer: () => void;
  older: (next: string) => void;
}

/** GET `path` with `params`, `limit` and the current page's cursor. */
export function usePagedApi<T>(
  path: string,
  params: Record<string, string>,
): { state: Loadable<CursorPage<T>>; paging: Paging } {
  const [cursors, setCursors] = useState<string[]>([]);
  const q = new URLSearchParams(params);
  const cursor = cursors.at(-1);
  if (cursor) q.set("cursor", cursor);
  const state = useApi<CursorPage<T>>(`${path}?${q}`);
  const paging: Paging = {
    cursor,
    page: cursors.length + 1,
    reset: () => setCursors([]),
    newer: () => setCursors(cursors.slice(0, -1)),
    older: (next) => setCursors([...cursors, next]),
  };
  return { state, paging };
}

/** The page's rows (or `empty`), then Newer/Older (and the page number with `showPage`). */
export function PagedList<T>({
  state,
  paging,
  empty,
  showPage,
  children,
}: {
  state: Loadable<CursorPage<T>>;
  paging: Paging;
  empty: ReactNode;
  showPage?: boolean;
  children: (items: T[]) => ReactNode;
}) {
  return (
    <Async state={state}>
      {(page) =>
        page.items.length === 0 ? (
          <Empty>{empty}</Empty>
        ) : (
          <>
            {children(page.items)}
            <div className="actions" style={{ marginTop: "0.75rem" }}>
              <button type="button" className="secondary" disabled={paging.page === 1} onClick={paging.newer}>
                Newer
              </button>
              <button
                type="button"
                className="secondary"
                disabled={!page.nextCursor}
                onClick={() => page.nextCursor && paging.older(page.nextCursor)}
              >
                Older
              </button>
              {showPage && <span className="muted small">Page {paging.page}</span>}
            </div>
          </>
        )
      }
    </Async>
  );
}
