import type { FastifyInstance, FastifyReply } from "fastify";
import type { z } from "zod";
import {
  type Budget,
  BudgetCreateSchema,
  BudgetPatchSchema,
  CustomerCreateSchema,
  CustomerPatchSchema,
  DEFAULT_ROTATION_GRACE_SECONDS,
  DeleteQuerySchema,
  type DeleteResult,
  DeveloperCreateSchema,
  DeveloperPatchSchema,
  type GovernanceChange,
  GovernanceError,
  GovernanceRepository,
  KeyCreateSchema,
  KeyPatchSchema,
  ListQuerySchema,
  RateLimitCreateSchema,
  RateLimitPatchSchema,
  RotateSchema,
  TeamCreateSchema,
  TeamPatchSchema,
} from "../governance/entities/index.ts";
import { formatNanoUsd } from "../metering/pricing/decimal.ts";
import type { AdminContext } from "./context.ts";
import { invalid, replyError } from "./provider-replies.ts";

/** A budget's current window as the counters see it. */
export interface BudgetSpendView {
  windowStart: number;
  /** When the window ends; null for `never`. */
  resetsAt: number | null;
  spentNanoUsd: number;
  reservedNanoUsd: number;
}

export interface GovernanceRouteOptions {
  /** Default: a repository over `ctx.database` with `ctx.runtime.clock` and `onChange`. */
  repository?: GovernanceRepository;
  /** Told after every committed change (reload the data plane's key snapshot, tell other processes). */
  onChange?: (change: GovernanceChange) => void | Promise<void>;
  /**
   * TODO(counters): the current spend of a budget, from the counters. Until a counters source is wired in, every
   * budget shows `spend: null`.
   */
  budgetSpend?: (budget: Budget) => BudgetSpendView | null | Promise<BudgetSpendView | null>;
}

interface IdParams {
  Params: { id: string };
}

const SECRET_NOTICE = "Store this secret now: Tollgate keeps only its hash and cannot show it again.";

/**
 * `/api/customers`, `/api/teams`, `/api/developers`, `/api/virtual-keys`, `/api/budgets`, `/api/rate-limits`:
 * CRUD under the admin token (the `/api` scope checks it and parses JSON). Secrets appear only in the replies to
 * create and rotate; no reply ever holds a secret's hash. Errors: 400 with field-level `details`, 404, 409.
 */
export async function registerGovernanceRoutes(
  api: FastifyInstance,
  ctx: AdminContext,
  options: GovernanceRouteOptions = {},
): Promise<void> {
  const repo =
    options.repository ??
    new GovernanceRepository({
      db: ctx.database.db,
      clock: ctx.runtime.clock,
      ...(options.onChange ? { onChange: options.onChange } : {}),
    });
  const spendOf = async (budget: Budget) => (options.budgetSpend ? await options.budgetSpend(budget) : null);
  const budgetView = async (budget: Budget) => ({
    ...budget,
    limitUsd: formatNanoUsd(budget.limitNanoUsd),
    spend: await spendOf(budget),
  });
  /** An entity's own budgets and rate limits, for single-entity GETs. */
  const limitsOf = async (type: "customer" | "team" | "developer" | "key", id: string) => ({
    budgets: await Promise.all((await repo.budgetsOf(type, id)).map(budgetView)),
    rateLimits: await repo.rateLimitsOf(type, id),
  });

  // ---------- customers ----------
  const customerList = ListQuerySchema.pick({ after: true, limit: true });
  api.get("/customers", (req, reply) =>
    run(reply, async () => {
      const q = parse(reply, customerList, req.query, "Invalid query");
      return q && repo.listCustomers(q);
    }),
  );
  api.post("/customers", (req, reply) =>
    run(reply, async () => {
      const input = parseBody(reply, CustomerCreateSchema, req.body, "Invalid customer");
      return input && reply.code(201).send(await repo.createCustomer(input));
    }),
  );
  api.get<IdParams>("/customers/:id", (req, reply) =>
    run(reply, async () => {
      const customer = await repo.getCustomer(req.params.id);
      if (!customer) return replyError(reply, 404, "not_found", `No customer "${req.params.id}".`);
      return { ...customer, ...(await limitsOf("customer", customer.id)) };
    }),
  );
  api.patch<IdParams>("/customers/:id", (req, reply) =>
    run(reply, async () => {
      const patch = parseBody(reply, CustomerPatchSchema, req.body, "Invalid customer change");
      return patch && repo.updateCustomer(req.params.id, patch);
    }),
  );
  api.delete<IdParams>("/customers/:id", (req, reply) =>
    run(reply, async () => {
      const q = parse(reply, DeleteQuerySchema, req.query, "Invalid query");
      return q && deleteView(await repo.deleteCustomer(req.params.id, { cascade: q.cascade === "true" }));
    }),
  );

  // ---------- teams ----------
  const teamList = ListQuerySchema.pick({ after: true, limit: true, customerId: true });
  api.get("/teams", (req, reply) =>
    run(reply, async () => {
      const q = parse(reply, teamList, req.query, "Invalid query");
      return q && repo.listTeams(q);
    }),
  );
  api.post("/teams", (req, reply) =>
    run(reply, async () => {
      const input = parseBody(reply, TeamCreateSchema, req.body, "Invalid team");
      return input && reply.code(201).send(await repo.createTeam(input));
    }),
  );
  api.get<IdParams>("/teams/:id", (req, reply) =>
    run(reply, async () => {
      const team = await repo.getTeam(req.params.id);
      if (!team) return replyError(reply, 404, "not_found", `No team "${req.params.id}".`);
      return { ...team, ...(await limitsOf("team", team.id)) };
    }),
  );
  api.patch<IdParams>("/teams/:id", (req, reply) =>
    run(reply, async () => {
      const patch = parseBody(reply, TeamPatchSchema, req.body, "Invalid team change");
      return patch && repo.updateTeam(req.params.id, patch);
    }),
  );
  api.delete<IdParams>("/teams/:id", (req, reply) =>
    run(reply, async () => {
      const q = parse(reply, DeleteQuerySchema, req.query, "Invalid query");
      return q && deleteView(await repo.deleteTeam(req.params.id, { cascade: q.cascade === "true" }));
    }),
  );

  // ---------- developers ----------
  const developerList = ListQuerySchema.pick({ after: true, limit: true, teamId: true });
  api.get("/developers", (req, reply) =>
    run(reply, async () => {
      const q = parse(reply, developerList, req.query, "Invalid query");
      return q && repo.listDevelopers(q);
    }),
  );
  api.post("/developers", (req, reply) =>
    run(reply, async () => {
      const input = parseBody(reply, DeveloperCreateSchema, req.body, "Invalid developer");
      return input && reply.code(201).send(await repo.createDeveloper(input));
    }),
  );
  api.get<IdParams>("/developers/:id", (req, reply) =>
    run(reply, async () => {
      const developer = await repo.getDeveloper(req.params.id);
      if (!developer) return replyError(reply, 404, "not_found", `No developer "${req.params.id}".`);
      return { ...developer, ...(await limitsOf("developer", developer.id)) };
    }),
  );
  api.patch<IdParams>("/developers/:id", (req, reply) =>
    run(reply, async () => {
      const patch = parseBody(reply, DeveloperPatchSchema, req.body, "Invalid developer change");
      return patch && repo.updateDeveloper(req.params.id, patch);
    }),
  );
  api.delete<IdParams>("/developers/:id", (req, reply) =>
    run(reply, async () => {
      const q = parse(reply, DeleteQuerySchema, req.query, "Invalid query");
      return q && deleteView(await repo.deleteDeveloper(req.params.id, { cascade: q.cascade === "true" }));
    }),
  );

  // ---------- virtual keys ----------
  const keyList = ListQuerySchema.pick({ after: true, limit: true, teamId: true, customerId: true, developerId: true });
  api.get("/virtual-keys", (req, reply) =>
    run(reply, async () => {
      const q = parse(reply, keyList, req.query, "Invalid query");
      return q && repo.listKeys(q);
    }),
  );
  api.post("/virtual-keys", (req, reply) =>
    run(reply, async () => {
      const input = parseBody(reply, KeyCreateSchema, req.body, "Invalid virtual key");
      if (!input) return reply;
      const created = await repo.createKey(input);
      return reply.code(201).send({
        ...created.key,
        secret: created.secret,
        notice: SECRET_NOTICE,
        budgets: await Promise.all(created.budgets.map(budgetView)),
        rateLimits: created.rateLimits,
      });
    }),
  );
  api.get<IdParams>("/virtual-keys/:id", (req, reply) =>
    run(reply, async () => {
      const key = await repo.getKey(req.params.id);
      if (!key) return replyError(reply, 404, "not_found", `No virtual key "${req.params.id}".`);
      return { ...key, ...(await limitsOf("key", key.id)) };
    }),
  );
  api.patch<IdParams>("/virtual-keys/:id", (req, reply) =>
    run(reply, async () => {
      const patch = parseBody(reply, KeyPatchSchema, req.body, "Invalid virtual key change");
      return patch && repo.updateKey(req.params.id, patch);
    }),
  );
  api.delete<IdParams>("/virtual-keys/:id", (req, reply) =>
    run(reply, async () => deleteView(await repo.deleteKey(req.params.id))),
  );
  api.post<IdParams>("/virtual-keys/:id/rotate", (req, reply) =>
    run(reply, async () => {
      // The body is optional: no body means the default grace period.
      const input = parseBody(reply, RotateSchema, req.body ?? {}, "Invalid rotation");
      if (!input) return reply;
      const graceSeconds = input.gracePeriodSeconds ?? DEFAULT_ROTATION_GRACE_SECONDS;
      const rotated = await repo.rotateKey(req.params.id, { graceMs: graceSeconds * 1000 });
      return {
        ...rotated.key,
        secret: rotated.secret,
        notice:
          graceSeconds > 0
            ? `${SECRET_NOTICE} The previous secret keeps working until ${new Date(
                rotated.key.previousSecretValidUntil ?? 0,
              ).toISOString()}.`
            : `${SECRET_NOTICE} The previous secret stopped working.`,
      };
    }),
  );
  api.post<IdParams>("/virtual-keys/:id/revoke", (req, reply) => run(reply, async () => repo.revokeKey(req.params.id)));

  // ---------- budgets ----------
  const scopedList = ListQuerySchema.pick({ after: true, limit: true, scopeType: true, scopeId: true });
  api.get("/budgets", (req, reply) =>
    run(reply, async () => {
      const q = parse(reply, scopedList, req.query, "Invalid query");
      if (!q) return reply;
      const page = await repo.listBudgets(q);
      return { data: await Promise.all(page.data.map(budgetView)), nextCursor: page.nextCursor };
    }),
  );
  api.post("/budgets", (req, reply) =>
    run(reply, async () => {
      const input = parseBody(reply, BudgetCreateSchema, req.body, "Invalid budget");
      return input && reply.code(201).send(await budgetView(await repo.createBudget(input)));
    }),
  );
  api.get<IdParams>("/budgets/:id", (req, reply) =>
    run(reply, async () => {
      const budget = await repo.getBudget(req.params.id);
      if (!budget) return replyError(reply, 404, "not_found", `No budget "${req.params.id}".`);
      return budgetView(budget);
    }),
  );
  api.patch<IdParams>("/budgets/:id", (req, reply) =>
    run(reply, async () => {
      const patch = parseBody(reply, BudgetPatchSchema, req.body, "Invalid budget change");
      return patch && budgetView(await repo.updateBudget(req.params.id, patch));
    }),
  );
  api.delete<IdParams>("/budgets/:id", (req, reply) =>
    run(reply, async () => {
      await repo.deleteBudget(req.params.id);
      return { deleted: req.params.id };
    }),
  );

  // ---------- rate limits ----------
  api.get("/rate-limits", (req, reply) =>
    run(reply, async () => {
      const q = parse(reply, scopedList, req.query, "Invalid query");
      return q && repo.listRateLimits(q);
    }),
  );
  api.post("/rate-limits", (req, reply) =>
    run(reply, async () => {
      const input = parseBody(reply, RateLimitCreateSchema, req.body, "Invalid rate limit");
      return input && reply.code(201).send(await repo.createRateLimit(input));
    }),
  );
  api.get<IdParams>("/rate-limits/:id", (req, reply) =>
    run(reply, async () => {
      const limit = await repo.getRateLimit(req.params.id);
      if (!limit) return replyError(reply, 404, "not_found", `No rate limit "${req.params.id}".`);
      return limit;
    }),
  );
  api.patch<IdParams>("/rate-limits/:id", (req, reply) =>
    run(reply, async () => {
      const patch = parseBody(reply, RateLimitPatchSchema, req.body, "Invalid rate limit change");
      return patch && repo.updateRateLimit(req.params.id, patch);
    }),
  );
  api.delete<IdParams>("/rate-limits/:id", (req, reply) =>
    run(reply, async () => {
      await repo.deleteRateLimit(req.params.id);
      return { deleted: req.params.id };
    }),
  );
}

/** Runs a handler; a GovernanceError becomes its 400 / 404 / 409 reply, anything else goes to the scope's 500. */
async function run<T>(reply: FastifyReply, handler: () => Promise<T>): Promise<T | FastifyReply> {
  try {
    return await handler();
  } catch (err) {
    if (!(err instanceof GovernanceError)) throw err;
    switch (err.kind) {
      case "invalid":
        return reply.code(400).send({
          error: { type: "invalid_request", message: err.message, details: err.issues },
        });
      case "not_found":
        return replyError(reply, 404, "not_found", err.message);
      case "conflict":
        return replyError(reply, 409, "conflict", err.message);
      default: {
        const unexpected: never = err.kind;
        throw new Error(`unknown governance error kind ${String(unexpected)}`);
      }
    }
  }
}

/** The parsed value, or undefined after sending the 400. */
function parse<S extends z.ZodType>(
  reply: FastifyReply,
  schema: S,
  value: unknown,
  what: string,
): z.output<S> | undefined {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  invalid(reply, what, parsed.error);
  return undefined;
}

/** Like `parse`, but first insists on a JSON object body (a clearer message than zod's for a missing body). */
function parseBody<S extends z.ZodType>(
  reply: FastifyReply,
  schema: S,
  body: unknown,
  what: string,
): z.output<S> | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    replyError(reply, 400, "invalid_request", `${what}: the request body must be a JSON object.`);
    return undefined;
  }
  return parse(reply, schema, body, what);
}

function deleteView(result: DeleteResult) {
  return { deleted: result.id, cascaded: result.cascaded, detached: result.detached };
}
