import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { api, type Page } from "./api.ts";

/** Id → name for keys, developers, teams and customers (the analytics APIs answer ids). */

export interface Named {
  id: string;
  name: string;
}

interface NamesValue {
  name: (kind: "key" | "developer" | "team" | "customer", id: string | null | undefined) => string;
  lists: Record<"key" | "developer" | "team" | "customer", Named[]>;
  reload: () => void;
}

const EMPTY = { key: [], developer: [], team: [], customer: [] };
const NamesContext = createContext<NamesValue>({ name: (_k, id) => id ?? "—", lists: EMPTY, reload: () => {} });

const PATHS = {
  key: "/api/virtual-keys?limit=1000",
  developer: "/api/developers?limit=1000",
  team: "/api/teams?limit=1000",
  customer: "/api/customers?limit=1000",
} as const;

export function NamesProvider({ children }: { children: ReactNode }) {
  const [lists, setLists] = useState<NamesValue["lists"]>(EMPTY);
  const [tick, setTick] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: tick reloads
  useEffect(() => {
    let live = true;
    const kinds = Object.keys(PATHS) as (keyof typeof PATHS)[];
    Promise.all(kinds.map((k) => api<Page<Named>>(PATHS[k]).catch(() => ({ data: [], nextCursor: null })))).then(
      (pages) => {
        if (live) setLists(Object.fromEntries(kinds.map((k, i) => [k, pages[i]?.data ?? []])) as NamesValue["lists"]);
      },
    );
    return () => {
      live = false;
    };
  }, [tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const value = useMemo<NamesValue>(() => {
    const maps = Object.fromEntries(
      Object.entries(lists).map(([k, list]) => [k, new Map(list.map((e) => [e.id, e.name]))]),
    ) as Record<keyof typeof PATHS, Map<string, string>>;
    return { lists, reload, name: (kind, id) => (id ? (maps[kind].get(id) ?? id) : "—") };
  }, [lists, reload]);
  return <NamesContext.Provider value={value}>{children}</NamesContext.Provider>;
}

export function useNames(): NamesValue {
  return useContext(NamesContext);
}
