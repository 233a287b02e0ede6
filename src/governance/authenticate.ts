import type { IncomingHttpHeaders } from "node:http";
import { GatewayError } from "../errors/catalog.ts";
import {
  authenticateVirtualKey,
  type GovernanceSnapshot,
  looksLikeVirtualKey,
  type VirtualKeySnapshot,
} from "./entities/index.ts";

/** When a request without a Tollgate key is accepted (logged as anonymous). */
export type KeyRequirement = "auto" | "always" | "never";

const CREDENTIAL_HEADERS = ["authorization", "x-api-key", "x-goog-api-key", "api-key"] as const;

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The Tollgate key a client presented: `x-tollgate-key` first, then an `sk-tg-` value in any header that carries
 * an API key (so an agent needs nothing but its usual key setting), then Gemini's `?key=`.
 */
export function presentedKey(headers: IncomingHttpHeaders, url: string): string | null {
  const explicit = first(headers["x-tollgate-key"]);
  if (explicit) return explicit.trim();
  for (const name of CREDENTIAL_HEADERS) {
    let value = first(headers[name]);
    if (!value) continue;
    if (name === "authorization") value = value.replace(/^Bearer\s+/i, "");
    if (looksLikeVirtualKey(value.trim())) return value.trim();
  }
  const q = url.indexOf("?");
  if (q >= 0) {
    const key = new URLSearchParams(url.slice(q + 1)).get("key");
    if (key && looksLikeVirtualKey(key)) return key;
  }
  return null;
}

/**
 * Anonymous mode: with `auto`, requests without a key are accepted only while no virtual key exists and the
 * server listens on loopback (the zero-config, single-developer setup). Once a key exists, one is required.
 */
export function anonymousAllowed(requirement: KeyRequirement, snapshot: GovernanceSnapshot, host: string): boolean {
  if (requirement === "never") return true;
  if (requirement === "always") return false;
  return snapshot.keysDefined === 0 && isLoopback(host);
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

/**
 * The virtual key behind a request, or null in anonymous mode. Throws a 401 GatewayError (rendered in the client's
 * dialect) for a missing, malformed, unknown, revoked, rotated-out, expired or disabled key.
 */
export function authenticateRequest(
  headers: IncomingHttpHeaders,
  url: string,
  snapshot: GovernanceSnapshot,
  options: { requirement: KeyRequirement; host: string; now: number },
): VirtualKeySnapshot | null {
  const presented = presentedKey(headers, url);
  if (presented === null) {
    if (anonymousAllowed(options.requirement, snapshot, options.host)) return null;
    throw new GatewayError(
      "TG_UNAUTHORIZED",
      "A Tollgate key is required: send your sk-tg-… key as the API key (or in an x-tollgate-key header).",
    );
  }
  const result = authenticateVirtualKey(snapshot, presented, options.now);
  if (!result.ok) throw new GatewayError("TG_UNAUTHORIZED", result.message);
  return result.key;
}
