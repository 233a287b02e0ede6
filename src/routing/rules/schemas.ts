import { z } from "zod";
import { CelCompileError, compileExpression } from "./cel.ts";
import { RULE_SCOPES, type RuleFallback, type RuleTarget } from "./types.ts";

/** Input shapes of routing rules (API bodies and the config file's `routing.rules`); replies use types.ts. */

/** `"provider/model"` → provider + model; a string without a slash is a model on any provider. */
export function splitShorthand(text: string): { provider: string | null; model: string } {
  const slash = text.indexOf("/");
  if (slash <= 0 || slash === text.length - 1) return { provider: null, model: text };
  return { provider: text.slice(0, slash), model: text.slice(slash + 1) };
}

const Name = z.string().trim().min(1).max(200);
const Model = z.string().min(1).max(300);
const ProviderName = z.string().min(1).max(100).nullable().optional();
const KeyId = z.string().min(1).max(200).nullable().optional();

const TargetObject = z.strictObject({
  provider: ProviderName,
  model: Model,
  key: KeyId,
  weight: z.number().positive().finite().optional(),
});

export const TargetInput = z
  .union([Model, TargetObject], { error: 'a target is "provider/model" or { provider, model, key, weight }' })
  .transform(
    (t): RuleTarget =>
      typeof t === "string"
        ? { ...splitShorthand(t), key: null, weight: 1 }
        : { provider: t.provider ?? null, model: t.model, key: t.key ?? null, weight: t.weight ?? 1 },
  );

export const FallbackInput = z
  .union([Model, TargetObject.omit({ weight: true })], {
    error: 'a fallback is "provider/model" or { provider, model, key }',
  })
  .transform(
    (t): RuleFallback =>
      typeof t === "string"
        ? { ...splitShorthand(t), key: null }
        : { provider: t.provider ?? null, model: t.model, key: t.key ?? null },
  );

export const ScopeInput = z
  .strictObject({ type: z.enum(RULE_SCOPES), id: z.string().min(1).max(200).nullable().optional() })
  .refine((s) => (s.type === "global") === (s.id == null), {
    message: "scope.id is required for a key, developer, team or customer scope, and not allowed for global",
    path: ["id"],
  })
  .transform((s) => ({ type: s.type, id: s.id ?? null }));

/** The expression compiles and type-checks to bool (the error names the position). */
export const ExpressionInput = z
  .string()
  .max(4096)
  .superRefine((text, ctx) => {
    try {
      compileExpression(text);
    } catch (error) {
      if (!(error instanceof CelCompileError)) throw error;
      ctx.addIssue({ code: "custom", message: error.message });
    }
  });

const Targets = z.array(TargetInput).min(1, "at least one target").max(50);
const Fallbacks = z.array(FallbackInput).max(20);

export const RuleCreateSchema = z.strictObject({
  name: Name,
  description: z.string().max(2000).nullable().optional(),
  scope: ScopeInput.default({ type: "global", id: null }),
  priority: z.number().int().min(-1_000_000).max(1_000_000).default(0),
  enabled: z.boolean().default(true),
  expression: ExpressionInput,
  targets: Targets,
  fallbacks: Fallbacks.default([]),
});

export const RulePatchSchema = z.strictObject({
  name: Name.optional(),
  description: z.string().max(2000).nullable().optional(),
  scope: ScopeInput.optional(),
  priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
  enabled: z.boolean().optional(),
  expression: ExpressionInput.optional(),
  targets: Targets.optional(),
  fallbacks: Fallbacks.optional(),
});

export const ValidateSchema = z.strictObject({ expression: z.string().max(4096) });

export type RuleCreate = z.output<typeof RuleCreateSchema>;
export type RulePatch = z.output<typeof RulePatchSchema>;

/**
 * A rule in the config file: like the API's, except that a scope may name its entity (`{ type: "team", name:
 * "Payments" }`), since ids of entities the file declares are made at startup.
 */
export const ConfigRuleSchema = RuleCreateSchema.extend({
  scope: z
    .strictObject({
      type: z.enum(RULE_SCOPES),
      id: z.string().min(1).max(200).optional(),
      name: z.string().min(1).max(200).optional(),
    })
    .refine(
      (s) =>
        s.type === "global"
          ? s.id === undefined && s.name === undefined
          : (s.id === undefined) !== (s.name === undefined),
      {
        message: "a global scope has no id or name; any other scope has exactly one of id or name",
      },
    )
    .default({ type: "global" }),
});

/** Fields of the config file's `routing` object owned here (config/schema.ts puts them beside the resilience ones). */
export const ROUTING_RULES_FIELDS = {
  /** IANA zone for `hour` and `weekday` (default UTC). */
  timeZone: z
    .string()
    .min(1)
    .refine((zone) => {
      try {
        new Intl.DateTimeFormat("en-US", { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    }, "an IANA time zone such as Europe/Berlin")
    .optional(),
  rules: z
    .array(ConfigRuleSchema)
    .optional()
    .superRefine((rules, ctx) => {
      const seen = new Map<string, number>();
      for (const [i, r] of (rules ?? []).entries()) {
        const first = seen.get(r.name);
        if (first !== undefined)
          ctx.addIssue({ code: "custom", path: [i, "name"], message: `repeats routing.rules.${first} ("${r.name}")` });
        else seen.set(r.name, i);
      }
    }),
};

const RoutingRulesSection = z.strictObject(ROUTING_RULES_FIELDS);

export type ConfigRule = z.output<typeof ConfigRuleSchema>;
export type RoutingSection = z.output<typeof RoutingRulesSection>;
