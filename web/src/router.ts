import { useEffect, useState } from "react";

/** Hash routes (`#/logs?session=abc`, `#/logs/<id>`): no server route can be shadowed by a page's path. */

export interface Route {
  page: string;
  id: string | null;
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, "");
  const [path = "", search = ""] = raw.split("?", 2);
  const [page = "", ...rest] = path.split("/");
  return {
    page: page === "" ? "overview" : page,
    id: rest.length > 0 ? decodeURIComponent(rest.join("/")) : null,
    query: new URLSearchParams(search),
  };
}

export function href(page: string, id?: string | null, query?: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== "") q.set(k, v);
  const qs = q.toString();
  return `#/${page}${id ? `/${encodeURIComponent(id)}` : ""}${qs ? `?${qs}` : ""}`;
}

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, "", to);
  else location.hash = to.slice(1);
  if (replace) window.dispatchEvent(new HashChangeEvent("hashchange"));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}
