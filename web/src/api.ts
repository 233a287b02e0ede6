import { useCallback, useEffect, useRef, useState } from "react";

/** The management API from the browser: the admin token from sign-in, JSON in and out, errors as ApiError. */

const TOKEN_KEY = "tollgate.adminToken";

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY) ?? localStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string | null, remember = false): void {
  sessionStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(TOKEN_KEY);
  if (token !== null) (remember ? localStorage : sessionStorage).setItem(TOKEN_KEY, token);
}

/** Told when the API answers 401: the stored token no longer works. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

export async function api<T>(path: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<T> {
  const token = init.token ?? storedToken() ?? "";
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, {
    method: init.method ?? "GET",
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text === "" ? null : JSON.parse(text);
  } catch {
    data = null;
  }
  if (!res.ok) {
    if (res.status === 401 && init.token === undefined) onUnauthorized();
    const message =
      (data as { error?: { message?: string } } | null)?.error?.message ?? `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, message);
  }
  return data as T;
}

export interface Loadable<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/** GET `path` (null: nothing to load); keeps the last data while reloading, so live updates do not flash. */
export function useApi<T>(path: string | null): Loadable<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: path !== null });
  const [tick, setTick] = useState(0);
  const current = useRef(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: tick forces a reload of the same path
  useEffect(() => {
    if (path === null) {
      setState({ loading: false });
      return;
    }
    const id = ++current.current;
    setState((s) => ({ ...s, loading: true }));
    api<T>(path).then(
      (data) => {
        if (id === current.current) setState({ data, loading: false });
      },
      (error: Error) => {
        if (id === current.current) setState((s) => ({ ...s, error, loading: false }));
      },
    );
  }, [path, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}
