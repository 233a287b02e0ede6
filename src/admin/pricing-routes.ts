import type { FastifyInstance, FastifyReply } from "fastify";
import { z } from "zod";
import { describeIssues } from "../config/zod-issues.ts";
import { priceOverrideSchema, priceOverridesSchema, REMOTE_DATA_JSON_URL } from "../metering/pricing/index.ts";
import {
  addStoredPriceOverride,
  applyStoredPriceOverrides,
  configPriceOverrides,
  deleteStoredPriceOverride,
  readStoredPriceOverrides,
  replaceStoredPriceOverrides,
} from "../metering/pricing/override-store.ts";
import type { AdminContext } from "./context.ts";

/**
 * `/api/pricing`: the catalog version, the resolved price of a model, price overrides (config-file ones read-only,
 * API ones stored in `price_overrides`) and a catalog refresh. Every change applies at once (PriceBook.setOverrides
 * swaps its lookups) and answers with the new price `version`.
 */
export function registerPricingRoutes(api: FastifyInstance, ctx: AdminContext): void {
  const exclusive = serialized();

  api.get("/pricing", async () => {
    const stored = await readStoredPriceOverrides(ctx);
    return {
      version: ctx.prices.version,
      catalogVersion: ctx.prices.catalogVersion,
      overrides: [
        ...configPriceOverrides(ctx).map((override) => ({ id: null, source: "config", ...override })),
        ...stored.map((s) => ({ id: s.id, source: "api", ...s.override })),
      ],
      // Served without a known price: their rows have cost null. Add an override to price them.
      unpriced: ctx.runtime.unpriced.list(),
    };
  });

  api.get<{ Params: { provider: string; "*": string } }>("/pricing/models/:provider/*", (req, reply) => {
    const { provider } = req.params;
    const model = req.params["*"];
    if (model === "")
      return replyError(reply, 400, "invalid_request", "Give a model: /api/pricing/models/<provider>/<model>.");
    // Price the way requests are priced: a registered provider by its catalog id (pipeline/model-call.ts).
    const registered = ctx.runtime.registry.get(provider);
    const pricedAs = registered ? (registered.pricingId ?? registered.name) : provider;
    const price = ctx.prices.priceFor(pricedAs, model);
    if (!price) {
      return replyError(
        reply,
        404,
        "not_found",
        `No price for model "${model}" of provider "${provider}"${pricedAs === provider ? "" : ` (priced as "${pricedAs}")`} in ${ctx.prices.version}; add a price override for it.`,
      );
    }
    return { requested: { provider, model }, pricedAs, ...price };
  });

  api.put("/pricing/overrides", (req, reply) =>
    exclusive(async () => {
      const body: unknown = req.body;
      const list = isRecord(body) && "overrides" in body ? body.overrides : body;
      const parsed = priceOverridesSchema.safeParse(list);
      if (!parsed.success) return invalid(reply, "Invalid price overrides", parsed.error);
      await replaceStoredPriceOverrides(ctx, parsed.data);
      const stored = await applyStoredPriceOverrides(ctx);
      return {
        version: ctx.prices.version,
        overrides: stored.map((s) => ({ id: s.id, source: "api", ...s.override })),
      };
    }),
  );

  api.post("/pricing/overrides", (req, reply) =>
    exclusive(async () => {
      const parsed = priceOverrideSchema.safeParse(req.body);
      if (!parsed.success) return invalid(reply, "Invalid price override", parsed.error);
      const id = await addStoredPriceOverride(ctx, parsed.data);
      await applyStoredPriceOverrides(ctx);
      return reply.code(201).send({ id, source: "api", override: parsed.data, version: ctx.prices.version });
    }),
  );

  api.delete<{ Params: { id: string } }>("/pricing/overrides/:id", (req, reply) =>
    exclusive(async () => {
      if (!(await deleteStoredPriceOverride(ctx, req.params.id))) {
        return replyError(
          reply,
          404,
          "not_found",
          `No stored price override "${req.params.id}" (config-file overrides are changed in the config file).`,
        );
      }
      await applyStoredPriceOverrides(ctx);
      return { deleted: req.params.id, version: ctx.prices.version };
    }),
  );

  api.post("/pricing/refresh", async (req, reply) => {
    const parsed = RefreshSchema.safeParse(req.body ?? {});
    if (!parsed.success) return invalid(reply, "Invalid refresh request", parsed.error);
    const { url, file } = parsed.data;
    const source = file ?? url ?? ctx.runtime.config.priceRefreshUrl ?? REMOTE_DATA_JSON_URL;
    try {
      if (file !== undefined) await ctx.prices.refreshFromFile(file);
      else await ctx.prices.refreshFromUrl(source);
    } catch (err) {
      return replyError(
        reply,
        502,
        "refresh_failed",
        `Price catalog refresh from ${source} failed: ${(err as Error).message}`,
      );
    }
    return { version: ctx.prices.version, catalogVersion: ctx.prices.catalogVersion, source };
  });
}

const RefreshSchema = z
  .strictObject({
    url: z
      .string()
      .refine((s) => /^https?:\/\//i.test(s) && URL.canParse(s), "must be an http(s) URL")
      .optional(),
    file: z.string().min(1).optional(),
  })
  .refine((body) => body.url === undefined || body.file === undefined, "give either url or file, not both");

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Runs changes one at a time, so concurrent edits cannot apply out of order. */
function serialized(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (task) => {
    const run = tail.then(task, task);
    tail = run.catch(() => {});
    return run;
  };
}

function formatIssues(error: z.ZodError): string {
  return describeIssues(error.issues);
}

function invalid(reply: FastifyReply, what: string, error: z.ZodError): FastifyReply {
  return reply.code(400).send({
    error: {
      type: "invalid_request",
      message: `${what}: ${formatIssues(error)}`,
      details: error.issues.map((i) => ({ path: i.path.map(String), message: i.message })),
    },
  });
}

function replyError(reply: FastifyReply, status: number, type: string, message: string): FastifyReply {
  return reply.code(status).send({ error: { type, message } });
}
