import type { FastifyInstance, FastifyReply } from "fastify";
import { z } from "zod";
import { type CacheDiscount, DIMENSION_NAMES, type SpendDimension, type SpendFilters } from "../store/spend-repo.ts";
import type { SpendRequest } from "./analytics/protocol.ts";
import { computeSpend } from "./analytics/spend-compute.ts";
import type { AdminContext } from "./context.ts";

export { csvField } from "./spend-render.ts";

const DAY_MS = 86_400_000;
export const DEFAULT_RANGE_MS = 30 * DAY_MS;

/** Label names as `x-tollgate-label-<name>` accepts them (attribution/labels.ts). */
const LABEL_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const MAX_GROUP_BY = 8;

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Epoch milliseconds, an ISO-8601 date (UTC midnight) or date-time with Z or an offset; null when neither. */
export function parseTime(text: string): number | null {
  if (/^\d{1,15}$/.test(text)) return Number(text);
  if (ISO_DATE.test(text) || z.iso.datetime({ offset: true }).safeParse(text).success) {
    const ms = Date.parse(text);
    return Number.isFinite(ms) ? ms : null;
  }
  return null;
}

export const Time = z.string().transform((text, ctx) => {
  const ms = parseTime(text);
  if (ms !== null) return ms;
  ctx.addIssue({
    code: "custom",
    message: `expected ISO-8601 (2026-01-31 or 2026-01-31T12:00:00Z) or epoch milliseconds, got ${JSON.stringify(text)}`,
  });
  return z.NEVER;
});

/** `group_by=team,model` or repeated `group_by=team&group_by=model`. */
const GroupBy = z.union([z.string(), z.array(z.string())]).transform((raw, ctx) => {
  const items = (Array.isArray(raw) ? raw : [raw])
    .flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const out: SpendDimension[] = [];
  for (const item of items) {
    const label = item.startsWith("label:") ? item.slice("label:".length) : null;
    const known = label === null ? DIMENSION_NAMES.includes(item) && item !== "label:<name>" : LABEL_NAME.test(label);
    if (!known) {
      ctx.addIssue({
        code: "custom",
        message:
          label === null
            ? `unknown dimension ${JSON.stringify(item)}; use ${DIMENSION_NAMES.join(", ")}`
            : `invalid label name ${JSON.stringify(label)}; label names are lowercase letters, digits, _ . - (as in x-tollgate-label-<name>)`,
      });
      return z.NEVER;
    }
    if (!out.includes(item as SpendDimension)) out.push(item as SpendDimension);
  }
  if (out.length > MAX_GROUP_BY) {
    ctx.addIssue({ code: "custom", message: `at most ${MAX_GROUP_BY} dimensions` });
    return z.NEVER;
  }
  return out;
});

const SpendParams = z.strictObject({
  group_by: GroupBy.optional(),
  from: Time.optional(),
  to: Time.optional(),
  format: z.enum(["json", "csv"]).optional(),
  customer: z.string().optional(),
  team: z.string().optional(),
  developer: z.string().optional(),
  key: z.string().optional(),
  provider: z.string().optional(),
  model: z.string().optional(),
  agent: z.string().optional(),
  session: z.string().optional(),
  /** `name:value` (beyond the contract: narrows to rows carrying that label). */
  label: z
    .string()
    .regex(/^[^:]+:.*$/, "label filter is name:value")
    .transform((s) => ({ name: s.slice(0, s.indexOf(":")), value: s.slice(s.indexOf(":") + 1) }))
    .optional(),
});

/** 400 naming the field: `{ error: { type, message: "<field>: <problem>", details: [{ path, message }] } }`. */
export function invalidQuery(reply: FastifyReply, error: z.ZodError): FastifyReply {
  const details = error.issues.map((i) => ({ path: i.path.map(String), message: i.message }));
  const message = details.map((d) => (d.path.length > 0 ? `${d.path.join(".")}: ${d.message}` : d.message)).join("; ");
  return reply.code(400).send({ error: { type: "invalid_request", message, details } });
}

export function rangeError(reply: FastifyReply): FastifyReply {
  const message = "from: must be before to (the range is [from, to))";
  return reply.code(400).send({ error: { type: "invalid_request", message, details: [{ path: ["from"], message }] } });
}

/** `from`/`to` with the defaults (the last 30 days up to now). */
export function resolveRange(now: number, from: number | undefined, to: number | undefined): [number, number] {
  const end = to ?? now;
  return [from ?? end - DEFAULT_RANGE_MS, end];
}

/**
 * Cache savings per million cache-read tokens for a (provider, model): input price − cache-read price at today's
 * base rates (long-context tiers are per request and not applied to sums), priced the way requests are: a
 * registered provider by its catalog id. Null when either price is unknown.
 */
function cacheDiscount(ctx: AdminContext): CacheDiscount {
  const memo = new Map<string, number | null>();
  return (provider, model) => {
    const key = `${provider}\u0000${model}`;
    let value = memo.get(key);
    if (value === undefined) {
      const registered = ctx.runtime.registry.get(provider);
      const pricedAs = registered ? (registered.pricingId ?? registered.name) : provider;
      const base = ctx.prices.priceFor(pricedAs, model)?.base;
      value =
        base?.input === undefined || base.cacheRead === undefined ? null : Math.max(0, base.input - base.cacheRead);
      memo.set(key, value);
    }
    return value;
  };
}

/**
 * `GET /api/spend`: cost, token buckets, requests and cache savings grouped by any of customer, team, developer,
 * key, provider, model, agent, session, label:<name>, hour, day, month; JSON or CSV. This thread only validates
 * the query: the SQL, the BigInt merge and the JSON/CSV text run in the analytics worker (`ctx.analytics`), which
 * hands back the body's bytes; without a client (bare contexts in tests) the same code runs in-process.
 */
export function registerSpendRoutes(api: FastifyInstance, ctx: AdminContext): void {
  api.get("/spend", async (req, reply) => {
    const parsed = SpendParams.safeParse(req.query);
    if (!parsed.success) return invalidQuery(reply, parsed.error);
    const q = parsed.data;
    const [from, to] = resolveRange(ctx.runtime.clock.now(), q.from, q.to);
    if (from >= to) return rangeError(reply);
    const groupBy = q.group_by ?? [];
    const { customer, team, developer, key, provider, model, agent, session, label } = q;
    const filters: SpendFilters = { customer, team, developer, key, provider, model, agent, session, label };
    // Reads see what was answered a moment ago (cheap when the writer's queue is empty).
    await ctx.logWriter.flush();
    const request: SpendRequest = { from, to, groupBy, filters, format: q.format ?? "json" };
    const discount = cacheDiscount(ctx);
    const body =
      ctx.analytics === undefined
        ? Buffer.from(
            await computeSpend(ctx.database.db, ctx.database.kind, request, async (pairs) =>
              pairs.map(([p, m]) => discount(p, m)),
            ),
          )
        : await ctx.analytics.spend(request, discount);
    if (request.format === "csv") {
      const name = `tollgate-spend-${new Date(from).toISOString().slice(0, 10)}-${new Date(to).toISOString().slice(0, 10)}.csv`;
      return reply
        .type("text/csv; charset=utf-8")
        .header("content-disposition", `attachment; filename="${name}"`)
        .send(body);
    }
    return reply.type("application/json; charset=utf-8").send(body);
  });
}
