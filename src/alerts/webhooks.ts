import type { Kysely } from "kysely";
import { z } from "zod";
import type { Clock } from "../clock.ts";
import { uuidv7 } from "../store/ids.ts";
import type { Db, TollgateTables } from "../store/schema.ts";

/** Tables of migration 0010 (epoch ms; `enabled` 0/1). */
export interface AlertWebhooksTable {
  id: string;
  name: string | null;
  url: string;
  format: string;
  secret: string | null;
  scope_type: string;
  scope_id: string | null;
  enabled: number;
  created_at: number;
  updated_at: number;
}

export interface AlertDeliveriesTable {
  alert_id: string;
  webhook_id: string;
  attempts: number;
  next_attempt_at: number;
  claimed_until: number | null;
  claim_token: string | null;
  delivered_at: number | null;
  failed_at: number | null;
  last_error: string | null;
  created_at: number;
}

export type AlertTables = { alert_webhooks: AlertWebhooksTable; alert_deliveries: AlertDeliveriesTable };

export function alertTablesDb(db: Db): Kysely<TollgateTables & AlertTables> {
  return db.withTables<AlertTables>();
}

export const WEBHOOK_FORMATS = ["json", "slack"] as const;
export const WEBHOOK_SCOPES = ["global", "customer", "team", "developer", "key"] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];
export type WebhookScope = (typeof WEBHOOK_SCOPES)[number];

export interface AlertWebhook {
  id: string;
  name: string | null;
  url: string;
  format: WebhookFormat;
  secret: string | null;
  scopeType: WebhookScope;
  scopeId: string | null;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

const HttpUrl = z.url({ protocol: /^https?$/ });

export const WebhookCreateSchema = z
  .strictObject({
    name: z.string().min(1).max(200).nullable().optional(),
    url: HttpUrl,
    format: z.enum(WEBHOOK_FORMATS).default("json"),
    secret: z.string().min(1).max(500).nullable().optional(),
    scopeType: z.enum(WEBHOOK_SCOPES).default("global"),
    scopeId: z.string().min(1).nullable().optional(),
    enabled: z.boolean().default(true),
  })
  .refine((w) => (w.scopeType === "global") === (w.scopeId == null), {
    message: "scopeId is required for a customer, team, developer or key scope, and not allowed for global",
    path: ["scopeId"],
  });

export const WebhookPatchSchema = z.strictObject({
  name: z.string().min(1).max(200).nullable().optional(),
  url: HttpUrl.optional(),
  format: z.enum(WEBHOOK_FORMATS).optional(),
  secret: z.string().min(1).max(500).nullable().optional(),
  enabled: z.boolean().optional(),
});

export type WebhookCreate = z.infer<typeof WebhookCreateSchema>;
export type WebhookPatch = z.infer<typeof WebhookPatchSchema>;

function fromRow(r: AlertWebhooksTable): AlertWebhook {
  return {
    id: r.id,
    name: r.name,
    url: r.url,
    format: r.format === "slack" ? "slack" : "json",
    secret: r.secret,
    scopeType: (WEBHOOK_SCOPES as readonly string[]).includes(r.scope_type) ? (r.scope_type as WebhookScope) : "global",
    scopeId: r.scope_id,
    enabled: Number(r.enabled) === 1,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

/** Alert webhooks in the database (the secret is stored as given: it signs, so it must be readable). */
export class WebhookRepository {
  readonly #db: Kysely<TollgateTables & AlertTables>;
  readonly #clock: Clock;

  constructor(db: Db, clock: Clock) {
    this.#db = alertTablesDb(db);
    this.#clock = clock;
  }

  async list(options: { enabledOnly?: boolean } = {}): Promise<AlertWebhook[]> {
    let q = this.#db.selectFrom("alert_webhooks").selectAll();
    if (options.enabledOnly) q = q.where("enabled", "=", 1);
    return (await q.orderBy("id").execute()).map(fromRow);
  }

  async get(id: string): Promise<AlertWebhook | null> {
    const row = await this.#db.selectFrom("alert_webhooks").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? fromRow(row) : null;
  }

  async create(input: WebhookCreate): Promise<AlertWebhook> {
    const now = this.#clock.now();
    const row: AlertWebhooksTable = {
      id: uuidv7(this.#clock),
      name: input.name ?? null,
      url: input.url,
      format: input.format,
      secret: input.secret ?? null,
      scope_type: input.scopeType,
      scope_id: input.scopeId ?? null,
      enabled: input.enabled ? 1 : 0,
      created_at: now,
      updated_at: now,
    };
    await this.#db.insertInto("alert_webhooks").values(row).execute();
    return fromRow(row);
  }

  async update(id: string, patch: WebhookPatch): Promise<AlertWebhook | null> {
    const set: Partial<AlertWebhooksTable> = { updated_at: this.#clock.now() };
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.url !== undefined) set.url = patch.url;
    if (patch.format !== undefined) set.format = patch.format;
    if (patch.secret !== undefined) set.secret = patch.secret;
    if (patch.enabled !== undefined) set.enabled = patch.enabled ? 1 : 0;
    const res = await this.#db.updateTable("alert_webhooks").set(set).where("id", "=", id).executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) return null;
    return this.get(id);
  }

  /** Deletes the webhook and its pending deliveries. */
  async delete(id: string): Promise<boolean> {
    const res = await this.#db.deleteFrom("alert_webhooks").where("id", "=", id).executeTakeFirst();
    await this.#db
      .deleteFrom("alert_deliveries")
      .where("webhook_id", "=", id)
      .where("delivered_at", "is", null)
      .execute();
    return Number(res.numDeletedRows) > 0;
  }
}

/** The webhook as the API shows it: never the secret itself. */
export function webhookView(w: AlertWebhook): Omit<AlertWebhook, "secret"> & { hasSecret: boolean } {
  const { secret, ...rest } = w;
  return { ...rest, hasSecret: secret !== null };
}
