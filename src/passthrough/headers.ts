import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

/**
 * Request headers never forwarded upstream: hop-by-hop headers, client credentials (replaced by the provider key),
 * `accept-encoding` (the gateway must read what it meters), and Tollgate's own headers.
 */
const DROP_REQUEST = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
  "expect",
  "accept-encoding",
  "authorization",
  "x-api-key",
  "x-goog-api-key",
  "api-key",
  "cookie",
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-real-ip",
]);

/** Response headers not copied to the client: hop-by-hop ones, and those the gateway recomputes. */
const DROP_RESPONSE = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "content-encoding",
  "trailer",
  "upgrade",
  "proxy-connection",
  "set-cookie",
]);

/**
 * Headers for the upstream request: the client's own headers (an open list: every `anthropic-*`, `openai-*`,
 * session and custom header travels), minus the dropped ones, plus the provider's fixed headers and auth.
 */
export function upstreamRequestHeaders(
  client: IncomingHttpHeaders,
  providerHeaders: Readonly<Record<string, string>>,
  auth: Record<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in client) {
    if (DROP_REQUEST.has(name) || name.startsWith("x-tollgate-")) continue;
    const value = client[name];
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  Object.assign(out, providerHeaders, auth);
  return out;
}

/** The client's own provider credential, used when the provider has no configured key (bring-your-own-key). */
export function clientCredential(client: IncomingHttpHeaders): Record<string, string> | null {
  const pick = (name: string) => {
    const v = client[name];
    const s = Array.isArray(v) ? v[0] : v;
    return s && !s.includes("sk-tg-") ? s : undefined;
  };
  const out: Record<string, string> = {};
  for (const name of ["authorization", "x-api-key", "x-goog-api-key", "api-key"]) {
    const v = pick(name);
    if (v) out[name] = v;
  }
  return Object.keys(out).length > 0 ? out : null;
}

/** Response headers for the client: the upstream's, minus hop-by-hop and recomputed ones. */
export function clientResponseHeaders(upstream: Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    if (DROP_RESPONSE.has(name)) continue;
    const value = upstream[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
