import type { CredentialPolicy } from "./entities/index.ts";

/** A Claude subscription (OAuth) token, as Claude Code sends it when logged in with claude.ai. */
function isSubscriptionToken(value: string): boolean {
  return value.replace(/^Bearer\s+/i, "").startsWith("sk-ant-oat");
}

/**
 * The developer's own provider credential sent beside a virtual key, when the key's policy lets it through:
 * `allow-own-provider-key` (API keys), `allow-subscription` (Claude subscription tokens), `allow-all`, or `deny`.
 * The request is metered and counted against budgets either way.
 */
export function forwardableOwnCredential(
  policy: CredentialPolicy,
  own: Record<string, string> | null,
): Record<string, string> | null {
  if (own === null || policy === "deny") return null;
  if (policy === "allow-all") return own;
  const subscription = Object.values(own).some(isSubscriptionToken);
  if (policy === "allow-subscription") return subscription ? own : null;
  return subscription ? null : own;
}
