import type { IncomingHttpHeaders } from "node:http";
import type { Dialect } from "../dialects/dialect.ts";
import { GatewayError } from "../errors/catalog.ts";
import { checkKeyAccess, type VirtualKeySnapshot } from "../governance/entities/index.ts";
import type { Resolution } from "../providers/registry.ts";
import type { RouteTarget } from "../routing/rules/index.ts";
import type { CallState } from "./call-state.ts";
import type { GatewayRuntime } from "./runtime.ts";

/** One place a request may be sent: a resolved provider and model, and the provider key a rule pinned, if any. */
export interface AttemptTarget {
  resolution: Resolution;
  /** A provider key id the rule named; null: the pool chooses. */
  keyId: string | null;
}

/** Where a call goes: the first target, then its fallbacks in order. */
export interface CallRoute {
  targets: AttemptTarget[];
  /** The rule that chose them; null when no rule matched (the registry's resolution is the only target). */
  rule: { id: string; name: string } | null;
}

export interface RouteInput {
  dialect: Dialect;
  headers: IncomingHttpHeaders;
  key: VirtualKeySnapshot | null;
  /** The model the client asked for, and the registry's resolution of it (after aliases). */
  clientModel: string;
  resolution: Resolution;
  raw: Buffer;
}

/**
 * Routing rules choose the model (and may pin providers and keys); without a matching rule the registry's
 * resolution stands. Fallback targets the key may not use, or that no provider serves, are skipped with a warning.
 * Affinity (attempts.ts) later picks provider and key among the rule's targets, never another model.
 */
export function routeCall(rt: GatewayRuntime, state: CallState, input: RouteInput): CallRoute {
  const router = rt.router;
  if (router.size === 0) return unrouted(input);
  const record = state.record;
  const decision = router.decide(
    {
      model: input.clientModel,
      provider: input.resolution.provider.name,
      headers: input.headers,
      key: input.key,
      agent: record.agent,
      sessionId: record.sessionId,
      // ~4 bytes a token: rules compare orders of magnitude ("long context"), not exact counts.
      estimatedInputTokens: Math.ceil(input.raw.length / 4),
      // A getter: the scan of a multi-megabyte body runs only when a rule reads `has_tools`.
      get hasTools() {
        return input.raw.includes('"tools"') || input.raw.includes('"functionDeclarations"');
      },
      now: record.startedAt,
    },
    rt.random,
  );
  if (decision === null) return unrouted(input);
  record.routingRule = decision.rule.name;
  const chosen = preferAffine(rt, record.sessionId, decision.target, decision.targets);
  const first = resolveTarget(rt, input, chosen, true) as AttemptTarget;
  const targets = [first];
  for (const fallback of decision.fallbacks) {
    const target = resolveTarget(rt, input, fallback, false);
    if (target === null) {
      record.warnings = [
        ...record.warnings,
        `routing: fallback ${describe(fallback)} skipped (not allowed or unknown)`,
      ];
    } else targets.push(target);
  }
  return { targets, rule: decision.rule };
}

/** No rule: the registry's resolution (after aliases) is the one target, if the key may use it. */
function unrouted(input: RouteInput): CallRoute {
  const { resolution, key } = input;
  if (key) {
    const access = checkKeyAccess(key, resolution.provider.name, resolution.upstreamModel);
    if (!access.ok) throw new GatewayError("TG_FORBIDDEN", access.message);
  }
  return { targets: [{ resolution, keyId: null }], rule: null };
}

/** Session affinity among a rule's weighted targets: the provider that served the session last, when it is one. */
function preferAffine(
  rt: GatewayRuntime,
  sessionId: string | null,
  picked: RouteTarget,
  targets: readonly RouteTarget[],
): RouteTarget {
  const placed = rt.affinity.get(sessionId);
  if (placed === null || targets.length < 2) return picked;
  const same = targets.find((t) => t.model === picked.model && t.provider === placed.provider);
  return same !== undefined && rt.health.allows(placed.provider) ? same : picked;
}

function resolveTarget(
  rt: GatewayRuntime,
  input: RouteInput,
  target: RouteTarget,
  required: boolean,
): AttemptTarget | null {
  const model = target.provider === null ? target.model : `${target.provider}/${target.model}`;
  try {
    const resolution = rt.registry.resolve(model, input.dialect);
    if (input.key) {
      const access = checkKeyAccess(input.key, resolution.provider.name, resolution.upstreamModel);
      if (!access.ok) throw new GatewayError("TG_FORBIDDEN", access.message);
    }
    return { resolution, keyId: target.key };
  } catch (err) {
    if (required) throw err;
    return null;
  }
}

function describe(target: RouteTarget): string {
  return target.provider === null ? target.model : `${target.provider}/${target.model}`;
}
