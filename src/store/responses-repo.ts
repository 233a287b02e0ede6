import type { Kysely } from "kysely";

/** One stored Responses API response (migration 0019): what a later `previous_response_id` or GET reads. */
export interface StoredResponse {
  /** The `resp_…` id the client saw. */
  id: string;
  /** The owner: a virtual key's scope, or an anonymous caller's credential hash (cache/response-cache.ts scopeOf). */
  scope: string;
  /** The request-log row of the call that produced it. */
  requestId: string;
  /** The model name the client used. */
  model: string;
  /** The Response's `status` ("completed" or "incomplete"). */
  status: string;
  instructions: string | null;
  previousResponseId: string | null;
  /** The effective input items (this request's input, the previous chain already resolved). */
  input: unknown[];
  /** The output items as the client received them. */
  output: unknown[];
  /** The Responses `usage` object the client received. */
  usage: unknown;
  /** Epoch milliseconds. */
  createdAt: number;
  expiresAt: number;
}

interface StoredResponsesTable {
  id: string;
  scope: string;
  request_id: string;
  model: string;
  status: string;
  instructions: string | null;
  previous_response_id: string | null;
  input: string;
  output: string;
  usage: string | null;
  created_at: number | string | bigint;
  expires_at: number | string | bigint;
}

interface ResponseTables {
  stored_responses: StoredResponsesTable;
}

/** Stored responses in the store layer's database (SQLite or PostgreSQL; migration 0019). */
export class SqlResponseStore {
  readonly #db: Kysely<ResponseTables>;

  /** `db`: the store layer's Kysely handle (its table types do not list this table). */
  constructor(db: Kysely<unknown> | object) {
    this.#db = db as Kysely<ResponseTables>;
  }

  async put(r: StoredResponse): Promise<void> {
    const row: StoredResponsesTable = {
      id: r.id,
      scope: r.scope,
      request_id: r.requestId,
      model: r.model,
      status: r.status,
      instructions: r.instructions,
      previous_response_id: r.previousResponseId,
      input: JSON.stringify(r.input),
      output: JSON.stringify(r.output),
      usage: r.usage === null || r.usage === undefined ? null : JSON.stringify(r.usage),
      created_at: r.createdAt,
      expires_at: r.expiresAt,
    };
    await this.#db
      .insertInto("stored_responses")
      .values(row)
      .onConflict((oc) => oc.column("id").doUpdateSet({ ...row, id: undefined }))
      .execute();
  }

  /** The response in `scope`, unless it is unknown, another scope's, or expired at `now`. */
  async get(scope: string, id: string, now: number): Promise<StoredResponse | null> {
    const row = await this.#db
      .selectFrom("stored_responses")
      .selectAll()
      .where("id", "=", id)
      .where("scope", "=", scope)
      .executeTakeFirst();
    if (!row || Number(row.expires_at) <= now) return null;
    return {
      id: row.id,
      scope: row.scope,
      requestId: row.request_id,
      model: row.model,
      status: row.status,
      instructions: row.instructions,
      previousResponseId: row.previous_response_id,
      input: JSON.parse(row.input) as unknown[],
      output: JSON.parse(row.output) as unknown[],
      usage: row.usage === null ? null : (JSON.parse(row.usage) as unknown),
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
    };
  }

  /** Deletes the response in `scope`; false when there was none (unknown, another scope's, or expired). */
  async delete(scope: string, id: string, now: number): Promise<boolean> {
    const result = await this.#db
      .deleteFrom("stored_responses")
      .where("id", "=", id)
      .where("scope", "=", scope)
      .where("expires_at", ">", now)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Deletes up to `limit` rows expired at `now`, oldest first; returns how many went. */
  async purgeExpired(now: number, limit = 1000): Promise<number> {
    const batch = await this.#db
      .selectFrom("stored_responses")
      .select("id")
      .where("expires_at", "<=", now)
      .orderBy("expires_at")
      .limit(limit)
      .execute();
    if (batch.length === 0) return 0;
    await this.#db
      .deleteFrom("stored_responses")
      .where(
        "id",
        "in",
        batch.map((r) => r.id),
      )
      .execute();
    return batch.length;
  }
}
