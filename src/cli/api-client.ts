import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type Command, Option } from "commander";
import type { BudgetSpendView } from "../admin/governance-routes.ts";
import type { Budget, Customer, Developer, Page, RateLimit, Team, VirtualKey } from "../governance/entities/types.ts";
import { SpecError } from "./budget-spec.ts";
import { CliError, EXIT } from "./exit.ts";

/**
 * A small typed client for the management API (`/api`, admin token), and what every management command shares:
 * the connection options, how the token is found, and how failures end the process (1: the API or the network,
 * 2: the command line).
 */

export const DEFAULT_GATEWAY = "http://127.0.0.1:8080";

export type BudgetView = Budget & { limitUsd: string; spend: BudgetSpendView | null };
export type WithLimits<T> = T & { budgets: BudgetView[]; rateLimits: RateLimit[] };
export type KeyWithSecretView = VirtualKey & { secret: string; notice: string };
export type CreatedKey = KeyWithSecretView & { budgets: BudgetView[]; rateLimits: RateLimit[] };
export interface DeleteView {
  deleted: string;
  cascaded: { teams: string[]; virtualKeys: string[]; budgets: string[]; rateLimits: string[] };
  detached: { developers: string[] };
}
export type { Budget, Customer, Developer, Page, RateLimit, Team, VirtualKey };

/** GET /api/spend (the contract in the README's Spend section). */
export interface SpendTokens {
  input: number;
  cacheRead: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  output: number;
  reasoning: number;
}
export interface SpendFigures {
  requests: number;
  unpricedRequests: number;
  costNanoUsd: number;
  costUsd: string;
  tokens: SpendTokens;
  cacheSavingsUsd: string;
  /** Requests answered from the response cache, and what they would have cost (nano-dollars). */
  cacheHits: number;
  responseCacheSavingsNanoUsd: number;
}
export interface SpendRow extends SpendFigures {
  group: Record<string, string | null>;
}
export interface SpendReport {
  from: number;
  to: number;
  groupBy: string[];
  data: SpendRow[];
  totals: SpendFigures;
}

/** A reply other than 2xx, or no reply at all (`status` 0). */
export class ApiError extends Error {
  override name = "ApiError";
  readonly status: number;
  readonly type: string;
  readonly details: Array<{ path: string[]; message: string }>;
  constructor(status: number, type: string, message: string, details: Array<{ path: string[]; message: string }> = []) {
    super(message);
    this.status = status;
    this.type = type;
    this.details = details;
  }
}

export interface Connection {
  gateway: string;
  token: string;
}

export type Query = Record<string, string | number | undefined>;

export class AdminClient {
  readonly gateway: string;
  readonly #token: string;

  constructor(connection: Connection) {
    this.gateway = connection.gateway.replace(/\/+$/, "");
    this.#token = connection.token;
  }

  async request<T>(method: string, path: string, options: { body?: unknown; query?: Query } = {}): Promise<T> {
    const { text, url, status } = await this.#send(method, path, options, "application/json");
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      throw new ApiError(status, "invalid_reply", `${method} ${url.pathname}: the reply is not JSON`);
    }
    return body as T;
  }

  /** A GET whose reply is not JSON (CSV). */
  async text(path: string, query: Query, accept: string): Promise<string> {
    return (await this.#send("GET", path, { query }, accept)).text;
  }

  async #send(
    method: string,
    path: string,
    options: { body?: unknown; query?: Query },
    accept: string,
  ): Promise<{ text: string; url: URL; status: number }> {
    const url = new URL(`${this.gateway}/api${path}`);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}`, accept };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
      throw new ApiError(0, "unreachable", `cannot reach the gateway at ${this.gateway} (${why}); is it running?`);
    }
    const text = await response.text();
    if (!response.ok) {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      throw errorOf(response.status, body, text, this.gateway);
    }
    return { text, url, status: response.status };
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>("GET", path, query ? { query } : {});
  }
  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>("POST", path, body === undefined ? {} : { body });
  }
  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("PATCH", path, { body });
  }
  delete<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>("DELETE", path, query ? { query } : {});
  }

  /** Every item of a paged list (`limit`: at most that many). */
  async list<T>(path: string, query: Query = {}, limit?: number): Promise<T[]> {
    const items: T[] = [];
    let after: string | undefined;
    for (;;) {
      const want = limit === undefined ? 1000 : Math.min(1000, limit - items.length);
      const page = await this.get<Page<T>>(path, { ...query, limit: want, after });
      items.push(...page.data);
      if (!page.nextCursor || (limit !== undefined && items.length >= limit)) return items;
      after = page.nextCursor;
    }
  }
}

function errorOf(status: number, body: unknown, text: string, gateway: string): ApiError {
  const error = (body as { error?: { type?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  const type = typeof error?.type === "string" ? error.type : `http_${status}`;
  let message = typeof error?.message === "string" ? error.message : `HTTP ${status}: ${text.slice(0, 200)}`;
  if (status === 401) {
    message =
      `the gateway at ${gateway} refused the admin token; ` +
      "set TOLLGATE_ADMIN_TOKEN, or --data-dir to the gateway's data dir (its admin-token file)";
  }
  const details = Array.isArray(error?.details) ? (error.details as ApiError["details"]) : [];
  return new ApiError(status, type, message, details);
}

export interface ConnectionOptions {
  gateway?: string;
  dataDir?: string;
}

/** `--gateway` and `--data-dir` on a command that talks to the API. */
export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--gateway <url>", "the gateway's URL").env("TOLLGATE_URL").default(DEFAULT_GATEWAY))
    .addOption(
      new Option(
        "--data-dir <dir>",
        "the gateway's data dir, whose admin-token file is read when TOLLGATE_ADMIN_TOKEN is not set",
      ).env("TOLLGATE_DATA_DIR"),
    );
}

/**
 * The admin token: the `admin-token` file of a data dir given with `--data-dir`; else TOLLGATE_ADMIN_TOKEN; else
 * the file in TOLLGATE_DATA_DIR or ./.tollgate (where `tollgate start` keeps it).
 */
export async function connect(
  options: ConnectionOptions & { dataDirFromFlag?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): Promise<AdminClient> {
  const gateway = options.gateway ?? DEFAULT_GATEWAY;
  if (!/^https?:\/\/[^/]/.test(gateway)) throw new SpecError(`--gateway must be an http(s) URL, got "${gateway}"`);
  const file = join(resolve(options.dataDir ?? ".tollgate"), "admin-token");
  const fromEnv = env.TOLLGATE_ADMIN_TOKEN?.trim();
  if (fromEnv && !options.dataDirFromFlag) return new AdminClient({ gateway, token: fromEnv });
  let token = "";
  try {
    token = (await readFile(file, "utf8")).trim();
  } catch {
    // reported below
  }
  if (!token && fromEnv) token = fromEnv;
  if (!token) {
    throw new SpecError(
      `no admin token: set TOLLGATE_ADMIN_TOKEN, or point --data-dir at the gateway's data dir (no token in ${file})`,
    );
  }
  return new AdminClient({ gateway, token });
}

/** The client for a command built with `addConnectionOptions`. */
export function clientFor(cmd: Command): Promise<AdminClient> {
  const options = cmd.opts<ConnectionOptions>();
  return connect({ ...options, dataDirFromFlag: cmd.getOptionValueSource("dataDir") === "cli" });
}

/**
 * A failure as the program reports it (exit.ts): a usage problem exits 2, the gateway unreachable 3, any other API
 * failure 1 — each with one clear message.
 */
export function cliErrorOf(err: unknown): unknown {
  if (err instanceof SpecError) return new CliError(err.message, EXIT.usage);
  if (err instanceof ApiError) return new CliError(err.message, err.status === 0 ? EXIT.unreachable : EXIT.failure);
  return err;
}

/** An action whose SpecError / ApiError become the program's CliError. */
export function action<A extends unknown[]>(run: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await run(...args);
    } catch (err) {
      throw cliErrorOf(err);
    }
  };
}

export type EntityKind = "customer" | "team" | "developer" | "key";

const ENTITY_PATHS: Record<EntityKind, { path: string; prefix: string; noun: string }> = {
  customer: { path: "/customers", prefix: "cus_", noun: "customer" },
  team: { path: "/teams", prefix: "team_", noun: "team" },
  developer: { path: "/developers", prefix: "dev_", noun: "developer" },
  key: { path: "/virtual-keys", prefix: "vk_", noun: "virtual key" },
};

export function entityPath(kind: EntityKind): string {
  return ENTITY_PATHS[kind].path;
}

/** An id (`team_…`) as given; anything else is looked up by exact name (a usage error unless exactly one). */
export async function resolveId(client: AdminClient, kind: EntityKind, ref: string): Promise<string> {
  const { path, prefix, noun } = ENTITY_PATHS[kind];
  if (ref.startsWith(prefix)) return ref;
  const matches = (await client.list<{ id: string; name: string }>(path)).filter((e) => e.name === ref);
  if (matches.length === 1 && matches[0]) return matches[0].id;
  if (matches.length === 0) throw new ApiError(404, "not_found", `no ${noun} with the id or name "${ref}"`);
  throw new SpecError(
    `${matches.length} ${noun}s are named "${ref}" (${matches.map((m) => m.id).join(", ")}); give the id`,
  );
}
