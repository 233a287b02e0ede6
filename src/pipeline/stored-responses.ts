import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import { scopeOf } from "../cache/response-cache.ts";
import type { Clock } from "../clock.ts";
import type { VirtualKeySnapshot } from "../governance/entities/index.ts";
import { peekTopLevel } from "../json/peek.ts";
import type { SqlResponseStore, StoredResponse } from "../store/responses-repo.ts";
import type { JsonObject } from "../translate/canonical.ts";
import { responseObject } from "../translate/openai-responses/output-items.ts";
import type { CallState } from "./call-state.ts";
import type { GatewayRuntime } from "./runtime.ts";
import { finish } from "./settle.ts";

export const DEFAULT_RESPONSE_STORE_TTL_DAYS = 30;
const DAY_MS = 86_400_000;
/** Clock time between two purges of expired rows started by saves. */
const PURGE_EVERY_MS = 3_600_000;

/**
 * The gateway's own Responses API state for calls translated to another provider (OpenAI itself keeps its own):
 * replies of `store`-not-false requests are saved off the request path; `previous_response_id` reads one back in
 * the caller's scope. Backed by the SQL store (store/responses-repo.ts); entries expire after `ttlDays`.
 */
export class ResponseStore {
  readonly repo: SqlResponseStore;
  readonly ttlMs: number;
  readonly #clock: Clock;
  readonly #warn: (message: string) => void;
  readonly #pending = new Set<Promise<void>>();
  #lastPurge = Number.NEGATIVE_INFINITY;

  constructor(repo: SqlResponseStore, options: { ttlDays: number; clock: Clock; warn: (message: string) => void }) {
    this.repo = repo;
    this.ttlMs = options.ttlDays * DAY_MS;
    this.#clock = options.clock;
    this.#warn = options.warn;
  }

  /**
   * Saves on a later turn of the event loop (`build` runs there too: parsing the request is off the request path);
   * a failing save only warns. Every hour of clock time a save also purges a batch of expired rows.
   */
  save(build: () => StoredResponse | null): void {
    const p = new Promise<void>((resolve) => setImmediate(resolve))
      .then(async () => {
        const record = build();
        if (record === null) return;
        await this.repo.put(record);
        if (record.createdAt - this.#lastPurge >= PURGE_EVERY_MS) {
          this.#lastPurge = record.createdAt;
          await this.repo.purgeExpired(record.createdAt);
        }
      })
      .catch((err: Error) => this.#warn(`response store unavailable (save): ${err.message}`))
      .finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  load(scope: string, id: string): Promise<StoredResponse | null> {
    return this.repo.get(scope, id, this.#clock.now());
  }

  delete(scope: string, id: string): Promise<boolean> {
    return this.repo.delete(scope, id, this.#clock.now());
  }

  /** Deletes every expired row now (batches); returns how many went. */
  async purgeExpired(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.repo.purgeExpired(this.#clock.now());
      total += n;
      if (n < 1000) return total;
    }
  }

  /** Resolves once every save started so far has finished (tests; shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.#pending]);
  }

  async close(): Promise<void> {
    await this.idle();
  }
}

/** Whose stored responses a caller sees: its virtual key, or (anonymous) a hash of its own credential. */
export function responsesScope(key: VirtualKeySnapshot | null, headers: IncomingHttpHeaders): string {
  return scopeOf(key, "key", headers);
}

/** A fresh response id, shaped like OpenAI's (`resp_` + hex). */
export function newResponseId(): string {
  return `resp_${randomBytes(24).toString("hex")}`;
}

/** What the gateway does about a translated Responses request's server-side state. */
export type ResponsesState =
  | {
      ok: true;
      /** The body to translate: the previous chain prepended to `input`, or the client's own bytes. */
      raw: Buffer;
      /** The body parsed, when it was (a resolved chain). */
      body: JsonObject | null;
      previousResponseId: string | null;
      /** Save the reply (`store` is not false). */
      store: boolean;
    }
  | { ok: false; previousResponseId: string };

const STATE_FIELDS: ReadonlySet<string> = new Set(["store", "previous_response_id"]);

/**
 * Reads `store` and `previous_response_id` from the top level of the body (no parse for the common request), and
 * resolves the previous response in the caller's scope: its input and output items go before this request's input,
 * and `previous_response_id` leaves the body. Only a request naming a previous response waits for the database.
 */
export async function resolveResponsesState(store: ResponseStore, raw: Buffer, scope: string): Promise<ResponsesState> {
  const top = peekTopLevel(raw, STATE_FIELDS);
  // Not a JSON object: translation reports it.
  if (top === null) return { ok: true, raw, body: null, previousResponseId: null, store: false };
  const storeRange = top.get("store");
  const stored = storeRange === undefined || raw.toString("latin1", storeRange[0], storeRange[1]) !== "false";
  const prevRange = top.get("previous_response_id");
  if (prevRange === undefined || raw.toString("latin1", prevRange[0], prevRange[1]) === "null") {
    return { ok: true, raw, body: null, previousResponseId: null, store: stored };
  }
  let body: JsonObject;
  try {
    body = JSON.parse(raw.toString("utf8")) as JsonObject;
  } catch {
    return { ok: true, raw, body: null, previousResponseId: null, store: false };
  }
  const id = body.previous_response_id;
  // Not a string id: left to the translator, which refuses what it cannot read.
  if (typeof id !== "string" || id === "") return { ok: true, raw, body: null, previousResponseId: null, store: false };
  const previous = await store.load(scope, id);
  if (previous === null) return { ok: false, previousResponseId: id };
  const { previous_response_id: _, ...rest } = body;
  const resolved: JsonObject = {
    ...rest,
    input: [...previous.input, ...previous.output, ...inputItems(body.input)] as JsonObject[],
  };
  return {
    ok: true,
    raw: Buffer.from(JSON.stringify(resolved)),
    body: resolved,
    previousResponseId: id,
    store: stored,
  };
}

/** A Responses `input` as a list of items: a bare string is one user message. */
function inputItems(input: unknown): unknown[] {
  if (typeof input === "string") {
    return [{ type: "message", role: "user", content: [{ type: "input_text", text: input }] }];
  }
  return Array.isArray(input) ? input : [];
}

/**
 * The callback a translated relay calls with the Response object the client received (whole, or the stream's
 * terminal `response`), when the call succeeded: saves it with the request's effective input.
 */
export function responseKeeper(
  rt: GatewayRuntime,
  store: ResponseStore,
  state: CallState,
  input: { id: string; scope: string; raw: Buffer; body: JsonObject | null; previousResponseId: string | null },
): (response: JsonObject) => void {
  return (response) => {
    const status = response.status;
    if (status !== "completed" && status !== "incomplete") return;
    if (response.id !== input.id) {
      rt.warn(`response store: the reply's id ${String(response.id)} is not the planned ${input.id}; not stored`);
      return;
    }
    const createdAt = rt.clock.now();
    const requestId = state.record.id;
    store.save(() => {
      const body = input.body ?? (JSON.parse(input.raw.toString("utf8")) as JsonObject);
      return {
        id: input.id,
        scope: input.scope,
        requestId,
        model: typeof response.model === "string" ? response.model : String(body.model ?? ""),
        status,
        instructions: typeof body.instructions === "string" ? body.instructions : null,
        previousResponseId: input.previousResponseId,
        input: inputItems(body.input),
        output: Array.isArray(response.output) ? response.output : [],
        usage: response.usage ?? null,
        createdAt,
        expiresAt: createdAt + store.ttlMs,
      };
    });
  };
}

/** OpenAI's answer to an unknown `previous_response_id` (400 invalid_request_error), logged as TG_TRANSLATION. */
export function refusePreviousResponse(rt: GatewayRuntime, state: CallState, res: ServerResponse, id: string): void {
  const message = `Previous response with id '${id}' not found.`;
  const body = JSON.stringify({
    error: {
      message,
      type: "invalid_request_error",
      param: "previous_response_id",
      code: "previous_response_not_found",
    },
  });
  state.record.status = 400;
  state.record.errorCode = "TG_TRANSLATION";
  state.record.errorMessage = message;
  if (!res.headersSent && !res.destroyed) {
    res.writeHead(400, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      "x-tollgate-error-code": "TG_TRANSLATION",
      "x-tollgate-request-id": state.record.id,
    });
    res.end(body);
  } else if (!res.destroyed) {
    res.end();
  }
  finish(rt, state);
}

/** A stored response as GET /v1/responses/{id} returns it: a Response object, as OpenAI's retrieve does. */
export function storedResponseObject(stored: StoredResponse): JsonObject {
  const status = stored.status === "incomplete" ? "incomplete" : "completed";
  return {
    ...responseObject({
      id: stored.id,
      model: stored.model,
      createdAt: Math.floor(stored.createdAt / 1000),
      status,
      output: stored.output as JsonObject[],
      usage: (stored.usage as JsonObject | null) ?? null,
    }),
    instructions: stored.instructions,
    previous_response_id: stored.previousResponseId,
    store: true,
  };
}
