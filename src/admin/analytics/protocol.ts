import type { SessionListFilter } from "../../store/sessions-repo.ts";
import type { SpendDimension, SpendFilters } from "../../store/spend-repo.ts";
import type { SpendFormat } from "../spend-render.ts";

/** Messages between the AnalyticsClient (main thread) and the analytics worker thread. */

/** Where the worker opens its own connection: the SQLite file read-only, or a small pool on the same database. */
export type AnalyticsConnection =
  | { kind: "sqlite"; filename: string; busyTimeoutMs: number }
  | { kind: "postgres"; url: string; schema?: string; poolSize: number };

/** A validated `GET /api/spend` query. */
export interface SpendRequest {
  from: number;
  to: number;
  groupBy: readonly SpendDimension[];
  filters: SpendFilters;
  format: SpendFormat;
}

/** (provider, model) pairs whose cache-read savings need a price; the answer is in the same order. */
export type DiscountPairs = readonly (readonly [provider: string, model: string])[];
export type DiscountValues = readonly (number | null)[];

export type ToWorker =
  | { type: "spend"; id: number; request: SpendRequest }
  | { type: "sessions"; id: number; filter: SessionListFilter }
  | { type: "discounts"; id: number; values: DiscountValues }
  | { type: "close" };

export type FromWorker =
  | { type: "ready" }
  | { type: "startFailed"; message: string }
  | { type: "discounts"; id: number; pairs: DiscountPairs }
  | { type: "done"; id: number; body: Uint8Array }
  | { type: "failed"; id: number; name: string; message: string; stack?: string }
  | { type: "closed" };
