import { type RoutingRule, RULE_SCOPES } from "./types.ts";

const RANK = new Map(RULE_SCOPES.map((s, i) => [s, i]));

/** Most specific scope first, then higher priority, then older (id order: ids sort by creation). */
export function evaluationOrder<T extends Pick<RoutingRule, "scope" | "priority" | "id">>(rules: readonly T[]): T[] {
  return [...rules].sort(
    (a, b) =>
      (RANK.get(a.scope.type) ?? 9) - (RANK.get(b.scope.type) ?? 9) ||
      b.priority - a.priority ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}
